"""Typed shapes of the FAQ API (api.md, "FAQ")."""

from __future__ import annotations

import msgspec

from convergence.core.api_docs import Flag, Page
from convergence.faq.models import FaqEntry


class FaqEntryOut(msgspec.Struct, kw_only=True):
    """`question` and `answer` are in the request's language (`lang`, else Accept-Language); both versions
    follow. Answers are Markdown: `answer_en` is the ANS original, `answer_fr` its French version, the project's
    translation when `answer_fr_translated`; `answer_lang` is the language `answer` is in (English when an entry
    has no French text yet)."""

    id: int
    slug: str
    question: str
    question_fr: str
    question_en: str
    answer: str
    answer_lang: str
    answer_fr: str
    answer_en: str
    answer_fr_translated: bool
    theme: str
    facets: dict[str, list[str]]
    places: list[str]

    @classmethod
    def of(cls, entry: FaqEntry, lang: str) -> FaqEntryOut:
        return cls(id=entry.id, slug=entry.slug, question=entry.question(lang), question_fr=entry.question_fr,
                   question_en=entry.question_en, answer=entry.answer(lang), answer_lang=entry.answer_lang(lang),
                   answer_fr=entry.answer_fr, answer_en=entry.answer_en,
                   answer_fr_translated=entry.answer_fr_translated, theme=entry.theme, facets=entry.facets,
                   places=entry.places)


class FaqEntryPage(Page[FaqEntryOut], kw_only=True):
    items: list[FaqEntryOut]


class FeedbackIn(msgspec.Struct, kw_only=True):
    useful: Flag = None
