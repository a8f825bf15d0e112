"""faq: answers, facets and places, feedback, full-text search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:59:32.549342

Full-text search is created here by hand and stays outside the ORM metadata (listed as unmanaged in
convergence/faq/search.py, skipped by Alembic's comparison through `convergence.models.include_name`):
- SQLite: the FTS5 virtual table `faq_entry_fts` (porter stemming, accents folded), an external-content index
  of faq_entry kept in sync by triggers;
- PostgreSQL: the GIN index `ix_faq_entry_search` on to_tsvector('english', ...) of the same columns; its
  expression must stay the one `convergence.faq.search.PG_VECTOR` queries.
A later SQLite migration that rebuilds faq_entry (batch "recreate") drops its triggers: it must re-create them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

FTS_COLUMNS = "question_fr, question_en, theme, answer"
SQLITE_SEARCH = (
    ("CREATE VIRTUAL TABLE faq_entry_fts USING fts5(question_fr, question_en, theme, answer, "
     "content='faq_entry', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"),
    (f"CREATE TRIGGER faq_entry_fts_ai AFTER INSERT ON faq_entry BEGIN "
     f"INSERT INTO faq_entry_fts(rowid, {FTS_COLUMNS}) "
     f"VALUES (new.id, new.question_fr, new.question_en, new.theme, new.answer); END"),
    (f"CREATE TRIGGER faq_entry_fts_ad AFTER DELETE ON faq_entry BEGIN "
     f"INSERT INTO faq_entry_fts(faq_entry_fts, rowid, {FTS_COLUMNS}) "
     f"VALUES ('delete', old.id, old.question_fr, old.question_en, old.theme, old.answer); END"),
    (f"CREATE TRIGGER faq_entry_fts_au AFTER UPDATE ON faq_entry BEGIN "
     f"INSERT INTO faq_entry_fts(faq_entry_fts, rowid, {FTS_COLUMNS}) "
     f"VALUES ('delete', old.id, old.question_fr, old.question_en, old.theme, old.answer); "
     f"INSERT INTO faq_entry_fts(rowid, {FTS_COLUMNS}) "
     f"VALUES (new.id, new.question_fr, new.question_en, new.theme, new.answer); END"),
    "INSERT INTO faq_entry_fts(faq_entry_fts) VALUES ('rebuild')",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS faq_entry_fts_au",
    "DROP TRIGGER IF EXISTS faq_entry_fts_ad",
    "DROP TRIGGER IF EXISTS faq_entry_fts_ai",
    "DROP TABLE IF EXISTS faq_entry_fts",
)
POSTGRESQL_SEARCH = (
    ("CREATE INDEX ix_faq_entry_search ON faq_entry USING gin (to_tsvector('english'::regconfig, "
     "faq_entry.question_fr || ' ' || faq_entry.question_en || ' ' || faq_entry.theme || ' ' || faq_entry.answer))"),
)
POSTGRESQL_DROP = ("DROP INDEX IF EXISTS ix_faq_entry_search",)


def _create_search() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_SEARCH, "postgresql": POSTGRESQL_SEARCH}.get(dialect, ()):
        op.execute(statement)


def _drop_search() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(dialect, ()):
        op.execute(statement)


def upgrade() -> None:
    op.create_table('faq_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('question_fr', sa.String(length=300), nullable=False),
    sa.Column('question_en', sa.String(length=300), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('theme', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_entry')),
    sa.UniqueConstraint('slug', name=op.f('uq_faq_entry_slug'))
    )
    with op.batch_alter_table('faq_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_entry_theme'), ['theme'], unique=False)

    op.create_table('faq_tag',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['faq_entry.id'], name=op.f('fk_faq_tag_entry_id_faq_entry'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_tag')),
    sa.UniqueConstraint('entry_id', 'kind', 'value', name=op.f('uq_faq_tag_entry_id'))
    )
    with op.batch_alter_table('faq_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_tag_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_faq_tag_value'), ['value'], unique=False)

    op.create_table('faq_feedback',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('useful', sa.Boolean(), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['faq_entry.id'], name=op.f('fk_faq_feedback_entry_id_faq_entry'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_faq_feedback_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_faq_feedback'))
    )
    with op.batch_alter_table('faq_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_feedback_entry_id'), ['entry_id'], unique=False)
    _create_search()


def downgrade() -> None:
    _drop_search()
    with op.batch_alter_table('faq_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_feedback_entry_id'))

    op.drop_table('faq_feedback')
    with op.batch_alter_table('faq_tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_tag_value'))
        batch_op.drop_index(batch_op.f('ix_faq_tag_entry_id'))

    op.drop_table('faq_tag')
    with op.batch_alter_table('faq_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_entry_theme'))

    op.drop_table('faq_entry')
