"""file deletion queue, and exchange messages by state

The queue: stored files whose last reference was erased, until they are gone from the store.

Retention used to delete an erased dossier's files after its transaction committed: a file store out of
reach at that moment (a bucket's endpoint down) left those files, personal data in them, for good, since
the erased dossiers are never due again. The digests are now queued in the erasing transaction and each
row goes once its file is deleted (engine/retention.py).

`exchange_message.state` is indexed: the sweep and the health page look for the packages held while
the store was out of reach (state "held", engine/services/exchange.py) on every round.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('file_deletion',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256'),
    )
    op.create_index(op.f('ix_exchange_message_state'), 'exchange_message', ['state'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_exchange_message_state'), table_name='exchange_message')
    op.drop_table('file_deletion')
