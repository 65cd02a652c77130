"""append-only audit tables: PostgreSQL refuses UPDATE and DELETE on event and access_log

The hash chain shows that history was edited; these triggers stop the edit from happening through
the application's own database account. Purging (tests emptying tables, a court-ordered erasure,
a data migration that must rewrite rows) is deliberate: it runs in a transaction that first says
`SET LOCAL motcua.purge = 'on'`, a setting that ends with that transaction. TRUNCATE is refused too
(it fires no row triggers).

SQLite (the embedded, single-user mode) gets no trigger: whoever can open the file can rewrite it,
trigger or not; there the hash chain and `motcua audit verify` are the protection.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TABLES = ('event', 'access_log')

FUNCTION = """
CREATE OR REPLACE FUNCTION motcua_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('motcua.purge', true), '') = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'motcua: % on % is refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'A deliberate purge runs SET LOCAL motcua.purge = ''on'' in its transaction first.';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(FUNCTION)
    for table in TABLES:
        op.execute(f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} '
                   'FOR EACH ROW EXECUTE FUNCTION motcua_append_only()')
        op.execute(f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} '
                   'FOR EACH STATEMENT EXECUTE FUNCTION motcua_append_only()')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:
        op.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}')
        op.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON {table}')
    op.execute('DROP FUNCTION IF EXISTS motcua_append_only()')
