"""Tracks → steps → questionnaires → items (reference data), and the responses vendors fill."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from convergence.core.models import Base, metadata


class Status(StrEnum):
    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VALIDATED = "validated"


class Theme(Base):
    __tablename__ = "theme"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    title_fr: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Track(Base):
    __tablename__ = "track"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    title_fr: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)

    steps: Mapped[list[Step]] = relationship(back_populates="track", order_by="Step.position", lazy="selectin")


class Step(Base):
    __tablename__ = "step"

    code: Mapped[str] = mapped_column(String(60), unique=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("track.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title_fr: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    # Mon Espace Santé steps require the commercial name seen by citizens.
    requires_commercial_name: Mapped[bool] = mapped_column(Boolean, default=False)

    track: Mapped[Track] = relationship(back_populates="steps", lazy="joined")


class Questionnaire(Base):
    """One version of a questionnaire; step_id NULL marks a global-strategy questionnaire."""

    __tablename__ = "questionnaire"
    __table_args__ = (UniqueConstraint("code", "version", name="uq_questionnaire_code_version"),)

    code: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("step.id", ondelete="CASCADE"), index=True)
    title_fr: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    current: Mapped[bool] = mapped_column(Boolean, default=True)

    items: Mapped[list[Item]] = relationship(back_populates="questionnaire", order_by="Item.position",
                                             lazy="selectin")


class Item(Base):
    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("questionnaire_id", "code", name="uq_item_questionnaire_code"),)

    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    theme: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(20))
    label_fr: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)
    help_fr: Mapped[str] = mapped_column(Text, default="")
    help_en: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    scored: Mapped[bool] = mapped_column(Boolean, default=False)
    score_true: Mapped[float] = mapped_column(Float, default=100)
    score_false: Mapped[float] = mapped_column(Float, default=0)
    options: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    enable_when: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    faq: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What the server accepts (engine.coerce): number {"min", "max", "integer", "unit_fr", "unit_en"},
    # date {"min", "max"} as "YYYY-MM-DD" or "today". Every key optional; None means no bounds.
    bounds: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="items", lazy="raise")


class Enrolment(Base):
    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("product_id", "step_id", name="uq_enrolment_product_step"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("step.id", ondelete="CASCADE"), index=True)


class Response(Base):
    """A product's (or, product_id NULL, the company's global-strategy) answers to one questionnaire.

    `version` counts saves (optimistic concurrency); `revision` counts reopenings after validation.
    """

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("company_id", "product_id", "questionnaire_id", name="uq_response_target"),
        Index("ix_response_company_status", "company_id", "status"),
        # The review dashboard joins each enrolment (product, step) to its responses: without this index
        # SQLite walks every response of the step for each enrolment (47 s at 1,000 companies instead of 40 ms).
        Index("ix_response_product_step", "product_id", "step_id"),
    )

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"))
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="RESTRICT"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("step.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=Status.NOT_STARTED)
    version: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    planned: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    maturity: Mapped[float] = mapped_column(Float, default=0)
    theme_scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    answered_count: Mapped[int] = mapped_column(Integer, default=0)
    # {item_id: {"v": version at which the answer or planned date last changed, "by": user id, "at": ISO time}}:
    # a save conflicts only on the items it changes, not on the whole response.
    item_versions: Mapped[dict[str, dict[str, Any]] | None] = mapped_column(JSON)
    last_saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    last_saved_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    validated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    return_comment: Mapped[str | None] = mapped_column(Text)

    questionnaire: Mapped[Questionnaire] = relationship(lazy="joined")


# The review's per-(product, step) figures, one row per enrolment: the least advanced status of the step's
# responses, their mean maturity (rounded as shown), answered and required counts (required: the required
# questions of the responses' questionnaires, follow-ups included; a loaded questionnaire version never changes its
# items, so no trigger on `item`), the last validation (when every response is validated) and the last change
# (the responses' latest updated_at). Written only by database triggers (migration 0014) in the
# transaction that changes a response, an enrolment, a product's or a company's name: every writer (services,
# the simulation's bulk inserts, fixtures, tests writing rows straight) keeps it exact without calling anything,
# and an autosave pays no extra statement. The review reads only this table for its rows, counts and status
# chart. `company_key` and `product_key` are lower(name) as the database computes it, so that the default order
# (company, product) is read from an index instead of sorting every row of the market per page.
review_summary = Table(
    "review_summary",
    metadata,
    Column("product_id", ForeignKey("product.id", ondelete="CASCADE"), primary_key=True),
    Column("step_id", ForeignKey("step.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("company_id", ForeignKey("company.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("company_key", String(200), nullable=False),
    Column("product_key", String(120), nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_rank", Integer, nullable=False),  # index of `status` in Status, least advanced first
    Column("maturity", Float, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("required", Integer, nullable=False),
    Column("validated_at", DateTimeUTC(timezone=True)),
    Column("changed_at", DateTimeUTC(timezone=True)),
    Index("ix_review_summary_order", "company_key", "product_key", "product_id"),
    Index("ix_review_summary_step_rank", "step_id", "status_rank"),
    Index("ix_review_summary_rank", "status_rank"),
    Index("ix_review_summary_maturity", "maturity"),
)


class ResponseRevision(Base):
    """A validated revision kept when a manager reopens the response."""

    __tablename__ = "response_revision"
    __table_args__ = (UniqueConstraint("response_id", "revision", name="uq_response_revision"),)

    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    planned: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    maturity: Mapped[float] = mapped_column(Float, default=0)
    theme_scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    validated_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class ResponseMigration(Base):
    """A response moved to a newer version of its questionnaire (questionnaires/versions.py).

    `flags` ({item id: "new" | "changed"}) marks the questions the contributors must look at again; a flag holds
    while the item's answer has not changed since `response_version` (the response's version the migration
    wrote, compared with `Response.item_versions`) and the item is not in `confirmed`. `removed` keeps the
    answers the new version has no place for ({item code: {label_fr, label_en, value, planned}}).
    """

    __tablename__ = "response_migration"
    __table_args__ = (UniqueConstraint("response_id", "to_version", name="uq_response_migration_to_version"),)

    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    questionnaire_code: Mapped[str] = mapped_column(String(60))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    previous_status: Mapped[str] = mapped_column(String(20))
    response_version: Mapped[int] = mapped_column(Integer)
    carried: Mapped[int] = mapped_column(Integer)
    flags: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    confirmed: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    removed: Mapped[dict[str, dict[str, Any]]] = mapped_column(JSON, default=dict)
    migrated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
