"""Semester publications: the anonymised snapshot of the market's maturity per step and theme that ANS support
publishes every semester. The figures are computed once, at publication, and stored as JSON: a response changed
afterwards never alters what was published."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from convergence.core.models import Base


class Publication(Base):
    __tablename__ = "publication"

    label: Mapped[str] = mapped_column(String(7), index=True)  # "2026 S2"
    year: Mapped[int] = mapped_column(Integer)
    half: Mapped[int] = mapped_column(Integer)  # 1 (January to June) or 2 (July to December)
    # The label while the publication stands: one standing publication per semester, the database refusing a
    # second even when two supports publish at the same moment. Withdrawing frees the semester.
    live_key: Mapped[str | None] = mapped_column(String(7), unique=True)
    # "validated": computed from the validated responses; "simulated": written by the simulation (see simulate.py).
    basis: Mapped[str] = mapped_column(String(20), default="validated")
    products: Mapped[int] = mapped_column(Integer, default=0)
    companies: Mapped[int] = mapped_column(Integer, default=0)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    published_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
