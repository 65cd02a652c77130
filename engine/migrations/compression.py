"""How PostgreSQL compresses a column on its way into TOAST, set by the migrations that need it.

lz4 (PostgreSQL 14 and later, when built with it) compresses several times faster than the default
pglz, for a few percent more bytes. Rows keep the method they were written with until they are written
again. A server that refuses the method keeps the column as it was: nothing else depends on it.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def set_compression(table: str, column: str, method: str) -> None:
    """`ALTER TABLE table ALTER COLUMN column SET COMPRESSION method` on PostgreSQL 14+, else nothing."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.server_version_info < (14,):
        return
    try:
        with bind.begin_nested():  # a savepoint: a refusal leaves the migration's transaction usable
            bind.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION {method}"))
    except DBAPIError as exc:  # e.g. 'compression method lz4 not supported'
        print(f"{table}.{column} keeps its compression: {exc}")
