"""Review pages: the ANS dashboard (filters, sorting, pages, SVG charts, exports), the read-only drill-down
with comments, and the vendors' includes on the response page (reviewers' comments, market averages)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import Provide

from convergence.core.charts import chart
from convergence.core.errors import DomainError, Invalid
from convergence.core.pages import form_errors, redirect, render
from convergence.core.params import FromPath
from convergence.identity.permissions import Permission, has_permission
from convergence.identity.web import Ctx, provide_ctx, requires, signed_in
from convergence.questionnaires.services import localized
from convergence.review.filters import PAGE_SIZE, SORTS, STATUSES, Filters, parse_filters, parse_page
from convergence.review.services import ReviewService
from convergence.review.views import status_chart, theme_chart


def _href(base: str, params: dict[str, str]) -> str:
    return f"{base}?{urlencode(params)}" if params else base


class ReviewPages(Controller):
    guards = [requires(Permission.REVIEW_READ)]
    dependencies = {"ctx": Provide(provide_ctx)}
    include_in_schema = False

    @get("/review")
    async def dashboard(self, request: Request[Any, Any, Any], ctx: Ctx) -> Any:
        params = dict(request.query_params)
        errors: dict[str, str] = {}
        status = 200
        try:
            filters = parse_filters(params)
            page = parse_page(params.get("page"))
        except DomainError as exc:
            errors, status, filters, page = form_errors(exc), exc.status_code, Filters(), 1
        service = ReviewService(ctx)
        charts = await service.charts(filters)
        rows, total = await service.rows(filters, PAGE_SIZE, (page - 1) * PAGE_SIZE,
                                         total=sum(step["total"] for step in charts["steps"]))
        pages = max(1, math.ceil(total / PAGE_SIZE))
        query = filters.query()
        unsorted = {k: v for k, v in query.items() if k != "sort"}
        sort_links = {key: _href("/review", {**unsorted, "sort": ("-" if filters.sort == key and not
                                                                   filters.descending else "") + key})
                      for key in SORTS}
        context = {
            "filters": filters, "form": {k: params.get(k, "") for k in (
                "track", "step", "status", "company", "q", "min_maturity", "max_maturity", "sort")},
            "errors": errors, "rows": rows, "total": total, "page": page, "pages": pages,
            "pager_base": _href("/review", query) + ("&" if query else "?"),
            "csv_href": _href("/api/v1/review/export.csv", query),
            "xlsx_href": _href("/api/v1/review/export.xlsx", query),
            "sort_links": sort_links, "statuses": STATUSES,
            "status_chart": status_chart(charts["steps"]), "theme_chart": theme_chart(charts["themes"]),
            "localized": localized, **await service.choices(),
        }
        return render(request, "review/dashboard.html", context, partial="review/_results.html", status=status)

    async def _product_context(self, ctx: Any, product_id: int, **extra: Any) -> dict[str, Any]:
        data = await ReviewService(ctx).product(product_id)
        for view in data["responses"]:
            view["chart"] = chart(view["projection"])
        return {**data, "localized": localized,
                "can_comment": has_permission(getattr(ctx.actor, "role", None), Permission.REVIEW_COMMENT),
                "comment_errors": {}, **extra}

    @get("/review/products/{product_id:int}")
    async def product(self, request: Request[Any, Any, Any], ctx: Ctx, product_id: FromPath[int]) -> Any:
        return render(request, "review/product.html", await self._product_context(ctx, product_id))

    @post("/review/responses/{response_id:int}/comments", guards=[requires(Permission.REVIEW_COMMENT)])
    async def comment(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        form = await request.form()
        service = ReviewService(ctx)
        try:
            comment = await service.add_comment(response_id, form.get("body"))
        except Invalid as exc:
            response = await service.response(response_id)
            if response.product_id is None:
                raise
            context = await self._product_context(ctx, response.product_id, comment_errors={
                response_id: form_errors(exc)}, comment_body={response_id: form.get("body") or ""})
            return render(request, "review/product.html", context, status=exc.status_code)
        response = await service.response(comment.response_id)
        target = f"/review/products/{response.product_id}" if response.product_id else "/review"
        return redirect(request, f"{target}?done=comment#comments-{response_id}")


class VendorReviewPages(Controller):
    """Included in the vendors' response page (loaded with HTMX; a plain page without JavaScript)."""

    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}
    include_in_schema = False

    @get("/responses/{response_id:int}/comments")
    async def comments(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        service = ReviewService(ctx)
        response = await service.response_for_company(response_id)
        return render(request, "review/response_comments.html",
                      {"response": response, "comments": await service.comments_for_company(response_id),
                       "localized": localized}, partial="review/_comments.html")

    @get("/responses/{response_id:int}/market")
    async def market(self, request: Request[Any, Any, Any], ctx: Ctx, response_id: FromPath[int]) -> Any:
        market = await ReviewService(ctx).market_for_response(response_id)
        return render(request, "review/response_market.html",
                      {"response": market["response"], "market": market, "localized": localized},
                      partial="review/_market.html")
