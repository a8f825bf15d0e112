"""The FAQ: search and filters, contextual help by place, and "was this answer useful?" feedback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, case, distinct, func, select

from convergence.identity.context import Context
from convergence.core.errors import Invalid, NotFound
from convergence.core.i18n import N_
from convergence.identity.policy import Permission
from convergence.faq import search
from convergence.faq.models import FACETS, PLACE, FaqEntry, FaqFeedback, FaqTag

# Places the UI asks help for even before any answer is linked to them; the others come from the answers.
PAGE_PLACES = ("account_request", "team", "products", "questionnaires")


@dataclass
class FaqQuery:
    """What a visitor filters on: words, the theme, a place of the UI, and one value per facet."""

    q: str | None = None
    theme: str | None = None
    place: str | None = None
    facets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, params: Any) -> FaqQuery:
        def one(name: str) -> str | None:
            value = params.get(name)
            return value.strip() or None if isinstance(value, str) else None

        return cls(q=one("q"), theme=one("theme"), place=one("place"),
                   facets={name: value for name in FACETS if (value := one(name))})

    @property
    def words(self) -> list[str]:
        return search.terms(self.q)

    @property
    def active(self) -> bool:
        return bool(self.words or self.theme or self.place or self.facets)


@dataclass
class FeedbackCount:
    entry: FaqEntry
    useful: int
    not_useful: int


def _tagged(kind: str, value: str) -> Any:
    return select(FaqTag.id).where(FaqTag.entry_id == FaqEntry.id, FaqTag.kind == kind,
                                   FaqTag.value == value).exists()


class FaqService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    @property
    def _dialect(self) -> str:
        return self.session.bind.dialect.name

    def _filtered(self, query: FaqQuery) -> tuple[Select[Any], list[Any]]:
        statement = select(FaqEntry.id)
        order: list[Any] = []
        if query.words:
            statement, rank = search.apply(statement, self._dialect, query.words, FaqEntry.id)
            order.append(rank)
        if query.theme:
            statement = statement.where(FaqEntry.theme == query.theme)
        if query.place:
            statement = statement.where(_tagged(PLACE, query.place))
        for name, value in query.facets.items():
            statement = statement.where(_tagged(name, value))
        return statement, [*order, FaqEntry.position, FaqEntry.id]

    async def list(self, query: FaqQuery, limit: int = 50, offset: int = 0) -> tuple[list[FaqEntry], int]:
        """Matching answers, best match first when searching, else in the FAQ's order."""
        ids_statement, order = self._filtered(query)
        total = await self.session.scalar(select(func.count()).select_from(ids_statement.subquery())) or 0
        ids = list((await self.session.scalars(ids_statement.order_by(*order).limit(limit).offset(offset))).all())
        if not ids:
            return [], total
        rows = {e.id: e for e in (await self.session.scalars(select(FaqEntry).where(FaqEntry.id.in_(ids)))).all()}
        return [rows[i] for i in ids if i in rows], total

    async def get(self, entry_id: int) -> FaqEntry:
        entry = await self.session.get(FaqEntry, entry_id)
        if entry is None:
            raise NotFound("This FAQ answer does not exist.")
        return entry

    async def by_slug(self, slugs: set[str]) -> dict[str, FaqEntry]:
        """The answers a page links to, by slug (a help link reads the answer's question, not a number)."""
        if not slugs:
            return {}
        return {e.slug: e for e in (await self.session.scalars(select(FaqEntry).where(FaqEntry.slug.in_(slugs))))}

    async def places(self) -> list[str]:
        linked = (await self.session.scalars(select(distinct(FaqTag.value)).where(FaqTag.kind == PLACE))).all()
        return [*PAGE_PLACES, *sorted(set(linked) - set(PAGE_PLACES))]

    async def help_for(self, place: str) -> list[FaqEntry]:
        """The answers linked to a place of the UI (a page or a questionnaire theme)."""
        if place not in await self.places():
            raise NotFound("There is no help for this place of the site.", code="unknown_place")
        rows, _total = await self.list(FaqQuery(place=place), limit=50)
        return rows

    async def filter_options(self) -> dict[str, list[str]]:
        """The values each filter can take (theme and every facet), for the filter form."""
        themes = (await self.session.scalars(select(distinct(FaqEntry.theme)).order_by(FaqEntry.theme))).all()
        options: dict[str, list[str]] = {"theme": list(themes), **{name: [] for name in FACETS}}
        rows = (await self.session.execute(select(FaqTag.kind, FaqTag.value).where(FaqTag.kind.in_(FACETS))
                                           .distinct().order_by(FaqTag.kind, FaqTag.value))).all()
        for kind, value in rows:
            options[kind].append(value)
        return options

    async def give_feedback(self, entry_id: int, useful: Any) -> FaqEntry:
        """Counts one vote; anyone may vote, signed in or not."""
        entry = await self.get(entry_id)
        if not isinstance(useful, bool):
            raise Invalid("Say whether the answer was useful (true or false).", code="invalid_input",
                          fields={"useful": N_("Must be true or false.")})
        actor = self.ctx.actor
        self.session.add(FaqFeedback(entry_id=entry.id, useful=useful, user_id=actor.id if actor else None))
        self.ctx.audit("faq.feedback", target_type="faq_entry", target_id=entry.id,
                       company_id=actor.company_id if actor else None, useful=useful, slug=entry.slug)
        return entry

    async def feedback_counts(self) -> list[FeedbackCount]:
        """Useful / not useful votes per answer, for ANS support."""
        self.ctx.require(Permission.FAQ_FEEDBACK_READ)
        useful = func.coalesce(func.sum(case((FaqFeedback.useful.is_(True), 1), else_=0)), 0)
        not_useful = func.coalesce(func.sum(case((FaqFeedback.useful.is_(False), 1), else_=0)), 0)
        rows = (await self.session.execute(
            select(FaqEntry, useful, not_useful).outerjoin(FaqFeedback, FaqFeedback.entry_id == FaqEntry.id)
            .group_by(FaqEntry.id).order_by(FaqEntry.position, FaqEntry.id))).all()
        return [FeedbackCount(entry, int(u), int(n)) for entry, u, n in rows]
