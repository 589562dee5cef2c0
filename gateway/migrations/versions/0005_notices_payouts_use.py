"""notices, objections, payout batches, use reports, claw-backs

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payee_accounts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('applicant', sa.String(length=66), nullable=False),
    sa.Column('account_hash', sa.String(length=66), nullable=False),
    sa.Column('account_tail', sa.String(length=4), nullable=False),
    sa.Column('payee_name', sa.String(length=200), nullable=False),
    sa.Column('bank_name', sa.String(length=200), nullable=False),
    sa.Column('vault_sha256', sa.String(length=64), nullable=False),
    sa.Column('confirmed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payee_accounts'))
    )
    with op.batch_alter_table('payee_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payee_accounts_applicant'), ['applicant'], unique=False)
        batch_op.create_index(batch_op.f('ix_payee_accounts_uscc'), ['uscc'], unique=False)

    op.create_table('payout_batch_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('payee_account_id', sa.Integer(), nullable=False),
    sa.Column('account_hash', sa.String(length=66), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('returned_amount', sa.BigInteger(), nullable=True),
    sa.Column('bank_reference', sa.String(length=64), nullable=True),
    sa.Column('failure_reason', sa.String(length=200), nullable=True),
    sa.Column('paid_at', sa.BigInteger(), nullable=True),
    sa.Column('reexported_in', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_batch_lines')),
    sa.UniqueConstraint('batch_id', 'line_no', name='uq_payout_batch_lines_line')
    )
    with op.batch_alter_table('payout_batch_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_batch_lines_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payout_batch_lines_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payout_batch_lines_policy_id'), ['policy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payout_batch_lines_uscc'), ['uscc'], unique=False)

    op.create_table('payout_batches',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('chain_id', sa.String(length=66), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('control_digest', sa.String(length=64), nullable=False),
    sa.Column('reexport_of', sa.String(length=40), nullable=True),
    sa.Column('exported_by', sa.String(length=42), nullable=False),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('return_sha256', sa.String(length=64), nullable=True),
    sa.Column('imported_by', sa.String(length=42), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_lines', sa.Integer(), nullable=False),
    sa.Column('paid_total', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=True),
    sa.Column('block_number', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_batches')),
    sa.UniqueConstraint('chain_id', name=op.f('uq_payout_batches_chain_id'))
    )
    with op.batch_alter_table('payout_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_batches_status'), ['status'], unique=False)

    op.create_table('subsidy_claw_back_refunds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('bank_reference', sa.String(length=64), nullable=False),
    sa.Column('recorded_by', sa.String(length=42), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('recorded_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_claw_back_refunds'))
    )
    with op.batch_alter_table('subsidy_claw_back_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_claw_back_refunds_order_id'), ['order_id'], unique=False)

    op.create_table('subsidy_claw_backs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('ordered_amount', sa.BigInteger(), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.Column('decision_sha256', sa.String(length=64), nullable=False),
    sa.Column('ordered_by', sa.String(length=42), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_claw_backs'))
    )
    with op.batch_alter_table('subsidy_claw_backs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_claw_backs_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_claw_backs_policy_id'), ['policy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_claw_backs_uscc'), ['uscc'], unique=False)

    op.create_table('subsidy_notice_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('notice_id', sa.String(length=66), nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('applicant', sa.String(length=66), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('enterprise_name', sa.String(length=200), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_notice_entries')),
    sa.UniqueConstraint('notice_id', 'application_id', name='uq_subsidy_notice_entries_line')
    )
    with op.batch_alter_table('subsidy_notice_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_notice_entries_applicant'), ['applicant'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_notice_entries_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_notice_entries_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_notice_entries_uscc'), ['uscc'], unique=False)

    op.create_table('subsidy_notices',
    sa.Column('id', sa.String(length=66), nullable=False),
    sa.Column('policy_id', sa.String(length=66), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('list_sha256', sa.String(length=64), nullable=False),
    sa.Column('list_digest', sa.String(length=66), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.BigInteger(), nullable=False),
    sa.Column('ends_at', sa.BigInteger(), nullable=False),
    sa.Column('opened_by', sa.String(length=42), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_notices'))
    )
    with op.batch_alter_table('subsidy_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_notices_policy_id'), ['policy_id'], unique=False)

    op.create_table('subsidy_objections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('notice_id', sa.String(length=66), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('filed_by_kind', sa.String(length=16), nullable=False),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('filed_at', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer_sha256', sa.String(length=64), nullable=True),
    sa.Column('answered_by', sa.String(length=42), nullable=True),
    sa.Column('answered_at', sa.BigInteger(), nullable=True),
    sa.Column('answer_tx_hash', sa.String(length=66), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_objections')),
    sa.UniqueConstraint('notice_id', 'number', name='uq_subsidy_objections_number')
    )
    with op.batch_alter_table('subsidy_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_objections_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_objections_notice_id'), ['notice_id'], unique=False)

    op.create_table('subsidy_use_reports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=66), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('receipts', sa.Text(), nullable=False),
    sa.Column('report_sha256', sa.String(length=64), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('reported_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_use_reports'))
    )
    with op.batch_alter_table('subsidy_use_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_use_reports_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_use_reports_uscc'), ['uscc'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('subsidy_use_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_use_reports_uscc'))
        batch_op.drop_index(batch_op.f('ix_subsidy_use_reports_application_id'))

    op.drop_table('subsidy_use_reports')
    with op.batch_alter_table('subsidy_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_objections_notice_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_objections_application_id'))

    op.drop_table('subsidy_objections')
    with op.batch_alter_table('subsidy_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_notices_policy_id'))

    op.drop_table('subsidy_notices')
    with op.batch_alter_table('subsidy_notice_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_notice_entries_uscc'))
        batch_op.drop_index(batch_op.f('ix_subsidy_notice_entries_notice_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_notice_entries_application_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_notice_entries_applicant'))

    op.drop_table('subsidy_notice_entries')
    with op.batch_alter_table('subsidy_claw_backs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_claw_backs_uscc'))
        batch_op.drop_index(batch_op.f('ix_subsidy_claw_backs_policy_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_claw_backs_application_id'))

    op.drop_table('subsidy_claw_backs')
    with op.batch_alter_table('subsidy_claw_back_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_claw_back_refunds_order_id'))

    op.drop_table('subsidy_claw_back_refunds')
    with op.batch_alter_table('payout_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_batches_status'))

    op.drop_table('payout_batches')
    with op.batch_alter_table('payout_batch_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_batch_lines_uscc'))
        batch_op.drop_index(batch_op.f('ix_payout_batch_lines_policy_id'))
        batch_op.drop_index(batch_op.f('ix_payout_batch_lines_batch_id'))
        batch_op.drop_index(batch_op.f('ix_payout_batch_lines_application_id'))

    op.drop_table('payout_batch_lines')
    with op.batch_alter_table('payee_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payee_accounts_uscc'))
        batch_op.drop_index(batch_op.f('ix_payee_accounts_applicant'))

    op.drop_table('payee_accounts')
