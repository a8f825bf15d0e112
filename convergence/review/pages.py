"""Review pages: the ANS dashboard (filters, sorting, pages, SVG charts, exports), the read-only drill-down
with comments, and the vendors' includes on the response page (reviewers' comments, market averages)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from convergence.core.charts import chart
from convergence.core.errors import DomainError, Invalid, NotFound
from convergence.core.i18n import N_, gettext
from convergence.core.pages import form_errors, is_htmx, redirect, render
from convergence.core.params import FromPath
from convergence.identity.policy import Permission
from convergence.identity.web import requires, signed_in
from convergence.questionnaires.services import localized
from convergence.review.applications import ApplicationQueueService
from convergence.review.filters import PAGE_SIZE, SORTS, STATUSES, Filters, parse_filters, parse_page
from convergence.review.services import ReviewService
from convergence.review.views import key_figures, response_menu, selected_response, status_chart, theme_chart


def _href(base: str, params: dict[str, str]) -> str:
    return f"{base}?{urlencode(params)}" if params else base


class ReviewPages(Controller):
    guards = [requires(Permission.REVIEW_READ)]
    include_in_schema = False

    @get("/review")
    async def dashboard(self, review_service: NamedDependency[ReviewService], request: Request[Any, Any, Any],
                        application_queue_service: NamedDependency[ApplicationQueueService]) -> Any:
        params = dict(request.query_params)
        errors: dict[str, str] = {}
        status = 200
        # The company filter is a name typed (with suggestions: company_options); the rows, links and exports
        # filter by the company's id, which the name is turned into when it designates one company.
        company_text = (params.pop("company_name", "") or "").strip()
        company_candidates: list[dict[str, Any]] = []
        if company_text:
            company_id, company_candidates = await review_service.company_choice(company_text)
            params.pop("company", None)
            if company_id is not None:
                params["company"], company_candidates = str(company_id), []
        try:
            filters = parse_filters(params)
            page = parse_page(params.get("page"))
        except DomainError as exc:
            errors, status, filters, page = form_errors(exc), exc.status_code, Filters(), 1
        if company_text and "company" not in params:
            sentence = (N_("Several companies match this name: choose one.") if company_candidates
                        else N_("No company's name contains this text."))
            errors, status = {**errors, "company_name": gettext(sentence)}, Invalid.status_code
        elif filters.company is not None:
            company_text = await review_service.company_name(filters.company) or ""
        charts = await review_service.charts(filters)
        rows, total = await review_service.rows(filters, PAGE_SIZE, (page - 1) * PAGE_SIZE,
                                         total=sum(step["total"] for step in charts["steps"]))
        pages = max(1, math.ceil(total / PAGE_SIZE))
        query = filters.query()
        unsorted = {k: v for k, v in query.items() if k != "sort"}
        without_company = {k: v for k, v in query.items() if k != "company"}
        sort_links = {key: _href("/review", {**unsorted, "sort": ("-" if filters.sort == key and not
                                                                   filters.descending else "") + key})
                      for key in SORTS}
        context = {
            "filters": filters, "form": {**{k: params.get(k, "") for k in (
                "track", "step", "status", "q", "min_maturity", "max_maturity", "sort")},
                "company_name": company_text}, "company_candidates": company_candidates,
            "errors": errors, "rows": rows, "total": total, "page": page, "pages": pages,
            "row_versions": await review_service.row_versions(rows),  # questionnaires/versions.py
            "pager_base": _href("/review", query) + ("&" if query else "?"),
            "company_base": _href("/review", without_company) + ("&" if without_company else "?"),
            "csv_href": _href("/api/v1/review/export.csv", query),
            "xlsx_href": _href("/api/v1/review/export.xlsx", query),
            "sort_links": sort_links, "statuses": STATUSES,
            "status_chart": status_chart(charts["steps"]), "theme_chart": theme_chart(charts["themes"]),
            "key_figures": key_figures(charts["steps"], charts["themes"]),
            "localized": localized, **await review_service.choices(),
            # The referencing applications queue's figures, beside the market's (review/applications.py).
            "applications": None if is_htmx(request) else await application_queue_service.summary(),
        }
        return render(request, "review/dashboard.html", context, partial="review/_results.html", status=status)

    @get("/review/companies")
    async def company_options(self, review_service: NamedDependency[ReviewService],
                              request: Request[Any, Any, Any]) -> Any:
        """The company filter's suggestions (a datalist's options, swapped in by htmx as the name is typed)."""
        text = request.query_params.get("company_name") or ""
        companies = await review_service.companies_matching(text) if text.strip() else []
        return render(request, "review/_company_options.html", {"companies": companies})

    async def _product_context(self, review_service: ReviewService, product_id: int, shown: str | None,
                               **extra: Any) -> dict[str, Any]:
        """One response of the product at a time (`?response=<id>`, else the first), the others as links: the
        page stays short and only the shown response's answers, history and chart are drawn."""
        data = await review_service.product(product_id)
        current = selected_response(data["responses"], shown)
        if current is None and data["responses"]:
            raise NotFound("This response does not exist.")
        if current is not None:
            current["chart"] = chart(current["projection"])
        return {**data, "current": current, "menu": response_menu(data["responses"], current and current["id"]),
                "localized": localized, "comment_errors": {}, **extra}

    @get("/review/products/{product_id:int}")
    async def product(self, review_service: NamedDependency[ReviewService], request: Request[Any, Any, Any],
                      product_id: FromPath[int]) -> Any:
        return render(request, "review/product.html", await self._product_context(
            review_service, product_id, request.query_params.get("response")))

    @post("/review/responses/{response_id:int}/comments", guards=[requires(Permission.REVIEW_COMMENT)])
    async def comment(self, review_service: NamedDependency[ReviewService], request: Request[Any, Any, Any],
                      response_id: FromPath[int]) -> Any:
        form = await request.form()
        try:
            comment = await review_service.add_comment(response_id, form.get("body"))
        except Invalid as exc:
            response = await review_service.response(response_id)
            if response.product_id is None:
                raise
            context = await self._product_context(review_service, response.product_id, str(response_id),
                                                  comment_errors={response_id: form_errors(exc)},
                                                  comment_body={response_id: form.get("body") or ""})
            return render(request, "review/product.html", context, status=exc.status_code)
        response = await review_service.response(comment.response_id)
        target = f"/review/products/{response.product_id}" if response.product_id else "/review"
        return redirect(request, f"{target}?response={response_id}&done=comment#comments-{response_id}")


class VendorReviewPages(Controller):
    """Included in the vendors' response page (loaded with HTMX; a plain page without JavaScript)."""

    guards = [signed_in]
    include_in_schema = False

    @get("/responses/{response_id:int}/comments")
    async def comments(self, review_service: NamedDependency[ReviewService], request: Request[Any, Any, Any],
                       response_id: FromPath[int]) -> Any:
        response = await review_service.response_for_company(response_id)
        return render(request, "review/response_comments.html",
                      {"response": response, "comments": await review_service.comments_for_company(response_id),
                       "localized": localized}, partial="review/_comments.html")

    @get("/responses/{response_id:int}/market")
    async def market(self, review_service: NamedDependency[ReviewService], request: Request[Any, Any, Any],
                     response_id: FromPath[int]) -> Any:
        market = await review_service.market_for_response(response_id)
        return render(request, "review/response_market.html",
                      {"response": market["response"], "market": market, "localized": localized},
                      partial="review/_market.html")
