"""response: one (product_id, step_id) index for the review dashboard's per-step join

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The composite index also serves lookups by product alone, so it replaces the single-column one.
    op.create_index('ix_response_product_step', 'response', ['product_id', 'step_id'], unique=False)
    op.drop_index('ix_response_product_id', table_name='response')


def downgrade() -> None:
    op.create_index('ix_response_product_id', 'response', ['product_id'], unique=False)
    op.drop_index('ix_response_product_step', table_name='response')
