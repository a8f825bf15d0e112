"""referencing_queue_count: applications per (status, assignee), kept by triggers; decided_at indexed

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 18:20:00

The review dashboard shows the referencing queue's figures beside the market's, and counted every application of
the market to get them (8,803 at 10,000 companies: a sequential scan of their wide rows, 5 ms, then 4 ms more for
the median decision time): the part of /review that still grew with the market. Triggers on
referencing_application keep the counts in the transaction that changes an application, whoever changes it; on
PostgreSQL they take the queue's advisory lock first (core.db.QUEUE_FIGURES_LOCK), since one decision moves an
application between two count rows. The median now reads the latest decisions from an index on (decided_at, filed_at, status) alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from convergence.core.db import QUEUE_FIGURES_LOCK

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

KEY = "coalesce({row}.assignee_id, 0)"
ADD = ("INSERT INTO referencing_queue_count (status, assignee_key, n) VALUES ({row}.status, " + KEY + ", 1) "
       "ON CONFLICT (status, assignee_key) DO UPDATE SET n = referencing_queue_count.n + 1")
REMOVE = ("UPDATE referencing_queue_count SET n = n - 1 "
          "WHERE status = {row}.status AND assignee_key = " + KEY)
BACKFILL = ("INSERT INTO referencing_queue_count (status, assignee_key, n) "
            "SELECT status, coalesce(assignee_id, 0), count(*) FROM referencing_application "
            "GROUP BY status, coalesce(assignee_id, 0)")


def _sqlite() -> list[str]:
    def trigger(name: str, event: str, body: list[str], when: str = "") -> str:
        condition = f" WHEN {when}" if when else ""
        return (f"CREATE TRIGGER referencing_queue_count_{name} AFTER {event} ON referencing_application "
                f"FOR EACH ROW{condition} BEGIN " + "; ".join(body) + "; END")

    moved = "old.status IS NOT new.status OR old.assignee_id IS NOT new.assignee_id"
    return [
        trigger("ai", "INSERT", [ADD.format(row="new")]),
        trigger("ad", "DELETE", [REMOVE.format(row="old")]),
        trigger("au", "UPDATE OF status, assignee_id", [REMOVE.format(row="old"), ADD.format(row="new")], moved),
    ]


def _postgresql() -> list[str]:
    moved = "old.status IS DISTINCT FROM new.status OR old.assignee_id IS DISTINCT FROM new.assignee_id"
    return [
        f"""CREATE FUNCTION referencing_queue_count_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
            IF TG_OP = 'UPDATE' AND NOT ({moved}) THEN RETURN NULL; END IF;
            PERFORM pg_advisory_xact_lock{QUEUE_FIGURES_LOCK};
            IF TG_OP IN ('UPDATE', 'DELETE') THEN {REMOVE.format(row='old')}; END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN {ADD.format(row='new')}; END IF;
            RETURN NULL; END $$""",
        "CREATE TRIGGER referencing_queue_count_change AFTER INSERT OR DELETE OR UPDATE OF status, assignee_id "
        "ON referencing_application FOR EACH ROW EXECUTE FUNCTION referencing_queue_count_change()",
    ]


DROP = {
    "sqlite": [f"DROP TRIGGER IF EXISTS referencing_queue_count_{name}" for name in ("ai", "ad", "au")],
    "postgresql": ["DROP TRIGGER IF EXISTS referencing_queue_count_change ON referencing_application",
                   "DROP FUNCTION IF EXISTS referencing_queue_count_change()"],
}


def upgrade() -> None:
    op.create_table(
        'referencing_queue_count',
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('assignee_key', ID, nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('status', 'assignee_key', name=op.f('pk_referencing_queue_count')),
    )
    op.create_index('ix_referencing_application_decided', 'referencing_application', ['decided_at', 'filed_at', 'status'])
    for statement in _sqlite() if op.get_bind().dialect.name == "sqlite" else _postgresql():
        op.execute(statement)
    op.execute(BACKFILL)  # in the migration's transaction


def downgrade() -> None:
    for statement in DROP.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_index('ix_referencing_application_decided', table_name='referencing_application')
    op.drop_table('referencing_queue_count')
