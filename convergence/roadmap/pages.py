"""Roadmap pages: a product's (lines by quarter and theme, projected maturity per theme against the targets,
the targets form, owners) and the company's (filtered, paginated), with their CSV and iCalendar downloads."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from convergence.core.charts import chart
from convergence.core.errors import DomainError, Invalid
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, redirect, render
from convergence.core.params import FromPath, FromQuery
from convergence.identity.web import Ctx, signed_in
from convergence.questionnaires.services import localized
from convergence.roadmap.api import csv_file, ics_file
from convergence.roadmap.services import Roadmap, RoadmapService

PER_PAGE = 25


def _charts(roadmap: Roadmap) -> list[dict[str, Any]]:
    """One small chart per theme the roadmap changes or aims at (the same geometry as the response page's
    projection), its target drawn across it when set; a flat line for every other theme would bury them (the
    data table keeps every theme)."""
    charts = []
    planned = {line.theme for line in roadmap.lines}
    for row in roadmap.themes:
        if row.code not in planned and row.target is None and row.current == row.projected:
            continue
        drawn = chart(roadmap.series(row))
        if row.target is not None:
            drawn["target_y"] = drawn["height"] - drawn["pad"] - row.target / 100 * (drawn["height"] - 2 * drawn["pad"])
        charts.append({"row": row, "chart": drawn})
    return charts


class RoadmapPages(Controller):
    guards = [signed_in]
    include_in_schema = False

    async def _product_context(self, service: RoadmapService, product_id: int, **extra: Any) -> dict[str, Any]:
        roadmap = await service.product(product_id)
        may_assign = roadmap.grant is not None and service.ctx.can("product:edit", roadmap.grant)
        return {"roadmap": roadmap, "product": roadmap.product, "grant": roadmap.grant, "charts": _charts(roadmap),
                "owners": await service.owners(product_id) if may_assign else [], "may_assign": may_assign,
                "may_target": roadmap.grant is not None and service.ctx.can("roadmap:target", roadmap.grant),
                "localized": localized, "errors": {}, "form": {}, **extra}

    @get("/products/{product_id:int}/roadmap")
    async def product(self, roadmap_service: NamedDependency[RoadmapService], request: Request[Any, Any, Any],
                      product_id: FromPath[int]) -> Any:
        return render(request, "roadmap/product.html", await self._product_context(roadmap_service, product_id),
                      partial="roadmap/_product.html")

    @post("/products/{product_id:int}/roadmap/targets")
    async def targets(self, roadmap_service: NamedDependency[RoadmapService], request: Request[Any, Any, Any],
                      product_id: FromPath[int]) -> Any:
        form = await request.form()
        raw = {key.removeprefix("target-"): (value.strip().replace(",", ".") if isinstance(value, str) else value)
               for key, value in form.items() if key.startswith("target-")}
        try:
            await roadmap_service.set_targets(product_id, {k: _number_or_text(v) for k, v in raw.items()})
        except DomainError as exc:
            if exc.status_code not in (409, 422):
                raise
            context = await self._product_context(roadmap_service, product_id, errors=form_errors(exc),
                                                  form={f"target-{k}": v for k, v in raw.items()})
            return render(request, "roadmap/product.html", context, partial="roadmap/_product.html",
                          status=exc.status_code)
        return redirect(request, f"/products/{product_id}/roadmap?saved=targets#targets")

    @post("/products/{product_id:int}/roadmap/lines/{item_code:str}/owner")
    async def assign_owner(self, roadmap_service: NamedDependency[RoadmapService], request: Request[Any, Any, Any],
                    product_id: FromPath[int], item_code: FromPath[str]) -> Any:
        form = await request.form()
        try:
            await roadmap_service.set_owner(product_id, item_code, form.get("owner_id") or None)
        except DomainError as exc:
            if exc.status_code not in (409, 422):
                raise
            context = await self._product_context(roadmap_service, product_id,
                                                  owner_errors={item_code: form_errors(exc)})
            return render(request, "roadmap/product.html", context, partial="roadmap/_product.html",
                          status=exc.status_code)
        return redirect(request, f"/products/{product_id}/roadmap?saved=owner#line-{item_code}")

    @get("/products/{product_id:int}/roadmap.csv")
    async def product_csv(self, roadmap_service: NamedDependency[RoadmapService], product_id: FromPath[int]) -> Any:
        return csv_file(await roadmap_service.product(product_id), f"roadmap-product-{product_id}")

    @get("/products/{product_id:int}/roadmap.ics")
    async def product_ics(self, roadmap_service: NamedDependency[RoadmapService], ctx: Ctx,
                          product_id: FromPath[int]) -> Any:
        return ics_file(await roadmap_service.product(product_id), ctx.settings.base_url,
                        f"roadmap-product-{product_id}")

    @get("/roadmap")
    async def company(self, roadmap_service: NamedDependency[RoadmapService], request: Request[Any, Any, Any],
                      theme: FromQuery[str] = "", owner: FromQuery[str] = "", overdue: FromQuery[str] = "",
                      page: FromQuery[str] = "1") -> Any:
        filters = {"theme": theme, "owner": owner, "overdue": "1" if overdue else ""}
        parsed = parse_int(page)
        number = max(parsed, 1) if parsed is not None and parsed < 10**6 else 1
        status, errors = 200, {}
        try:
            roadmap = await roadmap_service.company(theme=theme or None, owner=owner or None, overdue=bool(overdue),
                                                    limit=PER_PAGE, offset=(number - 1) * PER_PAGE)
        except Invalid as exc:
            # A hand-written filter the lists do not offer: the unfiltered roadmap, and what was wrong.
            status, errors, filters = 422, form_errors(exc), {"theme": "", "owner": "", "overdue": ""}
            roadmap = await roadmap_service.company(limit=PER_PAGE, offset=0)
            number = 1
        pages = max((roadmap.total + PER_PAGE - 1) // PER_PAGE, 1)
        query = urlencode({k: v for k, v in filters.items() if v})
        context = {"roadmap": roadmap, "filters": filters, "page": number, "pages": pages, "errors": errors,
                   "members": await roadmap_service.company_owners(), "charts": _charts(roadmap),
                   "query": query, "pager_base": f"/roadmap?{query + '&' if query else ''}", "localized": localized}
        return render(request, "roadmap/company.html", context, partial="roadmap/_company.html", status=status)

    @get("/roadmap.csv")
    async def company_csv(self, roadmap_service: NamedDependency[RoadmapService], theme: FromQuery[str] = "",
                          owner: FromQuery[str] = "", overdue: FromQuery[str] = "") -> Any:
        return csv_file(await roadmap_service.company(theme=theme or None, owner=owner or None,
                                                      overdue=bool(overdue)), "roadmap")

    @get("/roadmap.ics")
    async def company_ics(self, roadmap_service: NamedDependency[RoadmapService], ctx: Ctx, theme: FromQuery[str] = "",
                          owner: FromQuery[str] = "", overdue: FromQuery[str] = "") -> Any:
        return ics_file(await roadmap_service.company(theme=theme or None, owner=owner or None,
                                                      overdue=bool(overdue)), ctx.settings.base_url, "roadmap")


def _number_or_text(value: Any) -> Any:
    """A number typed in a form (a decimal comma already turned into a dot); text the service then refuses."""
    if not isinstance(value, str) or value == "":
        return value
    try:
        return float(value)
    except ValueError:
        return value
