"""The referencing applications queue: its page for ANS (beside the market review) and its JSON in the review
API. Filters and pages are query parameters, so that a link shares a view of the queue."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency

from convergence.core.api_docs import SIGNED_IN, errors
from convergence.core.errors import DomainError
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, render
from convergence.core.params import FromQuery
from convergence.identity.policy import Permission
from convergence.identity.web import requires
from convergence.referencing.workflow import STATUS_LABELS
from convergence.review.applications import (
    ALL,
    OPEN,
    PAGE_SIZE,
    ApplicationQueueService,
    QueueFilters,
    QueuePage,
    parse_queue_filters,
    parse_window,
)

# Where ANS opens one application (referencing/pages.py).
APPLICATION_HREF = "/referencing/applications/{id}"
MAX_PAGE = 10**6


class ApplicationQueuePages(Controller):
    guards = [requires(Permission.REFERENCING_READ_ALL)]
    include_in_schema = False

    @get("/review/applications")
    async def queue(self, application_queue_service: NamedDependency[ApplicationQueueService],
                    request: Request[Any, Any, Any]) -> Any:
        params = request.query_params
        errors: dict[str, str] = {}
        status = 200
        try:
            filters = parse_queue_filters(params)
        except DomainError as exc:
            errors, status, filters = form_errors(exc), exc.status_code, QueueFilters()
        number = parse_int(params.get("page"))
        page = number if number is not None and 0 < number <= MAX_PAGE else 1
        rows, total = await application_queue_service.rows(filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        query = filters.query()
        return render(request, "review/applications.html", {
            "filters": filters, "form": {k: params.get(k, "") for k in ("status", "assignee")}, "errors": errors,
            "rows": rows, "total": total, "page": page, "pages": max(1, math.ceil(total / PAGE_SIZE)),
            "pager_base": "/review/applications?" + (urlencode(query) + "&" if query else ""),
            "summary": await application_queue_service.summary(),
            "reviewers": await application_queue_service.reviewers(),
            "status_labels": STATUS_LABELS, "open": OPEN, "all": ALL, "application_href": APPLICATION_HREF,
        }, partial="review/_applications_results.html", status=status)


class ApplicationQueueApi(Controller):
    path = "/api/v1/review"
    tags = ["Review (ANS)"]
    guards = [requires(Permission.REFERENCING_READ_ALL)]

    @get("/applications", responses=errors(SIGNED_IN))
    async def applications(self, application_queue_service: NamedDependency[ApplicationQueueService],
                           status: FromQuery[str | None] = None, assignee: FromQuery[str | None] = None,
                           limit: FromQuery[str | None] = None, offset: FromQuery[str | None] = None) -> QueuePage:
        """The referencing applications queue: `status` is `open` (the default: filed, under review, information
        requested), `all` or one status; `assignee` is `me`, `none` or a reviewer's id. Open applications come
        first, the longest waiting at the top; `summary` gives the counts and the median days from filing to
        decision."""
        filters = parse_queue_filters({"status": status, "assignee": assignee})
        size, start = parse_window(limit, offset)
        rows, total = await application_queue_service.rows(filters, size, start)
        return QueuePage(items=rows, total=total, limit=size, offset=start,
                         summary=await application_queue_service.summary())
