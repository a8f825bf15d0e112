"""The embedded ANS FAQ: answers, their facets and places (tags), and the readers' feedback.

Full-text search lives outside the ORM metadata (see `convergence.faq.search`): an FTS5 virtual table on
SQLite, an expression GIN index on PostgreSQL, both created by migration 0002 and rebuilt over both answers by 0013.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from convergence.core.formatting import markdown_text
from convergence.core.models import Base
from convergence.faq import search as _search  # noqa: F401 - registers the full-text objects as unmanaged

# The facets of the ANS site, in the order pages and the API show them.
FACETS = ("offer_type", "segur_corridor", "segur_scheme", "product_or_service", "topic")
PLACE = "place"
EXCERPT_CHARS = 180


class FaqEntry(Base):
    """One answer of the FAQ. `slug` is its stable identity (fixtures upsert by slug, pages anchor on it).

    Both question titles are the project's (the scrape lost them). The answer is kept in both languages, as
    Markdown: `answer_en` is the ANS original, word for word; `answer_fr` is its French version, the project's
    translation when `answer_fr_translated` (the French page then says so under the answer). An entry without a
    French text shows the English original in French too.
    """

    __tablename__ = "faq_entry"

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    question_fr: Mapped[str] = mapped_column(String(300))
    question_en: Mapped[str] = mapped_column(String(300))
    answer_en: Mapped[str] = mapped_column(Text)
    answer_fr: Mapped[str] = mapped_column(Text, default="", server_default="")
    answer_fr_translated: Mapped[bool] = mapped_column(default=False, server_default=false())
    theme: Mapped[str] = mapped_column(String(100), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    tags: Mapped[list[FaqTag]] = relationship(back_populates="entry", cascade="all, delete-orphan",
                                              lazy="selectin", order_by="FaqTag.id")

    def question(self, lang: str) -> str:
        return self.question_fr if lang == "fr" else self.question_en

    def answer_lang(self, lang: str) -> str:
        """The language the answer is shown in for a reader of `lang` (for the `lang` attribute of the page)."""
        return "fr" if lang == "fr" and self.answer_fr.strip() else "en"

    def answer(self, lang: str) -> str:
        """The answer (Markdown) in the reader's language, the English original when there is no French text."""
        return self.answer_fr if self.answer_lang(lang) == "fr" else self.answer_en

    def translated(self, lang: str) -> bool:
        """Whether the answer shown in `lang` is the project's translation of the ANS answer."""
        return self.answer_lang(lang) == "fr" and self.answer_fr_translated

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

    def excerpt(self, lang: str) -> str:
        """The first words of the answer in `lang`, without Markdown marks, cut at a word boundary (contextual
        help)."""
        flat = markdown_text(self.answer(lang))
        if len(flat) <= EXCERPT_CHARS:
            return flat
        return flat[:EXCERPT_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:.-–") + "…"


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
