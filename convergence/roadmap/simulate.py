"""The simulation's roadmaps: on products the simulation already answered, the company's manager sets a target
maturity on a few themes (above today's maturity, a round number) and hands some lines to another member with
a right on the product, through the real service (checked, audited). The lines themselves need nothing: they
derive from the simulated answers and planned dates.

Reproducible for a given `rng`; products that already have a target are left alone, so a second run adds only
to products answered since.
"""

from __future__ import annotations

import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.companies.acting import ManagerContexts
from convergence.questionnaires.models import Response, Status
from convergence.roadmap.models import RoadmapTarget
from convergence.roadmap.services import RoadmapService
from convergence.settings import Settings

TARGET_RATE = 0.3  # of the answered products without targets
THEMES_AT_MOST = 3
ASSIGN_AT_MOST = 2  # lines handed to another member, per product


async def simulate_roadmaps(session: AsyncSession, rng: random.Random, settings: Settings | None = None, *,
                            limit: int = 200) -> int:
    """Targets and owners on simulated products; the number of products given targets."""
    settings = settings or Settings.from_env()
    done = select(RoadmapTarget.product_id)
    candidates = (await session.execute(
        select(Response.product_id, Response.company_id).where(
            Response.product_id.is_not(None), Response.step_id.is_not(None), Response.status != Status.NOT_STARTED,
            Response.product_id.not_in(done)).distinct().order_by(Response.product_id))).all()
    managers = ManagerContexts(session, settings)
    given = 0
    for product_id, company_id in candidates:
        if given >= limit:
            break
        if rng.random() >= TARGET_RATE:
            continue
        ctx = await managers.of(company_id)
        if ctx is None:
            continue
        service = RoadmapService(ctx)
        roadmap = await service.product(product_id)
        below = [row for row in roadmap.themes if row.current < 100]
        if not below:
            continue
        chosen = rng.sample(below, min(THEMES_AT_MOST, len(below)))
        targets = {row.code: float(min(100, 5 * round((row.current + rng.uniform(10, 40)) / 5))) for row in chosen}
        await service.set_targets(product_id, targets)
        given += 1
        members = [u for u in await service.owners(product_id) if u.id != ctx.actor.id]
        if members and roadmap.lines:
            for line in rng.sample(roadmap.lines, min(ASSIGN_AT_MOST, len(roadmap.lines))):
                await service.set_owner(product_id, line.code, rng.choice(members).id)
    return given
