"""login throttle: failed logins per username and per client address, shared by every web process

A lock kept in one process's memory would let an attacker spread guesses over the gunicorn workers
(and machines); the database is the part they all share, on SQLite and PostgreSQL alike.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 00:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key'),
    )
    op.create_index(op.f('ix_login_throttle_window_started_at'), 'login_throttle', ['window_started_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_login_throttle_window_started_at'), table_name='login_throttle')
    op.drop_table('login_throttle')
