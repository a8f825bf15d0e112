"""drop sign_in_failure: sign-in failures are counted in rate_event with the other rate limits

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 05:40:00
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Failures still inside their window are carried over, so an upgrade does not reset a running throttle.
    op.execute("INSERT INTO rate_event (bucket, key, created_at, updated_at) "
               "SELECT 'sign_in.account', email, created_at, updated_at FROM sign_in_failure")
    op.execute("INSERT INTO rate_event (bucket, key, created_at, updated_at) "
               "SELECT 'sign_in.address', ip, created_at, updated_at FROM sign_in_failure")
    with op.batch_alter_table('sign_in_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failure_ip'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failure_email'))
    op.drop_table('sign_in_failure')


def downgrade() -> None:
    op.create_table('sign_in_failure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failure'))
    )
    with op.batch_alter_table('sign_in_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failure_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failure_ip'), ['ip'], unique=False)
