"""subsidy materials: when a licence-backed material was re-supplied as an upload after its licence lapsed
(the audit's APP1 measures the wait for it)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subsidy_materials', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resupplied_at', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subsidy_materials', schema=None) as batch_op:
        batch_op.drop_column('resupplied_at')
