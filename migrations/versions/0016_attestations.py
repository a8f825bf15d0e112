"""attestations: signed public statements of a validated response's maturity

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table('attestation',
    sa.Column('id', _ID, nullable=False),
    sa.Column('company_id', _ID, nullable=False),
    sa.Column('response_id', _ID, nullable=True),
    sa.Column('response_revision', sa.Integer(), nullable=False),
    sa.Column('response_version', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('live_key', sa.String(length=40), nullable=True),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('signature', sa.String(length=100), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('published_by_id', _ID, nullable=True),
    sa.Column('revoked_at', _TS, nullable=True),
    sa.Column('revoked_by_id', _ID, nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_attestation_company_id_company'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_attestation_response_id_response'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], name=op.f('fk_attestation_published_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user_account.id'], name=op.f('fk_attestation_revoked_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attestation')),
    sa.UniqueConstraint('token', name=op.f('uq_attestation_token')),
    sa.UniqueConstraint('code', name=op.f('uq_attestation_code')),
    sa.UniqueConstraint('live_key', name=op.f('uq_attestation_live_key'))
    )
    with op.batch_alter_table('attestation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attestation_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attestation_response_id'), ['response_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attestation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attestation_response_id'))
        batch_op.drop_index(batch_op.f('ix_attestation_company_id'))
    op.drop_table('attestation')
