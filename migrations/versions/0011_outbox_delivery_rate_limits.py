"""outbox delivery state, rate-limit events, invitations to addresses that already have an account

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:10:00
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), nullable=False, server_default='queued'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_attempt_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))
        batch_op.create_index('ix_outbox_message_status_next', ['status', 'next_attempt_at'], unique=False)
    # Messages stored before this revision were delivered (outbox backend) or relayed at once (smtp backend);
    # those without sent_at had failed to relay and are queued again.
    op.execute("UPDATE outbox_message SET status = 'sent', attempts = 1 WHERE sent_at IS NOT NULL")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('status', server_default=None)
        batch_op.alter_column('attempts', server_default=None)

    op.create_table('rate_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bucket', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=320), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_event'))
    )
    with op.batch_alter_table('rate_event', schema=None) as batch_op:
        batch_op.create_index('ix_rate_event_bucket_key_created', ['bucket', 'key', 'created_at'], unique=False)

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=True)


def downgrade() -> None:
    op.execute('DELETE FROM invitation WHERE user_id IS NULL')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.alter_column('user_id', existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=False)
    with op.batch_alter_table('rate_event', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_event_bucket_key_created')
    op.drop_table('rate_event')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_status_next')
        batch_op.drop_column('last_error')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('status')
