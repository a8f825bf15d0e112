"""The simulation's publications: the current semester computed from the simulated market through the real
service, and the two semesters before it, which the simulation cannot observe (it has no history of the market),
derived from the current market set back: every score lowered by a drift per semester (a market that matures)
with noise, and fewer products and companies. They are stored with `basis = "simulated"`, and every page and the
API say so: they show how the trend looks, not what the market was.

Reproducible for a given `rng`; a semester already published is left alone, so a second run adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import Role, User
from convergence.core.formatting import local_today
from convergence.core.models import utcnow
from convergence.identity.context import Context
from convergence.publications.models import Publication
from convergence.publications.services import Market, PublicationService, label_of, previous, semester_of, \
    semester_start
from convergence.settings import Settings

PAST_SEMESTERS = 2
DRIFT = (3.0, 7.0)  # maturity points gained per semester, drawn once per run
NOISE = 2.0  # standard deviation of the noise on each score, in points
SHRINK = 0.12  # share of the products (and companies) not there yet, per semester back


def set_back(market: Market, semesters: int, drift: float, rng: random.Random) -> Market:
    """The market as the simulation pretends it was `semesters` ago."""
    keep = max(0.0, 1 - SHRINK * semesters)

    def scores(pairs: list[tuple[float, int]]) -> list[tuple[float, int]]:
        out: dict[float, int] = {}
        for value, count in pairs:
            shifted = round(min(100.0, max(0.0, value - drift * semesters + rng.gauss(0, NOISE))), 1)
            out[shifted] = out.get(shifted, 0) + max(1, round(count * keep))
        return list(out.items())

    def totals(pair: tuple[int, int]) -> tuple[int, int]:
        return max(1, round(pair[0] * keep)), max(1, round(pair[1] * keep))

    step_scores = {k: scores(v) for k, v in market.step_scores.items()}
    theme_scores = {k: scores(v) for k, v in market.theme_scores.items()}
    # The products counted are those the shifted scores stand for, so that a cell's count matches its figures.
    step_totals = {k: (sum(n for _, n in step_scores.get(k, [])) or 1, totals(v)[1])
                   for k, v in market.step_totals.items()}
    theme_totals = {k: (sum(n for _, n in theme_scores.get(k, [])) or 1, totals(v)[1])
                    for k, v in market.theme_totals.items()}
    products, companies = totals((market.products, market.companies))
    return replace(market, products=products, companies=companies, step_totals=step_totals,
                   step_scores=step_scores, theme_totals=theme_totals, theme_scores=theme_scores)


async def simulate_publications(session: AsyncSession, rng: random.Random, settings: Settings | None = None) -> int:
    """Publish the past semesters (simulated) and the current one (computed); the number written."""
    settings = settings or Settings.from_env()
    support = await session.scalar(select(User).where(User.role == Role.SUPPORT, User.active.is_(True))
                                   .order_by(User.id).limit(1))
    service = PublicationService(Context(session=session, settings=settings, actor=support))
    market = await service.market()
    if not market.products:
        return 0
    standing = set((await session.scalars(select(Publication.label).where(
        Publication.withdrawn_at.is_(None)))).all())
    semesters = [semester_of(local_today())]
    for _ in range(PAST_SEMESTERS):
        semesters.append(previous(*semesters[-1]))
    drift = rng.uniform(*DRIFT)
    written = 0
    for back, (year, half) in reversed(list(enumerate(semesters))):
        if label_of(year, half) in standing:
            continue
        shown = set_back(market, back, drift, rng) if back else market
        # Published two weeks after the semester ended, as the ANS does; the current one now.
        ended = semester_start(*semesters[back - 1]) if back else None
        moment = datetime.combine(ended + timedelta(days=14), time(10), timezone.utc) if ended else utcnow()
        await service.store(year, half, shown.snapshot(), shown.products, shown.companies,
                            actor_id=support.id if support else None, basis="simulated" if back else "validated",
                            published_at=min(moment, utcnow()))
        written += 1
    return written
