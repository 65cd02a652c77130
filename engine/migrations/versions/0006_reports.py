"""reporting: per-dossier and per-task facts, daily, per-step and duration rollups, the refresh mark

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

_DAILY_COUNTS = (
    'submitted', 'submitted_online', 'submitted_synced', 'received', 'received_online', 'received_digitized',
    'finished', 'returned', 'refused', 'refused_at_reception', 'withdrawn', 'stopped', 'finished_with_supplement',
    'resolved', 'early', 'on_time', 'late', 'resolved_e_result', 'resolved_dissatisfied', 'processed',
    'fee_finished', 'fee_paid_online', 'paid_online', 'rating_1', 'rating_2', 'rating_3', 'rating_4', 'rating_5')
_DAILY_SUMS = ('processing_minutes', 'paid_amount')


def upgrade() -> None:
    op.create_table('report_dossier',
    sa.Column('dossier_id', BigId, autoincrement=False, nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('procedure_id', BigId, nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('finished_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('timeliness', sa.String(length=16), nullable=True),
    sa.Column('processing_minutes', sa.Integer(), nullable=True),
    sa.Column('supplements', sa.Integer(), nullable=False),
    sa.Column('fee_required', sa.Boolean(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.Column('paid_amount', sa.BigInteger(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rated_on', sa.Date(), nullable=True),
    sa.Column('digitized', sa.Boolean(), nullable=False),
    sa.Column('e_result', sa.Boolean(), nullable=False),
    sa.Column('synced', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('dossier_id')
    )
    with op.batch_alter_table('report_dossier', schema=None) as batch_op:
        for name, column in (('submitted', 'submitted_on'), ('received', 'received_on'),
                             ('finished', 'finished_on'), ('paid', 'paid_on'), ('rated', 'rated_on')):
            batch_op.create_index(f'ix_report_dossier_{name}', [column], unique=False)

    op.create_table('report_task',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('dossier_id', BigId, nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('procedure_id', BigId, nullable=False),
    sa.Column('bpmn_id', sa.String(length=128), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('task_id')
    )
    with op.batch_alter_table('report_task', schema=None) as batch_op:
        batch_op.create_index('ix_report_task_completed', ['completed_on'], unique=False)
        batch_op.create_index('ix_report_task_dossier', ['dossier_id'], unique=False)

    op.create_table('report_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('procedure_id', BigId, autoincrement=False, nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in _DAILY_COUNTS],
    *[sa.Column(name, sa.BigInteger(), nullable=False) for name in _DAILY_SUMS],
    sa.PrimaryKeyConstraint('day', 'agency_code', 'procedure_id')
    )

    op.create_table('report_step_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('procedure_id', BigId, autoincrement=False, nullable=False),
    sa.Column('bpmn_id', sa.String(length=128), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('tasks', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.BigInteger(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'agency_code', 'procedure_id', 'bpmn_id')
    )

    op.create_table('report_duration',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('procedure_id', BigId, autoincrement=False, nullable=False),
    sa.Column('bucket', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('dossiers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('month', 'agency_code', 'procedure_id', 'bucket')
    )

    op.create_table('report_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_event_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('report_state')
    op.drop_table('report_duration')
    op.drop_table('report_step_daily')
    op.drop_table('report_daily')
    with op.batch_alter_table('report_task', schema=None) as batch_op:
        batch_op.drop_index('ix_report_task_dossier')
        batch_op.drop_index('ix_report_task_completed')
    op.drop_table('report_task')
    with op.batch_alter_table('report_dossier', schema=None) as batch_op:
        for name in ('rated', 'paid', 'finished', 'received', 'submitted'):
            batch_op.drop_index(f'ix_report_dossier_{name}')
    op.drop_table('report_dossier')
