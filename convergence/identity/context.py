"""The acting context every service receives: who acts, from where, on which session and settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from convergence.accounts.models import User
from convergence.core import audit
from convergence.core.mail import Mailer
from convergence.identity import policy
from convergence.identity.policy import Permission, Target
from convergence.settings import Settings


@dataclass
class Context:
    """Who is acting, from where, on which database and settings."""

    session: AsyncSession
    settings: Settings
    actor: User | None = None
    ip: str | None = None

    def require(self, permission: Permission, target: Target = None) -> User:
        """The acting user, if the policy lets them take this action on the target (401/403/404 otherwise)."""
        return policy.require(self.actor, permission, target)  # type: ignore[return-value]

    def can(self, permission: Permission, target: Target = None) -> bool:
        return policy.can(self.actor, permission, target)

    @property
    def company_id(self) -> int | None:
        """The acting user's company (None for ANS staff); services check it through the policy."""
        return self.actor.company_id if self.actor is not None else None

    def audit(self, action: str, *, target_type: str, target_id: int | None = None,
              company_id: int | None = None, **data: Any) -> None:
        audit.record(self.session, action, actor_id=self.actor.id if self.actor else None,
                     target_type=target_type, target_id=target_id, company_id=company_id, ip=self.ip, **data)

    @property
    def mailer(self) -> Mailer:
        return Mailer(self.settings, self.session)
