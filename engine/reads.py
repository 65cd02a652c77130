"""Connections and sessions for service calls that only read (who holds a token, the inbox, tracking).

PostgreSQL runs at READ COMMITTED, where every statement reads its own snapshot whether or not a
transaction wraps it: a read-only call sees the same rows without one. Without one the driver sends
no BEGIN before the first statement and no ROLLBACK when the connection goes back to the pool, two
round trips (and the server's work for them) less on every API request. SQLite keeps the usual
transaction: its BEGIN is what makes writers queue (engine/db.py).

Nothing written through these is rolled back: use `engine.db.transaction` for anything that writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker


@contextmanager
def read_only_connection(engine: Engine) -> Iterator[Connection]:
    """A pooled connection for reads: in autocommit on PostgreSQL, in a transaction elsewhere."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """An ORM session for a service call that only reads, on a `read_only_connection`."""
    engine = factory.kw.get("bind")
    if engine is None or engine.dialect.name != "postgresql":
        with factory() as session:
            yield session
        return
    with read_only_connection(engine) as connection, factory(bind=connection) as session:
        yield session
