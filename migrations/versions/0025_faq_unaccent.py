"""FAQ search on PostgreSQL folds accents, as SQLite's does: text search configurations with unaccent

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30 19:30:00

Readers type French without its accents ("securite", "hebergeur", "donnees"); SQLite's FTS5 table folds them
(remove_diacritics, migration 0013) but PostgreSQL's French and English configurations did not, so the same query
found answers on one database and none on the other. Two configurations copied from `french` and `english` run
the `unaccent` dictionary before the stemmer; the search index is rebuilt on them (its expression must stay the
one `convergence.faq.search.PG_VECTOR` queries). `unaccent` ships with PostgreSQL and is a trusted extension: the
database's owner may create it. SQLite: nothing to do.
"""

from __future__ import annotations

from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def _index(english: str, french: str) -> str:
    return ("CREATE INDEX ix_faq_entry_search ON faq_entry USING gin (("
            f"to_tsvector('{english}'::regconfig, faq_entry.question_en || ' ' || faq_entry.theme || ' ' || "
            "faq_entry.answer_en) || "
            f"to_tsvector('{french}'::regconfig, faq_entry.question_fr || ' ' || faq_entry.theme || ' ' || "
            "faq_entry.answer_fr)))")


UPGRADE = (
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH CONFIGURATION convergence_english (COPY = english)",
    "ALTER TEXT SEARCH CONFIGURATION convergence_english ALTER MAPPING FOR hword, hword_part, word "
    "WITH unaccent, english_stem",
    "CREATE TEXT SEARCH CONFIGURATION convergence_french (COPY = french)",
    "ALTER TEXT SEARCH CONFIGURATION convergence_french ALTER MAPPING FOR hword, hword_part, word "
    "WITH unaccent, french_stem",
    "DROP INDEX IF EXISTS ix_faq_entry_search",
    _index("convergence_english", "convergence_french"),
)
DOWNGRADE = (
    "DROP INDEX IF EXISTS ix_faq_entry_search",
    _index("english", "french"),
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS convergence_french",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS convergence_english",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    # The extension stays: other objects of the database may have come to use it since.
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
