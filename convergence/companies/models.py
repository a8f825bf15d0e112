from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from convergence.core.models import Base


class Company(Base):
    __tablename__ = "company"

    name: Mapped[str] = mapped_column(String(200))
    siren: Mapped[str] = mapped_column(String(9), unique=True)
    active: Mapped[bool] = mapped_column(default=True)

