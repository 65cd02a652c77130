"""the procedure -> latest version foreign key on PostgreSQL

0001 declared it with use_alter (the two tables point at each other), which `op.create_table`
leaves out; PostgreSQL therefore never got it. SQLite cannot add a constraint to an existing
table without rebuilding it, and the engine does not rely on SQLite enforcing it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 17:40:00
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.create_foreign_key('fk_procedure_latest_version', 'procedure', 'procedure_version',
                              ['latest_version_id'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('fk_procedure_latest_version', 'procedure', type_='foreignkey')
