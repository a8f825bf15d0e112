"""The vendor side of simulations: act as each company's first active manager, as a person would."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import Role, User
from convergence.identity.context import Context
from convergence.settings import Settings


class ManagerContexts:
    """Per company, the acting context of its first active manager (None: no manager to act as), read once."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session, self.settings = session, settings
        self._known: dict[int, Context | None] = {}

    async def of(self, company_id: int) -> Context | None:
        if company_id not in self._known:
            manager = await self.session.scalar(select(User).where(
                User.company_id == company_id, User.role == Role.MANAGER, User.active.is_(True)).order_by(User.id)
                .limit(1))
            self._known[company_id] = None if manager is None else Context(
                session=self.session, settings=self.settings, actor=manager)
        return self._known[company_id]
