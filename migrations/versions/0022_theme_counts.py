"""review_theme_count: the review's theme score counts, kept by triggers; audit_event indexed by target

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30 14:40:00

The dashboard's theme box plots expanded the JSON theme scores of every started response of the market on each
request (17x slower from 1,000 to 10,000 companies). review_theme_count holds, per (step, status rank of the
pair, theme, score), how many started responses of enrolled pairs give that score; triggers keep it in the
transaction of every change of a response or an enrolment, as review_summary's do (migration 0014).

A pair's contribution depends on all its responses (the rank is the least advanced status), so the triggers take
the pair's contribution away BEFORE the row changes and add the new one AFTER it: both read the responses as they
are at that moment, whatever the order in which other triggers fire. The statement is
summary_sql.THEME_DELTA, which `convergence simulate` also runs after a bulk load. Trigger names start with
review_summary_ so that the simulation's bulk load switches them off with the others. On PostgreSQL the writers
of the counts queue on one advisory lock (summary_sql.THEME_LOCK): two autosaves crossing scores would otherwise
deadlock on the shared count rows.

audit_event gets an index on (target_type, target_id): the drill-down reads a product's events by target.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from convergence.questionnaires.summary_sql import THEME_LOCK, theme_delta, theme_rebuild

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

PAIR = "e.product_id = {row}.product_id AND e.step_id = {row}.step_id"
MOVED = "(old.product_id IS NOT new.product_id OR old.step_id IS NOT new.step_id)"
# The response columns a pair's contribution depends on (its rank, its scores, which pair it is).
RESPONSE_COLUMNS = "status, theme_scores, product_id, step_id"
ENROLMENT_COLUMNS = "product_id, step_id"


def _sqlite() -> list[str]:
    def trigger(name: str, when_: str, event: str, table: str, body: list[str], when: str = "") -> str:
        condition = f" WHEN {when}" if when else ""
        return (f"CREATE TRIGGER review_summary_theme_{name} {when_} {event} ON {table} FOR EACH ROW{condition} "
                "BEGIN " + "; ".join(body) + "; END")

    def remove(row: str, extra: str = "") -> str:
        return theme_delta("sqlite", PAIR.format(row=row) + extra, "-")

    def add(row: str, extra: str = "") -> str:
        return theme_delta("sqlite", PAIR.format(row=row) + extra)

    changed = f"(old.status IS NOT new.status OR old.theme_scores IS NOT new.theme_scores OR {MOVED})"
    return [
        trigger("response_bi", "BEFORE", "INSERT", "response", [remove("new")], "new.product_id IS NOT NULL"),
        trigger("response_ai", "AFTER", "INSERT", "response", [add("new")], "new.product_id IS NOT NULL"),
        trigger("response_bd", "BEFORE", "DELETE", "response", [remove("old")], "old.product_id IS NOT NULL"),
        trigger("response_ad", "AFTER", "DELETE", "response", [add("old")], "old.product_id IS NOT NULL"),
        # A NULL product matches no enrolment: those statements then change nothing.
        trigger("response_bu", "BEFORE", f"UPDATE OF {RESPONSE_COLUMNS}", "response",
                [remove("old"), remove("new", f" AND {MOVED}")], changed),
        trigger("response_au", "AFTER", f"UPDATE OF {RESPONSE_COLUMNS}", "response",
                [add("new"), add("old", f" AND {MOVED}")], changed),
        trigger("enrolment_bd", "BEFORE", "DELETE", "enrolment", [remove("old")]),
        trigger("enrolment_ai", "AFTER", "INSERT", "enrolment", [add("new")]),
        trigger("enrolment_bu", "BEFORE", f"UPDATE OF {ENROLMENT_COLUMNS}", "enrolment", [remove("old")]),
        trigger("enrolment_au", "AFTER", f"UPDATE OF {ENROLMENT_COLUMNS}", "enrolment", [add("new")]),
    ]


def _postgresql() -> list[str]:
    def function(name: str, body: str) -> str:
        return (f"CREATE FUNCTION review_summary_theme_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"{body} IF TG_OP = 'DELETE' THEN RETURN old; END IF; RETURN new; END $$")

    lock = f"PERFORM {THEME_LOCK};"  # before any count is touched (summary_sql.THEME_LOCK says why)

    def trigger(name: str, when_: str, event: str, table: str) -> str:
        return (f"CREATE TRIGGER review_summary_theme_{name} {when_} {event} ON {table} FOR EACH ROW "
                f"EXECUTE FUNCTION review_summary_theme_{name}()")

    pair = "e.product_id = p AND e.step_id = s"
    moved = "(old.product_id IS DISTINCT FROM new.product_id OR old.step_id IS DISTINCT FROM new.step_id)"
    unchanged = (f"TG_OP = 'UPDATE' AND NOT {moved} AND old.status IS NOT DISTINCT FROM new.status "
                 "AND old.theme_scores::text IS NOT DISTINCT FROM new.theme_scores::text")
    return [
        "CREATE FUNCTION review_summary_theme_remove(p bigint, s bigint) RETURNS void LANGUAGE sql AS $$ "
        f"{theme_delta('postgresql', pair, '-')} $$",
        "CREATE FUNCTION review_summary_theme_add(p bigint, s bigint) RETURNS void LANGUAGE sql AS $$ "
        f"{theme_delta('postgresql', pair)} $$",
        function("response_before", f"""
            IF {unchanged} THEN RETURN new; END IF;
            {lock}
            IF TG_OP IN ('UPDATE', 'DELETE') AND old.product_id IS NOT NULL
            THEN PERFORM review_summary_theme_remove(old.product_id, old.step_id); END IF;
            IF (TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND {moved})) AND new.product_id IS NOT NULL
            THEN PERFORM review_summary_theme_remove(new.product_id, new.step_id); END IF;"""),
        trigger("response_before", "BEFORE", f"INSERT OR DELETE OR UPDATE OF {RESPONSE_COLUMNS}", "response"),
        function("response_after", f"""
            IF {unchanged} THEN RETURN new; END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') AND new.product_id IS NOT NULL
            THEN PERFORM review_summary_theme_add(new.product_id, new.step_id); END IF;
            IF (TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND {moved})) AND old.product_id IS NOT NULL
            THEN PERFORM review_summary_theme_add(old.product_id, old.step_id); END IF;"""),
        trigger("response_after", "AFTER", f"INSERT OR DELETE OR UPDATE OF {RESPONSE_COLUMNS}", "response"),
        function("enrolment_before", f"""
            {lock} PERFORM review_summary_theme_remove(old.product_id, old.step_id);"""),
        trigger("enrolment_before", "BEFORE", f"DELETE OR UPDATE OF {ENROLMENT_COLUMNS}", "enrolment"),
        function("enrolment_after", f"""
            {lock} PERFORM review_summary_theme_add(new.product_id, new.step_id);"""),
        trigger("enrolment_after", "AFTER", f"INSERT OR UPDATE OF {ENROLMENT_COLUMNS}", "enrolment"),
    ]


DROP = {
    "sqlite": [f"DROP TRIGGER IF EXISTS review_summary_theme_{name}" for name in (
        "response_bi", "response_ai", "response_bd", "response_ad", "response_bu", "response_au",
        "enrolment_bd", "enrolment_ai", "enrolment_bu", "enrolment_au")],
    "postgresql": [
        *(f"DROP TRIGGER IF EXISTS review_summary_theme_{name} ON {table}" for name, table in (
            ("response_before", "response"), ("response_after", "response"),
            ("enrolment_before", "enrolment"), ("enrolment_after", "enrolment"))),
        *(f"DROP FUNCTION IF EXISTS review_summary_theme_{name}()" for name in (
            "response_before", "response_after", "enrolment_before", "enrolment_after")),
        "DROP FUNCTION IF EXISTS review_summary_theme_remove(bigint, bigint)",
        "DROP FUNCTION IF EXISTS review_summary_theme_add(bigint, bigint)",
    ],
}


def upgrade() -> None:
    op.create_table(
        'review_theme_count',
        sa.Column('step_id', ID, nullable=False),
        sa.Column('status_rank', sa.Integer(), nullable=False),
        sa.Column('theme', sa.Text(), nullable=False),
        sa.Column('score', sa.Float(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['step_id'], ['step.id'], name=op.f('fk_review_theme_count_step_id_step'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('step_id', 'status_rank', 'theme', 'score', name=op.f('pk_review_theme_count')),
    )
    dialect = op.get_bind().dialect.name
    for statement in _sqlite() if dialect == "sqlite" else _postgresql():
        op.execute(statement)
    # The backfill, in the migration's transaction.
    for statement in theme_rebuild(dialect):
        op.execute(statement)
    op.create_index('ix_audit_event_target', 'audit_event', ['target_type', 'target_id'])


def downgrade() -> None:
    op.drop_index('ix_audit_event_target', table_name='audit_event')
    for statement in DROP.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_table('review_theme_count')
