"""Typed shapes of the roadmap API."""

from __future__ import annotations

import msgspec
from litestar.openapi.spec import OpenAPIType

from convergence.core.api_docs import Page, loose
from convergence.roadmap.services import Line, Roadmap, ThemeRow

Targets = loose(OpenAPIType.OBJECT, additionalProperties={"type": "number", "minimum": 0, "maximum": 100})
OwnerId = loose(OpenAPIType.INTEGER)


class RoadmapLineOut(msgspec.Struct, kw_only=True):
    """A question not yet compliant: `planned` (YYYY-MM-DD or null when no date is planned yet), its `quarter`
    (`2027-Q1`), `overdue` when the planned date has passed and the answer is still not compliant. `owner_id`
    is whoever last changed the answer unless someone assigned the line (`assigned`)."""

    product_id: int
    product: str
    response_id: int
    item_code: str
    question: str
    theme: str
    score: float
    planned: str | None
    quarter: str | None
    overdue: bool
    owner_id: int | None
    owner: str | None
    assigned: bool

    @classmethod
    def of(cls, line: Line) -> RoadmapLineOut:
        return cls(product_id=line.product_id, product=line.product, response_id=line.response_id,
                   item_code=line.code, question=line.label, theme=line.theme, score=line.score,
                   planned=line.planned.isoformat() if line.planned else None, quarter=line.quarter,
                   overdue=line.overdue, owner_id=line.owner_id, owner=line.owner, assigned=line.assigned)


class RoadmapPointOut(msgspec.Struct, kw_only=True):
    date: str
    maturity: float


class RoadmapThemeOut(msgspec.Struct, kw_only=True):
    """A theme's maturity today (`current`), once every plan ahead is met (`projected`), the `target` set for
    it (null: none), the gaps to the target (never negative), and the projection point by point."""

    code: str
    title: str
    current: float
    projected: float
    target: float | None
    gap_current: float | None
    gap_projected: float | None
    projection: list[RoadmapPointOut]

    @classmethod
    def of(cls, row: ThemeRow, roadmap: Roadmap) -> RoadmapThemeOut:
        return cls(code=row.code, title=row.title, current=row.current, projected=row.projected, target=row.target,
                   gap_current=row.gap_current, gap_projected=row.gap_projected,
                   projection=[RoadmapPointOut(date=d.isoformat(), maturity=m) for d, m in roadmap.series(row)])


class ProductRoadmapOut(msgspec.Struct, kw_only=True):
    product_id: int
    product: str
    today: str
    overdue: int
    themes: list[RoadmapThemeOut]
    items: list[RoadmapLineOut]
    total: int

    @classmethod
    def of(cls, roadmap: Roadmap) -> ProductRoadmapOut:
        assert roadmap.product is not None
        return cls(product_id=roadmap.product.id, product=roadmap.product.label, today=roadmap.today.isoformat(),
                   overdue=roadmap.overdue, themes=[RoadmapThemeOut.of(r, roadmap) for r in roadmap.themes],
                   items=[RoadmapLineOut.of(line) for line in roadmap.lines], total=roadmap.total)


class RoadmapGapOut(msgspec.Struct, kw_only=True):
    product_id: int
    product: str
    theme: str
    title: str
    current: float
    projected: float
    target: float
    gap_current: float
    gap_projected: float


class CompanyRoadmapPage(Page[RoadmapLineOut]):
    """One page of the company's lines (filtered), with every product's gaps to its targets."""

    items: list[RoadmapLineOut]
    gaps: list[RoadmapGapOut] = []

    @classmethod
    def of(cls, roadmap: Roadmap, limit: int, offset: int) -> CompanyRoadmapPage:
        return cls(items=[RoadmapLineOut.of(line) for line in roadmap.lines], total=roadmap.total, limit=limit,
                   offset=offset,
                   gaps=[RoadmapGapOut(product_id=p.id, product=p.label, theme=r.code, title=r.title, current=r.current,
                                projected=r.projected, target=r.target or 0.0, gap_current=r.gap_current or 0.0,
                                gap_projected=r.gap_projected or 0.0) for p, r in roadmap.gaps])


class TargetsIn(msgspec.Struct, kw_only=True):
    """`targets`: {theme code: maturity from 0 to 100, or null to clear it}; themes left out keep theirs."""

    targets: Targets = None


class OwnerIn(msgspec.Struct, kw_only=True):
    """`owner_id`: an active member of the company with a right on the product; null gives the line back to
    its default owner (the answer's last editor)."""

    owner_id: OwnerId = None

