"""review_summary: the review's per-(product, step) figures, kept by triggers in the writing transaction

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 09:00:00

One row per enrolment (product, step): the least advanced status of the step's responses (and its rank), their
mean maturity rounded to one decimal, answered and required counts, the last validation when every response is
validated, the last change; lower(company name) and lower(product name) for the dashboard's default order.

Triggers rather than calls from the services: every writer of responses and enrolments (the services, the
simulation's inserts, fixtures, tests writing rows straight) keeps the table exact in its own transaction, and an
autosave sends no extra statement. The figures are computed by one statement, REFRESH below, identical on both
databases (row-value UPDATE: SQLite >= 3.15, PostgreSQL); on PostgreSQL it is the function review_summary_refresh.
The expressions are those the review's query computed per request before (rank, mean, rounding) so that the
rows do not change. The table is filled in the upgrade from the existing enrolments and responses.
"""

from __future__ import annotations

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

from convergence.questionnaires.summary_sql import INSERT, REFRESH

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# The figures (REFRESH, over review_summary rows matching {where}) and the row of an enrolment (INSERT) are
# defined once in convergence.questionnaires.summary_sql, which `convergence simulate` also uses to rebuild
# the rows of its bulk load.

DELETE = "DELETE FROM review_summary WHERE product_id = {row}.product_id AND step_id = {row}.step_id"
PAIR = "review_summary.product_id = {row}.product_id AND review_summary.step_id = {row}.step_id"
PRODUCT_NAME = "UPDATE review_summary SET product_key = lower(new.name) WHERE product_id = new.id"
COMPANY_NAME = "UPDATE review_summary SET company_key = lower(new.name) WHERE company_id = new.id"
# The response columns the figures depend on (an update of none of them leaves the summary as it is).
RESPONSE_COLUMNS = "status, maturity, answered_count, validated_at, updated_at, questionnaire_id"
MOVED = "product_id, step_id"


def _enrolment_insert(row: str) -> list[str]:
    return [INSERT.format(where=f"e.product_id = {row}.product_id AND e.step_id = {row}.step_id"),
            REFRESH.format(where=PAIR.format(row=row))]


def _sqlite() -> list[str]:
    def trigger(name: str, event: str, table: str, body: list[str], when: str = "") -> str:
        condition = f" WHEN {when}" if when else ""
        return (f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{condition} BEGIN "
                + "; ".join(body) + "; END")

    def refresh(row: str) -> str:
        return REFRESH.format(where=PAIR.format(row=row))

    moved = "(old.product_id IS NOT new.product_id OR old.step_id IS NOT new.step_id)"
    return [
        trigger("review_summary_response_ai", "INSERT", "response", [refresh("new")], "new.product_id IS NOT NULL"),
        trigger("review_summary_response_ad", "DELETE", "response", [refresh("old")], "old.product_id IS NOT NULL"),
        trigger("review_summary_response_au", f"UPDATE OF {RESPONSE_COLUMNS}, {MOVED}", "response",
                [refresh("new")], "new.product_id IS NOT NULL"),
        trigger("review_summary_response_moved", f"UPDATE OF {MOVED}", "response", [refresh("old")],
                f"old.product_id IS NOT NULL AND {moved}"),
        trigger("review_summary_enrolment_ai", "INSERT", "enrolment", _enrolment_insert("new")),
        trigger("review_summary_enrolment_ad", "DELETE", "enrolment", [DELETE.format(row="old")]),
        trigger("review_summary_enrolment_au", f"UPDATE OF {MOVED}", "enrolment",
                [DELETE.format(row="old"), *_enrolment_insert("new")]),
        trigger("review_summary_product_name", "UPDATE OF name", "product", [PRODUCT_NAME]),
        trigger("review_summary_company_name", "UPDATE OF name", "company", [COMPANY_NAME]),
    ]


def _postgresql() -> list[str]:
    def function(name: str, body: str) -> str:
        return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
                "RETURN NULL; END $$")

    def trigger(name: str, event: str, table: str, when: str = "") -> str:
        condition = f" WHEN ({when})" if when else ""
        return f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{condition} EXECUTE FUNCTION {name}()"

    refresh = REFRESH.format(where="review_summary.product_id = p AND review_summary.step_id = s")
    return [
        f"CREATE FUNCTION review_summary_refresh(p bigint, s bigint) RETURNS void LANGUAGE sql AS $$ {refresh} $$",
        function("review_summary_response", """
            IF TG_OP IN ('UPDATE', 'DELETE') AND old.product_id IS NOT NULL AND (TG_OP = 'DELETE'
                    OR old.product_id IS DISTINCT FROM new.product_id OR old.step_id IS DISTINCT FROM new.step_id)
            THEN PERFORM review_summary_refresh(old.product_id, old.step_id); END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') AND new.product_id IS NOT NULL
            THEN PERFORM review_summary_refresh(new.product_id, new.step_id); END IF;"""),
        trigger("review_summary_response", f"INSERT OR DELETE OR UPDATE OF {RESPONSE_COLUMNS}, {MOVED}",
                "response"),
        function("review_summary_enrolment", f"""
            IF TG_OP IN ('UPDATE', 'DELETE') THEN {DELETE.format(row='old')}; END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN {INSERT.format(
                where='e.product_id = new.product_id AND e.step_id = new.step_id')};
                PERFORM review_summary_refresh(new.product_id, new.step_id); END IF;"""),
        trigger("review_summary_enrolment", f"INSERT OR DELETE OR UPDATE OF {MOVED}", "enrolment"),
        function("review_summary_product_name", f"{PRODUCT_NAME};"),
        trigger("review_summary_product_name", "UPDATE OF name", "product", "old.name IS DISTINCT FROM new.name"),
        function("review_summary_company_name", f"{COMPANY_NAME};"),
        trigger("review_summary_company_name", "UPDATE OF name", "company", "old.name IS DISTINCT FROM new.name"),
    ]


DROP = {
    "sqlite": [f"DROP TRIGGER IF EXISTS review_summary_{name}" for name in (
        "response_ai", "response_ad", "response_au", "response_moved", "enrolment_ai", "enrolment_ad",
        "enrolment_au", "product_name", "company_name")],
    "postgresql": [
        *(f"DROP TRIGGER IF EXISTS review_summary_{name} ON {table}" for name, table in (
            ("response", "response"), ("enrolment", "enrolment"), ("product_name", "product"),
            ("company_name", "company"))),
        *(f"DROP FUNCTION IF EXISTS review_summary_{name}()" for name in (
            "response", "enrolment", "product_name", "company_name")),
        "DROP FUNCTION IF EXISTS review_summary_refresh(bigint, bigint)",
    ],
}


def upgrade() -> None:
    op.create_table(
        'review_summary',
        sa.Column('product_id', ID, nullable=False),
        sa.Column('step_id', ID, nullable=False),
        sa.Column('company_id', ID, nullable=False),
        sa.Column('company_key', sa.String(length=200), nullable=False),
        sa.Column('product_key', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('status_rank', sa.Integer(), nullable=False),
        sa.Column('maturity', sa.Float(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('required', sa.Integer(), nullable=False),
        sa.Column('validated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column('changed_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_review_summary_company_id_company'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_review_summary_product_id_product'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['step_id'], ['step.id'], name=op.f('fk_review_summary_step_id_step'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('product_id', 'step_id', name=op.f('pk_review_summary')),
    )
    op.create_index(op.f('ix_review_summary_company_id'), 'review_summary', ['company_id'])
    op.create_index(op.f('ix_review_summary_step_id'), 'review_summary', ['step_id'])
    op.create_index('ix_review_summary_order', 'review_summary', ['company_key', 'product_key', 'product_id'])
    op.create_index('ix_review_summary_step_rank', 'review_summary', ['step_id', 'status_rank'])
    op.create_index('ix_review_summary_rank', 'review_summary', ['status_rank'])
    op.create_index('ix_review_summary_maturity', 'review_summary', ['maturity'])
    dialect = op.get_bind().dialect.name
    for statement in _sqlite() if dialect == "sqlite" else _postgresql():
        op.execute(statement)
    # The backfill, in the migration's transaction: a row per existing enrolment, then its figures.
    op.execute(INSERT.format(where="1 = 1"))
    op.execute(REFRESH.format(where="1 = 1"))


def downgrade() -> None:
    for statement in DROP.get(op.get_bind().dialect.name, ()):
        op.execute(statement)
    op.drop_table('review_summary')
