"""Products: every edition, version and OS/device variant a vendor markets, base or option."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from convergence.core.models import Base, metadata


IDENTITY_KEY_MAX = 400


class OS(StrEnum):
    IOS = "iOS"
    ANDROID = "Android"
    WINDOWS = "Windows"
    LINUX = "Linux"
    OTHER = "Other"


class Device(StrEnum):
    MOBILE = "Mobile"
    WEBSITE = "Website"


class Kind(StrEnum):
    BASE = "base"
    OPTION = "option"


# An option product extends one or several base products of the same company.
product_base_link = Table(
    "product_base_link",
    metadata,
    Column("option_id", ForeignKey("product.id", ondelete="CASCADE"), primary_key=True),
    Column("base_id", ForeignKey("product.id", ondelete="RESTRICT"), primary_key=True, index=True),
)


class Product(Base):
    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("company_id", "identity_key", name="uq_product_company_identity"),)

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    os: Mapped[str] = mapped_column(String(20))
    os_other: Mapped[str] = mapped_column(String(60), default="")
    device: Mapped[str] = mapped_column(String(20))
    edition: Mapped[str] = mapped_column(String(100), default="")
    version: Mapped[str] = mapped_column(String(50), default="")
    kind: Mapped[str] = mapped_column(String(10), default=Kind.BASE)
    description: Mapped[str] = mapped_column(Text, default="")
    # For Mon Espace Santé: the name the citizen sees in the service catalogue.
    commercial_name: Mapped[str | None] = mapped_column(String(200))
    # Case-insensitive (name, edition, version, OS, device): the same product twice in a company is refused.
    identity_key: Mapped[str] = mapped_column(String(IDENTITY_KEY_MAX))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("product.id", ondelete="SET NULL"),
                                                            index=True)

    bases: Mapped[list[Product]] = relationship(
        secondary=product_base_link, primaryjoin=lambda: Product.id == product_base_link.c.option_id,
        secondaryjoin=lambda: Product.id == product_base_link.c.base_id, lazy="selectin", join_depth=1,
        order_by=lambda: Product.name)
    options: Mapped[list[Product]] = relationship(
        secondary=product_base_link, primaryjoin=lambda: Product.id == product_base_link.c.base_id,
        secondaryjoin=lambda: Product.id == product_base_link.c.option_id, lazy="selectin", join_depth=1, viewonly=True,
        order_by=lambda: Product.name)

    @property
    def os_label(self) -> str:
        return self.os_other if self.os == OS.OTHER else self.os

    @property
    def display_name(self) -> str:
        return compose_name(self.name, self.os, self.os_other, self.device)

    @property
    def label(self) -> str:
        """The display name with edition and version: what tells two registrations apart."""
        return " ".join(part for part in (self.display_name, self.edition, self.version) if part)

    @property
    def is_option(self) -> bool:
        return self.kind == Kind.OPTION


def compose_name(name: str, os: str, os_other: str, device: str) -> str:
    """The naming rule: (Name of the Product) (OS) (Device)."""
    os_label = (os_other or "").strip() if os == OS.OTHER else os
    return " ".join(part for part in (" ".join((name or "").split()), os_label, device) if part)


def identity_key(name: str, edition: str, version: str, os: str, os_other: str, device: str) -> str:
    """Case-insensitive, whitespace-insensitive. Case folding lengthens some text ('ﬃ' → 'ffi', 'İ' → 'i̇'): a key
    longer than its column is stored as its digest, which is as unique and always fits."""
    os_label = os_other if os == OS.OTHER else os
    parts = (name, edition, version, os_label, device)
    key = "\x1f".join(" ".join((p or "").split()).casefold() for p in parts)
    if len(key) <= IDENTITY_KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
