"""The acting context every service receives: who acts, from where, on which session and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import User
from convergence.core import audit
from convergence.core.errors import Forbidden, NotAuthenticated
from convergence.core.mail import Mailer
from convergence.identity.permissions import Permission, has_permission
from convergence.settings import Settings


@dataclass
class Context:
    """Who is acting, from where, on which database and settings."""

    session: AsyncSession
    settings: Settings
    actor: User | None = None
    ip: str | None = None

    def require(self, permission: Permission) -> User:
        if self.actor is None:
            raise NotAuthenticated("Please sign in.")
        if not has_permission(self.actor.role, permission):
            raise Forbidden("You do not have the right to do this.")
        return self.actor

    def audit(self, action: str, *, target_type: str, target_id: int | None = None,
              company_id: int | None = None, **data: Any) -> None:
        audit.record(self.session, action, actor_id=self.actor.id if self.actor else None,
                     target_type=target_type, target_id=target_id, company_id=company_id, ip=self.ip, **data)

    @property
    def mailer(self) -> Mailer:
        return Mailer(self.settings, self.session)
