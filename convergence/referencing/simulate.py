"""Referencing applications for a simulated market (`convergence simulate`): for every product whose Mon Espace
Santé step is wholly validated and has no application yet, an application in one of the states — filed, under
review (partly verified), information requested, referenced, refused — with its snapshot, verdicts and history.
Rows go in by bulk inserts (one statement per table and batch), so that thousands of companies take seconds."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import Role, User
from convergence.core.models import AuditEvent, utcnow
from convergence.products.models import Product
from convergence.questionnaires.models import Questionnaire, Response, Status, Step, Theme
from convergence.referencing import snapshot
from convergence.referencing.categories import CATEGORIES
from convergence.referencing.models import (
    OPEN_STATUSES,
    AppStatus,
    ChapterVerdict,
    ReferencingApplication,
    Verdict,
)
from convergence.referencing.services import TARGET, open_key

# How often each state comes up once every state has been drawn once.
WEIGHTS = {AppStatus.FILED: 2, AppStatus.UNDER_REVIEW: 3, AppStatus.INFO_REQUESTED: 1, AppStatus.REFERENCED: 4,
           AppStatus.REFUSED: 1}
BATCH = 500
REASONS = ("Hébergement des données de santé non certifié HDS.", "Nom commercial différent de celui du catalogue.",
           "Conditions d'utilisation absentes.")
ASKED = "Merci de préciser les points signalés dans les chapitres à compléter."


async def _candidates(session: AsyncSession) -> list[tuple[int, int, int, str]]:
    """(product_id, company_id, step_id, step_code) whose step's current questionnaires are all validated and
    that have no application for that step."""
    steps = {s.id: s.code for s in await snapshot.mes_steps(session)}
    if not steps:
        return []
    validated = func.sum(case((Response.status == Status.VALIDATED, 1), else_=0))
    rows = (await session.execute(
        select(Response.product_id, Response.company_id, Response.step_id)
        .join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
        .where(Response.step_id.in_(steps), Response.product_id.is_not(None), Questionnaire.current.is_(True))
        .group_by(Response.product_id, Response.company_id, Response.step_id)
        .having(func.count() == validated)
        .order_by(Response.product_id, Response.step_id))).all()
    existing = set((await session.execute(select(ReferencingApplication.product_id,
                                                 ReferencingApplication.step_code).distinct())).all())
    return [(p, c, s, steps[s]) for p, c, s in rows if (p, steps[s]) not in existing]


def _states(count: int, rng: random.Random) -> list[AppStatus]:
    """Every state at least once when there is room, then drawn by WEIGHTS."""
    first = list(WEIGHTS)[:count]
    rest = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=max(0, count - len(first)))
    states = first + rest
    rng.shuffle(states)
    return states


async def simulate_applications(session: AsyncSession, rng: random.Random) -> int:
    """Create the applications; how many were created."""
    candidates = await _candidates(session)
    if not candidates:
        return 0
    reviewers = list((await session.scalars(select(User.id).where(User.role == Role.REVIEWER,
                                                                   User.active.is_(True)).order_by(User.id))).all())
    themes = {t.code: t for t in (await session.scalars(select(Theme))).all()}
    step_rows = {s.id: s for s in (await session.scalars(select(Step).where(
        Step.id.in_({c[2] for c in candidates})))).all()}
    states = _states(len(candidates), rng)
    now = utcnow()
    created = 0
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start:start + BATCH]
        product_ids = {c[0] for c in batch}
        products = {p.id: p for p in (await session.scalars(select(Product).where(Product.id.in_(product_ids)))).all()}
        managers = dict((await session.execute(
            select(User.company_id, func.min(User.email)).where(
                User.company_id.in_({c[1] for c in batch}), User.role == Role.MANAGER).group_by(User.company_id))).all())
        filers = dict((await session.execute(
            select(User.company_id, func.min(User.id)).where(
                User.company_id.in_({c[1] for c in batch}), User.role == Role.MANAGER).group_by(User.company_id))).all())
        responses: dict[tuple[int, int], list[Response]] = {}
        for response in (await session.scalars(
                select(Response).join(Questionnaire, Questionnaire.id == Response.questionnaire_id)
                .where(Response.product_id.in_(product_ids), Response.step_id.in_(step_rows),
                       Questionnaire.current.is_(True))
                .order_by(Questionnaire.position, Questionnaire.id))).all():
            responses.setdefault((response.product_id, response.step_id), []).append(response)  # type: ignore[arg-type]
        rows: list[dict[str, Any]] = []
        plans: list[tuple[AppStatus, list[str]]] = []
        for index, (product_id, company_id, step_id, step_code) in enumerate(batch):
            state = states[start + index]
            product = products[product_id]
            step = step_rows[step_id]
            chapters = [c for r in responses.get((product_id, step_id), []) for c in snapshot.chapters_of(r, themes)]
            filed_at = now - timedelta(days=rng.randint(3, 150), minutes=rng.randint(0, 1440))
            decided = state not in OPEN_STATUSES
            assignee = rng.choice(reviewers) if reviewers and state != AppStatus.FILED else None
            codes = [c["code"] for c in chapters]
            to_complete = [rng.choice(codes)] if codes and state in (AppStatus.INFO_REQUESTED, AppStatus.REFUSED) else []
            rows.append({
                "company_id": company_id, "product_id": product_id, "step_code": step_code, "status": state,
                "open_key": None if decided else open_key(product_id, step_code),
                "commercial_name": (product.commercial_name or product.name)[:120],
                "description": (product.description or f"{product.name} : service numérique en santé pour les "
                                "usagers de Mon Espace Santé.")[:2000],
                "category": rng.choice(list(CATEGORIES)), "contact_name": "Service référencement",
                "contact_email": managers.get(company_id) or "referencement@editeur.example", "contact_phone": None,
                "snapshot": {"format": snapshot.SNAPSHOT_FORMAT,
                             "step": {"id": step.id, "code": step.code, "title_fr": step.title_fr,
                                      "title_en": step.title_en},
                             "chapters": chapters},
                "filed_by_id": filers.get(company_id), "filed_at": filed_at, "assignee_id": assignee,
                "info_request": ASKED if state == AppStatus.INFO_REQUESTED else None,
                "info_chapters": to_complete if state == AppStatus.INFO_REQUESTED else [],
                "resubmitted_at": None,
                "decided_at": filed_at + timedelta(days=rng.randint(1, 30)) if decided else None,
                "decided_by_id": assignee if decided else None,
                "decision_reasons": rng.choice(REASONS) if state == AppStatus.REFUSED else None,
                "flagged_at": None, "flag_reason": None, "version": 1, "created_at": filed_at, "updated_at": now,
            })
            plans.append((state, to_complete))
        ids = list((await session.scalars(insert(ReferencingApplication).returning(
            ReferencingApplication.id, sort_by_parameter_order=True), rows)).all())
        verdicts: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for application_id, row, (state, to_complete) in zip(ids, rows, plans, strict=True):
            codes = [c["code"] for c in row["snapshot"]["chapters"]]
            judged = codes[: rng.randint(1, len(codes))] if state == AppStatus.UNDER_REVIEW and codes else (
                [] if state == AppStatus.FILED else codes)
            for code in judged:
                incomplete = code in to_complete
                verdicts.append({
                    "application_id": application_id, "chapter_code": code,
                    "verdict": Verdict.A_COMPLETER if incomplete else Verdict.CONFORME,
                    "comment": "Élément manquant : merci de compléter." if incomplete else "",
                    "reviewer_id": row["assignee_id"], "created_at": now, "updated_at": now})
            base = {"target_type": TARGET, "target_id": application_id, "company_id": row["company_id"], "ip": None}
            events.append({**base, "actor_id": row["filed_by_id"], "action": "referencing.filed",
                           "data": {"simulated": True}, "created_at": row["filed_at"], "updated_at": row["filed_at"]})
            if state != AppStatus.FILED:
                events.append({**base, "actor_id": row["assignee_id"], "action": "referencing.assigned",
                               "data": {"assignee_id": row["assignee_id"]}, "created_at": row["filed_at"],
                               "updated_at": row["filed_at"]})
            if row["decided_at"] is not None:
                events.append({**base, "actor_id": row["decided_by_id"], "action": f"referencing.{state}",
                               "data": {"reasons": row["decision_reasons"]}, "created_at": row["decided_at"],
                               "updated_at": row["decided_at"]})
        if verdicts:
            await session.execute(insert(ChapterVerdict), verdicts)
        if events:
            await session.execute(insert(AuditEvent), events)
        created += len(ids)
    return created

