"""Typed shapes of the publications API. Titles come in the request's language; a suppressed cell carries no
figure at all (not even how many companies stand behind it)."""

from __future__ import annotations

from typing import Any

import msgspec

from convergence.core.api_docs import Page, Text
from convergence.publications.models import Publication
from convergence.publications.services import ProductComparison, title


class CellOut(msgspec.Struct, kw_only=True):
    """A step's theme (or, `theme` null, the step's overall maturity). `suppressed`: fewer than `min_companies`
    companies stand behind it, and every figure is null. `histogram`: how many products fall in each maturity
    band of the publication's `band_labels`."""

    theme: str | None
    title: str
    suppressed: bool
    products: int | None = None
    companies: int | None = None
    mean: float | None = None
    minimum: float | None = None
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    maximum: float | None = None
    histogram: list[int] | None = None

    @classmethod
    def of(cls, code: str | None, name: str, cell: dict[str, Any]) -> CellOut:
        if cell.get("suppressed", True):
            return cls(theme=code, title=name, suppressed=True)
        return cls(theme=code, title=name, suppressed=False, **{k: cell.get(k) for k in (
            "products", "companies", "mean", "minimum", "q1", "median", "q3", "maximum", "histogram")})


class StepFiguresOut(msgspec.Struct, kw_only=True):
    step: str
    title: str
    track: str
    maturity: CellOut
    themes: list[CellOut]


class PublicationOut(msgspec.Struct, kw_only=True):
    """`status`: `published` or `withdrawn` (withdrawn ones are shown to ANS support only). `basis`: `validated`
    (computed from the validated responses at `published_at`) or `simulated` (written by the simulation).
    `products` and `companies`: how many stand behind the whole publication. `steps` is empty in lists."""

    id: int
    label: str
    year: int
    semester: int
    status: str
    basis: str
    published_at: str
    withdrawn_at: str | None
    withdraw_reason: str | None
    products: int
    companies: int
    min_companies: int
    band_labels: list[str]
    steps: list[StepFiguresOut]

    @classmethod
    def of(cls, publication: Publication, *, full: bool = True) -> PublicationOut:
        figures = publication.figures or {}
        return cls(
            id=publication.id, label=publication.label, year=publication.year, semester=publication.half,
            status="withdrawn" if publication.withdrawn_at else "published", basis=publication.basis,
            published_at=publication.published_at.isoformat(),
            withdrawn_at=publication.withdrawn_at.isoformat() if publication.withdrawn_at else None,
            withdraw_reason=publication.withdraw_reason, products=publication.products,
            companies=publication.companies, min_companies=int(figures.get("min_companies", 0)),
            band_labels=list(figures.get("band_labels", [])),
            steps=[StepFiguresOut(step=s["code"], title=title(s), track=title(s.get("track")),
                                  maturity=CellOut.of(None, "", s.get("maturity", {})),
                                  themes=[CellOut.of(t["code"], title(t), t) for t in s.get("themes", [])])
                   for s in figures.get("steps", [])] if full else [])


class PublicationPage(Page[PublicationOut]):
    items: list[PublicationOut]


class PublishIn(msgspec.Struct, kw_only=True):
    """`label`: the semester, `2026 S2` (year and S1 or S2); by default the current one. Only the current
    semester or the one just ended may be published."""

    label: Text = None


class WithdrawIn(msgspec.Struct, kw_only=True):
    """`reason` (optional, up to 500 characters), kept with the withdrawn publication."""

    reason: Text = None


class ComparedThemeOut(msgspec.Struct, kw_only=True):
    """`own`: the product's maturity for the theme (its started responses of the step, as they stand); `q1`,
    `median`, `q3`: the publication's, null when the cell is not published (`suppressed`, or no figure);
    `position`: `below` the first quartile, `within` the quartiles, `above` the third, or null."""

    theme: str
    title: str
    own: float
    published: bool
    suppressed: bool
    q1: float | None
    median: float | None
    q3: float | None
    position: str | None


class ComparedStepOut(msgspec.Struct, kw_only=True):
    step: str
    title: str
    track: str
    validated: bool
    themes: list[ComparedThemeOut]


class ComparisonOut(msgspec.Struct, kw_only=True):
    """`publication`: the latest standing one (its figures left out), null when nothing is published yet."""

    product_id: int
    product: str
    publication: PublicationOut | None
    steps: list[ComparedStepOut]

    @classmethod
    def of(cls, comparison: ProductComparison) -> ComparisonOut:
        return cls(product_id=comparison.product.id, product=comparison.product.display_name,
                   publication=PublicationOut.of(comparison.publication, full=False) if comparison.publication
                   else None,
                   steps=[ComparedStepOut(step=s["code"], title=s["title"], track=s["track"],
                                          validated=s["validated"],
                                          themes=[ComparedThemeOut(**t) for t in s["themes"]])
                          for s in comparison.steps])
