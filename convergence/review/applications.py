"""The ANS queue of referencing applications (issue 17, point 5): who is waiting since when, who holds it, and
the median time from filing to decision. A fixed number of SQL statements per page whatever the number of
applications (status, assignee and product are indexed columns of referencing_application), never one per row;
the figures read maintained counts (referencing_queue_count) and the latest decisions, whatever the market's size."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Float, Select, case, cast, func, select
from sqlalchemy.orm import aliased

from convergence.accounts.models import Role, User
from convergence.companies.models import Company
from convergence.core.api_docs import Page
from convergence.core.errors import Invalid
from convergence.core.i18n import N_, current_language, gettext
from convergence.core.inputs import parse_int
from convergence.core.models import utcnow
from convergence.identity.context import Context
from convergence.identity.policy import Permission
from convergence.products.models import Product, compose_name
from convergence.questionnaires.models import Step
from convergence.referencing.models import (DECIDED_STATUSES, OPEN_STATUSES, AppStatus, ReferencingApplication,
                                            referencing_queue_count)
from convergence.referencing.workflow import STATUS_LABELS

App = ReferencingApplication
OPEN, ALL = "open", "all"
STATUS_CHOICES = (OPEN, *(s.value for s in AppStatus), ALL)
ME, UNASSIGNED = "me", "none"
PAGE_SIZE = 25
# The median decision time is over the latest decisions, as many as this: the queue's pace of the moment, read
# through the index on decided_at in a time that does not grow with the market.
MEDIAN_WINDOW = 1000
NO_ASSIGNEE = 0  # referencing_queue_count.assignee_key of the applications no one holds
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


@dataclass(frozen=True)
class QueueFilters:
    status: str = OPEN  # one of STATUS_CHOICES
    assignee: str = ""  # "" anyone, "me", "none", or a reviewer's id as digits

    def query(self) -> dict[str, str]:
        """As query parameters (pager links), the defaults left out."""
        values = {"status": None if self.status == OPEN else self.status, "assignee": self.assignee or None}
        return {k: v for k, v in values.items() if v}


def parse_queue_filters(raw: Mapping[str, Any]) -> QueueFilters:
    """Query-string values → QueueFilters; a bad value is a 422 naming its field with a sentence."""
    status = raw.get("status")
    status = status.strip() if isinstance(status, str) and status.strip() else OPEN
    if status not in STATUS_CHOICES:
        sentence = N_("Choose a status from the list.")
        raise Invalid(sentence, code="invalid_filter", fields={"status": sentence})
    assignee = raw.get("assignee")
    assignee = assignee.strip() if isinstance(assignee, str) else ""
    if assignee not in ("", ME, UNASSIGNED) and parse_int(assignee) is None:
        sentence = N_("Choose a reviewer from the list.")
        raise Invalid(sentence, code="invalid_filter", fields={"assignee": sentence})
    return QueueFilters(status=status, assignee=assignee)


def parse_window(limit: str | None, offset: str | None) -> tuple[int, int]:
    size = parse_int(limit) if limit not in (None, "") else DEFAULT_LIMIT
    start = parse_int(offset) if offset not in (None, "") else 0
    if size is None or not 1 <= size <= MAX_LIMIT:
        sentence = N_("The limit is a whole number from 1 to 200.")
        raise Invalid(sentence, code="invalid_filter", fields={"limit": sentence})
    if start is None or start < 0:
        sentence = N_("The offset is a whole number, 0 or more.")
        raise Invalid(sentence, code="invalid_filter", fields={"offset": sentence})
    return size, start


class QueueRowOut(msgspec.Struct, kw_only=True):
    """One application in the queue. `age_days` counts from filing to now while it is open, to the decision
    once decided."""

    id: int
    status: str
    status_label: str
    product_id: int
    product_name: str
    commercial_name: str
    company_id: int
    company_name: str
    step_code: str
    step_title: str
    filed_at: datetime
    age_days: float
    assignee_id: int | None
    assignee_name: str | None
    decided_at: datetime | None
    flagged: bool


class QueueSummaryOut(msgspec.Struct, kw_only=True):
    """The queue's figures: applications per status, the open ones assigned to no one and to the actor, and the
    median days from filing to decision over the latest `median_window` decisions (null when none is decided)."""

    counts: dict[str, int]
    open: int
    unassigned: int
    mine: int
    decided: int
    median_decision_days: float | None
    median_window: int = 0


class QueuePage(Page[QueueRowOut], kw_only=True):
    items: list[QueueRowOut]
    summary: QueueSummaryOut


def _days(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0.0) / 86400, 1)


class ApplicationQueueService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    @property
    def _dialect(self) -> str:
        return self.session.bind.dialect.name

    def _conditions(self, filters: QueueFilters, actor: User) -> list[Any]:
        conditions: list[Any] = []
        if filters.status == OPEN:
            conditions.append(App.status.in_(OPEN_STATUSES))
        elif filters.status != ALL:
            conditions.append(App.status == filters.status)
        if filters.assignee == ME:
            conditions.append(App.assignee_id == actor.id)
        elif filters.assignee == UNASSIGNED:
            conditions.append(App.assignee_id.is_(None))
        elif filters.assignee:
            conditions.append(App.assignee_id == int(filters.assignee))
        return conditions

    async def rows(self, filters: QueueFilters, limit: int, offset: int) -> tuple[list[QueueRowOut], int]:
        """A page of the queue and its total: open applications first, the longest waiting at the top."""
        actor = self.ctx.require(Permission.REFERENCING_READ_ALL)
        conditions = self._conditions(filters, actor)
        total = await self.session.scalar(select(func.count()).select_from(App).where(*conditions)) or 0
        if offset >= total:
            return [], int(total)
        assignee = aliased(User)
        decided_last = case((App.status.in_(DECIDED_STATUSES), 1), else_=0)
        statement: Select[Any] = (
            select(App.id, App.status, App.product_id, Product.name, Product.os, Product.os_other, Product.device,
                   App.commercial_name, App.company_id, Company.name, App.step_code, Step.title_fr, Step.title_en,
                   App.filed_at, App.assignee_id, assignee.first_name, assignee.last_name, App.decided_at,
                   App.flagged_at)
            .select_from(App).join(Product, Product.id == App.product_id)
            .join(Company, Company.id == App.company_id)
            .outerjoin(Step, Step.code == App.step_code).outerjoin(assignee, assignee.id == App.assignee_id)
            .where(*conditions).order_by(decided_last, App.filed_at, App.id).limit(limit).offset(offset))
        now = utcnow()
        english = current_language() == "en"
        rows = []
        for (app_id, status, product_id, name, os, os_other, device, commercial, company_id, company, step_code,
             title_fr, title_en, filed_at, assignee_id, first, last, decided_at, flagged_at) in (
                await self.session.execute(statement)).all():
            rows.append(QueueRowOut(
                id=app_id, status=status, status_label=gettext(STATUS_LABELS.get(status, status)), product_id=product_id,
                product_name=compose_name(name, os, os_other, device), commercial_name=commercial,
                company_id=company_id, company_name=company, step_code=step_code,
                step_title=(title_en if english else title_fr) or step_code, filed_at=filed_at,
                age_days=_days((decided_at or now) - filed_at), assignee_id=assignee_id,
                assignee_name=f"{first} {last}".strip() if assignee_id and first is not None else None,
                decided_at=decided_at, flagged=flagged_at is not None))
        return rows, int(total)

    async def summary(self) -> QueueSummaryOut:
        """Counts per status and the median decision time, in a number of rows that does not grow with the market:
        the maintained counts per (status, assignee), and the latest MEDIAN_WINDOW decisions."""
        actor = self.ctx.require(Permission.REFERENCING_READ_ALL)
        counts = {status.value: 0 for status in AppStatus}
        unassigned = mine = 0
        counted = referencing_queue_count.c
        for status, assignee_key, number in (await self.session.execute(
                select(counted.status, counted.assignee_key, counted.n).where(counted.n > 0))).all():
            counts[status] = counts.get(status, 0) + int(number)
            if status in OPEN_STATUSES:
                unassigned += int(number) if assignee_key == NO_ASSIGNEE else 0
                mine += int(number) if assignee_key == actor.id else 0
        decided = sum(counts.get(s, 0) for s in DECIDED_STATUSES)
        window = min(decided, MEDIAN_WINDOW)
        median = await self._median_decision_seconds(window)
        return QueueSummaryOut(counts=counts,
                               open=sum(counts.get(s, 0) for s in OPEN_STATUSES), unassigned=unassigned,
                               mine=mine, decided=decided,
                               median_decision_days=None if median is None else round(median / 86400, 1),
                               median_window=window)

    async def _median_decision_seconds(self, window: int) -> float | None:
        """The median of decided_at − filed_at over the latest `window` decided applications, computed by the
        database from the index on (decided_at, filed_at, status)."""
        if not window:
            return None
        where = (App.status.in_(DECIDED_STATUSES), App.decided_at.is_not(None))
        if self._dialect == "postgresql":
            seconds = func.extract("epoch", App.decided_at - App.filed_at)
        else:
            seconds = cast((func.julianday(App.decided_at) - func.julianday(App.filed_at)) * 86400.0, Float)
        latest = (select(seconds.label("seconds")).where(*where)
                  # Ties on decided_at are broken by filed_at, so that the index answers alone; rows tied on
                  # both have the same duration, and the median is the same whichever of them the window holds.
                  .order_by(App.decided_at.desc(), App.filed_at.desc()).limit(window).subquery())
        if self._dialect == "postgresql":
            value = await self.session.scalar(select(func.percentile_cont(0.5).within_group(latest.c.seconds)))
            return None if value is None else float(value)
        # SQLite has no percentile: the middle one, or the mean of the middle two, of the ordered durations.
        middle = (await self.session.scalars(
            select(latest.c.seconds).order_by(latest.c.seconds).limit(2 - window % 2).offset((window - 1) // 2))).all()
        return sum(float(v) for v in middle) / len(middle) if middle else None

    async def reviewers(self) -> list[User]:
        """The ANS reviewers an application can be assigned to, for the assignee filter."""
        self.ctx.require(Permission.REFERENCING_READ_ALL)
        return list((await self.session.scalars(
            select(User).where(User.role == Role.REVIEWER, User.active.is_(True))
            .order_by(User.last_name, User.first_name, User.id))).all())
