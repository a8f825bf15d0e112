"""review_status_count: how many (product, step) pairs stand at each (step, status rank), kept by triggers

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30 16:10:00

The review dashboard's status chart and the total of its list counted the whole of review_summary on each request
(one row per (product, step): 180,000 at 10,000 companies, the part of /review and of the review API that still
grew with the market). Triggers on review_summary itself keep the counts in the transaction that changes a pair,
whoever changes it (the response and enrolment triggers of 0014, `convergence simulate`'s bulk rebuild). On
PostgreSQL they take the figures' advisory lock first (core.db.MARKET_FIGURES_LOCK), as the theme counts' do:
the count rows are shared by every writer of a step.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from convergence.questionnaires.summary_sql import THEME_LOCK

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

ADD = ("INSERT INTO review_status_count (step_id, status_rank, n) VALUES ({row}.step_id, {row}.status_rank, 1) "
       "ON CONFLICT (step_id, status_rank) DO UPDATE SET n = review_status_count.n + 1")
REMOVE = ("UPDATE review_status_count SET n = n - 1 "
          "WHERE step_id = {row}.step_id AND status_rank = {row}.status_rank")
MOVED = "old.step_id IS NOT new.step_id OR old.status_rank IS NOT new.status_rank"
REBUILD = ["DELETE FROM review_status_count",
           "INSERT INTO review_status_count (step_id, status_rank, n) "
           "SELECT step_id, status_rank, count(*) FROM review_summary GROUP BY step_id, status_rank"]


def _sqlite() -> list[str]:
    def trigger(name: str, event: str, body: list[str], when: str = "") -> str:
        condition = f" WHEN {when}" if when else ""
        return (f"CREATE TRIGGER review_status_count_{name} AFTER {event} ON review_summary FOR EACH ROW"
                f"{condition} BEGIN " + "; ".join(body) + "; END")

    return [
        trigger("ai", "INSERT", [ADD.format(row="new")]),
        trigger("ad", "DELETE", [REMOVE.format(row="old")]),
        trigger("au", "UPDATE OF step_id, status_rank", [REMOVE.format(row="old"), ADD.format(row="new")], MOVED),
    ]


def _postgresql() -> list[str]:
    moved = "old.step_id IS DISTINCT FROM new.step_id OR old.status_rank IS DISTINCT FROM new.status_rank"
    return [
        f"""CREATE FUNCTION review_status_count_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            IF TG_OP = 'UPDATE' AND NOT ({moved}) THEN RETURN NULL; END IF;
            PERFORM {THEME_LOCK};
            IF TG_OP IN ('UPDATE', 'DELETE') THEN {REMOVE.format(row='old')}; END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN {ADD.format(row='new')}; END IF;
            RETURN NULL; END $$""",
        "CREATE TRIGGER review_status_count_change AFTER INSERT OR DELETE OR UPDATE OF step_id, status_rank "
        "ON review_summary FOR EACH ROW EXECUTE FUNCTION review_status_count_change()",
    ]


DROP = {
    "sqlite": [f"DROP TRIGGER IF EXISTS review_status_count_{name}" for name in ("ai", "ad", "au")],
    "postgresql": ["DROP TRIGGER IF EXISTS review_status_count_change ON review_summary",
                   "DROP FUNCTION IF EXISTS review_status_count_change()"],
}


def upgrade() -> None:
    op.create_table(
        'review_status_count',
        sa.Column('step_id', ID, nullable=False),
        sa.Column('status_rank', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['step_id'], ['step.id'], name=op.f('fk_review_status_count_step_id_step'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('step_id', 'status_rank', name=op.f('pk_review_status_count')),
    )
    for statement in _sqlite() if op.get_bind().dialect.name == "sqlite" else _postgresql():
        op.execute(statement)
    for statement in REBUILD:  # the backfill, in the migration's transaction
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_table('review_status_count')
