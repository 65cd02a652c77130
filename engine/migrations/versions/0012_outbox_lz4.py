"""outbox JSON columns compressed with lz4 (PostgreSQL 14 and later, built with lz4)

A document's render request carries the content it freezes (the receipt's context is 3-4.5 KB of JSON
for the household-business procedure), past PostgreSQL's 2 KB TOAST threshold, so the row is compressed
on the way in, inside the completion's write. With pglz the two outbox rows of a reception took 0.19-0.21
ms of the write statement's 0.64-0.67 ms (EXPLAIN ANALYZE, median of 12); with lz4 0.10-0.12 of
0.53-0.57. The connector's result and the row's context get the same method. Rows keep the compression
they were written with until they are written again; a server without lz4 keeps pglz.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:35:00
"""
from engine.migrations.compression import set_compression

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

COLUMNS = ("payload", "context", "result")


def upgrade() -> None:
    for column in COLUMNS:
        set_compression("outbox", column, "lz4")


def downgrade() -> None:
    for column in COLUMNS:
        set_compression("outbox", column, "pglz")
