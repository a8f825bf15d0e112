"""The notification centre (a user's own notifications: list, unread count, mark as read) and the e-mail
preference. Every page and API handler goes through `NotificationService`; a user only ever reads or changes
their own rows, so another user's notification is simply not found (404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.core.errors import Invalid, NotFound
from convergence.core.i18n import N_, current_language
from convergence.core.i18n import gettext as _
from convergence.core.models import utcnow
from convergence.identity.context import Context
from convergence.identity.policy import Permission
from convergence.notifications.models import Frequency, Kind, Notification, NotificationPreference

PAGE_SIZE = 20

# What each kind says, written when shown, in the reader's language, from the names kept in `data`.
TEXTS: dict[str, str] = {
    Kind.INVITED: N_("%(actor)s invited you to join %(company)s on Convergence."),
    Kind.RIGHTS_CHANGED: N_("%(actor)s changed your rights on the products of %(company)s."),
    Kind.RESPONSE_SUBMITTED: N_("%(actor)s submitted “%(questionnaire)s” for %(target)s: it awaits your "
                                "validation."),
    Kind.RESPONSE_RETURNED: N_("%(actor)s returned “%(questionnaire)s” for %(target)s for changes."),
    Kind.RESPONSE_VALIDATED: N_("%(actor)s validated “%(questionnaire)s” for %(target)s."),
    Kind.REVIEW_COMMENT: N_("The ANS commented on “%(questionnaire)s” for %(target)s."),
    Kind.ATTESTATION_REVOKED: N_("The maturity attestation of %(target)s is no longer valid."),
}

UNKNOWN = N_("Something changed.")  # a kind this version does not know (written by a newer one)

FREQUENCY_LABELS: dict[str, str] = {
    Frequency.IMMEDIATE: N_("Immediately: one e-mail for each notification"),
    Frequency.DIGEST: N_("Daily digest: one e-mail a day gathering the day's notifications"),
    Frequency.NEVER: N_("Never: notifications only in the notification centre"),
}


def describe(kind: str, data: dict[str, Any]) -> str:
    """The sentence of a notification in the current language."""
    questionnaire = data.get("questionnaire") or {}
    if isinstance(questionnaire, dict):
        questionnaire = questionnaire.get("en" if current_language() == "en" else "fr") or ""
    target = data.get("target") or _("the global strategy")
    params = {"actor": data.get("actor") or _("Someone"), "company": data.get("company") or "",
              "questionnaire": questionnaire, "target": target}
    return _(TEXTS.get(kind, UNKNOWN), **params)


@dataclass(frozen=True)
class NotificationView:
    id: int
    kind: str
    text: str
    comment: str | None
    link: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @classmethod
    def of(cls, row: Notification) -> NotificationView:
        return cls(id=row.id, kind=row.kind, text=describe(row.kind, row.data or {}),
                   comment=(row.data or {}).get("comment"), link=row.link, created_at=row.created_at,
                   read_at=row.read_at)


@dataclass(frozen=True)
class NotificationWindow:
    items: list[NotificationView]
    total: int
    unread: int


async def unread_count(session: AsyncSession, user_id: int) -> int:
    """One indexed COUNT (ix_notification_user_read): the header's figure."""
    return await session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


async def frequency_of(session: AsyncSession, user_id: int) -> Frequency:
    value = await session.scalar(select(NotificationPreference.email_frequency).where(
        NotificationPreference.user_id == user_id))
    return Frequency(value) if value in Frequency.__members__.values() else Frequency.IMMEDIATE


def parse_frequency(raw: object) -> Frequency:
    if isinstance(raw, str) and raw in {f.value for f in Frequency}:
        return Frequency(raw)
    problem = N_("Choose immediately, daily digest or never.")
    raise Invalid(problem, code="invalid_frequency", fields={"email_frequency": problem})


class NotificationService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.session = ctx.session

    def _me(self) -> int:
        return self.ctx.require(Permission.NOTIFICATIONS_OWN).id

    async def page(self, *, unread_only: bool = False, limit: int = PAGE_SIZE, offset: int = 0) -> NotificationWindow:
        """The actor's notifications, newest first, one window of them."""
        me = self._me()
        mine = [Notification.user_id == me]
        if unread_only:
            mine.append(Notification.read_at.is_(None))
        total = await self.session.scalar(select(func.count()).select_from(Notification).where(*mine)) or 0
        rows = (await self.session.scalars(select(Notification).where(*mine).order_by(
            Notification.created_at.desc(), Notification.id.desc()).limit(limit).offset(offset))).all()
        unread = total if unread_only else await unread_count(self.session, me)
        return NotificationWindow(items=[NotificationView.of(r) for r in rows], total=total, unread=unread)

    async def unread_count(self) -> int:
        return await unread_count(self.session, self._me())

    async def _mine(self, notification_id: int) -> Notification:
        me = self._me()
        row = await self.session.get(Notification, notification_id)
        if row is None or row.user_id != me:
            raise NotFound("This notification does not exist.")
        return row

    async def view(self, notification_id: int) -> NotificationView:
        return NotificationView.of(await self._mine(notification_id))

    async def mark_read(self, notification_id: int) -> NotificationView:
        """Idempotent: a notification already read keeps the moment it was first read."""
        row = await self._mine(notification_id)
        if row.read_at is None:
            row.read_at = utcnow()
            self.ctx.audit("notification.read", target_type="notification", target_id=row.id,
                           company_id=row.company_id)
        return NotificationView.of(row)

    async def mark_all_read(self) -> int:
        """Every unread notification of the actor marked read at once; how many were."""
        me = self._me()
        result = await self.session.execute(update(Notification).where(
            Notification.user_id == me, Notification.read_at.is_(None)).values(read_at=utcnow())
            .execution_options(synchronize_session=False))
        marked = result.rowcount or 0
        if marked:
            self.ctx.audit("notification.all_read", target_type="user", target_id=me,
                           company_id=self.ctx.company_id, count=marked)
        return marked

    async def preference(self) -> Frequency:
        return await frequency_of(self.session, self._me())

    async def set_preference(self, raw: object) -> Frequency:
        me = self._me()
        frequency = parse_frequency(raw)
        row = await self.session.scalar(select(NotificationPreference).where(NotificationPreference.user_id == me))
        before = row.email_frequency if row is not None else Frequency.IMMEDIATE
        if row is None:
            self.session.add(NotificationPreference(user_id=me, email_frequency=frequency))
        else:
            row.email_frequency = frequency
        if before != frequency:
            self.ctx.audit("notification.preference_changed", target_type="user", target_id=me,
                           company_id=self.ctx.company_id, before=str(before), after=str(frequency))
        return frequency
