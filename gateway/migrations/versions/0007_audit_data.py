"""audit data: project / invoice / contract numbers, review openings, member identities, application
edit log, performance commitments and reports, rectification and claw-back due dates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subsidy_application_edits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('after_signoff', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('by', sa.String(length=42), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_application_edits'))
    )
    op.create_index(op.f('ix_subsidy_application_edits_application_id'), 'subsidy_application_edits', ['application_id'], unique=False)
    op.create_table('subsidy_member_identities',
    sa.Column('member', sa.String(length=42), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('person_hash', sa.String(length=66), nullable=False),
    sa.Column('former_employers', sa.Text(), nullable=False),
    sa.Column('declared_by', sa.String(length=42), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('member', name=op.f('pk_subsidy_member_identities'))
    )
    op.create_index(op.f('ix_subsidy_member_identities_department'), 'subsidy_member_identities', ['department'], unique=False)
    op.create_index(op.f('ix_subsidy_member_identities_person_hash'), 'subsidy_member_identities', ['person_hash'], unique=False)
    op.create_table('subsidy_commitments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('metric', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=False),
    sa.Column('report_due', sa.String(length=10), nullable=False),
    sa.Column('period_end', sa.String(length=10), nullable=False),
    sa.Column('set_by', sa.String(length=42), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['subsidy_policies.id'], name=op.f('fk_subsidy_commitments_policy_id_subsidy_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_commitments')),
    sa.UniqueConstraint('policy_id', 'metric', name='uq_subsidy_commitments')
    )
    op.create_index(op.f('ix_subsidy_commitments_policy_id'), 'subsidy_commitments', ['policy_id'], unique=False)
    op.create_table('subsidy_application_numbers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['subsidy_applications.id'], name=op.f('fk_subsidy_application_numbers_application_id_subsidy_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_application_numbers')),
    sa.UniqueConstraint('application_id', 'kind', 'number', name='uq_subsidy_application_numbers')
    )
    op.create_index(op.f('ix_subsidy_application_numbers_application_id'), 'subsidy_application_numbers', ['application_id'], unique=False)
    op.create_index(op.f('ix_subsidy_application_numbers_number'), 'subsidy_application_numbers', ['number'], unique=False)
    op.create_table('subsidy_performance_reports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('commitment_id', sa.Integer(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('achieved', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['subsidy_applications.id'], name=op.f('fk_subsidy_performance_reports_application_id_subsidy_applications')),
    sa.ForeignKeyConstraint(['commitment_id'], ['subsidy_commitments.id'], name=op.f('fk_subsidy_performance_reports_commitment_id_subsidy_commitments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_performance_reports')),
    sa.UniqueConstraint('application_id', 'commitment_id', name='uq_subsidy_performance_reports')
    )
    op.create_index(op.f('ix_subsidy_performance_reports_application_id'), 'subsidy_performance_reports', ['application_id'], unique=False)
    op.create_table('subsidy_rectifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('claw_back_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('requirement', sa.String(length=2000), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('due_date', sa.String(length=10), nullable=False),
    sa.Column('ordered_by', sa.String(length=42), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.String(length=42), nullable=True),
    sa.Column('done_note', sa.String(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['subsidy_applications.id'], name=op.f('fk_subsidy_rectifications_application_id_subsidy_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_rectifications')),
    sa.UniqueConstraint('claw_back_id', name=op.f('uq_subsidy_rectifications_claw_back_id'))
    )
    op.create_index(op.f('ix_subsidy_rectifications_application_id'), 'subsidy_rectifications', ['application_id'], unique=False)
    op.create_table('subsidy_review_openings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('reviewer', sa.String(length=42), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('how', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['subsidy_applications.id'], name=op.f('fk_subsidy_review_openings_application_id_subsidy_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_review_openings')),
    sa.UniqueConstraint('application_id', 'reviewer', name='uq_subsidy_review_openings')
    )
    op.create_index(op.f('ix_subsidy_review_openings_application_id'), 'subsidy_review_openings', ['application_id'], unique=False)
    op.create_index(op.f('ix_subsidy_review_openings_reviewer'), 'subsidy_review_openings', ['reviewer'], unique=False)
    op.add_column('subsidy_applications', sa.Column('project_name', sa.String(length=300), nullable=True))
    op.add_column('subsidy_applications', sa.Column('project_category', sa.String(length=64), nullable=True))
    op.add_column('subsidy_applications', sa.Column('project_year', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subsidy_applications') as batch:
        batch.drop_column('project_year')
        batch.drop_column('project_category')
        batch.drop_column('project_name')
    op.drop_index(op.f('ix_subsidy_review_openings_reviewer'), table_name='subsidy_review_openings')
    op.drop_index(op.f('ix_subsidy_review_openings_application_id'), table_name='subsidy_review_openings')
    op.drop_table('subsidy_review_openings')
    op.drop_index(op.f('ix_subsidy_rectifications_application_id'), table_name='subsidy_rectifications')
    op.drop_table('subsidy_rectifications')
    op.drop_index(op.f('ix_subsidy_performance_reports_application_id'), table_name='subsidy_performance_reports')
    op.drop_table('subsidy_performance_reports')
    op.drop_index(op.f('ix_subsidy_application_numbers_number'), table_name='subsidy_application_numbers')
    op.drop_index(op.f('ix_subsidy_application_numbers_application_id'), table_name='subsidy_application_numbers')
    op.drop_table('subsidy_application_numbers')
    op.drop_index(op.f('ix_subsidy_commitments_policy_id'), table_name='subsidy_commitments')
    op.drop_table('subsidy_commitments')
    op.drop_index(op.f('ix_subsidy_member_identities_person_hash'), table_name='subsidy_member_identities')
    op.drop_index(op.f('ix_subsidy_member_identities_department'), table_name='subsidy_member_identities')
    op.drop_table('subsidy_member_identities')
    op.drop_index(op.f('ix_subsidy_application_edits_application_id'), table_name='subsidy_application_edits')
    op.drop_table('subsidy_application_edits')
