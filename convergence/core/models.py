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
    # By target: the review's drill-down reads the events of a product's responses and comments.
    __table_args__ = (Index("ix_audit_event_company_created", "company_id", "created_at"),
                      Index("ix_audit_event_target", "target_type", "target_id"))

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
    __table_args__ = (Index("ix_outbox_message_status_next", "status", "next_attempt_at"),)

    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # Delivery state: queued (waiting for the sender), sent, or failed (retries exhausted; support sees why).
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))


class RateEvent(Base):
    """One row per rate-limited action (a password-reset mail, an account request, an invitation, a sign-in
    failure...), counted over a sliding window per bucket and key (an address, a target e-mail)."""

    __tablename__ = "rate_event"
    __table_args__ = (Index("ix_rate_event_bucket_key_created", "bucket", "key", "created_at"),)

    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(320))
