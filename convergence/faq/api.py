"""JSON API, "FAQ" section of api.md: open to anyone (no sign-in), feedback included."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency

from convergence.core.api_docs import BODY, errors
from convergence.core.errors import Invalid
from convergence.core.i18n import N_, current_language
from convergence.core.params import FromPath, FromQuery, JSONBody, Limit, Offset
from convergence.faq.schemas import FaqEntryOut, FaqEntryPage, FeedbackIn
from convergence.faq.services import FaqQuery, FaqService


def _lang(lang: str | None) -> str:
    """`lang` when given, else the request's language (the `cv_lang` cookie, then Accept-Language), as pages."""
    if lang is None:
        return current_language()
    if lang not in ("en", "fr"):
        raise Invalid("The language must be en or fr.", code="invalid_input", fields={"lang": N_("Must be en or fr.")})
    return lang


class FaqApi(Controller):
    path = "/api/v1/faq"
    tags = ["FAQ"]

    @get("/", responses=errors())
    async def list_entries(self, faq_service: NamedDependency[FaqService], q: FromQuery[str | None] = None,
                           theme: FromQuery[str | None] = None, place: FromQuery[str | None] = None,
                           offer_type: FromQuery[str | None] = None, segur_corridor: FromQuery[str | None] = None,
                           segur_scheme: FromQuery[str | None] = None,
                           product_or_service: FromQuery[str | None] = None, topic: FromQuery[str | None] = None,
                           lang: FromQuery[str | None] = None, limit: Limit = 50,
                           offset: Offset = 0) -> FaqEntryPage:
        """Answers matching every given filter; `q` is a full-text search of both languages (French and English
        stemming). `question` and `answer` are in `lang`, else in the language of Accept-Language."""
        language = _lang(lang)
        query = FaqQuery.from_mapping({
            "q": q, "theme": theme, "place": place, "offer_type": offer_type, "segur_corridor": segur_corridor,
            "segur_scheme": segur_scheme, "product_or_service": product_or_service, "topic": topic})
        rows, total = await faq_service.list(query, limit, offset)
        return FaqEntryPage(items=[FaqEntryOut.of(e, language) for e in rows], total=total)

    @get("/{entry_id:int}", responses=errors(404))
    async def show_entry(self, faq_service: NamedDependency[FaqService], entry_id: FromPath[int],
                         lang: FromQuery[str | None] = None) -> FaqEntryOut:
        language = _lang(lang)
        return FaqEntryOut.of(await faq_service.get(entry_id), language)

    @post("/{entry_id:int}/feedback", status_code=204, responses=errors(BODY, 404))
    async def feedback(self, faq_service: NamedDependency[FaqService], entry_id: FromPath[int],
                       data: JSONBody[FeedbackIn]) -> None:
        """`{useful: true|false}`: one vote, counted for ANS support."""
        await faq_service.give_feedback(entry_id, data.useful)
