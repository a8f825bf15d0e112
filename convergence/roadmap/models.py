"""The roadmap stores only what cannot be derived from the answers: a target maturity per theme of a product,
and the owner a line was explicitly assigned to. The lines themselves are computed from the product's responses
at every read (services.py), so they never go stale when an answer or a planned date changes."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from convergence.core.models import Base


class RoadmapTarget(Base):
    """The maturity (0-100) a product's team aims at on one theme."""

    __tablename__ = "roadmap_target"
    __table_args__ = (UniqueConstraint("product_id", "theme", name="uq_roadmap_target_product_theme"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    theme: Mapped[str] = mapped_column(String(40))
    target: Mapped[float] = mapped_column(Float)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class RoadmapOwner(Base):
    """Who answers for a roadmap line, when someone chose instead of the default (the answer's last editor).
    Keyed by item code: the assignment survives a migration of the response to a new questionnaire version."""

    __tablename__ = "roadmap_owner"
    __table_args__ = (UniqueConstraint("product_id", "item_code", name="uq_roadmap_owner_product_item"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    item_code: Mapped[str] = mapped_column(String(80))
    # CASCADE: a removed account leaves the line to its default owner again.
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
