"""HTML pages for products: create/edit with the live display name, delete, duplicate, new version, CSV import.

The catalogue and a product's page show questionnaire progress: questionnaires serve them
(`convergence/questionnaires/product_pages.py`), since products never import questionnaires."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency

from convergence.core.errors import DomainError, Invalid
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, redirect, render
from convergence.core.params import FromPath
from convergence.identity.policy import Permission
from convergence.identity.web import Ctx, signed_in
from convergence.products.imports import MAX_BYTES, ImportPlan, ImportService
from convergence.products.models import OS, Device, Kind, Product
from convergence.products.services import FIELDS, ProductService

FORM = "products/form.html"
FORM_PARTIAL = "products/_form.html"


def _ids(values: list[Any]) -> list[int]:
    """Checkbox values; anything that is not a number becomes 0 (no product has it: `invalid_base_product`)."""
    return [parse_int(v) or 0 for v in values]


async def _product_form(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the values to show again, the body for the service)."""
    form = await request.form()
    shown = {name: str(form.get(name) or "") for name in FIELDS}
    shown["kind"] = shown["kind"] or Kind.BASE
    base_ids = _ids(form.getall("base_product_ids", []))
    shown["base_product_ids"] = base_ids
    body: dict[str, Any] = {name: shown[name] for name in FIELDS}
    body["commercial_name"] = shown["commercial_name"] or None
    body["base_product_ids"] = base_ids if shown["kind"] == Kind.OPTION else []
    return shown, body


def _values(product: Product) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(product, name) or "" for name in FIELDS}
    values["base_product_ids"] = [b.id for b in product.bases]
    return values


def choices() -> dict[str, Any]:
    return {"os_choices": [o.value for o in OS], "device_choices": [d.value for d in Device]}


class ProductController(Controller):
    """What every controller under `/products` shares (this one, and questionnaires' ProductProgressPages)."""

    path = "/products"
    guards = [signed_in]
    include_in_schema = False


class ProductPages(ProductController):

    # -- create

    @get("/new", media_type=MediaType.HTML)
    async def new_form(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                       ctx: Ctx) -> Any:
        company_id = product_service.creating()
        values = {"kind": Kind.BASE, "os": OS.IOS, "device": Device.MOBILE, "base_product_ids": []}
        return await self._form(request, ctx, company_id, values, {}, None)

    @post("/new", media_type=MediaType.HTML)
    async def create(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                     ctx: Ctx) -> Any:
        company_id = product_service.creating()
        shown, body = await _product_form(request)
        try:
            product = await product_service.create(company_id, body)
        except DomainError as exc:
            return await self._form(request, ctx, company_id, shown, form_errors(exc), None, status=exc.status_code)
        return redirect(request, f"/products/{product.id}")

    @post("/preview", media_type=MediaType.HTML)
    async def preview(self, request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        """The live display name and the naming-rule warnings (HTMX, on every change of the form)."""
        form = await request.form()
        values = {name: " ".join(str(form.get(name) or "").split()) for name in ("name", "os", "os_other", "device")}
        return render(request, "products/_name_preview.html", _preview(ctx, values))

    async def _form(self, request: Request[Any, Any, Any], ctx: Ctx, company_id: int, values: dict[str, Any],
                    errors: dict[str, str], product: Product | None, status: int = 200) -> Any:
        bases = await ProductService(ctx).base_choices(company_id, exclude=product.id if product else None)
        context = {"form": values, "errors": errors, "product": product, "bases": bases,
                   "preview": _preview(ctx, values), **choices()}
        return render(request, FORM, context, partial=FORM_PARTIAL, status=status)

    # -- import

    @get("/import", media_type=MediaType.HTML)
    async def import_form(self, product_service: NamedDependency[ProductService],
                          request: Request[Any, Any, Any]) -> Any:
        product_service.creating()
        return render(request, "products/import.html", {"errors": {}, "plan": None, "csv_text": "", "created": None})

    @post("/import", media_type=MediaType.HTML)
    async def import_run(self, import_service: NamedDependency[ImportService],
                         product_service: NamedDependency[ProductService], request: Request[Any, Any, Any]) -> Any:
        company_id = product_service.creating()
        form = await request.form()
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(MAX_BYTES + 1)
        else:
            content = str(form.get("csv_text") or "").encode("utf-8")
        plan: ImportPlan | None = None
        try:
            if not content:
                raise Invalid("Choose a CSV file.", code="import_no_file", fields={"file": "Choose a CSV file."})
            plan = await import_service.plan(company_id, content)
            if form.get("action") == "commit":
                created = await import_service.commit(company_id, plan)
                return render(request, "products/import.html", {"errors": {}, "plan": plan, "csv_text": "",
                                                                "created": len(created)}, status=201)
        except DomainError as exc:
            return render(request, "products/import.html", {
                "errors": form_errors(exc), "plan": plan, "created": None,
                "csv_text": content.decode("utf-8", "replace") if plan else ""}, status=exc.status_code)
        return render(request, "products/import.html", {
            "errors": {}, "plan": plan, "created": None, "csv_text": content.decode("utf-8-sig")})

    # -- one product

    @get("/{product_id:int}/edit", media_type=MediaType.HTML)
    async def edit_form(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                        ctx: Ctx, product_id: FromPath[int]) -> Any:
        product = await product_service.get(product_id, Permission.PRODUCT_EDIT)
        return await self._form(request, ctx, product.company_id, _values(product), {}, product)

    @post("/{product_id:int}/edit", media_type=MediaType.HTML)
    async def edit(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any], ctx: Ctx,
                   product_id: FromPath[int]) -> Any:
        product = await product_service.get(product_id, Permission.PRODUCT_EDIT)
        shown, body = await _product_form(request)
        try:
            await product_service.update(product_id, body)
        except DomainError as exc:
            product = await product_service.get(product_id, Permission.PRODUCT_EDIT)
            return await self._form(request, ctx, product.company_id, shown, form_errors(exc), product,
                                    status=exc.status_code)
        return redirect(request, f"/products/{product.id}")

    @get("/{product_id:int}/delete", media_type=MediaType.HTML)
    async def delete_confirm(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                             product_id: FromPath[int]) -> Any:
        product = await product_service.get(product_id, Permission.PRODUCT_EDIT)
        return render(request, "products/delete.html", {"product": product, "errors": {}})

    @post("/{product_id:int}/delete", media_type=MediaType.HTML)
    async def delete(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                     product_id: FromPath[int]) -> Any:
        try:
            await product_service.delete(product_id)
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            product = await product_service.get(product_id, Permission.PRODUCT_EDIT)
            return render(request, "products/delete.html", {"product": product, "errors": form_errors(exc)},
                          status=exc.status_code)
        return redirect(request, "/products")

    @get("/{product_id:int}/duplicate", media_type=MediaType.HTML)
    async def duplicate_form(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                             ctx: Ctx, product_id: FromPath[int]) -> Any:
        product = await product_service.source(product_id)
        values = {"as_option": product.kind == Kind.BASE, "base_product_ids": [], "edition": "", "version": ""}
        return await self._duplicate(request, ctx, product, values, {})

    @post("/{product_id:int}/duplicate", media_type=MediaType.HTML)
    async def duplicate(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                        ctx: Ctx, product_id: FromPath[int]) -> Any:
        form = await request.form()
        as_option = form.get("as_option") == "yes"
        values = {"as_option": as_option, "base_product_ids": _ids(form.getall("base_product_ids", [])),
                  "edition": str(form.get("edition") or "").strip(), "version": str(form.get("version") or "").strip()}
        body: dict[str, Any] = {"as_option": as_option, "edition": values["edition"] or None,
                                "version": values["version"] or None}
        if as_option:
            body["base_product_ids"] = values["base_product_ids"]
        try:
            copy = await product_service.duplicate(product_id, body)
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            product = await product_service.get(product_id, Permission.PRODUCT_EDIT)
            return await self._duplicate(request, ctx, product, values, form_errors(exc), status=exc.status_code)
        return redirect(request, f"/products/{copy.id}")

    async def _duplicate(self, request: Request[Any, Any, Any], ctx: Ctx, product: Product, values: dict[str, Any],
                         errors: dict[str, str], status: int = 200) -> Any:
        bases = await ProductService(ctx).base_choices(product.company_id)
        return render(request, "products/duplicate.html", {"product": product, "form": values, "errors": errors,
                                                           "bases": bases}, status=status)

    @get("/{product_id:int}/versions/new", media_type=MediaType.HTML)
    async def version_form(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                           product_id: FromPath[int]) -> Any:
        product = await product_service.source(product_id)
        return render(request, "products/version.html", {"product": product, "form": {}, "errors": {}})

    @post("/{product_id:int}/versions/new", media_type=MediaType.HTML)
    async def new_version(self, product_service: NamedDependency[ProductService], request: Request[Any, Any, Any],
                          product_id: FromPath[int]) -> Any:
        form = await request.form()
        values = {"version": str(form.get("version") or "")}
        try:
            product = await product_service.new_version(product_id, values)
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            source = await product_service.get(product_id, Permission.PRODUCT_EDIT)
            return render(request, "products/version.html", {"product": source, "form": values,
                                                             "errors": form_errors(exc)}, status=exc.status_code)
        return redirect(request, f"/products/{product.id}")


def _preview(ctx: Ctx, values: dict[str, Any]) -> dict[str, Any]:
    return ProductService(ctx).preview(*(str(values.get(k) or "") for k in ("name", "os", "os_other", "device")))
