"""analyst studio: procedure drafts; a diff summary on each published version

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('procedure_draft',
    sa.Column('id', BigId, nullable=False),
    sa.Column('procedure_id', BigId, nullable=True),
    sa.Column('slug', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('based_on_version_id', BigId, nullable=True),
    sa.Column('package', sa.JSON(), nullable=False),
    sa.Column('import_findings', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], ),
    sa.ForeignKeyConstraint(['based_on_version_id'], ['procedure_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('procedure_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('diff_summary', sa.Text(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # In place (SQLite >= 3.35): a batch rebuild drops procedure_version, which dossiers and
        # procedures reference, and SQLite refuses that with foreign keys on.
        op.execute('ALTER TABLE procedure_version DROP COLUMN diff_summary')
    else:
        op.drop_column('procedure_version', 'diff_summary')
    op.drop_table('procedure_draft')
