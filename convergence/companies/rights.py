"""Stored per-product rights of contributors (written by the team service)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.companies.team_models import MemberRight
from convergence.identity.policy import Level


async def stored_levels(session: AsyncSession, user_id: int, product_id: int | None) -> list[Level]:
    condition = MemberRight.product_id.is_(None) if product_id is None else MemberRight.product_id == product_id
    levels = (await session.scalars(select(MemberRight.level).where(MemberRight.user_id == user_id, condition))).all()
    return [Level.parse(level) for level in levels]


async def rights_by_product(session: AsyncSession, user_id: int) -> dict[int | None, Level]:
    """Every stored right of a user, highest level per product (None: global strategy)."""
    held: dict[int | None, Level] = {}
    for product_id, level in (await session.execute(
            select(MemberRight.product_id, MemberRight.level).where(MemberRight.user_id == user_id))).all():
        parsed = Level.parse(level)
        held[product_id] = max(parsed, held.get(product_id, parsed))
    return held
