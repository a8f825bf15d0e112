"""HTML pages of the FAQ: search and filters, feedback, contextual help, and the feedback counts for support."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency

from convergence.core.errors import Invalid
from convergence.core.i18n import gettext
from convergence.core.inputs import parse_int
from convergence.core.pages import is_htmx, redirect, render
from convergence.core.params import FromPath
from convergence.identity.policy import Permission
from convergence.identity.web import requires
from convergence.faq.models import FACETS
from convergence.faq.services import FaqQuery, FaqService

PAGE_SIZE = 25
FEEDBACK_VALUES = {"yes": True, "no": False}


def _positive(value: str | None, default: int = 1) -> int:
    number = parse_int(value)
    return number if number is not None and 0 < number < 10**6 else default


class FaqPages(Controller):
    include_in_schema = False

    @get("/faq")
    async def index(self, faq_service: NamedDependency[FaqService], request: Request[Any, Any, Any]) -> Any:
        """Search (`q`), filters (`theme`, `place`, each facet) and paging, all as query parameters."""
        params = request.query_params
        query = FaqQuery.from_mapping(params)
        page = _positive(params.get("page"))
        entries, total = await faq_service.list(query, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        kept = {name: value for name, value in (("q", query.q), ("theme", query.theme), ("place", query.place),
                                                *query.facets.items()) if value}
        return render(request, "faq/index.html", {
            "query": query, "entries": entries, "total": total, "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)), "base": "/faq?" + (urlencode(kept) + "&" if kept else ""),
            "options": await faq_service.filter_options(), "facets": FACETS,
            "thanks": _positive(params.get("thanks"), 0),
        }, partial="faq/_results.html")

    @post("/faq/{entry_id:int}/feedback")
    async def feedback(self, faq_service: NamedDependency[FaqService], request: Request[Any, Any, Any],
                       entry_id: FromPath[int]) -> Any:
        """HTMX swaps in a thank-you; a plain form post goes back to the answer (303)."""
        form = await request.form()
        raw = form.get("useful")
        try:
            value = FEEDBACK_VALUES.get(raw, raw) if isinstance(raw, str) else raw
            entry = await faq_service.give_feedback(entry_id, value)
        except Invalid as exc:
            if not is_htmx(request):
                raise
            # Plain values: the failed unit of work is rolled back (ORM objects expire) before the template renders.
            return render(request, "faq/_feedback.html", {"e": {"id": entry_id},
                                                          "errors": {"__all__": gettext(exc.message)}},
                          status=422)
        if is_htmx(request):
            return render(request, "faq/_feedback_thanks.html", {"e": entry})
        return redirect(request, f"/faq?thanks={entry.id}#{entry.slug}")

    @get("/faq/help/{place:str}")
    async def help(self, faq_service: NamedDependency[FaqService], request: Request[Any, Any, Any],
                   place: FromPath[str]) -> Any:
        """The answers linked to a place of the UI; HTMX gets the panel's content only."""
        entries = await faq_service.help_for(place)
        return render(request, "faq/help.html", {"place": place, "entries": entries}, partial="faq/_help.html")

    @get("/support/faq-feedback", guards=[requires(Permission.FAQ_FEEDBACK_READ)])
    async def feedback_counts(self, faq_service: NamedDependency[FaqService], request: Request[Any, Any, Any]) -> Any:
        rows = await faq_service.feedback_counts()
        return render(request, "faq/support_feedback.html", {"rows": rows})
