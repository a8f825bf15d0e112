"""JSON API, "Review (ANS)" section of api.md, plus the vendors' side: comments on their responses and
anonymised market averages per theme."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import Provide

from convergence.core.api_docs import BODY, SIGNED_IN, Page, errors
from convergence.core.params import FromPath, FromQuery, JSONBody
from convergence.identity.permissions import Permission
from convergence.identity.web import Ctx, provide_ctx, requires, signed_in
from convergence.review.filters import parse_filters, parse_window
from convergence.review.schemas import CommentIn, CommentOut, MarketOut, ReviewRowOut
from convergence.review.services import ReviewService
from convergence.review.statistics import MIN_COMPANIES
from convergence.review.views import comment_json

Q = FromQuery[str | None]


def _filters(**raw: Any):
    return parse_filters(raw)


def _item_json(item: dict[str, Any]) -> dict[str, Any]:
    return {"id": item["id"], "code": item["code"], "label": item["label"], "theme": item["theme"],
            "value": item["value"], "text": item["text"], "planned": item["planned"]}


def response_json(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": view["id"], "questionnaire_id": view["questionnaire"].id, "questionnaire": view["title"],
        "step_id": view["step"].id if view["step"] else None, "status": view["status"],
        "maturity": view["maturity"], "revision": view["revision"],
        "theme_scores": {t["theme"]: t["value"] for t in view["theme_scores"]},
        "validated_at": view["validated_at"].isoformat() if view["validated_at"] else None,
        "answers": [_item_json(i) for i in view["answers"]],
        "revisions": [{**r, "validated_at": r["validated_at"].isoformat() if r["validated_at"] else None}
                      for r in view["revisions"]],
        "last_validated_revision": view["last_validated_revision"],
        "changes": [{k: c[k] for k in ("id", "code", "label", "before", "after", "before_text", "after_text")}
                    for c in view["changes"]],
        "history": [{**h, "at": h["at"].isoformat()} for h in view["history"]],
        "comments": view["comments"],
        "projection": [{"date": d.isoformat(), "maturity": m} for d, m in view["projection"]],
    }


def _attachment(body: str | bytes, media_type: str, extension: str) -> Response[Any]:
    name = f"convergence-review-{date.today():%Y%m%d}.{extension}"
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


READ = errors(SIGNED_IN, 404)


class ReviewApi(Controller):
    path = "/api/v1/review"
    tags = ["Review (ANS)"]
    guards = [requires(Permission.REVIEW_READ)]
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/products", responses=READ)
    async def products(self, ctx: Ctx, track: Q = None, step: Q = None, status: Q = None, company: Q = None,
                       q: Q = None, min_maturity: Q = None, max_maturity: Q = None, sort: Q = None,
                       limit: Q = None, offset: Q = None) -> Page[ReviewRowOut]:
        """One row per product × enrolled step of every company: least advanced status and mean maturity."""
        filters = _filters(track=track, step=step, status=status, company=company, q=q, min_maturity=min_maturity,
                           max_maturity=max_maturity, sort=sort)
        size, start = parse_window(limit, offset)
        rows, total = await ReviewService(ctx).rows(filters, size, start)
        return Page(items=rows, total=total, limit=size,
                    offset=start)

    @get("/charts", responses=READ)
    async def charts(self, ctx: Ctx, track: Q = None, step: Q = None, status: Q = None, company: Q = None,
                     q: Q = None, min_maturity: Q = None, max_maturity: Q = None) -> dict[str, Any]:
        """The dashboard's charts as data: status counts per step, maturity distribution per theme."""
        filters = _filters(track=track, step=step, status=status, company=company, q=q, min_maturity=min_maturity,
                           max_maturity=max_maturity)
        data = await ReviewService(ctx).charts(filters)
        return {"steps": [{k: s[k] for k in ("id", "title", "counts", "total")} for s in data["steps"]],
                "themes": [vars(t) for t in data["themes"]]}

    @get("/export.csv", media_type="text/csv", responses=READ)
    async def export_csv(self, ctx: Ctx, track: Q = None, step: Q = None, status: Q = None, company: Q = None,
                         q: Q = None, min_maturity: Q = None, max_maturity: Q = None,
                         sort: Q = None) -> Response[Any]:
        filters = _filters(track=track, step=step, status=status, company=company, q=q, min_maturity=min_maturity,
                           max_maturity=max_maturity, sort=sort)
        return _attachment(await ReviewService(ctx).export_csv(filters), "text/csv", "csv")

    @get("/export.xlsx", media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         responses=READ)
    async def export_xlsx(self, ctx: Ctx, track: Q = None, step: Q = None, status: Q = None, company: Q = None,
                          q: Q = None, min_maturity: Q = None, max_maturity: Q = None,
                          sort: Q = None) -> Response[Any]:
        filters = _filters(track=track, step=step, status=status, company=company, q=q, min_maturity=min_maturity,
                           max_maturity=max_maturity, sort=sort)
        return _attachment(await ReviewService(ctx).export_xlsx(filters),
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")

    @get("/products/{product_id:int}", responses=READ)
    async def product(self, ctx: Ctx, product_id: FromPath[int]) -> dict[str, Any]:
        """Drill-down: every response of the product, read-only, with history, changes and comments."""
        data = await ReviewService(ctx).product(product_id)
        product = data["product"]
        return {"product_id": product.id, "company_id": product.company_id, "company_name": data["company"].name,
                "display_name": product.display_name, "commercial_name": product.commercial_name,
                "edition": product.edition, "version": product.version, "kind": product.kind,
                "responses": [response_json(v) for v in data["responses"]]}

    @get("/responses/{response_id:int}/comments", responses=READ)
    async def comments(self, ctx: Ctx, response_id: FromPath[int]) -> Page[CommentOut]:
        rows = await ReviewService(ctx).comments(response_id)
        return Page(items=msgspec.convert(rows, list[CommentOut]), total=len(rows))

    @post("/responses/{response_id:int}/comments", status_code=201,
          guards=[requires(Permission.REVIEW_COMMENT)], responses=errors(SIGNED_IN, BODY, 404, 409))
    async def add_comment(self, ctx: Ctx, response_id: FromPath[int], data: JSONBody[CommentIn]) -> CommentOut:
        comment = await ReviewService(ctx).add_comment(response_id, data.body)
        return msgspec.convert(comment_json(comment, ctx.actor), CommentOut)


class VendorReviewApi(Controller):
    """What vendors see of the review: comments on their responses, anonymised market averages."""

    path = "/api/v1"
    tags = ["Review (ANS)"]
    guards = [signed_in]
    dependencies = {"ctx": Provide(provide_ctx)}

    @get("/responses/{response_id:int}/comments", responses=READ)
    async def comments(self, ctx: Ctx, response_id: FromPath[int]) -> Page[CommentOut]:
        rows = await ReviewService(ctx).comments_for_company(response_id)
        return Page(items=msgspec.convert(rows, list[CommentOut]), total=len(rows))

    @get("/market/themes", responses=READ)
    async def market(self, ctx: Ctx) -> MarketOut:
        """Mean theme score over all companies (shown from MIN_COMPANIES contributing companies) beside yours."""
        rows = await ReviewService(ctx).market_for_vendor()
        return MarketOut(items=rows, total=len(rows), min_companies=MIN_COMPANIES)

