"""Semester publications: publishing and withdrawing the market's snapshot (ANS support), reading the standing
ones (anyone: the figures are anonymised, as the catalogue is public), the trend across semesters and a
product's comparison with the latest publication (whoever may read the product). Every page and API handler
goes through here.

What is published: the (product, step) pairs the review counts as validated (review_summary, kept by the
database), each product counting once per step and theme with the mean of its validated responses' scores for
that theme. A cell fewer than MIN_COMPANIES companies stand behind is suppressed. The figures are frozen in the
row at publication; nothing recomputes them afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from convergence.core.errors import Conflict, Invalid, NotFound
from convergence.core.formatting import local_today
from convergence.core.i18n import N_, current_language, gettext
from convergence.core.inputs import clean_field
from convergence.core.models import utcnow
from convergence.identity.context import Context
from convergence.identity.policy import Permission
from convergence.products.services import ProductService
from convergence.publications import figures
from convergence.publications.models import Publication
from convergence.questionnaires.models import Response, Status, Step, Theme, review_summary
from convergence.review.queries import ReviewQueries

MISSING = N_("This publication does not exist.")
REASON_MAX = 500
_LABEL = re.compile(r"\s*([0-9]{4})\s*[-/ ]?\s*[Ss]\s*([12])\s*")
LABEL_RULE = N_("Write the semester as a year and S1 or S2, for example 2026 S2.")


def semester_of(day: date) -> tuple[int, int]:
    return day.year, 1 if day.month <= 6 else 2


def previous(year: int, half: int) -> tuple[int, int]:
    return (year, 1) if half == 2 else (year - 1, 2)


def label_of(year: int, half: int) -> str:
    return f"{year} S{half}"


def semester_start(year: int, half: int) -> date:
    return date(year, 1 if half == 1 else 7, 1)


def title(value: Any) -> str:
    """A stored bilingual title (`title_fr`, `title_en`) in the reader's language."""
    if not isinstance(value, dict):
        return ""
    french = str(value.get("title_fr") or value.get("code") or "")
    return str(value.get("title_en") or french) if current_language() == "en" else french


def parse_label(raw: object, today: date) -> tuple[int, int]:
    """The semester a publication is for: the current one by default, or the one just ended (the ANS publishes
    a semester's figures in its first weeks after). Any other semester is refused: the figures are the market as
    it stands today, and labelling them with another semester would misdate them."""
    current = semester_of(today)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return current
    found = _LABEL.fullmatch(raw) if isinstance(raw, str) else None
    if found is None:
        raise Invalid(LABEL_RULE, code="invalid_label", fields={"label": LABEL_RULE})
    semester = int(found.group(1)), int(found.group(2))
    if semester not in (current, previous(*current)):
        sentence = N_("Only the current semester or the one just ended can be published.")
        raise Invalid(sentence, code="invalid_semester", fields={"label": sentence})
    return semester


@dataclass
class ProductComparison:
    product: Any
    publication: Publication | None
    steps: list[dict[str, Any]]


class PublicationService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    @property
    def may_publish(self) -> bool:
        return self.ctx.can(Permission.PUBLICATIONS_PUBLISH)

    # ------------------------------------------------------------------ reading (anyone)

    async def listing(self, limit: int = 50, offset: int = 0) -> tuple[list[Publication], int]:
        """Newest semester first; withdrawn ones only for those who may publish (they may publish again)."""
        conditions = [] if self.may_publish else [Publication.withdrawn_at.is_(None)]
        total = await self.session.scalar(select(func.count()).select_from(Publication).where(*conditions))
        rows = (await self.session.scalars(select(Publication).where(*conditions).order_by(
            Publication.year.desc(), Publication.half.desc(), Publication.id.desc()).limit(limit).offset(offset))).all()
        return list(rows), int(total or 0)

    async def get(self, publication_id: int) -> Publication:
        publication = await self.session.get(Publication, publication_id)
        if publication is None or (publication.withdrawn_at is not None and not self.may_publish):
            raise NotFound(MISSING)
        return publication

    async def latest(self) -> Publication | None:
        return await self.session.scalar(select(Publication).where(Publication.withdrawn_at.is_(None)).order_by(
            Publication.year.desc(), Publication.half.desc(), Publication.id.desc()).limit(1))

    async def trend(self, step_code: str | None) -> dict[str, Any]:
        """Per theme of one step, its published median and quartiles semester by semester (standing publications,
        oldest first). The step: `step_code`, else the first step of the latest publication."""
        rows = list((await self.session.scalars(select(Publication).where(Publication.withdrawn_at.is_(None))
                                                .order_by(Publication.year, Publication.half))).all())
        steps: dict[str, dict[str, Any]] = {}
        for publication in rows:
            for step in publication.figures.get("steps", []):
                steps.setdefault(step["code"], step)
        if step_code and step_code not in steps:
            raise NotFound(N_("No publication has figures for this step."))
        code = step_code or next((s["code"] for s in (rows[-1].figures.get("steps", []) if rows else [])), None)
        themes: dict[str, dict[str, Any]] = {}
        for publication in rows:
            step = next((s for s in publication.figures.get("steps", []) if s["code"] == code), None)
            for theme in [{"code": "", "title": gettext("Overall maturity"),
                           **(step or {}).get("maturity", {"suppressed": True})}] + (step or {}).get("themes", []):
                entry = themes.setdefault(theme["code"], {"code": theme["code"], "title": theme.get("title") or title(theme),
                                                          "points": []})
                entry["points"].append({"label": publication.label, "start": semester_start(publication.year,
                                                                                            publication.half),
                                        "basis": publication.basis, **{k: theme.get(k) for k in (
                                            "suppressed", "companies", "products", "q1", "median", "q3", "mean")}})
        return {"step": steps.get(code) if code else None, "step_code": code,
                "steps": [{"code": c, "title": title(s)} for c, s in steps.items()],
                "publications": [p.label for p in rows], "themes": list(themes.values())}

    async def comparison(self, product_id: int) -> ProductComparison:
        """A product's maturity per step and theme (its started responses, as they stand) beside the latest
        publication's median and quartiles. Whoever may read the product; another company's answers 404."""
        product = await ProductService(self.ctx).get(product_id, Permission.PRODUCT_READ)
        publication = await self.latest()
        responses = (await self.session.scalars(select(Response).where(
            Response.product_id == product.id, Response.step_id.is_not(None),
            Response.status != Status.NOT_STARTED))).all()
        own: dict[int, dict[str, list[float]]] = {}
        validated: dict[int, bool] = {}
        for response in responses:
            scores = own.setdefault(response.step_id, {})  # type: ignore[arg-type]
            validated[response.step_id] = validated.get(response.step_id, True) and \
                response.status == Status.VALIDATED  # type: ignore[index]
            for theme, score in (response.theme_scores or {}).items():
                if isinstance(score, int | float):
                    scores.setdefault(theme, []).append(float(score))
        steps = list((await self.session.scalars(select(Step).options(selectinload(Step.track)).where(
            Step.id.in_(set(own) or {0})))).all())
        themes = list((await self.session.scalars(select(Theme).order_by(Theme.position))).all())
        published = {s["code"]: s for s in (publication.figures.get("steps", []) if publication else [])}
        out = []
        for step in sorted(steps, key=lambda s: (s.track.position, s.position)):
            market = {t["code"]: t for t in published.get(step.code, {}).get("themes", [])}
            cells = []
            for theme in themes:
                values = own[step.id].get(theme.code)
                if not values:
                    continue
                mine = round(sum(values) / len(values), 1)
                cell = market.get(theme.code)
                cells.append({"theme": theme.code, "title": title({"title_fr": theme.title_fr,
                                                                   "title_en": theme.title_en}),
                              "own": mine, "published": cell is not None and not cell.get("suppressed"),
                              "suppressed": bool(cell and cell.get("suppressed")),
                              **({k: cell[k] for k in ("q1", "median", "q3")} if cell and not cell.get("suppressed")
                                 else {"q1": None, "median": None, "q3": None}),
                              "position": _position(mine, cell)})
            out.append({"code": step.code, "title": title({"title_fr": step.title_fr, "title_en": step.title_en}),
                        "track": title({"title_fr": step.track.title_fr, "title_en": step.track.title_en}),
                        "validated": validated.get(step.id, False), "themes": cells})
        return ProductComparison(product, publication, out)

    # ------------------------------------------------------------------ publishing (support)

    async def publish(self, raw_label: object = None, *, today: date | None = None) -> Publication:
        actor = self.ctx.require(Permission.PUBLICATIONS_PUBLISH)
        year, half = parse_label(raw_label, today or local_today())
        label = label_of(year, half)
        await self._not_published(label)
        snapshot, products, companies = await self.compute()
        if not products:
            raise Conflict("There is nothing to publish yet: no product has a validated step.", code="empty_market")
        return await self.store(year, half, snapshot, products, companies, actor_id=actor.id, basis="validated")

    async def _not_published(self, label: str) -> None:
        if await self.session.scalar(select(Publication.id).where(Publication.live_key == label)) is not None:
            raise Conflict("This semester is already published: withdraw its publication before publishing it "
                           "again.", code="already_published")

    async def store(self, year: int, half: int, snapshot: dict[str, Any], products: int, companies: int, *,
                    actor_id: int | None, basis: str, published_at: datetime | None = None) -> Publication:
        """Writes a publication (the service's publish, and the simulation's past semesters) and audits it."""
        label = label_of(year, half)
        publication = Publication(label=label, year=year, half=half, live_key=label, basis=basis,
                                  products=products, companies=companies, figures=snapshot,
                                  published_at=published_at or utcnow(), published_by_id=actor_id)
        try:
            async with self.session.begin_nested():
                self.session.add(publication)
                await self.session.flush()
        except IntegrityError:
            raise Conflict("This semester is already published: withdraw its publication before publishing it "
                           "again.", code="already_published") from None
        self.ctx.audit(N_("publication.published"), target_type="publication", target_id=publication.id,
                       label=label, basis=basis, products=products, companies=companies)
        return publication

    async def withdraw(self, publication_id: int, raw_reason: object = None) -> Publication:
        actor = self.ctx.require(Permission.PUBLICATIONS_PUBLISH)
        publication = await self.session.get(Publication, publication_id)
        if publication is None:
            raise NotFound(MISSING)
        reason = clean_field("reason", raw_reason, max_len=REASON_MAX, multiline=True,
                             too_long=N_("A reason is limited to 500 characters."))
        now = utcnow()
        # Compare-and-set: of two withdrawals at the same moment, one is recorded and the other told.
        result = await self.session.execute(
            update(Publication).where(Publication.id == publication.id, Publication.withdrawn_at.is_(None))
            .values(withdrawn_at=now, withdrawn_by_id=actor.id, withdraw_reason=reason or None, live_key=None,
                    updated_at=now).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict("This publication is already withdrawn.", code="already_withdrawn")
        await self.session.refresh(publication)
        self.ctx.audit(N_("publication.withdrawn"), target_type="publication", target_id=publication.id,
                       label=publication.label, comment=reason or None)
        return publication

    async def compute(self) -> tuple[dict[str, Any], int, int]:
        """The market as it stands: (figures, products, companies)."""
        market = await self.market()
        return market.snapshot(), market.products, market.companies

    async def market(self) -> Market:
        """The market's grouped figures, in six grouped statements whatever its size: the database averages each
        product's theme scores and counts; review.statistics does the rest (figures.snapshot)."""
        summary = review_summary.c
        done = summary.status == Status.VALIDATED
        totals = (await self.session.execute(select(func.count(func.distinct(summary.product_id)),
                                                    func.count(func.distinct(summary.company_id))).where(done))).one()
        step_totals = {s: (int(p), int(c)) for s, p, c in (await self.session.execute(
            select(summary.step_id, func.count(), func.count(func.distinct(summary.company_id)))
            .where(done).group_by(summary.step_id))).all()}
        step_scores: dict[int, list[tuple[float, int]]] = {}
        for step_id, value, count in (await self.session.execute(
                select(summary.step_id, summary.maturity, func.count()).where(done)
                .group_by(summary.step_id, summary.maturity))).all():
            step_scores.setdefault(step_id, []).append((float(value), int(count)))
        pairs, score = ReviewQueries(self.session)._theme_score_pairs()
        per_product = (select(Response.step_id.label("step_id"), pairs.c.key.label("theme"),
                              Response.product_id.label("product_id"), Response.company_id.label("company_id"),
                              func.avg(score).label("score"))
                       .select_from(Response)
                       .join(review_summary, and_(summary.product_id == Response.product_id,
                                                  summary.step_id == Response.step_id))
                       .join(pairs, literal(True))
                       .where(done, Response.status == Status.VALIDATED, score.is_not(None))
                       .group_by(Response.step_id, pairs.c.key, Response.product_id, Response.company_id)
                       .subquery("per_product"))
        p = per_product.c
        theme_totals = {(s, t): (int(n), int(c)) for s, t, n, c in (await self.session.execute(
            select(p.step_id, p.theme, func.count(), func.count(func.distinct(p.company_id)))
            .group_by(p.step_id, p.theme))).all()}
        # A product's score is its responses' mean, rounded as every page shows it: equal shown scores count
        # together (the rounding in Python: PostgreSQL has no round() of a double precision to a given place).
        rounded: dict[tuple[int, str], dict[float, int]] = {}
        for step_id, theme, value, count in (await self.session.execute(
                select(p.step_id, p.theme, p.score, func.count()).group_by(p.step_id, p.theme, p.score))).all():
            bucket = rounded.setdefault((step_id, theme), {})
            bucket[round(float(value), 1)] = bucket.get(round(float(value), 1), 0) + int(count)
        steps = (await self.session.scalars(select(Step).options(selectinload(Step.track)))).all()
        themes = (await self.session.scalars(select(Theme).order_by(Theme.position))).all()
        return Market(sorted(steps, key=lambda s: (s.track.position, s.position)), list(themes),
                      int(totals[0] or 0), int(totals[1] or 0), step_totals, step_scores, theme_totals,
                      {key: list(values.items()) for key, values in rounded.items()})


@dataclass
class Market:
    """The validated market, grouped: totals as (products, companies), scores as (score, how many products)."""

    steps: list[Step]
    themes: list[Theme]
    products: int
    companies: int
    step_totals: dict[int, tuple[int, int]]
    step_scores: dict[int, list[tuple[float, int]]]
    theme_totals: dict[tuple[int, str], tuple[int, int]]
    theme_scores: dict[tuple[int, str], list[tuple[float, int]]]

    def snapshot(self) -> dict[str, Any]:
        return figures.snapshot(self.steps, self.themes, self.step_totals, self.step_scores, self.theme_totals,
                                self.theme_scores)


def _position(own: float, cell: dict[str, Any] | None) -> str | None:
    """Where the product stands in the published distribution: below the first quartile, between the quartiles,
    above the third; None when the cell is not published."""
    if not cell or cell.get("suppressed"):
        return None
    if own < cell["q1"]:
        return "below"
    return "above" if own > cell["q3"] else "within"
