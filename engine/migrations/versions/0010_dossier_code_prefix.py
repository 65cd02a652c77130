"""dossier code prefix index (PostgreSQL): the admin search by a code's beginning

`code LIKE '000.00.32.H98-250103%'` cannot use the unique index on `code` under a non-C collation
(PostgreSQL compares by the locale's rules, not byte by byte), so the search read the whole table: 160 ms
at 1,000,000 dossiers (bench/scale.py). An index with `varchar_pattern_ops` answers prefix matches. SQLite
has no operator classes; its search stays as it was.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 03:00:00
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_dossier_code_prefix", "dossier", ["code"],
                        postgresql_ops={"code": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_dossier_code_prefix", table_name="dossier")
