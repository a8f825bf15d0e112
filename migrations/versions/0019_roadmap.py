"""roadmap: target maturity per theme of a product, and explicit owners of roadmap lines

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table('roadmap_target',
    sa.Column('id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('theme', sa.String(length=40), nullable=False),
    sa.Column('target', sa.Float(), nullable=False),
    sa.Column('set_by_id', _ID, nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_roadmap_target_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by_id'], ['user_account.id'], name=op.f('fk_roadmap_target_set_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadmap_target')),
    sa.UniqueConstraint('product_id', 'theme', name='uq_roadmap_target_product_theme')
    )
    with op.batch_alter_table('roadmap_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_target_product_id'), ['product_id'], unique=False)
    op.create_table('roadmap_owner',
    sa.Column('id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('item_code', sa.String(length=80), nullable=False),
    sa.Column('owner_id', _ID, nullable=False),
    sa.Column('assigned_by_id', _ID, nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_roadmap_owner_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_roadmap_owner_owner_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_roadmap_owner_assigned_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roadmap_owner')),
    sa.UniqueConstraint('product_id', 'item_code', name='uq_roadmap_owner_product_item')
    )
    with op.batch_alter_table('roadmap_owner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roadmap_owner_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roadmap_owner_owner_id'), ['owner_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('roadmap_owner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_owner_owner_id'))
        batch_op.drop_index(batch_op.f('ix_roadmap_owner_product_id'))
    op.drop_table('roadmap_owner')
    with op.batch_alter_table('roadmap_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roadmap_target_product_id'))
    op.drop_table('roadmap_target')
