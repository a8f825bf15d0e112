"""Merge the FAQ branch with the products and team branch.

Revision ID: 0005
Revises: 0002, 0004
"""

from __future__ import annotations

revision = "0005"
down_revision = ("0002", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
