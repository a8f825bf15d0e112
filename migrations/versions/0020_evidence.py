"""evidence: documents and links beside questionnaire answers (issue 18, point 5)

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table('answer_evidence',
    sa.Column('id', _ID, nullable=False),
    sa.Column('company_id', _ID, nullable=False),
    sa.Column('response_id', _ID, nullable=False),
    sa.Column('item_code', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('content_type', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('added_by_id', _ID, nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_answer_evidence_company_id_company'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_answer_evidence_response_id_response'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['added_by_id'], ['user_account.id'], name=op.f('fk_answer_evidence_added_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer_evidence'))
    )
    with op.batch_alter_table('answer_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_answer_evidence_response_item', ['response_id', 'item_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('answer_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_answer_evidence_response_item')
    op.drop_table('answer_evidence')
