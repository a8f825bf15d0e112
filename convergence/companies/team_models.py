"""Team tables: contributors' per-product rights and invitations."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from convergence.core.models import Base


class MemberRight(Base):
    """A contributor's right on one product, or on the global-strategy questionnaires (product_id NULL)."""

    __tablename__ = "member_right"
    __table_args__ = (Index("ix_member_right_user_product", "user_id", "product_id"),)

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(10))


class Invitation(Base):
    """An invitation to join a company's team; the invited account exists from the start, without password."""

    __tablename__ = "invitation"

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"), index=True)
    # None when the address already had an account elsewhere: the invitation is recorded and answered like any
    # other (no enumeration of people), the address's owner is told by mail, and it can only be cancelled.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    sent_count: Mapped[int] = mapped_column(default=1)
