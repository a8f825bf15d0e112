"""Evidence on an answer: a document (PDF or picture, checked by its content) or a link, with a comment.

Evidence hangs on the response and the question's *code*, not on an item id: a migration to a newer version of
the questionnaire (same response row, new item ids, same codes) and a reopening (same response, new revision)
keep it without copying anything. Copies from another product's response duplicate the rows (evidence/carry.py).
Files are kept in the database, not on disk, so that every server of a deployment serves them.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from convergence.core.models import Base


class Kind(StrEnum):
    FILE = "file"
    LINK = "link"


class Evidence(Base):
    __tablename__ = "answer_evidence"
    __table_args__ = (Index("ix_answer_evidence_response_item", "response_id", "item_code"),)

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    item_code: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2000))  # a link
    filename: Mapped[str | None] = mapped_column(String(200))  # a file, and the four below
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
