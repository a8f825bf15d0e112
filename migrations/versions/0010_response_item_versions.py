"""response: per-item versions, so that saves conflict per question rather than per response

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 02:30:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('response', sa.Column('item_versions', sa.JSON(), nullable=True))
    # Existing answers have no history: mark each as changed at the response's current version, so that a
    # client still holding an older version is asked to choose rather than silently overwriting it.
    conn = op.get_bind()
    rows = conn.execute(sa.text('SELECT id, version, answers, planned, last_saved_by_id FROM response '
                                'WHERE version > 0')).fetchall()
    for row_id, version, answers, planned, saved_by in rows:
        answers = json.loads(answers) if isinstance(answers, str) else (answers or {})
        planned = json.loads(planned) if isinstance(planned, str) else (planned or {})
        marks = {key: {'v': version, 'by': saved_by} for key in {*answers, *planned}}
        conn.execute(sa.text('UPDATE response SET item_versions = :marks WHERE id = :id'),
                     {'marks': json.dumps(marks), 'id': row_id})


def downgrade() -> None:
    op.drop_column('response', 'item_versions')
