"""A vendor's application to be listed in the Mon Espace Santé catalogue for one step, ANS verdicts per chapter,
and the PDF attachments filed with it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (JSON, BigInteger, Column, ForeignKey, Index, Integer, LargeBinary, String, Table, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from convergence.core.models import Base, metadata


class AppStatus(StrEnum):
    FILED = "filed"
    UNDER_REVIEW = "under_review"
    INFO_REQUESTED = "info_requested"
    REFERENCED = "referenced"
    REFUSED = "refused"


OPEN_STATUSES = (AppStatus.FILED, AppStatus.UNDER_REVIEW, AppStatus.INFO_REQUESTED)
DECIDED_STATUSES = (AppStatus.REFERENCED, AppStatus.REFUSED)


class Verdict(StrEnum):
    CONFORME = "conforme"
    A_COMPLETER = "a_completer"


class ReferencingApplication(Base):
    """Frozen at filing: `snapshot` holds the validated answers by chapter and no route writes it afterwards,
    except the vendor's resubmission after a request for information, which refreshes the reopened chapters."""

    __tablename__ = "referencing_application"
    __table_args__ = (
        # The catalogue asks for the latest referenced application of each (product, step).
        Index("ix_referencing_application_product_step", "product_id", "step_code", "status"),
        # The queue's median decision time reads the latest decisions (review/applications.py) from this index
        # alone, without visiting the rows.
        Index("ix_referencing_application_decided", "decided_at", "filed_at", "status"),
    )

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    step_code: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=AppStatus.FILED, index=True)
    # "product_id:step_code" while the application is open, NULL once decided: a unique column that both
    # databases accept (NULLs never collide) keeps one open application per product and step under races.
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    commercial_name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40))
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    filed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"),
                                                    index=True)
    # What ANS asked in its last request for information, and the chapters it reopened.
    info_request: Mapped[str | None] = mapped_column(Text)
    info_chapters: Mapped[list[str]] = mapped_column(JSON, default=list)
    resubmitted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decision_reasons: Mapped[str | None] = mapped_column(Text)
    flagged_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    flag_reason: Mapped[str | None] = mapped_column(Text)
    # Compare-and-set counter for transitions: two reviewers deciding at once cannot both win.
    version: Mapped[int] = mapped_column(Integer, default=1)

    verdicts: Mapped[list[ChapterVerdict]] = relationship(lazy="raise", cascade="all, delete-orphan",
                                                          passive_deletes=True)
    attachments: Mapped[list[ApplicationAttachment]] = relationship(lazy="raise", cascade="all, delete-orphan",
                                                                    passive_deletes=True)


class ChapterVerdict(Base):
    __tablename__ = "referencing_chapter_verdict"
    __table_args__ = (UniqueConstraint("application_id", "chapter_code", name="uq_referencing_verdict_chapter"),)

    application_id: Mapped[int] = mapped_column(ForeignKey("referencing_application.id", ondelete="CASCADE"),
                                                index=True)
    chapter_code: Mapped[str] = mapped_column(String(120))
    verdict: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class ApplicationAttachment(Base):
    """Kept in the database, not on disk, so that every server of a deployment serves it."""

    __tablename__ = "referencing_attachment"

    application_id: Mapped[int] = mapped_column(ForeignKey("referencing_application.id", ondelete="CASCADE"),
                                                index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


# How many applications stand at each (status, assignee): the ANS queue's figures (review/applications.py) read
# these few rows instead of counting every application of the market. `assignee_key` is the assignee's user id, 0
# for none (a primary key cannot be NULL). Written only by the triggers of migration 0024, in the transaction that
# files, assigns, decides or deletes an application, whoever does it (routes, `convergence simulate`, a cascade).
referencing_queue_count = Table(
    "referencing_queue_count",
    metadata,
    Column("status", String(20), primary_key=True),
    Column("assignee_key", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("n", Integer, nullable=False),
)
