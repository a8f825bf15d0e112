"""Full-text search of the FAQ, per database.

Both languages are searched whatever the reader's language: the French and English question titles, the theme
and both answers (the ANS original in English, its French translation).
SQLite: an FTS5 virtual table `faq_entry_fts` (porter stemming, accents folded) over those columns, an
external-content index kept in sync with `faq_entry` by triggers.
PostgreSQL: an expression GIN index `ix_faq_entry_search` on the English text under `to_tsvector('english', ...)`
joined to the French text under `to_tsvector('french', ...)`, queried with the words stemmed both ways
(`plainto_tsquery('english', ...) || plainto_tsquery('french', ...)`): every word must match in one language, so
"contributors" finds "Contributor" and "hébergeurs" finds "hébergeur". Since migration 0025 both configurations
are copies that fold accents first (unaccent), as SQLite's table does: "hebergeur" finds "hébergeur" too.

Both were created by migration 0002 and are rebuilt over both answers by migration 0013; they are not part of the
ORM metadata: `UNMANAGED_NAMES` lists them so that Alembic's comparison (autogenerate and the drift test) leaves
them alone.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, column, func, literal_column, table

from convergence.core.models import metadata

FTS_TABLE = "faq_entry_fts"
PG_INDEX = "ix_faq_entry_search"
# The virtual table, its shadow tables (SQLite) and the expression index (PostgreSQL).
UNMANAGED_NAMES = frozenset({FTS_TABLE, *(f"{FTS_TABLE}_{s}" for s in ("data", "idx", "content", "docsize", "config")),
                             PG_INDEX})
metadata.info.setdefault("unmanaged_names", set()).update(UNMANAGED_NAMES)

MAX_QUERY_CHARS = 200
MAX_TERMS = 16
_WORD = re.compile(r"\w+", re.UNICODE)

# Must stay the expression of the index created by migration 0013 (the planner matches it).
PG_ENGLISH = "faq_entry.question_en || ' ' || faq_entry.theme || ' ' || faq_entry.answer_en"
PG_FRENCH = "faq_entry.question_fr || ' ' || faq_entry.theme || ' ' || faq_entry.answer_fr"
# The text search configurations of migration 0025: english and french with accents folded first (unaccent).
PG_ENGLISH_CONFIG, PG_FRENCH_CONFIG = "'convergence_english'::regconfig", "'convergence_french'::regconfig"
PG_VECTOR = (f"(to_tsvector({PG_ENGLISH_CONFIG}, {PG_ENGLISH}) || "
             f"to_tsvector({PG_FRENCH_CONFIG}, {PG_FRENCH}))")

_fts = table(FTS_TABLE, column("rowid"), column("rank"))


def terms(query: str | None) -> list[str]:
    """The words of a visitor's query: punctuation and search-syntax characters are dropped (never an error)."""
    return _WORD.findall((query or "")[:MAX_QUERY_CHARS])[:MAX_TERMS]


def sqlite_match(words: list[str]) -> str:
    """Every word must appear (like plainto_tsquery); each is quoted so FTS5 operators stay plain words."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def apply(statement: Any, dialect: str, words: list[str], entry_id: ColumnElement[Any]) -> tuple[Any, Any]:
    """Restrict `statement` to the entries matching every word; returns it and a best-first ordering."""
    if dialect == "sqlite":
        statement = statement.join(_fts, _fts.c.rowid == entry_id).where(
            literal_column(FTS_TABLE).op("MATCH")(sqlite_match(words)))
        return statement, _fts.c.rank  # bm25: lower is better
    text = " ".join(words)
    query = func.plainto_tsquery(literal_column(PG_ENGLISH_CONFIG), text).op("||")(
        func.plainto_tsquery(literal_column(PG_FRENCH_CONFIG), text))
    vector = literal_column(PG_VECTOR)
    statement = statement.where(vector.op("@@")(query))
    return statement, func.ts_rank(vector, query).desc()


