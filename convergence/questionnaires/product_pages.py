"""The product pages that show questionnaire progress: the catalogue and a product's page.

Products sit below questionnaires (products never import questionnaires), so the pages that compose a product
with its questionnaires' progress are served from here, beside the other product pages' path `/products`.
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, get
from litestar.di import NamedDependency

from convergence.core.errors import Invalid
from convergence.core.pages import form_errors, render
from convergence.core.params import FromPath, FromQuery
from convergence.identity.web import Ctx
from convergence.products.pages import ProductController, choices
from convergence.products.services import ProductService, check_filters, naming_warnings, version_chains
from convergence.questionnaires.services import localized
from convergence.questionnaires.worklist import WorklistService


class ProductProgressPages(ProductController):
    @get("/", media_type=MediaType.HTML)
    async def catalogue(self, product_service: NamedDependency[ProductService],
                        worklist_service: NamedDependency[WorklistService], request: Request[Any, Any, Any], ctx: Ctx,
                        kind: FromQuery[str] = "", os: FromQuery[str] = "", device: FromQuery[str] = "",
                        q: FromQuery[str] = "") -> Any:
        errors: dict[str, str] = {}
        try:
            check_filters(kind or None, os or None, device or None)
        except Invalid as exc:
            errors = form_errors(exc)
            kind = os = device = ""
        products = await product_service.company_products(ctx.company_id)  # type: ignore[arg-type]
        groups = await product_service.catalogue(ctx.company_id, kind=kind or None, os=os or None,  # type: ignore[arg-type]
                                                 device=device or None, q=q or None, visible=products)
        context = {"groups": groups, "filters": {"kind": kind, "os": os, "device": device, "q": q},
                   "errors": errors, "progress": await worklist_service.step_progress(p.id for p in products),
                   "localized": localized,
                   "chains": version_chains(products),
                   **choices()}
        return render(request, "products/catalogue.html", context, partial="products/_catalogue.html",
                      status=422 if errors else 200)

    @get("/{product_id:int}", media_type=MediaType.HTML)
    async def detail(self, product_service: NamedDependency[ProductService],
                     worklist_service: NamedDependency[WorklistService], request: Request[Any, Any, Any],
                     product_id: FromPath[int]) -> Any:
        product = await product_service.get(product_id)
        earlier, later = await product_service.lineage(product)
        return render(request, "products/detail.html", {
            "product": product, "earlier": earlier, "later": later, "grant": await product_service.grant(product),
            "warnings": naming_warnings(product.name, product.os, product.os_other, product.device),
            "progress": (await worklist_service.step_progress([product.id])).get(product.id, []),
            "localized": localized})
