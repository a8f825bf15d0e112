"""The embedded ANS FAQ: answers, their facets and places (tags), and the readers' feedback.

Full-text search lives outside the ORM metadata (see `convergence.faq.search`): an FTS5 virtual table on
SQLite, an expression GIN index on PostgreSQL, both created by migration 0002.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from convergence.core.models import Base
from convergence.faq import search as _search  # noqa: F401 - registers the full-text objects as unmanaged

# The facets of the ANS site, in the order pages and the API show them.
FACETS = ("offer_type", "segur_corridor", "segur_scheme", "product_or_service", "topic")
PLACE = "place"
EXCERPT_CHARS = 180


class FaqEntry(Base):
    """One answer of the FAQ. `slug` is its stable identity (fixtures upsert by slug, pages anchor on it)."""

    __tablename__ = "faq_entry"

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    question_fr: Mapped[str] = mapped_column(String(300))
    question_en: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    theme: Mapped[str] = mapped_column(String(100), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    tags: Mapped[list[FaqTag]] = relationship(back_populates="entry", cascade="all, delete-orphan",
                                              lazy="selectin", order_by="FaqTag.id")

    def question(self, lang: str) -> str:
        return self.question_fr if lang == "fr" else self.question_en

    @property
    def facets(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {name: [] for name in FACETS}
        for tag in self.tags:
            if tag.kind in found:
                found[tag.kind].append(tag.value)
        return found

    @property
    def places(self) -> list[str]:
        return [tag.value for tag in self.tags if tag.kind == PLACE]

    @property
    def excerpt(self) -> str:
        """The answer's first words, cut at a word boundary (contextual help)."""
        flat = " ".join(line.strip().removeprefix("- ") for line in self.answer.splitlines() if line.strip())
        if len(flat) <= EXCERPT_CHARS:
            return flat
        return flat[:EXCERPT_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:.-–") + "…"

    @property
    def blocks(self) -> list[tuple[str, Any]]:
        """The answer as paragraphs and bullet lists (the source marks list items with "- ")."""
        blocks: list[tuple[str, Any]] = []
        for line in (raw.strip() for raw in self.answer.splitlines()):
            if not line:
                continue
            if line.startswith("- "):
                if blocks and blocks[-1][0] == "ul":
                    blocks[-1][1].append(line[2:].strip())
                else:
                    blocks.append(("ul", [line[2:].strip()]))
            else:
                blocks.append(("p", line))
        return blocks


class FaqTag(Base):
    """A facet value (`kind` is one of FACETS) or a place of the UI (`kind` = "place") attached to an answer."""

    __tablename__ = "faq_tag"
    __table_args__ = (UniqueConstraint("entry_id", "kind", "value"),)

    entry_id: Mapped[int] = mapped_column(ForeignKey("faq_entry.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(200), index=True)

    entry: Mapped[FaqEntry] = relationship(back_populates="tags")


class FaqFeedback(Base):
    """One "was this answer useful?" vote; anonymous visitors may vote (user_id is then None)."""

    __tablename__ = "faq_feedback"

    entry_id: Mapped[int] = mapped_column(ForeignKey("faq_entry.id", ondelete="CASCADE"), index=True)
    useful: Mapped[bool]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
