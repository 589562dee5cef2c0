"""licences: an index on status (the background settlement looks up the pending rows every 0.25 s;
without it, a full table scan of every licence)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:20:00
"""
from __future__ import annotations

from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('licences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licences_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('licences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licences_status'))
