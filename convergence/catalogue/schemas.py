"""Typed shapes of the public catalogue API: what a citizen reads of an entry, and nothing else (no contact,
no frozen answers, no reviewer)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from convergence.catalogue.queries import EntryRow
from convergence.core.api_docs import Page
from convergence.core.i18n import current_language, gettext
from convergence.referencing.categories import CATEGORIES


class CatalogueEntryOut(msgspec.Struct, kw_only=True):
    """One referenced product for one Mon Espace Santé step. `category_label` and `step_title` are in the
    request's language (Accept-Language); `flagged` is true while ANS re-examines a product changed since it was
    referenced (it stays listed meanwhile)."""

    id: int
    commercial_name: str
    company_name: str
    category: str
    category_label: str
    step_code: str
    step_title: str
    description: str
    referenced_since: datetime | None
    flagged: bool

    @classmethod
    def of(cls, entry: EntryRow) -> CatalogueEntryOut:
        english = current_language() == "en"
        return cls(id=entry.id, commercial_name=entry.commercial_name, company_name=entry.company_name,
                   category=entry.category, category_label=gettext(CATEGORIES.get(entry.category, entry.category)),
                   step_code=entry.step_code, step_title=entry.step_title_en if english else entry.step_title_fr,
                   description=entry.description, referenced_since=entry.referenced_since,
                   flagged=bool(entry.flagged))


class CatalogueEntryPage(Page[CatalogueEntryOut], kw_only=True):
    items: list[CatalogueEntryOut]
