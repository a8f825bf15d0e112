"""The review's SQL. Every list, chart and export is a fixed number of statements whatever the number of
vendors: the per-(product, step) rows, their counts and the status chart read review_summary, which the database
keeps in the transaction of every response change (migration 0014); the theme box plots read review_theme_count,
kept the same way (migration 0022), unless filtered by company, search or maturity; the market averages still
aggregate the stored theme scores of the responses. No authorization here: ReviewService checks the actor
before it asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
from sqlalchemy import (
    Float,
    Row,
    Select,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import User
from convergence.companies.models import Company
from convergence.core.models import AuditEvent
from convergence.products.models import OS, Product
from convergence.questionnaires.models import (
    Response,
    ResponseRevision,
    Status,
    Step,
    Theme,
    Track,
    review_summary,
)
from convergence.questionnaires import reference
from convergence.review.filters import STATUSES, Filters
from convergence.review.models import ReviewComment
from convergence.review.theme_counts import review_status_count, review_theme_count

T = TypeVar("T")


async def _uncut(operation: Awaitable[T]) -> T:
    """`await operation`, which a cancellation does not interrupt: the cancellation is raised once it has ended.

    A streamed export reads while its answer is sent, and a client that hangs up cancels the body wherever it
    waits. A fetch cut short leaves the connection in an unknown state, which SQLAlchemy then discards instead
    of pooling (aiosqlite's connection thread is stopped and its close never completes); a fetch let finish
    leaves a connection the unit of work rolls back and pools as usual. (The body runs in an anyio task group,
    whose cancellation is delivered again at every await: the wait for the fetch is shielded from it too.)"""
    task = asyncio.ensure_future(operation)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with anyio.CancelScope(shield=True):
            await asyncio.wait([task])
        raise


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _track_steps(filters: Filters) -> Select[Any]:
    """The ids of the steps of the filtered track (given by its code or its id)."""
    return select(Step.id).join(Track, Track.id == Step.track_id).where(
        Track.id == filters.track_id if filters.track_id is not None else Track.code == filters.track)


@dataclass
class ProductRecords:
    """What the drill-down shows of one product, read in a fixed number of statements."""

    product: Product
    company: Company | None
    responses: list[Response]
    steps: dict[int, Step]
    revisions: dict[int, list[ResponseRevision]] = field(default_factory=dict)  # by response id, oldest first
    comments: list[ReviewComment] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)
    users: dict[int, User] = field(default_factory=dict)  # every author, actor and validator named


def _keyed_by_step_and_rank(counted: Any, filters: Filters) -> list[Any]:
    """The track, step and status filters on a table with step_id and status_rank columns: review_summary, and
    the counts kept by (step, status rank), which answer these filters alone."""
    conditions: list[Any] = []
    if filters.track:
        conditions.append(counted.step_id.in_(_track_steps(filters)))
    if filters.step is not None:
        conditions.append(counted.step_id == filters.step)
    if filters.status:
        conditions.append(counted.status_rank == STATUSES.index(filters.status))
    return conditions


class ReviewQueries:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -------------------------------------------------------------------------- the rows

    @staticmethod
    def conditions(filters: Filters) -> list[Any]:
        """The filters as conditions on review_summary alone, so that counts and the status chart read that table
        (and its indexes) without joining the product, company and step of every row."""
        summary = review_summary.c
        conditions = _keyed_by_step_and_rank(summary, filters)  # review_summary is keyed by them too
        if filters.company is not None:
            conditions.append(summary.company_id == filters.company)
        if filters.min_maturity is not None:
            conditions.append(summary.maturity >= filters.min_maturity)
        if filters.max_maturity is not None:
            conditions.append(summary.maturity <= filters.max_maturity)
        if filters.q:
            pattern = _like(filters.q)
            os_label = case((Product.os == OS.OTHER, Product.os_other), else_=Product.os)
            display = Product.name + literal(" ") + os_label + literal(" ") + Product.device
            conditions.append(summary.product_id.in_(
                select(Product.id).join(Company, Company.id == Product.company_id).where(or_(
                    func.lower(display).like(pattern, escape="\\"),
                    func.lower(func.coalesce(Product.commercial_name, "")).like(pattern, escape="\\"),
                    func.lower(Company.name).like(pattern, escape="\\")))))
        return conditions

    def filtered(self, filters: Filters) -> tuple[Select[Any], dict[str, Any]]:
        """One row per (product, enrolled step), filtered: its figures from review_summary (least advanced
        status, mean maturity, last validation, kept by the database as responses change), its product, company
        and step joined by primary key for what the row shows."""
        summary = review_summary.c
        columns = {
            "product_id": summary.product_id, "step_id": summary.step_id, "rank": summary.status_rank,
            "maturity": summary.maturity, "validated_at": summary.validated_at, "company_id": summary.company_id,
            "company_name": Company.name, "name": Product.name, "os": Product.os, "os_other": Product.os_other,
            "device": Product.device, "commercial_name": Product.commercial_name, "edition": Product.edition,
            "version": Product.version, "step_code": Step.code, "step_title_fr": Step.title_fr,
            "step_title_en": Step.title_en, "step_position": Step.position, "track_code": Track.code,
            "track_position": Track.position,
        }
        statement = (select(*(c.label(k) for k, c in columns.items()))
                     .select_from(review_summary)
                     .join(Product, Product.id == summary.product_id)
                     .join(Company, Company.id == summary.company_id)
                     .join(Step, Step.id == summary.step_id)
                     .join(Track, Track.id == Step.track_id)
                     .where(*self.conditions(filters)))
        return statement, columns

    @staticmethod
    def _ordered(statement: Select[Any], columns: dict[str, Any], filters: Filters) -> Select[Any]:
        # company_key and product_key are lower(name) stored by the database: the default order (company, then
        # product) walks ix_review_summary_order instead of sorting every row of the market for a page.
        summary = review_summary.c
        keys = {
            "company": [summary.company_key],
            "product": [summary.product_key, columns["os"], columns["device"]],
            "step": [columns["track_position"], columns["step_position"]],
            "status": [summary.status_rank],
            "maturity": [summary.maturity],
            "validated_at": [summary.validated_at],
        }[filters.sort]
        ordered = [k.desc() if filters.descending else k.asc() for k in keys]
        if filters.sort == "validated_at":
            ordered = [k.nulls_last() for k in ordered]
        tie = [summary.company_key, summary.product_key, summary.product_id, columns["track_position"],
               columns["step_position"]]
        return statement.order_by(*ordered, *tie)

    async def count(self, filters: Filters) -> int:
        if self.counted(filters):  # a few rows of review_status_count instead of every pair of the market
            counted = review_status_count.c
            return int(await self.session.scalar(select(func.coalesce(func.sum(counted.n), 0)).where(
                *_keyed_by_step_and_rank(counted, filters))) or 0)
        return int(await self.session.scalar(select(func.count()).select_from(review_summary).where(
            *self.conditions(filters))) or 0)

    async def rows(self, filters: Filters, limit: int | None = None, offset: int = 0) -> list[Row[Any]]:
        """The filtered rows in the filters' order; a window of them when `limit` is given."""
        statement = self._ordered(*self.filtered(filters), filters)
        if limit is not None:
            statement = statement.limit(limit).offset(offset)
        return list((await self.session.execute(statement)).all())

    async def stream_rows(self, filters: Filters, batch: int) -> AsyncIterator[Sequence[Row[Any]]]:
        """The rows of `rows(filters)`, in the same order, `batch` at a time from a server-side cursor
        (PostgreSQL: a cursor in the transaction; SQLite: the statement stepped as rows are fetched), so that only
        one batch is ever in memory. One statement, as `rows`."""
        statement = self._ordered(*self.filtered(filters), filters).execution_options(yield_per=batch)
        result = await _uncut(self.session.stream(statement))
        batches = result.partitions()

        async def next_batch() -> Sequence[Row[Any]] | None:
            return await anext(batches, None)

        while (rows := await _uncut(next_batch())) is not None:
            yield rows

    async def stream_scalars(self, statement: Select[Any], batch: int) -> AsyncIterator[Sequence[Any]]:
        """The first column of a statement's rows, `batch` at a time from a server-side cursor (as
        stream_rows)."""
        result = await _uncut(self.session.stream(statement.execution_options(yield_per=batch)))
        batches = result.scalars().partitions()

        async def next_batch() -> Sequence[Any] | None:
            return await anext(batches, None)

        while (values := await _uncut(next_batch())) is not None:
            yield values

    async def chart_rows(self, filters: Filters) -> tuple[list[Row[Any]], list[Row[Any]]]:
        """Over the filtered rows: (step id, status rank, how many), and (theme, score, how many) over their
        started responses: small whatever the market. When the filters are the track, step and status the
        maintained counts are keyed by, both read them (review_status_count, review_theme_count, kept by the
        database); otherwise (a company, a search or maturity bounds: rows those tables do not tell apart, and
        mostly few) the status counts group the filtered review_summary rows and the theme scores expand the JSON
        scores of their responses."""
        if self.counted(filters):
            counted = review_status_count.c
            counts = (await self.session.execute(
                select(counted.step_id, counted.status_rank, counted.n)
                .where(counted.n > 0, *_keyed_by_step_and_rank(counted, filters)))).all()
            return list(counts), await self.maintained_theme_counts(filters)
        summary = review_summary.c
        counts = (await self.session.execute(
            select(summary.step_id, summary.status_rank, func.count()).where(*self.conditions(filters))
            .group_by(summary.step_id, summary.status_rank))).all()
        return list(counts), await self.scanned_theme_counts(filters)

    @staticmethod
    def counted(filters: Filters) -> bool:
        """Whether the maintained counts (review_theme_count, review_status_count) answer these filters."""
        return filters.company is None and not filters.q and filters.min_maturity is None \
            and filters.max_maturity is None

    async def maintained_theme_counts(self, filters: Filters) -> list[Row[Any]]:
        """(theme, score, how many) from review_theme_count, for filters on the track, step and status only."""
        counted = review_theme_count.c
        conditions = _keyed_by_step_and_rank(counted, filters)
        total = func.sum(counted.n)
        return list((await self.session.execute(
            select(counted.theme, counted.score, total).where(*conditions)
            .group_by(counted.theme, counted.score).having(total > 0))).all())

    async def scanned_theme_counts(self, filters: Filters) -> list[Row[Any]]:
        """(theme, score, how many) expanded from the JSON scores of the filtered rows' started responses."""
        summary = review_summary.c
        filtered = select(summary.product_id, summary.step_id).where(*self.conditions(filters)).subquery("filtered")
        pairs, score = self._theme_score_pairs()
        return list((await self.session.execute(
            select(pairs.c.key, score, func.count())
            .select_from(Response)
            .join(filtered, and_(filtered.c.product_id == Response.product_id, filtered.c.step_id == Response.step_id))
            .join(pairs, literal(True))
            .where(Response.status != Status.NOT_STARTED, score.is_not(None))
            .group_by(pairs.c.key, score))).all())

    # Reference data: the per-process copies of questionnaires/reference.py, no statement once they are held.
    async def steps(self) -> list[Step]:
        return list((await reference.steps(self.session)).values())

    async def themes(self) -> list[Theme]:
        return list((await reference.themes(self.session)).values())

    async def tracks(self) -> list[Track]:
        return await reference.tracks(self.session)

    async def companies_matching(self, text: str, limit: int, offset: int = 0) -> list[Row[Any]]:
        """(id, name) of the companies whose name contains `text` (any case), by name, a window of them: the
        filter's suggestions, which must not grow with the market (one scan of the company names)."""
        return list((await self.session.execute(
            select(Company.id, Company.name).where(func.lower(Company.name).like(_like(text), escape="\\"))
            .order_by(func.lower(Company.name), Company.id).limit(limit).offset(offset))).all())

    async def company_name(self, company_id: int) -> str | None:
        return await self.session.scalar(select(Company.name).where(Company.id == company_id))

    # -------------------------------------------------------------------------- market

    def _theme_score_pairs(self) -> tuple[Any, Any]:
        """The (theme, score) pairs of Response.theme_scores as a table joined to each response, and the score
        as a number (NULL when not numeric): lets the database aggregate scores without the app decoding JSON."""
        if self.session.bind.dialect.name == "sqlite":
            pairs = func.json_each(Response.theme_scores).table_valued("key", "value", "type").alias("ts")
            return pairs, case((pairs.c.type.in_((literal_column("'integer'"), literal_column("'real'"))),
                                pairs.c.value))
        pairs = func.json_each(Response.theme_scores).table_valued("key", "value").alias("ts")
        # Literal SQL rather than bound parameters: the expression is grouped by, and PostgreSQL only matches
        # a GROUP BY expression to the selected one when they are written identically.
        return pairs, case((func.json_typeof(pairs.c.value) == literal_column("'number'"),
                            cast(cast(pairs.c.value, Text), Float)))

    async def theme_means(self, *conditions: Any) -> dict[str, tuple[float | None, int]]:
        """Per theme code, the mean numeric score and the number of companies contributing one, over the
        started responses matching `conditions` (one aggregate statement)."""
        pairs, score = self._theme_score_pairs()
        rows = (await self.session.execute(
            select(pairs.c.key, func.avg(score), func.count(func.distinct(case((score.is_not(None),
                                                                                Response.company_id)))))
            .select_from(Response).join(pairs, literal(True))
            .where(Response.status != Status.NOT_STARTED, *conditions).group_by(pairs.c.key))).all()
        return {key: (average, int(count or 0)) for key, average, count in rows}

    @staticmethod
    def vendor_scope(company_id: int, user_id: int, readable: Collection[int] | None,
                     unassigned: bool) -> list[Any]:
        """Conditions on Response for what a vendor may read: their company's responses, narrowed (unless
        `readable` is None) to the products they may read or created, and, when `unassigned`, the responses
        that belong to no product."""
        conditions: list[Any] = [Response.company_id == company_id]
        if readable is not None:
            created = select(Product.id).where(Product.created_by_id == user_id)
            scope = [Response.product_id.in_(readable or {0}), Response.product_id.in_(created)]
            if unassigned:
                scope.append(Response.product_id.is_(None))
            conditions.append(or_(*scope))
        return conditions

    # -------------------------------------------------------------------------- drill-down and comments

    async def response(self, response_id: int) -> Response | None:
        return await self.session.get(Response, response_id)

    async def product_records(self, product_id: int) -> ProductRecords | None:
        """A product of any company with its responses, their steps, revisions, comments, events and people."""
        product = await self.session.get(Product, product_id)
        if product is None:
            return None
        company = await self.session.get(Company, product.company_id)
        responses = list((await self.session.scalars(select(Response).where(Response.product_id == product.id)
                                                     .order_by(Response.step_id, Response.questionnaire_id))).all())
        ids = [r.id for r in responses]
        steps = {s.id: s for s in (await self.session.scalars(select(Step).where(
            Step.id.in_({r.step_id for r in responses if r.step_id} or {0})))).all()}
        records = ProductRecords(product, company, responses, steps)
        if ids:
            for revision in (await self.session.scalars(select(ResponseRevision).where(
                    ResponseRevision.response_id.in_(ids)).order_by(ResponseRevision.revision))).all():
                records.revisions.setdefault(revision.response_id, []).append(revision)
            records.comments = list((await self.session.scalars(select(ReviewComment).where(
                ReviewComment.response_id.in_(ids)).order_by(ReviewComment.id))).all())
            records.events = list((await self.session.scalars(select(AuditEvent).where(or_(
                and_(AuditEvent.target_type == "response", AuditEvent.target_id.in_(ids),
                     AuditEvent.action != "response.saved"),
                and_(AuditEvent.target_type == "review_comment",
                     AuditEvent.target_id.in_([c.id for c in records.comments] or [0]))))
                .order_by(AuditEvent.id))).all())
        people = {e.actor_id for e in records.events} | {c.author_id for c in records.comments} | {
            r.validated_by_id for rs in records.revisions.values() for r in rs}
        records.users = {u.id: u for u in (await self.session.scalars(select(User).where(
            User.id.in_(people - {None} or {0})))).all()}
        return records

    async def comments(self, response_id: int) -> list[Row[Any]]:
        """(comment, author) pairs on a response, oldest first."""
        return list((await self.session.execute(select(ReviewComment, User).outerjoin(
            User, User.id == ReviewComment.author_id).where(ReviewComment.response_id == response_id)
            .order_by(ReviewComment.id))).all())
