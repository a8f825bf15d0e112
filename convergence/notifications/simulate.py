"""Notifications for a simulated market (`convergence simulate`): each vendor user gets one to six read and unread
notifications drawn from what exists in their company — responses submitted, returned or validated, ANS comments,
rights changes — by other members, over the last weeks. Bulk inserts, a chunk of companies at a time; users who
already have notifications are left as they are, so that a second run adds nothing."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import User
from convergence.companies.models import Company
from convergence.core.models import utcnow
from convergence.notifications.models import Frequency, Kind, Notification
from convergence.products.models import Product, compose_name
from convergence.questionnaires.models import Questionnaire, Response

CHUNK = 500  # companies per round of reads and inserts
MAX_PER_USER = 6
READ_RATE = 0.6
DAYS = 30
RESPONSE_KINDS = {"submitted": Kind.RESPONSE_SUBMITTED, "validated": Kind.RESPONSE_VALIDATED,
                  "draft": Kind.RESPONSE_RETURNED}


async def simulate_notifications(session: AsyncSession, rng: random.Random) -> int:
    """How many notifications were inserted."""
    users = (await session.execute(
        select(User.id, User.company_id, User.first_name, User.last_name)
        .where(User.company_id.is_not(None), User.active.is_(True),
               ~exists().where(Notification.user_id == User.id))
        .order_by(User.company_id, User.id))).all()
    by_company: dict[int, list[Any]] = defaultdict(list)
    for user in users:
        by_company[user.company_id].append(user)
    titles = {q.id: {"fr": q.title_fr, "en": q.title_en} for q in (await session.scalars(select(Questionnaire))).all()}
    companies = sorted(by_company)
    total = 0
    now = utcnow()
    for start in range(0, len(companies), CHUNK):
        chunk = companies[start:start + CHUNK]
        names = dict((await session.execute(select(Company.id, Company.name).where(Company.id.in_(chunk)))).all())
        responses: dict[int, list[Any]] = defaultdict(list)
        for row in (await session.execute(
                select(Response.id, Response.company_id, Response.status, Response.questionnaire_id,
                       Product.name, Product.os, Product.os_other, Product.device)
                .outerjoin(Product, Product.id == Response.product_id)
                .where(Response.company_id.in_(chunk), Response.status.in_(tuple(RESPONSE_KINDS)))
                .order_by(Response.id))).all():
            responses[row.company_id].append(row)
        rows: list[dict[str, Any]] = []
        for company_id in chunk:
            members = by_company[company_id]
            for user in members:
                others = [m for m in members if m.id != user.id]
                for _n in range(rng.randint(1, MAX_PER_USER)):
                    actor = rng.choice(others) if others else None
                    rows.append(_draw(rng, user, actor, company_id, names.get(company_id, ""),
                                      responses[company_id], titles, now))
        if rows:
            await session.execute(insert(Notification.__table__), rows)
            total += len(rows)
    return total


def _draw(rng: random.Random, user: Any, actor: Any, company_id: int, company: str, responses: list[Any],
          titles: dict[int, dict[str, str]], now: Any) -> dict[str, Any]:
    created = now - timedelta(days=rng.uniform(0, DAYS))
    actor_name = f"{actor.first_name} {actor.last_name}" if actor is not None else None
    data: dict[str, Any] = {"actor": actor_name, "company": company}
    link: str | None = "/products"
    kind = Kind.RIGHTS_CHANGED
    if responses and rng.random() < 0.8:
        response = rng.choice(responses)
        kind = Kind.REVIEW_COMMENT if rng.random() < 0.15 else RESPONSE_KINDS[response.status]
        data["questionnaire"] = titles.get(response.questionnaire_id, {})
        data["target"] = compose_name(response.name, response.os, response.os_other, response.device) \
            if response.name else None
        link = f"/responses/{response.id}"
        if kind == Kind.RESPONSE_RETURNED:
            data["comment"] = rng.choice(("Préciser l'hébergeur des données.", "Joindre la procédure de sauvegarde.",
                                          "Compléter la partie sur l'INS."))
    return {"user_id": user.id, "company_id": company_id, "actor_id": actor.id if actor is not None else None,
            "kind": str(kind), "data": data, "link": link,
            "read_at": min(now, created + timedelta(hours=rng.uniform(1, 48))) if rng.random() < READ_RATE else None,
            "mail": str(Frequency.IMMEDIATE), "mailed_at": created, "created_at": created, "updated_at": created}
