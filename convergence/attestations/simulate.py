"""The simulation's attestations: on responses the simulation already validated, the company's manager publishes
some through the real service (signed, audited), revokes a few and reopens the response of a few others, so
that the platform shows attestations in every state (valid, revoked, no longer valid after a reopening).

Reproducible for a given `rng` in what is published, revoked and reopened (tokens and codes stay random: they
must not be guessable); responses that already have an attestation are left alone, so a second run adds only
to responses validated since.
"""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.companies.acting import ManagerContexts
from convergence.attestations.models import Attestation
from convergence.attestations.services import AttestationService
from convergence.questionnaires.models import Response, Status
from convergence.questionnaires.services import QuestionnaireService
from convergence.settings import Settings

PUBLISH_RATE = 0.35  # of the validated product responses without an attestation
REVOKE_RATE = 0.15  # of those published
REOPEN_RATE = 0.15  # of those published and not revoked
REVOKE_REASONS = ("Nouvelle version du produit en cours de déploiement.", "Publiée par erreur.",
                  "Le périmètre du produit a changé.", "")


async def simulate_attestations(session: AsyncSession, rng: random.Random, settings: Settings | None = None, *,
                                limit: int = 300) -> int:
    """Publish attestations on simulated validated responses; the number published. `settings` gives the signing
    secret (by default the environment's, the one the server signs with)."""
    settings = settings or Settings.from_env()
    attested = select(Attestation.response_id).where(Attestation.response_id.is_not(None))
    candidates = (await session.execute(
        select(Response.id, Response.company_id).where(
            Response.status == Status.VALIDATED, Response.product_id.is_not(None), Response.step_id.is_not(None),
            Response.id.not_in(attested)).order_by(Response.id))).all()
    managers = ManagerContexts(session, settings)
    published = 0
    for response_id, company_id in candidates:
        if published >= limit:
            break
        if rng.random() >= PUBLISH_RATE:
            continue
        ctx = await managers.of(company_id)
        if ctx is None:
            continue
        view = await AttestationService(ctx).publish(response_id)
        published += 1
        draw = rng.random()
        if draw < REVOKE_RATE:
            await AttestationService(ctx).revoke(view.attestation.id, rng.choice(REVOKE_REASONS))
        elif draw < REVOKE_RATE + REOPEN_RATE:
            await QuestionnaireService(ctx).reopen(response_id)
    return published
