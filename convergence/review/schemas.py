"""Typed shapes of the review API (api.md, "Review (ANS)"): the dashboard's rows, its charts, the drill-down, the
comments and the market averages."""

from __future__ import annotations

from typing import Any

import msgspec

from convergence.core.api_docs import Page, Text
from convergence.questionnaires.schemas import ProjectionPoint


class ReviewedProduct(msgspec.Struct, kw_only=True):
    """Which product of which company a dashboard row or a drill-down is about."""

    product_id: int
    company_id: int
    company_name: str
    display_name: str
    commercial_name: str | None
    edition: str
    version: str


class ReviewRowOut(ReviewedProduct, kw_only=True):
    """One product × enrolled step: the least advanced status and the mean maturity (0-100)."""

    step_id: int
    step_code: str
    step: str
    track: str
    status: str
    maturity: float | None
    validated_at: str | None


class ReviewRowPage(Page[ReviewRowOut], kw_only=True):
    items: list[ReviewRowOut]


class StepCountsOut(msgspec.Struct, kw_only=True):
    """`counts`: how many product × step rows are at each status (every status listed); `total`: their sum."""

    id: int
    title: str
    counts: dict[str, int]
    total: int


class ThemeStatsOut(msgspec.Struct, kw_only=True):
    """A theme's scores (0-100) over `count` responses: box-plot figures and a 5-band `histogram` (0-20 ... 80-100);
    the figures are 0 when `count` is 0."""

    theme: str
    title: str
    count: int
    minimum: float
    q1: float
    median: float
    q3: float
    maximum: float
    mean: float
    histogram: list[int]


class ChartsOut(msgspec.Struct, kw_only=True):
    steps: list[StepCountsOut]
    themes: list[ThemeStatsOut]

    @classmethod
    def of(cls, data: dict[str, Any]) -> ChartsOut:
        """From `ReviewService.charts`: the step's track title stays on the dashboard."""
        return cls(steps=[StepCountsOut(id=s["id"], title=s["title"], counts=s["counts"], total=s["total"])
                          for s in data["steps"]],
                   themes=[ThemeStatsOut(**vars(t)) for t in data["themes"]])


class CommentIn(msgspec.Struct, kw_only=True):
    body: Text = None


class CommentOut(msgspec.Struct, kw_only=True):
    id: int
    response_id: int
    body: str
    author: str | None
    author_id: int | None
    created_at: str


class CommentPage(Page[CommentOut], kw_only=True):
    items: list[CommentOut]


class ReviewAnswerOut(msgspec.Struct, kw_only=True):
    """An enabled item's answer: `value` as stored (its JSON type is the item's), `text` as a reader sees it."""

    id: int
    code: str
    label: str
    theme: str
    value: Any
    text: str
    planned: str | None


class ReviewRevisionOut(msgspec.Struct, kw_only=True):
    """A validated revision kept when the response was reopened."""

    revision: int
    maturity: float
    validated_at: str | None
    validated_by: str | None
    answers: dict[str, Any]


class AnswerChangeOut(msgspec.Struct, kw_only=True):
    """An answer given, changed or withdrawn since the last validated revision."""

    id: int
    code: str
    label: str
    before: Any
    after: Any
    before_text: str
    after_text: str


class HistoryEventOut(msgspec.Struct, kw_only=True):
    """An audit event of the response (`response.submitted`, `review.commented`...), oldest first."""

    action: str
    at: str
    by: str | None
    comment: str | None


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


class ReviewResponseOut(msgspec.Struct, kw_only=True):
    """A response of the drill-down, read-only. `questionnaire`: its title; `theme_scores`: 0-100 per theme."""

    id: int
    questionnaire_id: int
    questionnaire: str
    step_id: int | None
    status: str
    maturity: float
    revision: int
    theme_scores: dict[str, float]
    validated_at: str | None
    answers: list[ReviewAnswerOut]
    revisions: list[ReviewRevisionOut]
    last_validated_revision: int | None
    changes: list[AnswerChangeOut]
    history: list[HistoryEventOut]
    comments: list[CommentOut]
    projection: list[ProjectionPoint]

    @classmethod
    def of(cls, view: dict[str, Any]) -> ReviewResponseOut:
        """From a view of `review.views.response_view`."""
        return cls(
            id=view["id"], questionnaire_id=view["questionnaire"].id, questionnaire=view["title"],
            step_id=view["step"].id if view["step"] else None, status=view["status"], maturity=view["maturity"],
            revision=view["revision"], theme_scores={t["theme"]: t["value"] for t in view["theme_scores"]},
            validated_at=_iso(view["validated_at"]),
            answers=[ReviewAnswerOut(id=i["id"], code=i["code"], label=i["label"], theme=i["theme"],
                                     value=i["value"], text=i["text"], planned=i["planned"]) for i in view["answers"]],
            revisions=[ReviewRevisionOut(revision=r["revision"], maturity=r["maturity"],
                                         validated_at=_iso(r["validated_at"]), validated_by=r["validated_by"],
                                         answers=r["answers"]) for r in view["revisions"]],
            last_validated_revision=view["last_validated_revision"],
            changes=[AnswerChangeOut(id=c["id"], code=c["code"], label=c["label"], before=c["before"],
                                     after=c["after"], before_text=c["before_text"], after_text=c["after_text"])
                     for c in view["changes"]],
            history=[HistoryEventOut(action=h["action"], at=h["at"].isoformat(), by=h["by"], comment=h["comment"])
                     for h in view["history"]],
            comments=[CommentOut(**c) for c in view["comments"]],
            projection=[ProjectionPoint(date=d.isoformat(), maturity=m) for d, m in view["projection"]])


class ReviewProductOut(ReviewedProduct, kw_only=True):
    """The drill-down: a product of any company with every response, history, changes and comments."""

    kind: str
    responses: list[ReviewResponseOut]

    @classmethod
    def of(cls, data: dict[str, Any]) -> ReviewProductOut:
        """From `ReviewService.product`."""
        product = data["product"]
        return cls(product_id=product.id, company_id=product.company_id, company_name=data["company"].name,
                   display_name=product.display_name, commercial_name=product.commercial_name,
                   edition=product.edition, version=product.version, kind=product.kind,
                   responses=[ReviewResponseOut.of(v) for v in data["responses"]])


class MarketThemeOut(msgspec.Struct, kw_only=True):
    """A theme's mean score over all companies, `null` (and `enough_data` false) below `min_companies`
    contributing companies, beside the caller's own mean (`null` where they have no score)."""

    theme: str
    title: str
    enough_data: bool
    market_average: float | None
    own_average: float | None


class MarketOut(Page[MarketThemeOut], kw_only=True):
    items: list[MarketThemeOut]
    min_companies: int
