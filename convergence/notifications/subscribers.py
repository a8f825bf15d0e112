"""Who is told what: the events the lower layers announce (core/events.py) become notifications, in the same
transaction as the change, for the people who care — never the person who acted. Each notification remembers how
its recipient wanted to be mailed at that moment (immediately, in the daily digest, never).

Mail: the response workflow already mails the people it tells (questionnaires/workflow.py); those mails, and the
ones sent here, pass the outbox's gate (`core.mail.gate_with`), which lets a notification mail through only to
someone who chose "immediately". Security mails (sign-in link, password, invitation) are not notification kinds
and always pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import Role, User
from convergence.companies.models import Company
from convergence.companies.team_models import MemberRight
from convergence.core import events, mail
from convergence.core.i18n import N_
from convergence.core.i18n import gettext as _
from convergence.core.mail import Mailer
from convergence.core.models import utcnow
from convergence.notifications.models import Frequency, Kind, Notification, NotificationPreference
from convergence.notifications.services import describe
from convergence.products.models import Product
from convergence.questionnaires.models import Questionnaire, Response
from convergence.settings import Settings

COMMENT_EXCERPT = 300

# The mails a user's preference governs: the workflow's (mailed by questionnaires) and the ones sent here.
WORKFLOW_MAIL_KINDS = frozenset({Kind.RESPONSE_SUBMITTED, Kind.RESPONSE_RETURNED, Kind.RESPONSE_VALIDATED})
MAILED_HERE: dict[str, str] = {
    Kind.RIGHTS_CHANGED: N_("Your rights on Convergence have changed"),
    Kind.REVIEW_COMMENT: N_("The ANS commented on a questionnaire"),
    Kind.ATTESTATION_REVOKED: N_("A maturity attestation is no longer valid"),
}
NOTIFICATION_MAIL_KINDS = WORKFLOW_MAIL_KINDS | frozenset(MAILED_HERE)

_settings: Settings | None = None


def subscribe_hooks(settings: Settings) -> None:
    """Wired once in `convergence.app.create_app`: the events, and the outbox's preference gate. The settings
    give the mails their links (base URL) and the backend (the CLI's digest passes its own)."""
    global _settings
    _settings = settings
    events.subscribe(events.TEAM_INVITED, on_invited)
    events.subscribe(events.RIGHTS_CHANGED, on_rights_changed)
    events.subscribe(events.RESPONSE_SUBMITTED, on_response_submitted)
    events.subscribe(events.RESPONSE_RETURNED, on_response_returned)
    events.subscribe(events.RESPONSE_VALIDATED, on_response_validated)
    events.subscribe(events.REVIEW_COMMENTED, on_review_commented)
    events.subscribe(events.ATTESTATION_REVOKED, on_attestation_revoked)
    mail.gate_with(mail_allowed_now)


async def mail_allowed_now(session: AsyncSession, recipient: str, kind: str) -> bool:
    """The outbox's gate: a notification mail goes now only to someone who chose "immediately" (the default)."""
    if kind not in NOTIFICATION_MAIL_KINDS:
        return True
    chosen = await session.scalar(select(NotificationPreference.email_frequency).join(
        User, User.id == NotificationPreference.user_id).where(User.email == recipient))
    return chosen in (None, Frequency.IMMEDIATE)


async def notify(session: AsyncSession, recipients: Iterable[int], kind: Kind, *, actor_id: int | None,
                 company_id: int | None, data: dict[str, Any], link: str | None) -> list[Notification]:
    """One notification per active recipient but the actor, and the immediate mail where this module mails."""
    wanted = set(recipients) - {actor_id, None}
    if not wanted:
        return []
    users = (await session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True))
                                   .order_by(User.id))).all()
    chosen = dict((await session.execute(select(NotificationPreference.user_id, NotificationPreference.email_frequency)
                                         .where(NotificationPreference.user_id.in_(wanted)))).all())
    rows = []
    for user in users:
        frequency = chosen.get(user.id, Frequency.IMMEDIATE)
        row = Notification(user_id=user.id, company_id=company_id, actor_id=actor_id, kind=kind, data=data,
                           link=link, mail=frequency)
        session.add(row)
        rows.append(row)
        if frequency == Frequency.IMMEDIATE and kind in MAILED_HERE and _settings is not None:
            await _mail_now(session, _settings, user, row)
    await session.flush()
    return rows


async def _mail_now(session: AsyncSession, settings: Settings, user: User, row: Notification) -> None:
    link = f"{settings.base_url}{row.link}" if row.link else f"{settings.base_url}/notifications"
    body = _("Hello %(name)s,\n\n%(text)s\n\n%(link)s\n\nYou receive these e-mails as they happen; choose a daily "
             "digest or no e-mail at all in your preferences: %(preferences)s",
             name=user.first_name, text=describe(row.kind, row.data), link=link,
             preferences=f"{settings.base_url}/notifications/preferences")
    message = await Mailer(settings, session).send(user.email, _(MAILED_HERE[row.kind]), body, kind=row.kind)
    if message is not None:
        row.mailed_at = utcnow()


async def _actor_name(session: AsyncSession, actor_id: int | None) -> str | None:
    actor = await session.get(User, actor_id) if actor_id is not None else None
    return actor.full_name if actor is not None else None


async def _company_name(session: AsyncSession, company_id: int | None) -> str | None:
    company = await session.get(Company, company_id) if company_id is not None else None
    return company.name if company is not None else None


async def _editors(session: AsyncSession, company_id: int, product_id: int | None) -> list[int]:
    """The company's managers and the members who may edit or validate the product (or the global strategy)."""
    on_target = (MemberRight.product_id.is_(None) if product_id is None else MemberRight.product_id == product_id)
    holders = select(MemberRight.user_id).where(MemberRight.company_id == company_id, on_target,
                                                MemberRight.level.in_(("edit", "validate")))
    return list((await session.scalars(select(User.id).where(
        User.company_id == company_id, User.active.is_(True),
        (User.role == Role.MANAGER) | User.id.in_(holders)))).all())


async def _response_data(session: AsyncSession, response_id: int) -> tuple[dict[str, Any], str]:
    response = await session.get(Response, response_id)
    data: dict[str, Any] = {}
    if response is not None:
        questionnaire = await session.get(Questionnaire, response.questionnaire_id)
        if questionnaire is not None:
            data["questionnaire"] = {"fr": questionnaire.title_fr, "en": questionnaire.title_en}
        if response.product_id is not None:
            product = await session.get(Product, response.product_id)
            data["target"] = product.display_name if product is not None else None
    return data, f"/responses/{response_id}"


# ---------------------------------------------------------------------------------------------- the events


async def on_invited(session: AsyncSession, *, company_id: int, user_id: int, actor_id: int | None,
                     **_data: Any) -> None:
    await notify(session, [user_id], Kind.INVITED, actor_id=actor_id, company_id=company_id,
                 data={"actor": await _actor_name(session, actor_id),
                       "company": await _company_name(session, company_id)}, link="/")


async def on_rights_changed(session: AsyncSession, *, company_id: int, user_id: int, actor_id: int | None,
                            **_data: Any) -> None:
    await notify(session, [user_id], Kind.RIGHTS_CHANGED, actor_id=actor_id, company_id=company_id,
                 data={"actor": await _actor_name(session, actor_id),
                       "company": await _company_name(session, company_id)}, link="/products")


async def _on_response(session: AsyncSession, kind: Kind, *, response_id: int, company_id: int,
                       actor_id: int | None, recipient_ids: list[int], comment: str | None = None) -> None:
    data, link = await _response_data(session, response_id)
    data["actor"] = await _actor_name(session, actor_id)
    if comment:
        data["comment"] = comment[:COMMENT_EXCERPT]
    await notify(session, recipient_ids, kind, actor_id=actor_id, company_id=company_id, data=data, link=link)


async def on_response_submitted(session: AsyncSession, **data: Any) -> None:
    """Those the workflow mails: everyone who may validate the response (managers, validate right)."""
    await _on_response(session, Kind.RESPONSE_SUBMITTED, **_response_args(data))


async def on_response_returned(session: AsyncSession, **data: Any) -> None:
    """Its contributors: who submitted it and who last saved an answer."""
    await _on_response(session, Kind.RESPONSE_RETURNED, **_response_args(data))


async def on_response_validated(session: AsyncSession, **data: Any) -> None:
    """Its contributors: who submitted it (and who last saved an answer)."""
    await _on_response(session, Kind.RESPONSE_VALIDATED, **_response_args(data))


def _response_args(data: dict[str, Any]) -> dict[str, Any]:
    return {name: data.get(name) for name in ("response_id", "company_id", "actor_id", "recipient_ids", "comment")}


async def on_review_commented(session: AsyncSession, *, response_id: int, company_id: int,
                              product_id: int | None, actor_id: int | None, **_data: Any) -> None:
    data, link = await _response_data(session, response_id)
    await notify(session, await _editors(session, company_id, product_id), Kind.REVIEW_COMMENT,
                 actor_id=actor_id, company_id=company_id, data=data, link=link)


async def on_attestation_revoked(session: AsyncSession, *, attestation_id: int, company_id: int,
                                 product_id: int | None, actor_id: int | None = None, **_data: Any) -> None:
    product = await session.get(Product, product_id) if product_id is not None else None
    await notify(session, await _editors(session, company_id, product_id), Kind.ATTESTATION_REVOKED,
                 actor_id=actor_id, company_id=company_id,
                 data={"target": product.display_name if product is not None else None,
                       "attestation_id": attestation_id, "actor": await _actor_name(session, actor_id)},
                 link=f"/products/{product_id}" if product is not None else None)
