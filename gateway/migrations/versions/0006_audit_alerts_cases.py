"""audit alerts, dispositions, cases

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alert_id', sa.String(length=66), nullable=False),
    sa.Column('point_id', sa.String(length=8), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.String(length=200), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=True),
    sa.Column('application_id', sa.String(length=66), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=66), nullable=False),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('recurrence_of', sa.String(length=66), nullable=True),
    sa.Column('max_level', sa.Integer(), nullable=False),
    sa.Column('condition', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('rule_version', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.BigInteger(), nullable=False),
    sa.Column('last_seen', sa.BigInteger(), nullable=False),
    sa.Column('raised_at', sa.BigInteger(), nullable=False),
    sa.Column('cleared_at', sa.BigInteger(), nullable=True),
    sa.Column('deadline_at', sa.BigInteger(), nullable=True),
    sa.Column('hold_status', sa.String(length=16), nullable=False),
    sa.Column('hold_tx', sa.String(length=66), nullable=True),
    sa.Column('amount_recovered_fen', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_alerts')),
    sa.UniqueConstraint('alert_id', name=op.f('uq_audit_alerts_alert_id')),
    sa.UniqueConstraint('point_id', 'subject_type', 'subject_id', 'occurrence', name='uq_audit_alerts_key')
    )
    with op.batch_alter_table('audit_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_alerts_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_alerts_condition'), ['condition'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_alerts_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_alerts_key_id'), ['key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_alerts_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_alerts_point_id'), ['point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_alerts_stage'), ['stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_alerts_status'), ['status'], unique=False)

    op.create_table('audit_batches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('root', sa.String(length=66), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('anchored_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_batches')),
    sa.UniqueConstraint('root', name=op.f('uq_audit_batches_root'))
    )
    op.create_table('audit_alert_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alert_pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('level_before', sa.Integer(), nullable=True),
    sa.Column('level_after', sa.Integer(), nullable=True),
    sa.Column('facts_before', sa.Text(), nullable=True),
    sa.Column('facts_after', sa.Text(), nullable=True),
    sa.Column('rule_version', sa.String(length=64), nullable=True),
    sa.Column('actor', sa.String(length=42), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('tx_hash', sa.String(length=66), nullable=True),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['alert_pk'], ['audit_alerts.id'], name=op.f('fk_audit_alert_events_alert_pk_audit_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_alert_events'))
    )
    with op.batch_alter_table('audit_alert_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_alert_events_alert_pk'), ['alert_pk'], unique=False)

    op.create_table('audit_cases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_id', sa.String(length=66), nullable=False),
    sa.Column('alert_pk', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_by', sa.String(length=42), nullable=False),
    sa.Column('opened_at', sa.BigInteger(), nullable=False),
    sa.Column('due_at', sa.BigInteger(), nullable=False),
    sa.Column('escalations', sa.Integer(), nullable=False),
    sa.Column('escalated_at', sa.BigInteger(), nullable=True),
    sa.Column('closed_at', sa.BigInteger(), nullable=True),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.ForeignKeyConstraint(['alert_pk'], ['audit_alerts.id'], name=op.f('fk_audit_cases_alert_pk_audit_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_cases')),
    sa.UniqueConstraint('alert_pk', name=op.f('uq_audit_cases_alert_pk')),
    sa.UniqueConstraint('case_id', name=op.f('uq_audit_cases_case_id'))
    )
    with op.batch_alter_table('audit_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_cases_status'), ['status'], unique=False)

    op.create_table('audit_dispositions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alert_pk', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('member', sa.String(length=42), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('note_hash', sa.String(length=66), nullable=False),
    sa.Column('amount_recovered_fen', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['alert_pk'], ['audit_alerts.id'], name=op.f('fk_audit_dispositions_alert_pk_audit_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_dispositions'))
    )
    with op.batch_alter_table('audit_dispositions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_dispositions_alert_pk'), ['alert_pk'], unique=False)

    op.create_table('audit_notices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alert_pk', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('audience', sa.String(length=16), nullable=False),
    sa.Column('department', sa.String(length=32), nullable=True),
    sa.Column('deadline_at', sa.BigInteger(), nullable=True),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['alert_pk'], ['audit_alerts.id'], name=op.f('fk_audit_notices_alert_pk_audit_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_notices'))
    )
    with op.batch_alter_table('audit_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_notices_alert_pk'), ['alert_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_notices_audience'), ['audience'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_notices_department'), ['department'], unique=False)

    op.create_table('audit_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('alert_pk', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('record_hash', sa.String(length=66), nullable=False),
    sa.Column('leaf', sa.String(length=66), nullable=False),
    sa.Column('batch_pk', sa.Integer(), nullable=True),
    sa.Column('proof', sa.Text(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['alert_pk'], ['audit_alerts.id'], name=op.f('fk_audit_records_alert_pk_audit_alerts')),
    sa.ForeignKeyConstraint(['batch_pk'], ['audit_batches.id'], name=op.f('fk_audit_records_batch_pk_audit_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_records')),
    sa.UniqueConstraint('alert_pk', 'version', name='uq_audit_records_version')
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_records_alert_pk'), ['alert_pk'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_records_batch_pk'), ['batch_pk'], unique=False)

    op.create_table('audit_case_steps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('case_pk', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('member', sa.String(length=42), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('note_hash', sa.String(length=66), nullable=False),
    sa.Column('tx_hash', sa.String(length=66), nullable=True),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['case_pk'], ['audit_cases.id'], name=op.f('fk_audit_case_steps_case_pk_audit_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_case_steps'))
    )
    with op.batch_alter_table('audit_case_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_case_steps_case_pk'), ['case_pk'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_case_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_case_steps_case_pk'))

    op.drop_table('audit_case_steps')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_records_batch_pk'))
        batch_op.drop_index(batch_op.f('ix_audit_records_alert_pk'))

    op.drop_table('audit_records')
    with op.batch_alter_table('audit_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_notices_department'))
        batch_op.drop_index(batch_op.f('ix_audit_notices_audience'))
        batch_op.drop_index(batch_op.f('ix_audit_notices_alert_pk'))

    op.drop_table('audit_notices')
    with op.batch_alter_table('audit_dispositions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_dispositions_alert_pk'))

    op.drop_table('audit_dispositions')
    with op.batch_alter_table('audit_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_cases_status'))

    op.drop_table('audit_cases')
    with op.batch_alter_table('audit_alert_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_alert_events_alert_pk'))

    op.drop_table('audit_alert_events')
    op.drop_table('audit_batches')
    with op.batch_alter_table('audit_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_alerts_status'))
        batch_op.drop_index(batch_op.f('ix_audit_alerts_stage'))
        batch_op.drop_index(batch_op.f('ix_audit_alerts_point_id'))
        batch_op.drop_index(batch_op.f('ix_audit_alerts_level'))
        batch_op.drop_index(batch_op.f('ix_audit_alerts_key_id'))
        batch_op.drop_index(batch_op.f('ix_audit_alerts_department'))
        batch_op.drop_index(batch_op.f('ix_audit_alerts_condition'))
        batch_op.drop_index(batch_op.f('ix_audit_alerts_application_id'))

    op.drop_table('audit_alerts')
