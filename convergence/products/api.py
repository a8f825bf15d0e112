"""JSON API, "Products" section of api.md (the `/steps` enrolment belongs to the questionnaires domain)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from convergence.core.api_docs import BODY, SIGNED_IN, errors, given
from convergence.core.errors import Invalid
from convergence.core.params import FromPath, FromQuery, JSONBody, Limit, Offset
from convergence.identity.web import signed_in
from convergence.products.imports import MAX_BYTES, ImportService
from convergence.products.schemas import (
    DuplicateIn,
    ImportedOut,
    ImportPlanOut,
    NewVersionIn,
    ProductIn,
    ProductOut,
    ProductPage,
)
from convergence.products.services import ProductService, check_filters

READ = errors(SIGNED_IN, 404)
WRITE = errors(SIGNED_IN, BODY, 404, 409)


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

    @get("/companies/{company_id:int}/products", responses=READ)
    async def list_products(self, product_service: NamedDependency[ProductService], company_id: FromPath[int],
                            kind: FromQuery[str | None] = None, os: FromQuery[str | None] = None,
                            device: FromQuery[str | None] = None, q: FromQuery[str | None] = None, limit: Limit = 50,
                            offset: Offset = 0) -> ProductPage:
        check_filters(kind, os, device)
        rows, total = await product_service.list(company_id, kind=kind, os=os, device=device, q=q, limit=limit,
                                                     offset=offset)
        return ProductPage(items=[ProductOut.of(p) for p in rows], total=total)

    @post("/companies/{company_id:int}/products", status_code=201, responses=WRITE)
    async def create_product(self, product_service: NamedDependency[ProductService], company_id: FromPath[int],
                             data: JSONBody[ProductIn]) -> ProductOut:
        product = await product_service.create(company_id, given(data), via="api")
        return ProductOut.of(product)

    @post("/companies/{company_id:int}/products/import", status_code=200, responses={
        **errors(SIGNED_IN, BODY, 404, 409),
        201: ResponseSpec(data_container=ImportedOut, description="Created (`dry_run=false`): the plan, `items`.")})
    async def import_products(self, import_service: NamedDependency[ImportService], request: Request[Any, Any, Any],
                              company_id: FromPath[int], dry_run: FromQuery[bool] = True) -> Response[ImportPlanOut]:
        import_service.allowed(company_id)  # before reading the upload: an outsider learns nothing from it
        content = await read_upload(request)
        plan, created = await import_service.run(company_id, content, dry_run=dry_run)
        body = plan.json(dry_run=dry_run)
        if dry_run:
            return Response(ImportPlanOut.of(body), status_code=200)
        return Response(ImportedOut.of(body, created=len(created), items=[ProductOut.of(p) for p in created]),
                        status_code=201)

    @get("/products/{product_id:int}", responses=READ)
    async def show_product(self, product_service: NamedDependency[ProductService],
                           product_id: FromPath[int]) -> ProductOut:
        return ProductOut.of(await product_service.get(product_id))

    @patch("/products/{product_id:int}", responses=WRITE)
    async def update_product(self, product_service: NamedDependency[ProductService], product_id: FromPath[int],
                             data: JSONBody[ProductIn]) -> ProductOut:
        return ProductOut.of(await product_service.update(product_id, given(data)))

    @delete("/products/{product_id:int}", status_code=204, responses=errors(SIGNED_IN, 404, 409))
    async def delete_product(self, product_service: NamedDependency[ProductService], product_id: FromPath[int]) -> None:
        await product_service.delete(product_id)

    @post("/products/{product_id:int}/duplicate", status_code=201, responses=WRITE)
    async def duplicate_product(self, product_service: NamedDependency[ProductService], product_id: FromPath[int],
                                data: JSONBody[DuplicateIn]) -> ProductOut:
        return ProductOut.of(await product_service.duplicate(product_id, given(data)))

    @post("/products/{product_id:int}/versions", status_code=201, responses=WRITE)
    async def new_version(self, product_service: NamedDependency[ProductService], product_id: FromPath[int],
                          data: JSONBody[NewVersionIn]) -> ProductOut:
        return ProductOut.of(await product_service.new_version(product_id, given(data)))

