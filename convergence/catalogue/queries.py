"""The public catalogue's SQL. An entry is the latest `referenced` application of a (product, step): a newer
application still under review, or refused, leaves the referenced one listed; a flagged one stays listed with
its note. Every list is a fixed number of statements whatever the size of the catalogue. No authorization
here: the catalogue is public, and only the columns a citizen may read leave this module."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.companies.models import Company
from convergence.questionnaires.models import Step, Track
from convergence.referencing.models import AppStatus, ReferencingApplication

App = ReferencingApplication

# Letters folded for search and sorting: what a French citizen types with or without accents. PostgreSQL folds
# both cases with translate() before lower(), whose reach depends on the database's locale.
_ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸ’"
_PLAIN = "aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyy'"
_LIGATURES = (("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae"))
# SQLite has no translate(): a replace() per letter, after the app's lower() (core.db registers Python's, which
# folds every letter). The letters of French only: SQLite's parser refuses about thirty nested calls.
_SQLITE_LETTERS = (("à", "a"), ("â", "a"), ("ä", "a"), ("ç", "c"), ("é", "e"), ("è", "e"), ("ê", "e"), ("ë", "e"),
                   ("î", "i"), ("ï", "i"), ("ô", "o"), ("ö", "o"), ("ù", "u"), ("û", "u"), ("ü", "u"), ("ÿ", "y"),
                   ("œ", "oe"), ("æ", "ae"), ("’", "'"))
assert len(_ACCENTED) == len(_PLAIN)


def fold_text(text: str) -> str:
    """The Python side of `fold`: accents dropped, ligatures split, lower case."""
    for ligature, letters in _LIGATURES:
        text = text.replace(ligature, letters)
    text = text.replace("’", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fold(expression: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """The same folding in SQL, on both databases, with no extension (PostgreSQL's unaccent needs one)."""
    if dialect == "postgresql":
        folded = func.translate(expression, _ACCENTED, _PLAIN)
        for ligature, letters in _LIGATURES:
            folded = func.replace(folded, ligature, letters)
        return func.lower(folded)
    folded = func.lower(expression)
    for accented, plain in _SQLITE_LETTERS:
        folded = func.replace(folded, accented, plain)
    return folded


def like_pattern(word: str) -> str:
    escaped = fold_text(word).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class CatalogueFilters:
    words: tuple[str, ...] = ()
    category: str | None = None
    step: str | None = None  # a Mon Espace Santé step's code


@dataclass
class EntryRow:
    """What the catalogue shows of one entry: public fields only (no contact, snapshot or reviewer)."""

    id: int
    product_id: int
    commercial_name: str
    description: str
    category: str
    step_code: str
    step_title_fr: str
    step_title_en: str
    company_name: str
    referenced_since: datetime | None
    decided_at: datetime | None
    flagged: bool


def current_entries() -> Any:
    """(product, step) → the id of its latest referenced application and the date of its first referencing:
    read through ix_referencing_application_product_step."""
    return (select(func.max(App.id).label("id"), func.min(App.decided_at).label("since"))
            .where(App.status == AppStatus.REFERENCED)
            .group_by(App.product_id, App.step_code)).subquery("current_entry")


class CatalogueQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.bind.dialect.name

    def _base(self, filters: CatalogueFilters) -> tuple[Select[Any], Any]:
        current = current_entries()
        statement = (select(App.id).select_from(App).join(current, current.c.id == App.id)
                     .join(Company, Company.id == App.company_id))
        if filters.words:
            searched = fold(App.commercial_name + " " + Company.name + " " + App.description, self.dialect)
            patterns = [like_pattern(word) for word in filters.words]
            if self.dialect == "postgresql":
                # translate() folds in one call: each word's LIKE may fold the text again.
                statement = statement.where(*(searched.like(p, escape="\\") for p in patterns))
            else:
                # SQLite folds with a chain of replace(): once per entry whatever the number of words, in a
                # materialized CTE that the planner does not inline into each LIKE.
                haystack = (select(App.id.label("id"), searched.label("text")).select_from(App)
                            .join(current, current.c.id == App.id).join(Company, Company.id == App.company_id)
                            .cte("haystack").prefix_with("MATERIALIZED"))
                statement = statement.where(App.id.in_(select(haystack.c.id).where(
                    *(haystack.c.text.like(p, escape="\\") for p in patterns))))
        if filters.category:
            statement = statement.where(App.category == filters.category)
        if filters.step:
            statement = statement.where(App.step_code == filters.step)
        return statement, current

    async def count(self, filters: CatalogueFilters) -> int:
        statement, _current = self._base(filters)
        return int(await self.session.scalar(select(func.count()).select_from(statement.subquery())) or 0)

    async def page(self, filters: CatalogueFilters, limit: int, offset: int) -> list[EntryRow]:
        """Sorted by commercial name as a reader sorts it (accents and case ignored), then by id: a stable
        order, so that paging never shows an entry twice or skips one."""
        statement, current = self._base(filters)
        name_key = fold(App.commercial_name, self.dialect)
        statement = (statement.join(Step, Step.code == App.step_code)
                     .with_only_columns(*self._columns(current))
                     .order_by(name_key, App.id).limit(limit).offset(offset))
        return [EntryRow(**row._mapping) for row in (await self.session.execute(statement)).all()]

    async def entry(self, application_id: int) -> EntryRow | None:
        """The entry whose current referenced application is `application_id`."""
        current = current_entries()
        statement = (select(*self._columns(current)).select_from(App).join(current, current.c.id == App.id)
                     .join(Company, Company.id == App.company_id).join(Step, Step.code == App.step_code)
                     .where(App.id == application_id))
        row = (await self.session.execute(statement)).first()
        return EntryRow(**row._mapping) if row else None

    async def successor(self, application_id: int) -> int | None:
        """For a referenced application since superseded by a newer referenced one of the same product and
        step, the id of that newer one (old links keep working)."""
        old = (select(App.product_id, App.step_code)
               .where(App.id == application_id, App.status == AppStatus.REFERENCED)).subquery()
        return await self.session.scalar(
            select(func.max(App.id)).join(old, and_(old.c.product_id == App.product_id,
                                                    old.c.step_code == App.step_code))
            .where(App.status == AppStatus.REFERENCED))

    async def steps(self) -> list[Step]:
        """The Mon Espace Santé steps, the only ones a product is referenced for."""
        return list((await self.session.scalars(
            select(Step).join(Track, Track.id == Step.track_id).where(Track.code == "mes")
            .order_by(Step.position))).all())

    @staticmethod
    def _columns(current: Any) -> list[Any]:
        return [App.id.label("id"), App.product_id.label("product_id"),
                App.commercial_name.label("commercial_name"), App.description.label("description"),
                App.category.label("category"), App.step_code.label("step_code"),
                Step.title_fr.label("step_title_fr"), Step.title_en.label("step_title_en"),
                Company.name.label("company_name"), current.c.since.label("referenced_since"),
                App.decided_at.label("decided_at"), App.flagged_at.is_not(None).label("flagged")]
