"""operations: instance suspension and instance incidents, event origin, personal-data access log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('workflow_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suspended_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('held_inputs', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('error_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_workflow_instance_suspended_at'), ['suspended_at'], unique=False)
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_submitted', ['submitted_at'], unique=False)
        batch_op.create_index('ix_dossier_agency_submitted', ['agency_code', 'submitted_at'], unique=False)
        batch_op.create_index('ix_dossier_version', ['procedure_version_id'], unique=False)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=80), nullable=True))
    op.create_table('access_log',
    sa.Column('id', BigId, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', BigId, nullable=True),
    sa.Column('actor_name', sa.String(length=255), nullable=True),
    sa.Column('actor_role', sa.String(length=32), nullable=True),
    sa.Column('dossier_id', BigId, nullable=False),
    sa.Column('what', sa.String(length=48), nullable=False),
    sa.Column('origin', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index('ix_access_log_actor', ['actor_id', 'at'], unique=False)
        batch_op.create_index('ix_access_log_dossier', ['dossier_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_dossier')
        batch_op.drop_index('ix_access_log_actor')
    op.drop_table('access_log')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('origin')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_version')
        batch_op.drop_index('ix_dossier_agency_submitted')
        batch_op.drop_index('ix_dossier_submitted')
    with op.batch_alter_table('workflow_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflow_instance_suspended_at'))
        batch_op.drop_column('error_at')
        batch_op.drop_column('error')
        batch_op.drop_column('held_inputs')
        batch_op.drop_column('suspended_reason')
        batch_op.drop_column('suspended_at')
