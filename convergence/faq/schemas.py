"""Typed shapes of the FAQ API (api.md, "FAQ")."""

from __future__ import annotations

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.core.api_docs import loose
from convergence.faq.models import FaqEntry

Bool = loose(OpenAPIType.BOOLEAN)


class FaqEntryOut(msgspec.Struct, kw_only=True):
    id: int
    slug: str
    question: str
    question_fr: str
    question_en: str
    answer: str
    theme: str
    facets: dict[str, list[str]]
    places: list[str]

    @classmethod
    def of(cls, entry: FaqEntry, lang: str) -> FaqEntryOut:
        return cls(id=entry.id, slug=entry.slug, question=entry.question(lang), question_fr=entry.question_fr,
                   question_en=entry.question_en, answer=entry.answer, theme=entry.theme, facets=entry.facets,
                   places=entry.places)


class FeedbackIn(msgspec.Struct, kw_only=True):
    useful: Bool = None
