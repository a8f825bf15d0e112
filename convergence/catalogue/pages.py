"""The public catalogue's pages: search, filters and pages as query parameters (a link shares a search), and
one page per entry. HTMX gets the results only."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Redirect

from convergence.catalogue.services import CatalogueQuery, CatalogueService
from convergence.core.errors import DomainError
from convergence.core.inputs import parse_int
from convergence.core.pages import form_errors, render
from convergence.core.params import FromPath
from convergence.questionnaires.services import localized
from convergence.referencing.categories import CATEGORIES

PAGE_SIZE = 20
MAX_PAGE = 10**6


class CataloguePages(Controller):
    include_in_schema = False

    @get("/catalogue")
    async def index(self, catalogue_service: NamedDependency[CatalogueService],
                    request: Request[Any, Any, Any]) -> Any:
        params = request.query_params
        errors: dict[str, str] = {}
        status = 200
        try:
            query = await catalogue_service.parse(params)
        except DomainError as exc:
            errors, status, query = form_errors(exc), exc.status_code, CatalogueQuery()
        number = parse_int(params.get("page"))
        page = number if number is not None and 0 < number <= MAX_PAGE else 1
        result = await catalogue_service.search(query, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        kept = query.params()
        return render(request, "catalogue/index.html", {
            "query": query, "form": {k: params.get(k, "") for k in ("q", "category", "step")}, "errors": errors,
            "entries": result.entries, "total": result.total, "page": page,
            "pages": max(1, math.ceil(result.total / PAGE_SIZE)),
            "pager_base": "/catalogue?" + (urlencode(kept) + "&" if kept else ""),
            "categories": CATEGORIES, "steps": await catalogue_service.steps(), "localized": localized,
        }, partial="catalogue/_results.html", status=status)

    @get("/catalogue/{listing_id:int}")
    async def show(self, catalogue_service: NamedDependency[CatalogueService], request: Request[Any, Any, Any],
                   listing_id: FromPath[int]) -> Any:
        current = await catalogue_service.current_id(listing_id)
        if current is not None:
            # A referencing renewed by a newer application: the old address leads to the current entry.
            return Redirect(f"/catalogue/{current}", status_code=301)
        entry = await catalogue_service.entry(listing_id)
        return render(request, "catalogue/show.html", {"entry": entry, "categories": CATEGORIES})
