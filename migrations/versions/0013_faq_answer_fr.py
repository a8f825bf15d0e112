"""faq_entry: the answer in both languages (answer -> answer_en, new answer_fr and answer_fr_translated); full-text
search over both answers

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 08:00:00

`answer` (the ANS original, in English) becomes `answer_en`; `answer_fr` holds its French version, empty until
`convergence fixtures load` brings the project's translations (an empty French answer shows the English one), and
`answer_fr_translated` says that the French text is the project's translation.

The columns are renamed and added in place (ALTER TABLE, no batch "recreate" of faq_entry: with SQLite's foreign
keys on, dropping the old table would cascade to the tags and the votes). The full-text objects of migration 0002
are dropped first and rebuilt over both answers:
- SQLite: the FTS5 table `faq_entry_fts` gains `answer_fr`, its triggers follow;
- PostgreSQL: `ix_faq_entry_search` joins the English text under the English configuration to the French text under
  the French one; its expression must stay the one `convergence.faq.search.PG_VECTOR` queries.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _sqlite_search(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The FTS5 table over `columns` of faq_entry and the triggers that keep it in sync (as in 0002)."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return (
        (f"CREATE VIRTUAL TABLE faq_entry_fts USING fts5({names}, "
         "content='faq_entry', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"),
        (f"CREATE TRIGGER faq_entry_fts_ai AFTER INSERT ON faq_entry BEGIN "
         f"INSERT INTO faq_entry_fts(rowid, {names}) VALUES (new.id, {new}); END"),
        (f"CREATE TRIGGER faq_entry_fts_ad AFTER DELETE ON faq_entry BEGIN "
         f"INSERT INTO faq_entry_fts(faq_entry_fts, rowid, {names}) VALUES ('delete', old.id, {old}); END"),
        (f"CREATE TRIGGER faq_entry_fts_au AFTER UPDATE ON faq_entry BEGIN "
         f"INSERT INTO faq_entry_fts(faq_entry_fts, rowid, {names}) VALUES ('delete', old.id, {old}); "
         f"INSERT INTO faq_entry_fts(rowid, {names}) VALUES (new.id, {new}); END"),
        "INSERT INTO faq_entry_fts(faq_entry_fts) VALUES ('rebuild')",
    )


SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS faq_entry_fts_au",
    "DROP TRIGGER IF EXISTS faq_entry_fts_ad",
    "DROP TRIGGER IF EXISTS faq_entry_fts_ai",
    "DROP TABLE IF EXISTS faq_entry_fts",
)
POSTGRESQL_DROP = ("DROP INDEX IF EXISTS ix_faq_entry_search",)

NEW_SEARCH = {
    "sqlite": _sqlite_search(("question_fr", "question_en", "theme", "answer_en", "answer_fr")),
    "postgresql": (
        ("CREATE INDEX ix_faq_entry_search ON faq_entry USING gin (("
         "to_tsvector('english'::regconfig, faq_entry.question_en || ' ' || faq_entry.theme || ' ' || "
         "faq_entry.answer_en) || "
         "to_tsvector('french'::regconfig, faq_entry.question_fr || ' ' || faq_entry.theme || ' ' || "
         "faq_entry.answer_fr)))"),
    ),
}
# The search of migration 0002, for the downgrade.
OLD_SEARCH = {
    "sqlite": _sqlite_search(("question_fr", "question_en", "theme", "answer")),
    "postgresql": (
        ("CREATE INDEX ix_faq_entry_search ON faq_entry USING gin (to_tsvector('english'::regconfig, "
         "faq_entry.question_fr || ' ' || faq_entry.question_en || ' ' || faq_entry.theme || ' ' || "
         "faq_entry.answer))"),
    ),
}


def _run(statements: dict[str, tuple[str, ...]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, ()):
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP})
    op.execute("ALTER TABLE faq_entry RENAME COLUMN answer TO answer_en")
    op.add_column('faq_entry', sa.Column('answer_fr', sa.Text(), nullable=False, server_default=''))
    op.add_column('faq_entry', sa.Column('answer_fr_translated', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    _run(NEW_SEARCH)


def downgrade() -> None:
    _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP})
    op.drop_column('faq_entry', 'answer_fr_translated')
    op.drop_column('faq_entry', 'answer_fr')
    op.execute("ALTER TABLE faq_entry RENAME COLUMN answer_en TO answer")
    _run(OLD_SEARCH)
