"""JSON API, "FAQ" section of api.md: open to anyone (no sign-in), feedback included."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import Provide

from convergence.core.api_docs import BODY, Page, errors
from convergence.core.errors import Invalid
from convergence.core.params import FromPath, FromQuery, JSONBody, Limit, Offset
from convergence.identity.web import Ctx, provide_ctx
from convergence.faq.schemas import FaqEntryOut, FeedbackIn
from convergence.faq.services import FaqQuery, FaqService


def _lang(lang: str) -> str:
    if lang not in ("en", "fr"):
        raise Invalid("The language must be en or fr.", code="invalid_input", fields={"lang": "Must be en or fr."})
    return lang


class FaqApi(Controller):
    path = "/api/v1/faq"
    tags = ["FAQ"]
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/", responses=errors())
    async def list_entries(self, ctx: Ctx, q: FromQuery[str | None] = None,
                           theme: FromQuery[str | None] = None, place: FromQuery[str | None] = None,
                           offer_type: FromQuery[str | None] = None, segur_corridor: FromQuery[str | None] = None,
                           segur_scheme: FromQuery[str | None] = None,
                           product_or_service: FromQuery[str | None] = None, topic: FromQuery[str | None] = None,
                           lang: FromQuery[str] = "en", limit: Limit = 50, offset: Offset = 0) -> Page[FaqEntryOut]:
        """Answers matching every given filter; `q` is a full-text search (English stemming)."""
        language = _lang(lang)
        query = FaqQuery.from_mapping({
            "q": q, "theme": theme, "place": place, "offer_type": offer_type, "segur_corridor": segur_corridor,
            "segur_scheme": segur_scheme, "product_or_service": product_or_service, "topic": topic})
        rows, total = await FaqService(ctx).list(query, limit, offset)
        return Page(items=[FaqEntryOut.of(e, language) for e in rows], total=total)

    @get("/{entry_id:int}", responses=errors(404))
    async def show_entry(self, ctx: Ctx, entry_id: FromPath[int], lang: FromQuery[str] = "en") -> FaqEntryOut:
        language = _lang(lang)
        return FaqEntryOut.of(await FaqService(ctx).get(entry_id), language)

    @post("/{entry_id:int}/feedback", status_code=204, responses=errors(BODY, 404))
    async def feedback(self, ctx: Ctx, entry_id: FromPath[int], data: JSONBody[FeedbackIn]) -> None:
        """`{useful: true|false}`: one vote, counted for ANS support."""
        await FaqService(ctx).give_feedback(entry_id, data.useful)
