"""Questionnaire versions: the record of each migration of a response to a newer version of its questionnaire.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import advanced_alchemy
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('response_migration',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('questionnaire_code', sa.String(length=60), nullable=False),
    sa.Column('from_version', sa.Integer(), nullable=False),
    sa.Column('to_version', sa.Integer(), nullable=False),
    sa.Column('previous_status', sa.String(length=20), nullable=False),
    sa.Column('response_version', sa.Integer(), nullable=False),
    sa.Column('carried', sa.Integer(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('confirmed', sa.JSON(), nullable=False),
    sa.Column('removed', sa.JSON(), nullable=False),
    sa.Column('migrated_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_response_migration_response_id_response'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['migrated_by_id'], ['user_account.id'], name=op.f('fk_response_migration_migrated_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_migration')),
    sa.UniqueConstraint('response_id', 'to_version', name='uq_response_migration_to_version')
    )
    with op.batch_alter_table('response_migration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_migration_response_id'), ['response_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('response_migration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_migration_response_id'))
    op.drop_table('response_migration')
