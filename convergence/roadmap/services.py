"""A product's roadmap, and the company's: derived at every read from the answers of the products' responses.

A line is a scored question not yet compliant (score below 100) that someone answered or gave a planned date
of compliance ("Evaluation and projection"). It is dated by that planned date, grouped by quarter, flagged
overdue once the date has passed while the answer is still not compliant, and owned by whoever last changed the
answer unless someone assigned it (RoadmapOwner). The projected maturity per theme follows the rule of the
response page's projection (questionnaires.engine.projection): an item counts as compliant from its planned
date if that date lies ahead; an overdue plan never raises the maturity.

Only targets and explicit owners are stored (models.py). Every method asks the policy first: a product's
roadmap needs the read level on it (ANS reviewers may read any product's, read-only: REVIEW_READ), targets
the validate level (ROADMAP_TARGET), owners the edit level (PRODUCT_EDIT).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import noload

from convergence.accounts.models import Role, User
from convergence.companies.access import grant, member, readable_product_ids
from convergence.companies.team_models import MemberRight
from convergence.core.errors import Conflict, Invalid, NotFound
from convergence.core.formatting import local_today
from convergence.core.i18n import N_
from convergence.core.inputs import is_id, parse_int
from convergence.identity.context import Context
from convergence.identity.policy import Grant, Permission
from convergence.products.models import Product
from convergence.questionnaires import engine, reference
from convergence.questionnaires.item_types import is_answered, parse_date
from convergence.questionnaires.models import Item, Response, Theme
from convergence.questionnaires.services import localized
from convergence.roadmap.models import RoadmapOwner, RoadmapTarget

MISSING_LINE = N_("This roadmap line does not exist.")
BUSY = N_("Someone else changed this roadmap at the same moment: reload the page and try again.")
PAGE_MAX = 200


def quarter_of(day: date) -> str:
    """`2027-Q1`: how the roadmap groups its lines, sortable as text."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@dataclass
class Line:
    product_id: int
    product: str
    response_id: int
    questionnaire: Any
    item: Item
    score: float
    planned: date | None
    overdue: bool
    owner_id: int | None
    owner: str | None
    assigned: bool  # the owner was chosen, not the answer's last editor

    @property
    def code(self) -> str:
        return self.item.code

    @property
    def theme(self) -> str:
        return self.item.theme

    @property
    def quarter(self) -> str | None:
        return quarter_of(self.planned) if self.planned else None

    @property
    def label(self) -> str:
        return localized(self.item, "label")


@dataclass
class ThemeRow:
    code: str
    title: str
    current: float
    projected: float  # once every plan still ahead is met
    target: float | None
    values: list[float] = field(default_factory=list)  # at each date of the roadmap's axis

    @property
    def gap_current(self) -> float | None:
        return None if self.target is None else round(max(self.target - self.current, 0.0), 1)

    @property
    def gap_projected(self) -> float | None:
        return None if self.target is None else round(max(self.target - self.projected, 0.0), 1)


@dataclass
class Roadmap:
    """One product's roadmap (`product` set), or a company's (`products` listed, lines of them all)."""

    today: date
    lines: list[Line]
    themes: list[ThemeRow]
    dates: list[date]
    product: Product | None = None
    grant: Grant | None = None
    products: list[Product] = field(default_factory=list)
    gaps: list[tuple[Product, ThemeRow]] = field(default_factory=list)
    total: int = 0  # lines matching the filters, before the page is cut

    @property
    def overdue(self) -> int:
        return sum(line.overdue for line in self.lines)

    def quarters(self) -> list[tuple[str | None, list[tuple[str, list[Line]]]]]:
        """The lines by quarter (undated last), then by theme in the themes' order."""
        order = {row.code: index for index, row in enumerate(self.themes)}
        by_quarter: dict[str | None, dict[str, list[Line]]] = {}
        for line in self.lines:
            by_quarter.setdefault(line.quarter, {}).setdefault(line.theme, []).append(line)
        keys = sorted((q for q in by_quarter if q is not None)) + ([None] if None in by_quarter else [])
        return [(q, sorted(by_quarter[q].items(), key=lambda kv: (order.get(kv[0], 10**6), kv[0]))) for q in keys]

    def theme_title(self, code: str) -> str:
        return next((row.title for row in self.themes if row.code == code), code)

    def series(self, row: ThemeRow) -> list[tuple[date, float]]:
        return list(zip(self.dates, row.values, strict=True))


@dataclass
class _Entry:
    """One scored, enabled question of a product: what the maturity and its projection are computed from."""

    theme: str
    score: float
    plan: date | None  # a planned date still ahead


def project(entries: Iterable[_Entry], today: date) -> tuple[list[date], dict[str, list[float]]]:
    """The dates of the projection (today, then each planned date ahead) and each theme's maturity at each:
    the mean of its questions' scores, a question counting 100 from its planned date on."""
    entries = list(entries)
    dates = [today, *sorted({e.plan for e in entries if e.plan is not None})]
    if len(dates) == 1:
        dates.append(today + timedelta(days=30))  # a chart needs a span, as the response page's does
    by_theme: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_theme.setdefault(entry.theme, []).append(entry)
    values = {theme: [round(sum(100.0 if e.plan is not None and e.plan <= moment and e.score < 100 else e.score
                                    for e in group) / len(group), 1) for moment in dates]
              for theme, group in by_theme.items()}
    return dates, values


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


class RoadmapService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # ------------------------------------------------------------------ scoping

    async def _product(self, product_id: int, permission: Permission) -> tuple[Product, Grant | None]:
        """A product the actor may act on; ANS reviewers read any product's roadmap (no grant: read-only)."""
        actor = self.ctx.actor
        if permission == Permission.PRODUCT_READ and actor is not None and actor.company_id is None \
                and self.ctx.can(Permission.REVIEW_READ):
            product = await self.session.get(Product, product_id)
            if product is None:
                raise NotFound("This product does not exist.")
            return product, None
        member(self.ctx)
        product = await self.session.get(Product, product_id)
        if product is None:
            raise NotFound("This product does not exist.")
        held = await grant(self.ctx, product.company_id, product.id, product.created_by_id)
        self.ctx.require(permission, held)
        return product, held

    async def _themes(self) -> dict[str, Theme]:
        return await reference.themes(self.session)

    # ------------------------------------------------------------------ building

    async def _build(self, products: list[Product], today: date) -> tuple[list[Line], dict[int, list[_Entry]]]:
        """Every product's lines and scored questions, from its responses as they stand."""
        ids = [p.id for p in products]
        if not ids:
            return [], {}
        labels = {p.id: p.label for p in products}
        responses = list((await self.session.scalars(
            select(Response).options(noload(Response.questionnaire)).where(
                Response.product_id.in_(ids), Response.step_id.is_not(None))
            .order_by(Response.product_id, Response.step_id, Response.id))).all())
        await reference.attach(self.session, responses)
        owners = {(o.product_id, o.item_code): o.owner_id for o in (await self.session.scalars(
            select(RoadmapOwner).where(RoadmapOwner.product_id.in_(ids)))).all()}
        raw_lines: list[tuple[Response, Item, float, date | None, int | None, bool]] = []
        entries: dict[int, list[_Entry]] = {pid: [] for pid in ids}
        for response in responses:
            items = response.questionnaire.items
            answers, planned = response.answers or {}, response.planned or {}
            by_code = {i.code: i for i in items}
            marks = response.item_versions or {}
            for item in items:
                if not item.scored or not engine.is_enabled(item, answers, by_code):
                    continue
                key = str(item.id)
                value = answers.get(key)
                score = engine.score(item, value) or 0.0
                plan = parse_date(planned.get(key))
                ahead = plan if plan is not None and plan > today else None
                entries[response.product_id].append(_Entry(item.theme, score, ahead))  # type: ignore[index]
                if score >= 100 or not (is_answered(value) or plan is not None):
                    continue
                assigned = owners.get((response.product_id, item.code))  # type: ignore[arg-type]
                default = (marks.get(key) or {}).get("by") or response.last_saved_by_id
                raw_lines.append((response, item, score, plan, assigned or default, assigned is not None))
        names = await self._names({owner for *_, owner, _ in raw_lines if owner is not None})
        lines = [Line(product_id=r.product_id, product=labels[r.product_id], response_id=r.id,  # type: ignore[index]
                      questionnaire=r.questionnaire, item=item, score=score, planned=plan,
                      overdue=plan is not None and plan < today, owner_id=owner, owner=names.get(owner or 0),
                      assigned=assigned)
                 for r, item, score, plan, owner, assigned in raw_lines]
        lines.sort(key=lambda line: (line.planned or date.max, line.product.lower(), line.product_id, line.code))
        return lines, entries

    async def _names(self, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        return {u.id: u.full_name for u in (await self.session.scalars(select(User).where(User.id.in_(ids)))).all()}

    async def _targets(self, product_ids: list[int]) -> dict[int, dict[str, float]]:
        targets: dict[int, dict[str, float]] = {}
        if product_ids:
            for row in (await self.session.scalars(select(RoadmapTarget).where(
                    RoadmapTarget.product_id.in_(product_ids)))).all():
                targets.setdefault(row.product_id, {})[row.theme] = row.target
        return targets

    def _rows(self, entries: list[_Entry], targets: dict[str, float], themes: dict[str, Theme],
              today: date) -> tuple[list[date], list[ThemeRow]]:
        dates, values = project(entries, today)
        codes = set(values) | set(targets)
        ordered = sorted(codes, key=lambda c: (themes[c].position if c in themes else 10**6, c))
        rows = []
        for code in ordered:
            series = values.get(code) or [0.0] * len(dates)
            rows.append(ThemeRow(code=code, title=localized(themes[code], "title") if code in themes else code,
                                 current=series[0], projected=series[-1], target=targets.get(code), values=series))
        return dates, rows

    # ------------------------------------------------------------------ reading

    async def product(self, product_id: int, *, today: date | None = None) -> Roadmap:
        """A product's roadmap: its lines, and its maturity per theme today, projected, and against its targets."""
        today = today or local_today()
        product, held = await self._product(product_id, Permission.PRODUCT_READ)
        lines, entries = await self._build([product], today)
        targets = (await self._targets([product.id])).get(product.id, {})
        dates, rows = self._rows(entries[product.id], targets, await self._themes(), today)
        return Roadmap(today=today, lines=lines, themes=rows, dates=dates, product=product, grant=held,
                       products=[product], total=len(lines))

    async def company(self, *, theme: str | None = None, owner: str | None = None, overdue: bool = False,
                      limit: int | None = None, offset: int = 0, today: date | None = None) -> Roadmap:
        """The lines of every product of the actor's company they may read (filtered, one page of them), and
        each product's gaps to its targets. `owner` is a user id, `me`, or `none` (lines nobody owns)."""
        today = today or local_today()
        actor = member(self.ctx)
        readable = await readable_product_ids(self.ctx)
        query = select(Product).where(Product.company_id == actor.company_id)
        if readable is not None:
            query = query.where(Product.id.in_(readable) | (Product.created_by_id == actor.id))
        products = sorted((await self.session.scalars(query)).all(), key=lambda p: (p.label.lower(), p.id))
        themes = await self._themes()
        if theme is not None and theme not in themes:
            raise Invalid("This theme does not exist.", code="unknown_theme", fields={"theme": N_(
                "This theme does not exist.")})
        wanted_owner: int | None | str = "any"
        if owner == "me":
            wanted_owner = actor.id
        elif owner == "none":
            wanted_owner = None
        elif owner not in (None, ""):
            if not is_id(_int(owner)):
                raise Invalid("Choose an owner from the list.", code="invalid_owner",
                              fields={"owner": N_("Choose an owner from the list.")})
            wanted_owner = _int(owner)
        lines, entries = await self._build(products, today)
        targets = await self._targets([p.id for p in products])
        all_rows: dict[str, list[_Entry]] = {}
        gaps: list[tuple[Product, ThemeRow]] = []
        for product in products:
            for entry in entries.get(product.id, []):
                all_rows.setdefault(entry.theme, []).append(entry)
            if product.id in targets:
                _dates, rows = self._rows(entries.get(product.id, []), targets[product.id], themes, today)
                gaps.extend((product, row) for row in rows if row.target is not None)
        dates, rows = self._rows([e for group in all_rows.values() for e in group], {}, themes, today)
        matching = [line for line in lines if (theme is None or line.theme == theme)
                    and (wanted_owner == "any" or line.owner_id == wanted_owner) and (not overdue or line.overdue)]
        page = matching[offset:offset + limit] if limit is not None else matching[offset:]
        return Roadmap(today=today, lines=page, themes=rows, dates=dates, products=products, gaps=gaps,
                       total=len(matching))

    async def owners(self, product_id: int) -> list[User]:
        """Who a line of the product may be assigned to: active members of its company holding a right on it."""
        product, _held = await self._product(product_id, Permission.PRODUCT_READ)
        return await self._eligible(product)

    async def _eligible(self, product: Product) -> list[User]:
        with_right = select(MemberRight.user_id).where(MemberRight.product_id == product.id)
        users = (await self.session.scalars(select(User).where(
            User.company_id == product.company_id, User.active.is_(True),
            (User.role == Role.MANAGER) | User.id.in_(with_right) | (User.id == product.created_by_id))
            .order_by(User.last_name, User.first_name, User.id))).all()
        return list(users)

    async def company_owners(self) -> list[User]:
        """The company's active members: the owner filter of the company page."""
        actor = member(self.ctx)
        return list((await self.session.scalars(select(User).where(
            User.company_id == actor.company_id, User.active.is_(True))
            .order_by(User.last_name, User.first_name, User.id))).all())

    # ------------------------------------------------------------------ changing

    async def set_targets(self, product_id: int, raw: object) -> Roadmap:
        """Set (a number from 0 to 100) or clear (null) the target of some themes; others stay as they are."""
        product, _held = await self._product(product_id, Permission.ROADMAP_TARGET)
        if not isinstance(raw, dict) or not raw:
            raise Invalid("targets must be an object {theme: maturity from 0 to 100}.", code="invalid_input")
        themes = await self._themes()
        wanted: dict[str, float | None] = {}
        for theme, value in raw.items():
            name = "target-" + str(theme)  # the form's field, where the page shows the message
            if theme not in themes:
                raise Invalid("This theme does not exist.", code="unknown_theme",
                              fields={name: N_("This theme does not exist.")})
            if value is None or value == "":
                wanted[theme] = None
                continue
            number = _number(value)
            if number is None or not 0 <= number <= 100:
                raise Invalid("A target maturity is a number from 0 to 100.", code="invalid_target",
                              fields={name: N_("A target maturity is a number from 0 to 100.")})
            wanted[theme] = round(number, 1)
        actor = self.ctx.actor
        current = {row.theme: row for row in (await self.session.scalars(select(RoadmapTarget).where(
            RoadmapTarget.product_id == product.id))).all()}
        changed: dict[str, float | None] = {}
        try:
            # Two people setting the first target of a theme at the same moment: the database keeps one row
            # (unique product, theme) and the other is told, nothing of their request written.
            async with self.session.begin_nested():
                for theme, target in wanted.items():
                    row = current.get(theme)
                    if target is None:
                        if row is not None:
                            await self.session.delete(row)
                            changed[theme] = None
                    elif row is None:
                        self.session.add(RoadmapTarget(product_id=product.id, theme=theme, target=target,
                                                       set_by_id=actor.id if actor else None))
                        changed[theme] = target
                    elif row.target != target:
                        row.target, row.set_by_id = target, actor.id if actor else None
                        changed[theme] = target
                await self.session.flush()
        except IntegrityError:
            raise Conflict(BUSY, code="busy") from None
        if changed:
            self.ctx.audit(N_("roadmap.targets_set"), target_type="product", target_id=product.id,
                           company_id=product.company_id, targets=changed)
        return await self.product(product.id)

    async def set_owner(self, product_id: int, item_code: str, raw_owner: object) -> Line:
        """Assign a line to a member with a right on the product; null gives it back to its default owner."""
        product, _held = await self._product(product_id, Permission.PRODUCT_EDIT)
        roadmap = await self.product(product.id)
        line = next((line for line in roadmap.lines if line.code == item_code), None)
        if line is None:
            raise NotFound(MISSING_LINE)
        existing = await self.session.scalar(select(RoadmapOwner).where(
            RoadmapOwner.product_id == product.id, RoadmapOwner.item_code == item_code))
        if raw_owner is None or raw_owner == "":
            if existing is not None:
                await self.session.execute(delete(RoadmapOwner).where(RoadmapOwner.id == existing.id))
                self.ctx.audit(N_("roadmap.owner_assigned"), target_type="product", target_id=product.id,
                               company_id=product.company_id, item_code=item_code, owner_id=None)
        else:
            owner_id = _int(raw_owner)
            eligible = {u.id for u in await self._eligible(product)}
            if not is_id(owner_id) or owner_id not in eligible:
                raise Invalid("The owner must be an active member of the company with a right on this product.",
                              code="invalid_owner", fields={"owner_id": N_(
                                  "The owner must be an active member of the company with a right on this "
                                  "product.")})
            changed = existing is None or existing.owner_id != owner_id
            if existing is None:
                try:
                    async with self.session.begin_nested():
                        self.session.add(RoadmapOwner(product_id=product.id, item_code=item_code, owner_id=owner_id,
                                                      assigned_by_id=self.ctx.actor.id if self.ctx.actor else None))
                        await self.session.flush()
                except IntegrityError:
                    raise Conflict(BUSY, code="busy") from None
            elif changed:
                existing.owner_id = owner_id
                existing.assigned_by_id = self.ctx.actor.id if self.ctx.actor else None
            if changed:
                self.ctx.audit(N_("roadmap.owner_assigned"), target_type="product", target_id=product.id,
                               company_id=product.company_id, item_code=item_code, owner_id=owner_id)
        await self.session.flush()
        roadmap = await self.product(product.id)
        found = next(line for line in roadmap.lines if line.code == item_code)
        return found


def _int(value: object) -> Any:
    """An id from a form (text) or JSON (integer); anything else passes unchanged for is_id to refuse."""
    parsed = parse_int(value) if isinstance(value, str) else None
    return value if parsed is None else parsed

