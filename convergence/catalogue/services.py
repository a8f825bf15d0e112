"""The public Mon Espace Santé catalogue: what a citizen reads of the products ANS referenced. Anyone may read
it, signed in or not; a filter that names no category or step is a 422 with a sentence, an id that is not a
referenced entry a 404."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from convergence.catalogue.queries import CatalogueFilters, CatalogueQueries, EntryRow
from convergence.core.errors import Invalid, NotFound
from convergence.core.i18n import N_
from convergence.identity.context import Context
from convergence.referencing.categories import CATEGORIES

MAX_SEARCH = 200
MAX_WORDS = 8
_WORD = re.compile(r"[\w'’-]+", re.UNICODE)


@dataclass(frozen=True)
class CatalogueQuery:
    """The reader's query as typed: the words searched, the category and step codes."""

    q: str = ""
    category: str | None = None
    step: str | None = None

    @property
    def filters(self) -> CatalogueFilters:
        words = tuple(w.strip("'’-") for w in _WORD.findall(self.q[:MAX_SEARCH]))
        return CatalogueFilters(words=tuple(w for w in words if w)[:MAX_WORDS], category=self.category,
                                step=self.step)

    def params(self) -> dict[str, str]:
        """The query as query-string parameters (pager links), the empty ones left out."""
        return {k: v for k, v in (("q", self.q), ("category", self.category), ("step", self.step)) if v}

    @property
    def active(self) -> bool:
        return bool(self.params())


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    return value.strip() if isinstance(value, str) else ""


@dataclass
class CataloguePage:
    entries: list[EntryRow]
    total: int


class CatalogueService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.queries = CatalogueQueries(ctx.session)

    async def parse(self, raw: Mapping[str, Any]) -> CatalogueQuery:
        """Query-string values → a CatalogueQuery; an unknown category or step is a 422 naming its field."""
        q = _text(raw, "q")
        if len(q) > MAX_SEARCH:
            sentence = N_("Search at most 200 characters.")
            raise Invalid(sentence, code="invalid_filter", fields={"q": sentence})
        category = _text(raw, "category") or None
        if category is not None and category not in CATEGORIES:
            sentence = N_("Choose a category from the list.")
            raise Invalid(sentence, code="invalid_filter", fields={"category": sentence})
        step = _text(raw, "step") or None
        if step is not None and step not in {s.code for s in await self.queries.steps()}:
            sentence = N_("Choose a Mon Espace Santé step from the list.")
            raise Invalid(sentence, code="invalid_filter", fields={"step": sentence})
        return CatalogueQuery(q=q, category=category, step=step)

    async def search(self, query: CatalogueQuery, limit: int, offset: int) -> CataloguePage:
        filters = query.filters
        total = await self.queries.count(filters)
        entries = await self.queries.page(filters, limit, offset) if offset < total else []
        return CataloguePage(entries, total)

    async def steps(self) -> list[Any]:
        """The Mon Espace Santé steps, for the filter form."""
        return await self.queries.steps()

    async def entry(self, entry_id: int) -> EntryRow:
        entry = await self.queries.entry(entry_id)
        if entry is None:
            raise NotFound("This product is not in the catalogue.")
        return entry

    async def current_id(self, entry_id: int) -> int | None:
        """The entry that replaced a referenced application since superseded; None when there is none."""
        successor = await self.queries.successor(entry_id)
        return successor if successor is not None and successor != entry_id else None
