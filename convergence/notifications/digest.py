"""The daily digest (`convergence mail digest`): one e-mail per user and per day, gathering that day's
notifications of the users who chose the digest.

Only finished days (Europe/Paris) are gathered, so that a day is never split over two e-mails whenever the command
runs; a day missed (the command did not run) is sent at the next run, in its own e-mail. Idempotent: each
notification is claimed once (`mailed_at`, set by a compare-and-set UPDATE … RETURNING), so a second run, or two
runs at once, send nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import User
from convergence.core.db import create_engine, create_sessionmaker, unit_of_work
from convergence.core.formatting import DEFAULT_TZ, format_date, local_today
from convergence.core.i18n import gettext as _
from convergence.core.i18n import load_catalogues, ngettext
from convergence.core.mail import Mailer
from convergence.core.models import utcnow
from convergence.notifications.models import Frequency, Notification, NotificationPreference
from convergence.notifications.services import describe
from convergence.settings import Settings

DIGEST_KIND = "notification_digest"


def _day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(DEFAULT_TZ)).date()


async def send_digests(session: AsyncSession, settings: Settings, today: date | None = None) -> int:
    """Mail every pending digest of the days before `today` (Paris); the number of e-mails queued."""
    today = today or local_today()
    cutoff = datetime.combine(today, time.min, tzinfo=ZoneInfo(DEFAULT_TZ))
    pending = (await session.execute(
        select(Notification.id, Notification.user_id, Notification.created_at)
        .where(Notification.mail == Frequency.DIGEST, Notification.mailed_at.is_(None),
               Notification.created_at < cutoff)
        .order_by(Notification.user_id, Notification.created_at, Notification.id))).all()
    groups: dict[tuple[int, date], list[int]] = defaultdict(list)
    for notification_id, user_id, created_at in pending:
        groups[(user_id, _day(created_at))].append(notification_id)
    users = {u.id: u for u in (await session.scalars(select(User).where(
        User.id.in_({user_id for user_id, _d in groups})))).all()} if groups else {}
    never = set((await session.scalars(select(NotificationPreference.user_id).where(
        NotificationPreference.user_id.in_(users), NotificationPreference.email_frequency == Frequency.NEVER)))
        .all()) if users else set()
    sent = 0
    for user_id, days in groupby(sorted(groups), key=lambda key: key[0]):
        user = users.get(user_id)
        for _user, day in days:
            claimed = set((await session.scalars(
                update(Notification).where(Notification.id.in_(groups[(user_id, day)]),
                                           Notification.mailed_at.is_(None))
                .values(mailed_at=utcnow()).returning(Notification.id)
                .execution_options(synchronize_session=False))).all())
            # Someone who has since chosen "never" gets nothing; an inactive account neither.
            if not claimed or user is None or not user.active or user_id in never:
                continue
            rows = (await session.scalars(select(Notification).where(Notification.id.in_(claimed)).order_by(
                Notification.created_at, Notification.id))).all()
            await Mailer(settings, session).send(user.email, _digest_subject(day, len(rows)),
                                                 _digest_body(settings, user, day, rows), kind=DIGEST_KIND)
            sent += 1
    return sent


def _digest_subject(day: date, count: int) -> str:
    return ngettext("Convergence: %(num)s notification on %(day)s", "Convergence: %(num)s notifications on %(day)s",
                    count, day=format_date(day))


def _digest_body(settings: Settings, user: User, day: date, rows: list[Notification]) -> str:
    lines = []
    for row in rows:
        link = f"{settings.base_url}{row.link}" if row.link else f"{settings.base_url}/notifications"
        lines.append(f"- {describe(row.kind, row.data or {})}\n  {link}")
    return _("Hello %(name)s,\n\nWhat happened on %(day)s:\n\n%(lines)s\n\nAll your notifications: %(centre)s\n"
             "You receive one e-mail a day; change it in your preferences: %(preferences)s",
             name=user.first_name, day=format_date(day), lines="\n".join(lines),
             centre=f"{settings.base_url}/notifications",
             preferences=f"{settings.base_url}/notifications/preferences")


async def run_digest(settings: Settings, today: date | None = None) -> int:
    """The CLI's entry: its own engine, one transaction (a failure sends nothing and claims nothing)."""
    load_catalogues(settings.locale_dir)
    engine = create_engine(settings)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await send_digests(session, settings, today)
    finally:
        await engine.dispose()
