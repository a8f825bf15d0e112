"""Publication pages: the standing publications and their figures (anyone, as the catalogue), the publish and
withdraw forms (ANS support), the trend across semesters, and a product's comparison with the latest
publication (a page of its own, and a section of the product's page loaded with HTMX)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from convergence.core.charts import chart
from convergence.core.errors import DomainError
from convergence.core.formatting import local_today
from convergence.core.pages import form_errors, redirect, render
from convergence.core.params import FromPath, FromQuery
from convergence.identity.web import signed_in
from convergence.publications.services import PublicationService, label_of, semester_of, title


def _trend_charts(trend: dict[str, Any]) -> list[dict[str, Any]]:
    """Per theme, the published median as a line across semesters and the quartiles as two thinner lines, drawn by
    core.charts (a published figure holds until the next publication, as its step line says); suppressed
    semesters are left out of the lines and say so in the table."""
    out = []
    for theme in trend["themes"]:
        shown = [p for p in theme["points"] if not p["suppressed"]]
        drawn: dict[str, Any] = {"code": theme["code"], "title": theme["title"], "points": theme["points"]}
        if shown:
            median = chart([(p["start"], p["median"]) for p in shown])
            drawn.update(chart=median, q1=chart([(p["start"], p["q1"]) for p in shown])["polyline"],
                         q3=chart([(p["start"], p["q3"]) for p in shown])["polyline"],
                         labels=[(dot["x"], p["label"]) for dot, p in zip(median["dots"], shown, strict=True)])
        out.append(drawn)
    return out


class PublicationPages(Controller):
    include_in_schema = False

    async def _list_context(self, service: PublicationService, **extra: Any) -> dict[str, Any]:
        rows, total = await service.listing(limit=100)
        return {"publications": rows, "total": total, "may_publish": service.may_publish,
                "default_label": label_of(*semester_of(local_today())), "errors": {}, "form": {}, **extra}

    @get("/publications")
    async def index(self, publication_service: NamedDependency[PublicationService],
                    request: Request[Any, Any, Any]) -> Any:
        return render(request, "publications/index.html", await self._list_context(publication_service),
                      partial="publications/_list.html")

    @post("/publications", guards=[signed_in])
    async def publish(self, publication_service: NamedDependency[PublicationService],
                      request: Request[Any, Any, Any]) -> Any:
        form = await request.form()
        try:
            publication = await publication_service.publish(form.get("label"))
        except DomainError as exc:
            if exc.status_code not in (409, 422):
                raise
            context = await self._list_context(publication_service, errors=form_errors(exc),
                                               form={"label": form.get("label") or ""})
            return render(request, "publications/index.html", context, status=exc.status_code)
        return redirect(request, f"/publications/{publication.id}")

    @get("/publications/{publication_id:int}")
    async def detail(self, publication_service: NamedDependency[PublicationService],
                     request: Request[Any, Any, Any], publication_id: FromPath[int]) -> Any:
        publication = await publication_service.get(publication_id)
        return render(request, "publications/detail.html", {
            "publication": publication, "figures": publication.figures, "title": title,
            "may_publish": publication_service.may_publish, "errors": {}})

    @post("/publications/{publication_id:int}/withdraw", guards=[signed_in])
    async def withdraw(self, publication_service: NamedDependency[PublicationService],
                       request: Request[Any, Any, Any], publication_id: FromPath[int]) -> Any:
        form = await request.form()
        try:
            await publication_service.withdraw(publication_id, form.get("reason"))
        except DomainError as exc:
            if exc.status_code not in (409, 422):
                raise
            publication = await publication_service.get(publication_id)
            return render(request, "publications/detail.html", {
                "publication": publication, "figures": publication.figures, "title": title,
                "may_publish": publication_service.may_publish, "errors": form_errors(exc),
                "reason": form.get("reason") or ""}, status=exc.status_code)
        return redirect(request, "/publications")

    @get("/publications/trend")
    async def trend(self, publication_service: NamedDependency[PublicationService],
                    request: Request[Any, Any, Any], step: FromQuery[str | None] = None) -> Any:
        trend = await publication_service.trend(step or None)
        return render(request, "publications/trend.html", {"trend": trend, "charts": _trend_charts(trend)},
                      partial="publications/_trend.html")

    @get("/products/{product_id:int}/comparison", guards=[signed_in])
    async def comparison(self, publication_service: NamedDependency[PublicationService],
                         request: Request[Any, Any, Any], product_id: FromPath[int]) -> Any:
        found = await publication_service.comparison(product_id)
        return render(request, "publications/comparison.html", {"comparison": found, "product": found.product},
                      partial="publications/_comparison.html")
