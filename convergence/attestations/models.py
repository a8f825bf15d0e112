"""Attestations: the signed, public statement of a validated response's maturity that a company shows its
customers. The attested facts are frozen at publication (canonical JSON, signed); whether the attestation still
holds is decided when it is read, against the response as it stands then (see services.validity)."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from convergence.core.models import Base


class Attestation(Base):
    __tablename__ = "attestation"

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"), index=True)
    # SET NULL: a deleted product takes its responses along, and the public page must still say why the
    # attestation no longer holds instead of vanishing.
    response_id: Mapped[int | None] = mapped_column(ForeignKey("response.id", ondelete="SET NULL"), index=True)
    response_revision: Mapped[int] = mapped_column(Integer)
    response_version: Mapped[int] = mapped_column(Integer)
    # The public address (≥ 128 bits from `secrets`) and the short code read over the phone or from paper.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    # "<response id>:<version>" while not revoked: two managers publishing the same validated response at the
    # same moment get one attestation, the database refusing the second.
    live_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    facts: Mapped[str] = mapped_column(Text)  # the canonical JSON that was signed, byte for byte
    signature: Mapped[str] = mapped_column(String(100))  # Ed25519 over `facts`, base64
    key_id: Mapped[str] = mapped_column(String(16))
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
