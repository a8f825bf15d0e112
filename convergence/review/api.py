"""JSON API, "Review (ANS)" section of api.md, plus the vendors' side: comments on their responses and
anonymised market averages per theme."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.response import Stream

from convergence.core.api_docs import BODY, SIGNED_IN, errors
from convergence.core.params import FromPath, FromQuery, JSONBody
from convergence.identity.policy import Permission
from convergence.identity.web import Ctx, requires, signed_in
from convergence.review.exports import XLSX_MEDIA_TYPE
from convergence.review.filters import parse_filters, parse_window
from convergence.review.schemas import (
    ChartsOut,
    CommentIn,
    CommentOut,
    CommentPage,
    MarketOut,
    MarketThemeOut,
    ReviewProductOut,
    ReviewRowPage,
)
from convergence.review.services import ReviewService
from convergence.review.statistics import MIN_COMPANIES
from convergence.review.views import comment_json

Q = FromQuery[str | None]


def _filters(**raw: Any):
    return parse_filters(raw)


def _attachment(chunks: AsyncIterator[bytes], media_type: str, extension: str) -> Stream:
    """A download sent as it is written (no Content-Length): the rows are read while the body goes out."""
    name = f"convergence-review-{date.today():%Y%m%d}.{extension}"
    return Stream(chunks, media_type=media_type,
                  headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


READ = errors(SIGNED_IN, 404)


def _download(data: type, media_type: str, description: str) -> dict[int, ResponseSpec]:
    """`responses=` of an export: its errors, and its 200 declared as a file, which Litestar cannot infer from
    a `Stream` (it would document the answer with no schema)."""
    return {**READ, 200: ResponseSpec(data_container=data, media_type=media_type, description=description)}


class ReviewApi(Controller):
    path = "/api/v1/review"
    tags = ["Review (ANS)"]
    guards = [requires(Permission.REVIEW_READ)]

    @get("/products", responses=READ)
    async def products(self, review_service: NamedDependency[ReviewService], track: Q = None, step: Q = None,
                       status: Q = None, company: Q = None, q: Q = None, min_maturity: Q = None, max_maturity: Q = None,
                       sort: Q = None, limit: Q = None, offset: Q = None) -> ReviewRowPage:
        """One row per product × enrolled step of every company: least advanced status and mean maturity."""
        filters = _filters(track=track, step=step, status=status, company=company, q=q, min_maturity=min_maturity,
                           max_maturity=max_maturity, sort=sort)
        size, start = parse_window(limit, offset)
        rows, total = await review_service.rows(filters, size, start)
        return ReviewRowPage(items=rows, total=total, limit=size, offset=start)

    @get("/charts", responses=READ)
    async def charts(self, review_service: NamedDependency[ReviewService], track: Q = None, step: Q = None,
                     status: Q = None, company: Q = None, q: Q = None, min_maturity: Q = None,
                     max_maturity: Q = None) -> ChartsOut:
        """The dashboard's charts as data: status counts per step, maturity distribution per theme."""
        filters = _filters(track=track, step=step, status=status, company=company, q=q, min_maturity=min_maturity,
                           max_maturity=max_maturity)
        return ChartsOut.of(await review_service.charts(filters))

    @get("/export.csv", media_type="text/csv",
         responses=_download(str, "text/csv", "The rows as CSV: UTF-8 with a BOM, `;`-separated, every field quoted."))
    async def export_csv(self, review_service: NamedDependency[ReviewService], track: Q = None, step: Q = None,
                         status: Q = None, company: Q = None, q: Q = None, min_maturity: Q = None,
                         max_maturity: Q = None, sort: Q = None) -> Stream:
        """The filtered rows as CSV, streamed (filters and rights are checked before the first byte)."""
        filters = _filters(track=track, step=step, status=status, company=company, q=q, min_maturity=min_maturity,
                           max_maturity=max_maturity, sort=sort)
        return _attachment(review_service.export_csv(filters), "text/csv", "csv")

    @get("/export.xlsx", media_type=XLSX_MEDIA_TYPE,
         responses=_download(bytes, XLSX_MEDIA_TYPE, "The rows as a one-sheet XLSX workbook."))
    async def export_xlsx(self, review_service: NamedDependency[ReviewService], track: Q = None, step: Q = None,
                          status: Q = None, company: Q = None, q: Q = None, min_maturity: Q = None,
                          max_maturity: Q = None, sort: Q = None) -> Stream:
        """The filtered rows as an XLSX workbook, streamed (filters and rights are checked before the first byte)."""
        filters = _filters(track=track, step=step, status=status, company=company, q=q, min_maturity=min_maturity,
                           max_maturity=max_maturity, sort=sort)
        return _attachment(review_service.export_xlsx(filters), XLSX_MEDIA_TYPE, "xlsx")

    @get("/products/{product_id:int}", responses=READ)
    async def product(self, review_service: NamedDependency[ReviewService],
                      product_id: FromPath[int]) -> ReviewProductOut:
        """Drill-down: every response of the product, read-only, with history, changes and comments."""
        return ReviewProductOut.of(await review_service.product(product_id))

    @get("/responses/{response_id:int}/comments", responses=READ)
    async def comments(self, review_service: NamedDependency[ReviewService], response_id: FromPath[int]) -> CommentPage:
        rows = await review_service.comments(response_id)
        return CommentPage.whole(msgspec.convert(rows, list[CommentOut]))

    @post("/responses/{response_id:int}/comments", status_code=201,
          guards=[requires(Permission.REVIEW_COMMENT)], responses=errors(SIGNED_IN, BODY, 404, 409))
    async def add_comment(self, review_service: NamedDependency[ReviewService], ctx: Ctx, response_id: FromPath[int],
                          data: JSONBody[CommentIn]) -> CommentOut:
        comment = await review_service.add_comment(response_id, data.body)
        return msgspec.convert(comment_json(comment, ctx.actor), CommentOut)


class VendorReviewApi(Controller):
    """What vendors see of the review: comments on their responses, anonymised market averages."""

    path = "/api/v1"
    tags = ["Review (ANS)"]
    guards = [signed_in]

    @get("/responses/{response_id:int}/comments", responses=READ)
    async def comments(self, review_service: NamedDependency[ReviewService], response_id: FromPath[int]) -> CommentPage:
        rows = await review_service.comments_for_company(response_id)
        return CommentPage.whole(msgspec.convert(rows, list[CommentOut]))

    @get("/market/themes", responses=READ)
    async def market(self, review_service: NamedDependency[ReviewService]) -> MarketOut:
        """Mean theme score over all companies (shown from MIN_COMPANIES contributing companies) beside yours."""
        rows = [MarketThemeOut(**row) for row in await review_service.market_for_vendor()]
        return MarketOut(items=rows, total=len(rows), min_companies=MIN_COMPANIES)

