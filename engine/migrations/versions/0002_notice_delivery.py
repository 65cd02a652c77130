"""notice delivery status on outbox rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('delivery_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_delivery', ['connector', 'delivery_status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_delivery')
        batch_op.drop_column('delivery_checked_at')
        batch_op.drop_column('delivery_status')
