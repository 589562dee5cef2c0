"""subsidy policies, applications, reviews, draws

Tables of gateway/subsidies/models.py: subsidy_policies, subsidy_policy_versions,
subsidy_policy_materials, subsidy_applications, subsidy_materials, subsidy_verifications,
subsidy_reviews, subsidy_recusals, subsidy_agencies, subsidy_draws.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subsidy_agencies',
    sa.Column('id', sa.String(length=66), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('registered_by', sa.String(length=42), nullable=False),
    sa.Column('registered_at', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_agencies'))
    )
    op.create_index(op.f('ix_subsidy_agencies_department'), 'subsidy_agencies', ['department'], unique=False)
    op.create_table('subsidy_draws',
    sa.Column('id', sa.String(length=66), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('candidates', sa.Text(), nullable=False),
    sa.Column('subjects', sa.Text(), nullable=False),
    sa.Column('picks', sa.Integer(), nullable=False),
    sa.Column('request_block', sa.BigInteger(), nullable=False),
    sa.Column('requested_by', sa.String(length=42), nullable=False),
    sa.Column('requested_at', sa.BigInteger(), nullable=False),
    sa.Column('request_tx_hash', sa.String(length=66), nullable=False),
    sa.Column('seed', sa.String(length=66), nullable=True),
    sa.Column('agency_id', sa.String(length=66), nullable=True),
    sa.Column('picked', sa.Text(), nullable=True),
    sa.Column('executed_by', sa.String(length=42), nullable=True),
    sa.Column('executed_at', sa.BigInteger(), nullable=True),
    sa.Column('execute_tx_hash', sa.String(length=66), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_draws'))
    )
    op.create_index(op.f('ix_subsidy_draws_department'), 'subsidy_draws', ['department'], unique=False)
    op.create_index(op.f('ix_subsidy_draws_policy_id'), 'subsidy_draws', ['policy_id'], unique=False)
    op.create_table('subsidy_pending_steps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_pending_steps'))
    )
    op.create_index(op.f('ix_subsidy_pending_steps_purpose'), 'subsidy_pending_steps', ['purpose'], unique=False)
    op.create_table('subsidy_policies',
    sa.Column('id', sa.String(length=66), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('legal_basis_sha256', sa.String(length=64), nullable=False),
    sa.Column('guide_hash', sa.String(length=66), nullable=False),
    sa.Column('criteria', sa.Text(), nullable=False),
    sa.Column('criteria_hash', sa.String(length=66), nullable=False),
    sa.Column('amount_rule', sa.Text(), nullable=False),
    sa.Column('rule_version', sa.String(length=66), nullable=False),
    sa.Column('budget_fen', sa.BigInteger(), nullable=False),
    sa.Column('cap_fen', sa.BigInteger(), nullable=False),
    sa.Column('opens_at', sa.BigInteger(), nullable=False),
    sa.Column('closes_at', sa.BigInteger(), nullable=False),
    sa.Column('notice_workdays', sa.Integer(), nullable=False),
    sa.Column('notice_period_seconds', sa.BigInteger(), nullable=False),
    sa.Column('payout_deadline_workdays', sa.Integer(), nullable=False),
    sa.Column('payout_deadline_seconds', sa.BigInteger(), nullable=False),
    sa.Column('no_application', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('published_by', sa.String(length=42), nullable=False),
    sa.Column('published_at', sa.BigInteger(), nullable=False),
    sa.Column('amended_at', sa.BigInteger(), nullable=True),
    sa.Column('closed_by', sa.String(length=42), nullable=True),
    sa.Column('closed_at', sa.BigInteger(), nullable=True),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_policies'))
    )
    op.create_index(op.f('ix_subsidy_policies_department'), 'subsidy_policies', ['department'], unique=False)
    op.create_table('subsidy_applications',
    sa.Column('id', sa.String(length=66), nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('applicant', sa.String(length=66), nullable=False),
    sa.Column('enterprise_name', sa.String(length=300), nullable=False),
    sa.Column('declared', sa.Text(), nullable=False),
    sa.Column('requested_fen', sa.BigInteger(), nullable=False),
    sa.Column('approved_fen', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=16), nullable=False),
    sa.Column('enrolled', sa.Boolean(), nullable=False),
    sa.Column('verification', sa.String(length=16), nullable=False),
    sa.Column('criteria_met', sa.Boolean(), nullable=False),
    sa.Column('criteria_result', sa.Text(), nullable=False),
    sa.Column('rule_version', sa.String(length=66), nullable=True),
    sa.Column('materials_hash', sa.String(length=66), nullable=False),
    sa.Column('materials_required', sa.Integer(), nullable=False),
    sa.Column('materials_by_licence', sa.Integer(), nullable=False),
    sa.Column('materials_uploaded', sa.Integer(), nullable=False),
    sa.Column('review_level', sa.Integer(), nullable=False),
    sa.Column('review_due_level', sa.Integer(), nullable=True),
    sa.Column('review_deadline_at', sa.BigInteger(), nullable=True),
    sa.Column('payee_account_hash', sa.String(length=66), nullable=True),
    sa.Column('payee_name', sa.String(length=300), nullable=True),
    sa.Column('payee_confirmed_at', sa.BigInteger(), nullable=True),
    sa.Column('submitted_at', sa.BigInteger(), nullable=False),
    sa.Column('decided_at', sa.BigInteger(), nullable=True),
    sa.Column('decided_by', sa.String(length=42), nullable=True),
    sa.Column('submitted_by', sa.String(length=42), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('decision_tx_hash', sa.String(length=66), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['subsidy_policies.id'], name=op.f('fk_subsidy_applications_policy_id_subsidy_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_applications')),
    sa.UniqueConstraint('policy_id', 'uscc', name='uq_subsidy_applications_policy_uscc')
    )
    op.create_index(op.f('ix_subsidy_applications_applicant'), 'subsidy_applications', ['applicant'], unique=False)
    op.create_index(op.f('ix_subsidy_applications_department'), 'subsidy_applications', ['department'], unique=False)
    op.create_index(op.f('ix_subsidy_applications_policy_id'), 'subsidy_applications', ['policy_id'], unique=False)
    op.create_index(op.f('ix_subsidy_applications_status'), 'subsidy_applications', ['status'], unique=False)
    op.create_index(op.f('ix_subsidy_applications_uscc'), 'subsidy_applications', ['uscc'], unique=False)
    op.create_table('subsidy_policy_materials',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('licence_types', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['subsidy_policies.id'], name=op.f('fk_subsidy_policy_materials_policy_id_subsidy_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_policy_materials')),
    sa.UniqueConstraint('policy_id', 'code', name='uq_subsidy_policy_materials')
    )
    op.create_index(op.f('ix_subsidy_policy_materials_policy_id'), 'subsidy_policy_materials', ['policy_id'], unique=False)
    op.create_table('subsidy_policy_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('by', sa.String(length=42), nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['subsidy_policies.id'], name=op.f('fk_subsidy_policy_versions_policy_id_subsidy_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_policy_versions')),
    sa.UniqueConstraint('policy_id', 'version', 'action', name='uq_subsidy_policy_versions')
    )
    op.create_index(op.f('ix_subsidy_policy_versions_policy_id'), 'subsidy_policy_versions', ['policy_id'], unique=False)
    op.create_table('subsidy_materials',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('satisfied_by', sa.String(length=16), nullable=False),
    sa.Column('licence_id', sa.String(length=66), nullable=True),
    sa.Column('licence_type', sa.String(length=32), nullable=True),
    sa.Column('licence_number', sa.String(length=64), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('document_leaf', sa.String(length=66), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['subsidy_applications.id'], name=op.f('fk_subsidy_materials_application_id_subsidy_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_materials')),
    sa.UniqueConstraint('application_id', 'code', name='uq_subsidy_materials')
    )
    op.create_index(op.f('ix_subsidy_materials_application_id'), 'subsidy_materials', ['application_id'], unique=False)
    op.create_index(op.f('ix_subsidy_materials_policy_id'), 'subsidy_materials', ['policy_id'], unique=False)
    op.create_table('subsidy_recusals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('reviewer', sa.String(length=42), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('reason_sha256', sa.String(length=64), nullable=False),
    sa.Column('reason_digest', sa.String(length=66), nullable=False),
    sa.Column('declared_at', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['subsidy_applications.id'], name=op.f('fk_subsidy_recusals_application_id_subsidy_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_recusals')),
    sa.UniqueConstraint('application_id', 'reviewer', name='uq_subsidy_recusals')
    )
    op.create_index(op.f('ix_subsidy_recusals_application_id'), 'subsidy_recusals', ['application_id'], unique=False)
    op.create_index(op.f('ix_subsidy_recusals_reviewer'), 'subsidy_recusals', ['reviewer'], unique=False)
    op.create_table('subsidy_reviews',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('reviewer', sa.String(length=42), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('opinion_sha256', sa.String(length=64), nullable=False),
    sa.Column('opinion_digest', sa.String(length=66), nullable=False),
    sa.Column('due_since', sa.BigInteger(), nullable=False),
    sa.Column('deadline_at', sa.BigInteger(), nullable=False),
    sa.Column('reviewed_at', sa.BigInteger(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['subsidy_applications.id'], name=op.f('fk_subsidy_reviews_application_id_subsidy_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_reviews')),
    sa.UniqueConstraint('application_id', 'level', name='uq_subsidy_reviews')
    )
    op.create_index(op.f('ix_subsidy_reviews_application_id'), 'subsidy_reviews', ['application_id'], unique=False)
    op.create_index(op.f('ix_subsidy_reviews_policy_id'), 'subsidy_reviews', ['policy_id'], unique=False)
    op.create_index(op.f('ix_subsidy_reviews_reviewer'), 'subsidy_reviews', ['reviewer'], unique=False)
    op.create_table('subsidy_verifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('declared', sa.Text(), nullable=True),
    sa.Column('attested', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['subsidy_applications.id'], name=op.f('fk_subsidy_verifications_application_id_subsidy_applications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_verifications')),
    sa.UniqueConstraint('application_id', 'field', name='uq_subsidy_verifications')
    )
    op.create_index(op.f('ix_subsidy_verifications_application_id'), 'subsidy_verifications', ['application_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_subsidy_verifications_application_id'), table_name='subsidy_verifications')
    op.drop_table('subsidy_verifications')
    op.drop_index(op.f('ix_subsidy_reviews_reviewer'), table_name='subsidy_reviews')
    op.drop_index(op.f('ix_subsidy_reviews_policy_id'), table_name='subsidy_reviews')
    op.drop_index(op.f('ix_subsidy_reviews_application_id'), table_name='subsidy_reviews')
    op.drop_table('subsidy_reviews')
    op.drop_index(op.f('ix_subsidy_recusals_reviewer'), table_name='subsidy_recusals')
    op.drop_index(op.f('ix_subsidy_recusals_application_id'), table_name='subsidy_recusals')
    op.drop_table('subsidy_recusals')
    op.drop_index(op.f('ix_subsidy_materials_policy_id'), table_name='subsidy_materials')
    op.drop_index(op.f('ix_subsidy_materials_application_id'), table_name='subsidy_materials')
    op.drop_table('subsidy_materials')
    op.drop_index(op.f('ix_subsidy_policy_versions_policy_id'), table_name='subsidy_policy_versions')
    op.drop_table('subsidy_policy_versions')
    op.drop_index(op.f('ix_subsidy_policy_materials_policy_id'), table_name='subsidy_policy_materials')
    op.drop_table('subsidy_policy_materials')
    op.drop_index(op.f('ix_subsidy_applications_uscc'), table_name='subsidy_applications')
    op.drop_index(op.f('ix_subsidy_applications_status'), table_name='subsidy_applications')
    op.drop_index(op.f('ix_subsidy_applications_policy_id'), table_name='subsidy_applications')
    op.drop_index(op.f('ix_subsidy_applications_department'), table_name='subsidy_applications')
    op.drop_index(op.f('ix_subsidy_applications_applicant'), table_name='subsidy_applications')
    op.drop_table('subsidy_applications')
    op.drop_index(op.f('ix_subsidy_policies_department'), table_name='subsidy_policies')
    op.drop_table('subsidy_policies')
    op.drop_index(op.f('ix_subsidy_pending_steps_purpose'), table_name='subsidy_pending_steps')
    op.drop_table('subsidy_pending_steps')
    op.drop_index(op.f('ix_subsidy_draws_policy_id'), table_name='subsidy_draws')
    op.drop_index(op.f('ix_subsidy_draws_department'), table_name='subsidy_draws')
    op.drop_table('subsidy_draws')
    op.drop_index(op.f('ix_subsidy_agencies_department'), table_name='subsidy_agencies')
    op.drop_table('subsidy_agencies')
