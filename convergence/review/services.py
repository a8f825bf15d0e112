"""ANS review: maturity across vendors (list, charts, exports), drill-down, comments, market averages.

Every list, chart and export is a fixed number of SQL statements whatever the number of vendors: the
per-(product, step) rows are aggregated by the database from the maturity stored on each response.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    Float,
    Numeric,
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
    type_coerce,
)

from convergence.accounts.models import User
from convergence.companies.access import member, product_level, readable_product_ids
from convergence.companies.models import Company
from convergence.core.context import Context
from convergence.core.csv_safe import csv_text, xlsx_bytes
from convergence.core.errors import Invalid, NotFound
from convergence.core.i18n import current_language
from convergence.core.i18n import gettext as _
from convergence.core.inputs import parse_decimal, parse_int
from convergence.core.models import AuditEvent
from convergence.core.permissions import Permission
from convergence.products.models import OS, Product, compose_name
from convergence.questionnaires import engine
from convergence.questionnaires.answers import answer_text, changes_between
from convergence.questionnaires.models import (
    Enrolment,
    Item,
    Response,
    ResponseRevision,
    Status,
    Step,
    Theme,
    Track,
)
from convergence.questionnaires.services import QuestionnaireService, clean_comment, local_today, localized
from convergence.review.models import ReviewComment

STATUSES = [s.value for s in Status]  # least advanced first
SORTS = ("company", "product", "step", "status", "maturity", "validated_at")
MIN_COMPANIES = 3  # a market average is shown only when at least this many companies contribute to a theme
PAGE_SIZE = 25
MAX_LIMIT = 200
EXPORT_COLUMNS = ("product_id", "company_id", "company_name", "display_name", "step_id", "step", "status",
                  "status_label", "maturity", "validated_at")
MATURITY_COLUMN = EXPORT_COLUMNS.index("maturity")


# ------------------------------------------------------------------------------------------------ filters

@dataclass
class Filters:
    track: str | None = None
    step: int | None = None
    status: str | None = None
    company: int | None = None
    q: str = ""
    min_maturity: float | None = None
    max_maturity: float | None = None
    sort: str = "company"
    descending: bool = False

    def query(self) -> dict[str, str]:
        """The filters as query parameters (export links, pager), without the empty ones."""
        values = {"track": self.track, "step": self.step, "status": self.status, "company": self.company,
                  "q": self.q or None, "min_maturity": _number(self.min_maturity),
                  "max_maturity": _number(self.max_maturity),
                  "sort": None if (self.sort, self.descending) == ("company", False)
                  else ("-" if self.descending else "") + self.sort}
        return {key: str(value) for key, value in values.items() if value is not None}


def _number(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if float(value).is_integer() else str(value)


def _int(raw: str, name: str, sentence: str) -> int:
    number = parse_int(raw)
    if number is None:
        raise Invalid(sentence, code="invalid_filter", fields={name: sentence})
    return number


def _maturity(raw: str, name: str) -> float:
    sentence = "A maturity bound is a number from 0 to 100."
    value = parse_decimal(raw)
    if value is None or not 0 <= value <= 100:
        raise Invalid(sentence, code="invalid_filter", fields={name: sentence})
    return value


def parse_filters(raw: Mapping[str, Any]) -> Filters:
    """Query-string values (strings, empty meaning "any") → Filters; a bad value is a 422 with a sentence."""
    def get(name: str) -> str:
        value = raw.get(name)
        return value.strip() if isinstance(value, str) else ""

    filters = Filters()
    if track := get("track"):
        if len(track) > 40:
            raise Invalid("This track does not exist.", code="invalid_filter",
                          fields={"track": "This track does not exist."})
        filters.track = track
    if step := get("step"):
        filters.step = _int(step, "step", "The step is given by its number.")
    if status := get("status"):
        if status not in STATUSES:
            raise Invalid("The status must be not_started, draft, submitted or validated.", code="invalid_filter",
                          fields={"status": "The status must be not_started, draft, submitted or validated."})
        filters.status = status
    if company := get("company"):
        filters.company = _int(company, "company", "The company is given by its number.")
    q = get("q")
    if len(q) > 200:
        raise Invalid("The search text is limited to 200 characters.", code="invalid_filter",
                      fields={"q": "The search text is limited to 200 characters."})
    filters.q = q
    if value := get("min_maturity"):
        filters.min_maturity = _maturity(value, "min_maturity")
    if value := get("max_maturity"):
        filters.max_maturity = _maturity(value, "max_maturity")
    if (filters.min_maturity is not None and filters.max_maturity is not None
            and filters.min_maturity > filters.max_maturity):
        raise Invalid("The minimum maturity is above the maximum.", code="invalid_filter",
                      fields={"min_maturity": "The minimum maturity is above the maximum."})
    if sort := get("sort"):
        descending = sort.startswith("-")
        key = sort.removeprefix("-")
        if key not in SORTS:
            raise Invalid("Sort by company, product, step, status, maturity or validated_at (with - for "
                          "descending order).", code="invalid_filter",
                          fields={"sort": "Sort by company, product, step, status, maturity or validated_at."})
        filters.sort, filters.descending = key, descending
    return filters


def parse_window(limit: str | None, offset: str | None) -> tuple[int, int]:
    size = _int(limit.strip(), "limit", "The limit is a number from 1 to 200.") if limit and limit.strip() else 50
    if not 1 <= size <= MAX_LIMIT:
        raise Invalid("The limit is a number from 1 to 200.", code="invalid_filter",
                      fields={"limit": "The limit is a number from 1 to 200."})
    start = _int(offset.strip(), "offset", "The offset is a whole number.") if offset and offset.strip() else 0
    return size, start


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def status_label(status: str) -> str:
    """A status code as its label in the request language ("Validé" / "Validated"), as the pages' tags show it."""
    return _(status.replace("_", " ").capitalize())


def _decimal(value: Any, comma: bool) -> Any:
    """A number as text with the decimal mark French spreadsheets read ("87,5"), or the dot in English."""
    if isinstance(value, float):
        text = repr(value)
        return text.replace(".", ",") if comma else text
    return value


# ------------------------------------------------------------------------------------------------ views

@dataclass
class ReviewRow:
    product_id: int
    company_id: int
    company_name: str
    display_name: str
    commercial_name: str | None
    edition: str
    version: str
    step_id: int
    step_code: str
    step_title: str
    track_code: str
    status: str
    maturity: float
    validated_at: datetime | None

    def json(self) -> dict[str, Any]:
        return {"product_id": self.product_id, "company_id": self.company_id, "company_name": self.company_name,
                "display_name": self.display_name, "commercial_name": self.commercial_name,
                "edition": self.edition, "version": self.version, "step_id": self.step_id,
                "step_code": self.step_code, "step": self.step_title, "track": self.track_code,
                "status": self.status, "maturity": self.maturity,
                "validated_at": self.validated_at.isoformat() if self.validated_at else None}


@dataclass
class ThemeStats:
    theme: str
    title: str
    count: int
    minimum: float = 0
    q1: float = 0
    median: float = 0
    q3: float = 0
    maximum: float = 0
    mean: float = 0
    histogram: list[int] = field(default_factory=list)


def _at(counts: list[tuple[float, int]], index: int) -> float:
    """The index-th value (from 0) of the sorted multiset given as (value, how many) pairs."""
    seen = 0
    for value, count in counts:
        seen += count
        if index < seen:
            return value
    return counts[-1][0]


def _quantile(counts: list[tuple[float, int]], total: int, q: float) -> float:
    position = (total - 1) * q
    low, high = math.floor(position), math.ceil(position)
    below, above = _at(counts, low), _at(counts, high)
    return round(below + (above - below) * (position - low), 1)


def theme_stats(theme: str, title: str, counts: list[tuple[float, int]]) -> ThemeStats:
    """Box-plot figures and a 5-bar histogram of a theme's scores, given as (score, how many) pairs: the
    database groups equal scores, so this stays small whatever the number of responses."""
    ordered = sorted((float(value), int(count)) for value, count in counts if count)
    total = sum(count for _, count in ordered)
    if not total:
        return ThemeStats(theme, title, 0, histogram=[0] * 5)
    histogram = [0] * 5  # 0-20, 20-40, 40-60, 60-80, 80-100
    for value, count in ordered:
        histogram[min(max(int(value // 20), 0), 4)] += count
    mean = sum(value * count for value, count in ordered) / total
    return ThemeStats(theme, title, total, ordered[0][0], _quantile(ordered, total, .25),
                      _quantile(ordered, total, .5), _quantile(ordered, total, .75), ordered[-1][0],
                      round(mean, 1), histogram)


# ------------------------------------------------------------------------------------------------ service

class ReviewService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    # -------------------------------------------------------------------------- the rows

    def _filtered(self, filters: Filters) -> tuple[Select[Any], dict[str, Any]]:
        """One row per (product, enrolled step): least advanced status and mean maturity, filtered."""
        rank = case({status: index for index, status in enumerate(STATUSES)}, value=Response.status, else_=0)
        per_step = (
            select(Enrolment.product_id.label("product_id"), Enrolment.step_id.label("step_id"),
                   func.coalesce(func.min(rank), 0).label("rank"),
                   func.coalesce(func.avg(Response.maturity), 0.0).label("maturity"),
                   func.max(Response.validated_at).label("last_validated"))
            .select_from(Enrolment)
            .outerjoin(Response, and_(Response.product_id == Enrolment.product_id,
                                      Response.step_id == Enrolment.step_id))
            .group_by(Enrolment.product_id, Enrolment.step_id)
        ).subquery("per_step")
        maturity = func.round(cast(per_step.c.maturity, Numeric(10, 4)), 1)
        validated = type_coerce(case((per_step.c.rank == len(STATUSES) - 1, per_step.c.last_validated),
                                     else_=None), DateTimeUTC(timezone=True))
        columns = {
            "product_id": per_step.c.product_id, "step_id": per_step.c.step_id, "rank": per_step.c.rank,
            "maturity": maturity, "validated_at": validated, "company_id": Product.company_id,
            "company_name": Company.name, "name": Product.name, "os": Product.os, "os_other": Product.os_other,
            "device": Product.device, "commercial_name": Product.commercial_name, "edition": Product.edition,
            "version": Product.version, "step_code": Step.code, "step_title_fr": Step.title_fr,
            "step_title_en": Step.title_en, "step_position": Step.position, "track_code": Track.code,
            "track_position": Track.position,
        }
        statement = (select(*(c.label(k) for k, c in columns.items()))
                     .select_from(per_step)
                     .join(Product, Product.id == per_step.c.product_id)
                     .join(Company, Company.id == Product.company_id)
                     .join(Step, Step.id == per_step.c.step_id)
                     .join(Track, Track.id == Step.track_id))
        if filters.track:
            statement = statement.where(Track.id == parse_int(filters.track) if parse_int(filters.track) is not None
                                        else Track.code == filters.track)
        if filters.step is not None:
            statement = statement.where(Step.id == filters.step)
        if filters.status:
            statement = statement.where(per_step.c.rank == STATUSES.index(filters.status))
        if filters.company is not None:
            statement = statement.where(Product.company_id == filters.company)
        if filters.min_maturity is not None:
            statement = statement.where(maturity >= filters.min_maturity)
        if filters.max_maturity is not None:
            statement = statement.where(maturity <= filters.max_maturity)
        if filters.q:
            pattern = _like(filters.q)
            os_label = case((Product.os == OS.OTHER, Product.os_other), else_=Product.os)
            display = Product.name + literal(" ") + os_label + literal(" ") + Product.device
            statement = statement.where(or_(
                func.lower(display).like(pattern, escape="\\"),
                func.lower(func.coalesce(Product.commercial_name, "")).like(pattern, escape="\\"),
                func.lower(Company.name).like(pattern, escape="\\")))
        return statement, columns

    def _ordered(self, statement: Select[Any], columns: dict[str, Any], filters: Filters) -> Select[Any]:
        keys = {
            "company": [func.lower(columns["company_name"])],
            "product": [func.lower(columns["name"]), columns["os"], columns["device"]],
            "step": [columns["track_position"], columns["step_position"]],
            "status": [columns["rank"]],
            "maturity": [columns["maturity"]],
            "validated_at": [columns["validated_at"]],
        }[filters.sort]
        ordered = [k.desc() if filters.descending else k.asc() for k in keys]
        if filters.sort == "validated_at":
            ordered = [k.nulls_last() for k in ordered]
        tie = [func.lower(columns["company_name"]), func.lower(columns["name"]), columns["product_id"],
               columns["track_position"], columns["step_position"]]
        return statement.order_by(*ordered, *tie)

    @staticmethod
    def _row(row: Any) -> ReviewRow:
        return ReviewRow(
            product_id=row.product_id, company_id=row.company_id, company_name=row.company_name,
            display_name=compose_name(row.name, row.os, row.os_other, row.device),
            commercial_name=row.commercial_name, edition=row.edition, version=row.version, step_id=row.step_id,
            step_code=row.step_code, step_title=row.step_title_en if _lang() == "en" else row.step_title_fr,
            track_code=row.track_code, status=STATUSES[int(row.rank)], maturity=float(row.maturity or 0),
            validated_at=row.validated_at)

    async def rows(self, filters: Filters, limit: int, offset: int,
                   total: int | None = None) -> tuple[list[ReviewRow], int]:
        """A page of rows and their total; a caller that already counted them (the charts do) passes `total`,
        which spares a pass over the whole market."""
        self.ctx.require(Permission.REVIEW_READ)
        statement, columns = self._filtered(filters)
        if total is None:
            total = await self.session.scalar(select(func.count()).select_from(statement.subquery()))
        page = self._ordered(statement, columns, filters).limit(limit).offset(offset)
        return [self._row(r) for r in (await self.session.execute(page)).all()], int(total or 0)

    async def all_rows(self, filters: Filters) -> list[ReviewRow]:
        self.ctx.require(Permission.REVIEW_READ)
        statement, columns = self._filtered(filters)
        return [self._row(r) for r in (await self.session.execute(
            self._ordered(statement, columns, filters))).all()]

    # -------------------------------------------------------------------------- charts

    async def charts(self, filters: Filters) -> dict[str, Any]:
        """Status counts per step and the maturity distribution per theme, over the filtered rows."""
        self.ctx.require(Permission.REVIEW_READ)
        statement, _columns = self._filtered(filters)
        filtered = statement.subquery("filtered")
        counts = (await self.session.execute(
            select(filtered.c.step_id, filtered.c.rank, func.count()).group_by(filtered.c.step_id,
                                                                              filtered.c.rank))).all()
        pairs, score = self._theme_score_pairs()
        grouped = (await self.session.execute(
            select(pairs.c.key, score, func.count())
            .select_from(Response)
            .join(filtered, and_(filtered.c.product_id == Response.product_id, filtered.c.step_id == Response.step_id))
            .join(pairs, literal(True))
            .where(Response.status != Status.NOT_STARTED, score.is_not(None))
            .group_by(pairs.c.key, score))).all()
        steps = list((await self.session.scalars(select(Step).join(Track).order_by(Track.position,
                                                                                   Step.position))).all())
        themes = list((await self.session.scalars(select(Theme).order_by(Theme.position))).all())
        by_step: dict[int, dict[str, int]] = {}
        for step_id, rank, count in counts:
            by_step.setdefault(step_id, {s: 0 for s in STATUSES})[STATUSES[int(rank)]] += count
        values: dict[str, list[tuple[float, int]]] = {}
        for theme, value, count in grouped:
            values.setdefault(theme, []).append((float(value), int(count)))
        titles = {t.code: localized(t, "title") for t in themes}
        order = [t.code for t in themes] + sorted(set(values) - set(titles))
        return {
            "steps": [{"id": s.id, "title": localized(s, "title"), "track": localized(s.track, "title"),
                       "counts": by_step[s.id], "total": sum(by_step[s.id].values())}
                      for s in steps if s.id in by_step],
            "themes": [theme_stats(code, titles.get(code, code), values[code]) for code in order if code in values],
        }

    async def choices(self) -> dict[str, Any]:
        """What the filter form offers: tracks with their steps, companies."""
        self.ctx.require(Permission.REVIEW_READ)
        tracks = list((await self.session.scalars(select(Track).order_by(Track.position))).all())
        companies = (await self.session.execute(select(Company.id, Company.name).order_by(
            func.lower(Company.name)))).all()
        return {"tracks": tracks, "companies": [{"id": c.id, "name": c.name} for c in companies]}

    # -------------------------------------------------------------------------- exports

    async def export_csv(self, filters: Filters) -> str:
        """The rows for a spreadsheet: `;`, BOM, every field quoted, formulas defused (core.csv_safe); the
        status both as its code and as a label, the maturity with the request language's decimal mark."""
        rows = await self.all_rows(filters)
        comma = _lang() == "fr"
        return csv_text(EXPORT_COLUMNS, [
            [_decimal(v, comma) if i == MATURITY_COLUMN else v for i, v in enumerate(self._export_values(row))]
            for row in rows])

    async def export_xlsx(self, filters: Filters) -> bytes:
        rows = await self.all_rows(filters)
        return xlsx_bytes("review", EXPORT_COLUMNS, [self._export_values(row) for row in rows])

    @staticmethod
    def _export_values(row: ReviewRow) -> list[Any]:
        return [row.product_id, row.company_id, row.company_name, row.display_name, row.step_id, row.step_title,
                row.status, status_label(row.status), row.maturity,
                row.validated_at.isoformat() if row.validated_at else ""]

    # -------------------------------------------------------------------------- drill-down

    async def product(self, product_id: int) -> dict[str, Any]:
        """A product of any company, read-only: its responses with labelled answers, history, changes, comments."""
        self.ctx.require(Permission.REVIEW_READ)
        product = await self.session.get(Product, product_id)
        if product is None:
            raise NotFound("This product does not exist.")
        company = await self.session.get(Company, product.company_id)
        responses = list((await self.session.scalars(select(Response).where(Response.product_id == product.id)
                                                     .order_by(Response.step_id, Response.questionnaire_id))).all())
        ids = [r.id for r in responses]
        steps = {s.id: s for s in (await self.session.scalars(select(Step).where(
            Step.id.in_({r.step_id for r in responses if r.step_id} or {0})))).all()}
        revisions: dict[int, list[ResponseRevision]] = {}
        comments: dict[int, list[dict[str, Any]]] = {}
        events: list[AuditEvent] = []
        if ids:
            for revision in (await self.session.scalars(select(ResponseRevision).where(
                    ResponseRevision.response_id.in_(ids)).order_by(ResponseRevision.revision))).all():
                revisions.setdefault(revision.response_id, []).append(revision)
            comment_rows = (await self.session.scalars(select(ReviewComment).where(
                ReviewComment.response_id.in_(ids)).order_by(ReviewComment.id))).all()
            events = list((await self.session.scalars(select(AuditEvent).where(or_(
                and_(AuditEvent.target_type == "response", AuditEvent.target_id.in_(ids),
                     AuditEvent.action != "response.saved"),
                and_(AuditEvent.target_type == "review_comment",
                     AuditEvent.target_id.in_([c.id for c in comment_rows] or [0]))))
                .order_by(AuditEvent.id))).all())
        else:
            comment_rows = []
        people = {e.actor_id for e in events} | {c.author_id for c in comment_rows} | {
            r.validated_by_id for rs in revisions.values() for r in rs}
        users = {u.id: u for u in (await self.session.scalars(select(User).where(
            User.id.in_(people - {None} or {0})))).all()}
        for comment in comment_rows:
            comments.setdefault(comment.response_id, []).append(comment_json(comment, users.get(comment.author_id)))
        themes = {t.code: localized(t, "title") for t in (await self.session.scalars(select(Theme))).all()}
        views = []
        for response in responses:
            own_events = [e for e in events if (e.target_type == "response" and e.target_id == response.id) or (
                e.target_type == "review_comment" and e.data.get("response_id") == response.id)]
            views.append(self._response_view(response, steps.get(response.step_id), revisions.get(response.id, []),
                                             own_events, users, comments.get(response.id, []), themes))
        return {"product": product, "company": company, "responses": views,
                "steps": sorted(steps.values(), key=lambda s: (s.track.position, s.position))}

    def _response_view(self, response: Response, step: Step | None, revisions: list[ResponseRevision],
                       events: list[AuditEvent], users: dict[int, User], comments: list[dict[str, Any]],
                       themes: dict[str, str]) -> dict[str, Any]:
        items = response.questionnaire.items
        by_code = {i.code: i for i in items}
        answers = response.answers or {}
        planned = response.planned or {}
        rows = [{"item": i, "id": i.id, "code": i.code, "label": localized(i, "label"), "theme": i.theme,
                 "theme_title": themes.get(i.theme, i.theme), "value": answers.get(str(i.id)),
                 "text": answer_text(i, answers.get(str(i.id))), "planned": planned.get(str(i.id))}
                for i in items if engine.is_enabled(i, answers, by_code)]
        last = revisions[-1] if revisions else None
        changes = [{"id": c.item.id, "code": c.item.code, "label": localized(c.item, "label"), "kind": c.kind,
                    "before": c.before, "after": c.after, "before_text": c.before_text, "after_text": c.after_text}
                   for c in changes_between(items, last.answers, answers)] if last is not None else []
        history = [{"action": e.action, "at": e.created_at, "by": users[e.actor_id].full_name
                    if e.actor_id in users else None, "comment": e.data.get("comment")} for e in events]
        return {
            "response": response, "id": response.id, "questionnaire": response.questionnaire,
            "title": localized(response.questionnaire, "title"), "step": step, "status": response.status,
            "maturity": response.maturity, "revision": response.revision,
            "theme_scores": [{"theme": k, "title": themes.get(k, k), "value": v}
                             for k, v in (response.theme_scores or {}).items()],
            "validated_at": response.validated_at, "answers": rows,
            "revisions": [{"revision": r.revision, "maturity": r.maturity, "validated_at": r.validated_at,
                           "validated_by": users[r.validated_by_id].full_name
                           if r.validated_by_id in users else None, "answers": r.answers} for r in revisions],
            "last_validated_revision": last.revision if last else None, "changes": changes,
            "history": history, "comments": comments,
            "projection": engine.projection(items, answers, planned, local_today()),
        }

    # -------------------------------------------------------------------------- comments

    async def _any_response(self, response_id: int) -> Response:
        response = await self.session.get(Response, response_id)
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
        return comment

    async def comments(self, response_id: int) -> list[dict[str, Any]]:
        """Reviewers' view of the comments on any response."""
        self.ctx.require(Permission.REVIEW_READ)
        response = await self._any_response(response_id)
        return await self._comments(response.id)

    async def _comments(self, response_id: int) -> list[dict[str, Any]]:
        rows = (await self.session.execute(select(ReviewComment, User).outerjoin(
            User, User.id == ReviewComment.author_id).where(ReviewComment.response_id == response_id)
            .order_by(ReviewComment.id))).all()
        return [comment_json(comment, user) for comment, user in rows]

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

    async def _theme_means(self, *conditions: Any) -> dict[str, tuple[float | None, int]]:
        """Per theme code, the mean numeric score and the number of companies contributing one, over the
        started responses matching `conditions` (one aggregate statement)."""
        pairs, score = self._theme_score_pairs()
        rows = (await self.session.execute(
            select(pairs.c.key, func.avg(score), func.count(func.distinct(case((score.is_not(None),
                                                                                Response.company_id)))))
            .select_from(Response).join(pairs, literal(True))
            .where(Response.status != Status.NOT_STARTED, *conditions).group_by(pairs.c.key))).all()
        return {key: (average, int(count or 0)) for key, average, count in rows}

    async def market(self) -> list[dict[str, Any]]:
        """Mean theme score over every company's responses; None below MIN_COMPANIES contributing companies.

        Shown on every response page, so the database aggregates it in one statement (json_each over the stored
        theme scores) rather than the app reading every response of the market.
        """
        themes = list((await self.session.scalars(select(Theme).order_by(Theme.position))).all())
        titles = {t.code: localized(t, "title") for t in themes}
        found = await self._theme_means()
        # Theme codes outside the reference list still get their average, after the known ones.
        order = list(titles) + sorted(k for k, (average, _) in found.items() if k not in titles and average is not None)
        out = []
        for code in order:
            average, count = found.get(code, (None, 0))
            enough = count >= MIN_COMPANIES and average is not None
            out.append({"theme": code, "title": titles.get(code, code), "enough_data": enough,
                        "market_average": round(float(average), 1) if enough else None})
        return out

    async def market_for_vendor(self) -> list[dict[str, Any]]:
        """The market averages beside the vendor's own mean per theme (over the responses they may read)."""
        user = member(self.ctx)
        conditions: list[Any] = [Response.company_id == user.company_id]
        readable = await readable_product_ids(self.ctx)
        if readable is not None:
            created = select(Product.id).where(Product.created_by_id == user.id)
            scope = [Response.product_id.in_(readable or {0}), Response.product_id.in_(created)]
            if await product_level(self.ctx, None) is not None:
                scope.append(Response.product_id.is_(None))
            conditions.append(or_(*scope))
        own = {key: float(average) for key, (average, _) in (await self._theme_means(*conditions)).items()
               if average is not None}
        return [{**row, "own_average": round(own[row["theme"]], 1) if row["theme"] in own else None}
                for row in await self.market()]

    # -------------------------------------------------------------------------- the vendor's side

    async def response_for_company(self, response_id: int) -> Response:
        """The existing access checks of the response page: 404 foreign or unreadable, 403 for ANS staff."""
        return (await QuestionnaireService(self.ctx).view(response_id)).response

    async def comments_for_company(self, response_id: int) -> list[dict[str, Any]]:
        response = await self.response_for_company(response_id)
        return await self._comments(response.id)

    async def market_for_response(self, response_id: int) -> dict[str, Any]:
        view = await QuestionnaireService(self.ctx).view(response_id)
        response = view.response
        market = {row["theme"]: row for row in await self.market()}
        own = response.theme_scores or {}
        codes = list(own) or list(dict.fromkeys(i.theme for i in view.items if i.scored))
        themes = {t.code: localized(t, "title") for t in (await self.session.scalars(select(Theme))).all()}
        return {"response": response, "min_companies": MIN_COMPANIES, "rows": [
            {"theme": code, "title": themes.get(code, code), "own": own.get(code),
             "market_average": market[code]["market_average"] if code in market else None,
             "enough_data": bool(market.get(code, {}).get("enough_data"))} for code in codes]}


def comment_json(comment: ReviewComment, author: User | None) -> dict[str, Any]:
    return {"id": comment.id, "response_id": comment.response_id, "body": comment.body,
            "author": author.full_name if author else None, "author_id": comment.author_id,
            "created_at": comment.created_at.isoformat()}


def _lang() -> str:
    return current_language()
