"""Audit events: every state change calls `record` inside the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from convergence.core.models import AuditEvent


def record(
    session: AsyncSession,
    action: str,
    *,
    actor_id: int | None,
    target_type: str,
    target_id: int | None = None,
    company_id: int | None = None,
    ip: str | None = None,
    **data: Any,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        company_id=company_id,
        ip=ip,
        data=data,
    )
    session.add(event)
    return event
