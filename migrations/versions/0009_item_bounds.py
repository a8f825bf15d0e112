"""item: bounds (number min/max, integer and unit; date window) enforced by the server and shown to the user

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 02:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: existing items have no bounds until `convergence fixtures load` gives them theirs.
    op.add_column('item', sa.Column('bounds', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('item', 'bounds')
