"""The declarative base shared by every domain, and the cross-domain tables (audit events, outbox)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from advanced_alchemy.base import BigIntAuditBase, orm_registry
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

Base = BigIntAuditBase
metadata = orm_registry.metadata


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuditEvent(Base):
    """One row per state change: who did what to which object, and from where."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_company_created", "company_id", "created_at"),)

    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class OutboxMessage(Base):
    """Every e-mail the platform sends; with the `outbox` backend this is the only delivery."""

    __tablename__ = "outbox_message"

    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
