"""A notification per recipient and event, and each user's e-mail preference."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from convergence.core.models import Base


class Frequency(StrEnum):
    """How a user wants the mail of their notifications."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"  # one e-mail a day gathering the day's notifications (`convergence mail digest`)
    NEVER = "never"


class Kind(StrEnum):
    INVITED = "invited"
    RIGHTS_CHANGED = "rights_changed"
    RESPONSE_SUBMITTED = "response_submitted"
    RESPONSE_RETURNED = "response_returned"
    RESPONSE_VALIDATED = "response_validated"
    REVIEW_COMMENT = "review_comment"
    ATTESTATION_REVOKED = "attestation_revoked"


class Notification(Base):
    """One thing that happened, told to one user. The text is written when shown (in the reader's language) from
    `kind` and `data` (names as they were at the time); `mail` is how it was to be mailed when it was created."""

    __tablename__ = "notification"
    __table_args__ = (
        # The header's unread count and the centre's pages, newest first.
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_user_created", "user_id", "created_at"),
        # The daily digest's pending notifications.
        Index("ix_notification_mail_mailed", "mail", "mailed_at"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    mail: Mapped[str] = mapped_column(String(20), default=Frequency.IMMEDIATE)
    mailed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


class NotificationPreference(Base):
    """A user's choice; no row means immediately (as before the preference existed)."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    email_frequency: Mapped[str] = mapped_column(String(20), default=Frequency.IMMEDIATE)
