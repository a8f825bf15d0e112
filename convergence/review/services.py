"""ANS review: the one entry the review's pages and API go through. Each method checks the actor's right, then
asks ReviewQueries (the SQL), the pure statistics and the view builders; filters are parsed in review.filters.

Every list, chart and export is a fixed number of SQL statements whatever the number of vendors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from convergence.companies.access import held_level, member, readable_product_ids
from convergence.core import events
from convergence.core.errors import Invalid, NotFound
from convergence.core.i18n import current_language
from convergence.identity.context import Context
from convergence.identity.policy import Permission
from convergence.questionnaires.models import Response
from convergence.questionnaires.services import QuestionnaireService, clean_comment
from convergence.questionnaires.versions import UsedVersion, versions_used
from convergence.review import statistics, views
from convergence.review.csv_sql import csv_lines, line_statement
from convergence.review.exports import csv_chunks, csv_lines_chunks, status_label, xlsx_chunks
from convergence.review.filters import MAX_SEARCH, STATUSES, Filters
from convergence.review.models import ReviewComment
from convergence.review.queries import ReviewQueries
from convergence.review.schemas import ReviewRowOut
from convergence.review.views import comment_json, review_row

# Rows fetched, built and encoded at a time by the exports: large enough that the per-batch costs (a round trip,
# a chunk sent) vanish, small enough that a batch stays a few hundred kilobytes.
EXPORT_BATCH = 500
CSV_LINE_BATCH = 1000  # lines the database wrote, read at a time (a line is about 150 bytes)
COMPANY_SUGGESTIONS = 20  # companies suggested to the company filter at a time


class ReviewService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session
        self.queries = ReviewQueries(ctx.session)

    # -------------------------------------------------------------------------- the rows

    async def rows(self, filters: Filters, limit: int, offset: int,
                   total: int | None = None) -> tuple[list[ReviewRowOut], int]:
        """A page of rows and their total; a caller that already counted them (the charts do) passes `total`,
        which spares a pass over the whole market."""
        self.ctx.require(Permission.REVIEW_READ)
        if total is None:
            total = await self.queries.count(filters)
        return [review_row(r) for r in await self.queries.rows(filters, limit, offset)], int(total or 0)

    async def charts(self, filters: Filters) -> dict[str, Any]:
        """Status counts per step and the maturity distribution per theme, over the filtered rows."""
        self.ctx.require(Permission.REVIEW_READ)
        counts, grouped = await self.queries.chart_rows(filters)
        steps = await self.queries.steps()
        titles = views.theme_titles(await self.queries.themes())
        return views.charts(steps, titles, statistics.status_counts(counts), statistics.score_counts(grouped))

    async def row_versions(self, rows: list[ReviewRowOut]) -> dict[tuple[int, int], list[UsedVersion]]:
        """The questionnaire version each row's responses use, beside the latest (questionnaires/versions.py)."""
        self.ctx.require(Permission.REVIEW_READ)
        return await versions_used(self.session, [(r.product_id, r.step_id) for r in rows])

    async def choices(self) -> dict[str, Any]:
        """What the filter form offers: tracks with their steps (companies are searched: companies_matching)."""
        self.ctx.require(Permission.REVIEW_READ)
        return views.choices(await self.queries.tracks())

    async def companies_matching(self, text: str, limit: int = COMPANY_SUGGESTIONS,
                                 offset: int = 0) -> list[dict[str, Any]]:
        """The companies whose name contains `text` (any case), by name, `limit` from `offset`: the company
        filter's suggestions, and its choices when a typed name fits several."""
        self.ctx.require(Permission.REVIEW_READ)
        text = text.strip()[:MAX_SEARCH]
        return [{"id": c.id, "name": c.name} for c in await self.queries.companies_matching(text, limit, offset)]

    async def company_choice(self, text: str) -> tuple[int | None, list[dict[str, Any]]]:
        """The company a typed name designates: the one whose name it is (any case), else the only one whose
        name contains it; otherwise None and the first candidates (none: no company matches)."""
        candidates = await self.companies_matching(text, COMPANY_SUGGESTIONS + 1)
        exact = [c for c in candidates if c["name"].casefold() == text.strip().casefold()]
        if len(exact) == 1:
            return exact[0]["id"], exact
        if len(candidates) == 1:
            return candidates[0]["id"], candidates
        return None, candidates[:COMPANY_SUGGESTIONS]

    async def company_name(self, company_id: int) -> str | None:
        self.ctx.require(Permission.REVIEW_READ)
        return await self.queries.company_name(company_id)

    # Exports are streamed: the methods below are not coroutines but return the body's chunks, read from a
    # server-side cursor while the answer is sent. They check the right when called, in the handler, so that a
    # refusal is a 403 answer and never a file cut short. The rows are read on the request's session: the unit
    # of work (core.web.UnitOfWorkMiddleware) closes it only once the last chunk is sent or the client is gone,
    # and a GET holds neither SQLite's write lock nor the app's write gate, so writers go on meanwhile.

    def export_csv(self, filters: Filters) -> AsyncIterator[bytes]:
        """On PostgreSQL the database writes the lines (review/csv_sql.py), the same bytes several times
        faster; SQLite streams the rows through exports.csv_chunks, which writes them as they come."""
        self.ctx.require(Permission.REVIEW_READ)
        language = current_language()
        if self.session.bind.dialect.name == "postgresql":
            labels = {status: status_label(status) for status in STATUSES}
            statement = line_statement(self.queries, filters, language, labels)
            return csv_lines_chunks(csv_lines(self.queries, statement, CSV_LINE_BATCH))
        return csv_chunks(self.queries.stream_rows(filters, EXPORT_BATCH), language)

    def export_xlsx(self, filters: Filters) -> AsyncIterator[bytes]:
        self.ctx.require(Permission.REVIEW_READ)
        return xlsx_chunks(self._row_batches(filters))

    async def _row_batches(self, filters: Filters) -> AsyncIterator[list[ReviewRowOut]]:
        async for rows in self.queries.stream_rows(filters, EXPORT_BATCH):
            yield [review_row(r) for r in rows]

    # -------------------------------------------------------------------------- drill-down and comments

    async def product(self, product_id: int) -> dict[str, Any]:
        """A product of any company, read-only: its responses with labelled answers, history, changes, comments."""
        self.ctx.require(Permission.REVIEW_READ)
        records = await self.queries.product_records(product_id)
        if records is None:
            raise NotFound("This product does not exist.")
        return views.product_view(records, views.theme_titles(await self.queries.themes()))

    async def response(self, response_id: int) -> Response:
        """Any company's response, for a reviewer."""
        self.ctx.require(Permission.REVIEW_READ)
        return await self._any_response(response_id)

    async def _any_response(self, response_id: int) -> Response:
        response = await self.queries.response(response_id)
        if response is None:
            raise NotFound("This response does not exist.")
        return response

    async def add_comment(self, response_id: int, body: object) -> ReviewComment:
        author = self.ctx.require(Permission.REVIEW_COMMENT)
        response = await self._any_response(response_id)
        text = clean_comment("body", body)
        if not text:
            raise Invalid("Write the comment the company will read.", code="comment_required",
                          fields={"body": "Write the comment the company will read."})
        comment = ReviewComment(response_id=response.id, author_id=author.id, body=text)
        self.session.add(comment)
        await self.session.flush()
        self.ctx.audit("review.commented", target_type="review_comment", target_id=comment.id,
                       company_id=response.company_id, response_id=response.id, product_id=response.product_id,
                       comment=text[:500])
        await events.emit(self.session, events.REVIEW_COMMENTED, response_id=response.id,
                          company_id=response.company_id, product_id=response.product_id, actor_id=author.id,
                          comment_id=comment.id)
        return comment

    async def comments(self, response_id: int) -> list[dict[str, Any]]:
        """Reviewers' view of the comments on any response."""
        self.ctx.require(Permission.REVIEW_READ)
        response = await self._any_response(response_id)
        return await self._comments(response.id)

    async def _comments(self, response_id: int) -> list[dict[str, Any]]:
        return [comment_json(comment, user) for comment, user in await self.queries.comments(response_id)]

    # -------------------------------------------------------------------------- market

    async def _market(self, titles: dict[str, str]) -> list[dict[str, Any]]:
        """Mean theme score over every company's responses; None below MIN_COMPANIES contributing companies.

        Shown on every response page, so the database aggregates it in one statement (json_each over the stored
        theme scores) rather than the app reading every response of the market.
        """
        return statistics.market_rows(titles, await self.queries.theme_means())

    async def market_for_vendor(self) -> list[dict[str, Any]]:
        """The market averages beside the vendor's own mean per theme (over the responses they may read)."""
        user = member(self.ctx)
        readable = await readable_product_ids(self.ctx)
        unassigned = readable is not None and await held_level(self.ctx, None) is not None
        conditions = self.queries.vendor_scope(user.company_id, user.id, readable, unassigned)
        market = await self._market(views.theme_titles(await self.queries.themes()))
        return statistics.beside_own(market, await self.queries.theme_means(*conditions))

    # -------------------------------------------------------------------------- the vendor's side

    async def response_for_company(self, response_id: int) -> Response:
        """The existing access checks of the response page: 404 foreign or unreadable, 403 for ANS staff."""
        return (await QuestionnaireService(self.ctx).view(response_id)).response

    async def comments_for_company(self, response_id: int) -> list[dict[str, Any]]:
        response = await self.response_for_company(response_id)
        return await self._comments(response.id)

    async def market_for_response(self, response_id: int) -> dict[str, Any]:
        view = await QuestionnaireService(self.ctx).view(response_id)
        titles = views.theme_titles(await self.queries.themes())
        return views.market_for_response(view.response, (i.theme for i in view.items if i.scored),
                                         await self._market(titles), titles)
