"""JSON API, "Products" section of api.md (the `/steps` enrolment belongs to the questionnaires domain)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import Provide

from convergence.companies.access import require_company
from convergence.core.errors import Invalid
from convergence.core.permissions import Permission
from convergence.core.params import FromPath, FromQuery, JSONObject, Limit, Offset
from convergence.core.web import Ctx, provide_ctx, signed_in
from convergence.products.imports import MAX_BYTES, ImportService
from convergence.products.models import Product
from convergence.products.services import ProductService, check_filters, naming_warnings, product_input


def product_json(p: Product) -> dict[str, Any]:
    return {
        "id": p.id, "company_id": p.company_id, "name": p.name, "os": p.os, "os_other": p.os_other or None,
        "device": p.device, "edition": p.edition, "version": p.version, "kind": p.kind,
        "description": p.description, "commercial_name": p.commercial_name, "display_name": p.display_name,
        "naming_warnings": [{"code": w.code, "detail": w.text} for w in naming_warnings(p.name, p.os, p.os_other, p.device)],
        "base_product_ids": [b.id for b in p.bases], "previous_version_id": p.previous_version_id,
        "created_by_id": p.created_by_id, "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat(),
    }


async def read_upload(request: Request[Any, Any, Any]) -> bytes:
    """The CSV as a `text/csv` body or as the `file` field of a multipart form (one byte past the limit)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid("Send the CSV file in the field named file.", code="import_no_file",
                          fields={"file": "Choose a CSV file."})
        return await upload.read(MAX_BYTES + 1)
    return (await request.body())[:MAX_BYTES + 1]


class ProductsApi(Controller):
    path = "/api/v1"
    tags = ["Products"]
    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/companies/{company_id:int}/products")
    async def list_products(self, ctx: Ctx, company_id: FromPath[int], kind: FromQuery[str | None] = None,
                            os: FromQuery[str | None] = None, device: FromQuery[str | None] = None,
                            q: FromQuery[str | None] = None, limit: Limit = 50,
                            offset: Offset = 0) -> dict[str, Any]:
        check_filters(kind, os, device)
        rows = await ProductService(ctx).list(company_id, kind=kind, os=os, device=device, q=q)
        return {"items": [product_json(p) for p in rows[offset:offset + limit]], "total": len(rows)}

    @post("/companies/{company_id:int}/products", status_code=201)
    async def create_product(self, ctx: Ctx, company_id: FromPath[int], data: JSONObject) -> dict[str, Any]:
        ctx.require(Permission.PRODUCTS_CREATE)
        require_company(ctx, company_id)
        product = await ProductService(ctx).create(company_id, product_input(data), via="api")
        return product_json(product)

    @post("/companies/{company_id:int}/products/import", status_code=200)
    async def import_products(self, ctx: Ctx, request: Request[Any, Any, Any], company_id: FromPath[int],
                              dry_run: FromQuery[bool] = True) -> Response[dict[str, Any]]:
        ctx.require(Permission.PRODUCTS_CREATE)
        require_company(ctx, company_id)
        content = await read_upload(request)
        plan, created = await ImportService(ctx).run(company_id, content, dry_run=dry_run)
        body = plan.json(dry_run=dry_run)
        if dry_run:
            return Response(body, status_code=200)
        body["created"] = len(created)
        body["items"] = [product_json(p) for p in created]
        return Response(body, status_code=201)

    @get("/products/{product_id:int}")
    async def show_product(self, ctx: Ctx, product_id: FromPath[int]) -> dict[str, Any]:
        return product_json(await ProductService(ctx).get(product_id))

    @patch("/products/{product_id:int}")
    async def update_product(self, ctx: Ctx, product_id: FromPath[int], data: JSONObject) -> dict[str, Any]:
        return product_json(await ProductService(ctx).update(product_id, data))

    @delete("/products/{product_id:int}", status_code=204)
    async def delete_product(self, ctx: Ctx, product_id: FromPath[int]) -> None:
        await ProductService(ctx).delete(product_id)

    @post("/products/{product_id:int}/duplicate", status_code=201)
    async def duplicate_product(self, ctx: Ctx, product_id: FromPath[int], data: JSONObject) -> dict[str, Any]:
        return product_json(await ProductService(ctx).duplicate(product_id, data))

    @post("/products/{product_id:int}/versions", status_code=201)
    async def new_version(self, ctx: Ctx, product_id: FromPath[int], data: JSONObject) -> dict[str, Any]:
        return product_json(await ProductService(ctx).new_version(product_id, data))

