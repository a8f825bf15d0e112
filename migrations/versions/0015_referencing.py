"""referencing: Mon Espace Santé applications, chapter verdicts, attachments

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
import advanced_alchemy.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TS = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table('referencing_application',
    sa.Column('id', _ID, nullable=False),
    sa.Column('company_id', _ID, nullable=False),
    sa.Column('product_id', _ID, nullable=False),
    sa.Column('step_code', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('open_key', sa.String(length=80), nullable=True),
    sa.Column('commercial_name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=320), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('filed_by_id', _ID, nullable=True),
    sa.Column('filed_at', _TS, nullable=False),
    sa.Column('assignee_id', _ID, nullable=True),
    sa.Column('info_request', sa.Text(), nullable=True),
    sa.Column('info_chapters', sa.JSON(), nullable=False),
    sa.Column('resubmitted_at', _TS, nullable=True),
    sa.Column('decided_at', _TS, nullable=True),
    sa.Column('decided_by_id', _ID, nullable=True),
    sa.Column('decision_reasons', sa.Text(), nullable=True),
    sa.Column('flagged_at', _TS, nullable=True),
    sa.Column('flag_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_referencing_application_company_id_company'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_referencing_application_product_id_product'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['filed_by_id'], ['user_account.id'], name=op.f('fk_referencing_application_filed_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignee_id'], ['user_account.id'], name=op.f('fk_referencing_application_assignee_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_referencing_application_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referencing_application')),
    sa.UniqueConstraint('open_key', name=op.f('uq_referencing_application_open_key'))
    )
    with op.batch_alter_table('referencing_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referencing_application_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referencing_application_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referencing_application_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_referencing_application_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index('ix_referencing_application_product_step', ['product_id', 'step_code', 'status'],
                              unique=False)

    op.create_table('referencing_chapter_verdict',
    sa.Column('id', _ID, nullable=False),
    sa.Column('application_id', _ID, nullable=False),
    sa.Column('chapter_code', sa.String(length=120), nullable=False),
    sa.Column('verdict', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('reviewer_id', _ID, nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['referencing_application.id'], name=op.f('fk_referencing_chapter_verdict_application_id_referencing_application'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['user_account.id'], name=op.f('fk_referencing_chapter_verdict_reviewer_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referencing_chapter_verdict')),
    sa.UniqueConstraint('application_id', 'chapter_code', name='uq_referencing_verdict_chapter')
    )
    with op.batch_alter_table('referencing_chapter_verdict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referencing_chapter_verdict_application_id'), ['application_id'], unique=False)

    op.create_table('referencing_attachment',
    sa.Column('id', _ID, nullable=False),
    sa.Column('application_id', _ID, nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['referencing_application.id'], name=op.f('fk_referencing_attachment_application_id_referencing_application'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referencing_attachment'))
    )
    with op.batch_alter_table('referencing_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referencing_attachment_application_id'), ['application_id'], unique=False)


def downgrade() -> None:
    op.drop_table('referencing_attachment')
    op.drop_table('referencing_chapter_verdict')
    op.drop_table('referencing_application')
