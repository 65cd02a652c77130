"""engine/db.py on the real PostgreSQL: pooled connections are checked without a round trip per checkout,
and a server that dropped them (restart, terminated backend) costs no request an error."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from engine import db
from engine.db import make_engine


@pytest.fixture
def engine(postgres_url):
    engine = make_engine(postgres_url, pool_size=2, max_overflow=0)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *_: statements.append(sql))
    engine.info = {"statements": statements}  # type: ignore[attr-defined]
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(postgres_url: str, pid: int) -> None:
    """Terminate the backend and wait until it is gone (its goodbye is on the socket by then)."""
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()


def test_a_busy_pool_hands_out_connections_without_pinging_them(engine):
    _backend_pid(engine)
    engine.info["statements"].clear()
    for _ in range(5):
        with engine.connect() as conn:
            conn.execute(text("SELECT 42"))
    assert engine.info["statements"] == ["SELECT 42"] * 5
    assert not engine.pool._pre_ping


def test_a_connection_the_server_terminated_while_idle_is_replaced_without_an_error(engine, postgres_url):
    first = _backend_pid(engine)
    _terminate(postgres_url, first)
    with engine.connect() as conn:  # the pooled connection is dead: the next request must not see it
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first


def test_a_connection_idle_for_long_is_pinged_before_use(engine, monkeypatch):
    _backend_pid(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", -1.0)
    engine.info["statements"].clear()
    with engine.connect() as conn:
        conn.execute(text("SELECT 42"))
    assert engine.info["statements"] == ["SELECT 42"]  # the ping goes through the raw DBAPI cursor
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 30.0)


def test_a_ping_that_fails_discards_the_connection_and_a_fresh_one_serves(engine, postgres_url, monkeypatch):
    first = _backend_pid(engine)
    monkeypatch.setattr(db, "_has_unread_bytes", lambda _conn: False)  # only the ping can notice now
    monkeypatch.setattr(db, "PING_AFTER_IDLE", -1.0)
    _terminate(postgres_url, first)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first


def test_a_pinged_connection_is_handed_out_outside_a_transaction(engine, monkeypatch):
    _backend_pid(engine)
    monkeypatch.setattr(db, "PING_AFTER_IDLE", -1.0)
    # psycopg refuses to change the isolation level inside a transaction (motcua backup asks for it)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        assert conn.execute(text("SHOW transaction_isolation")).scalar_one() == "repeatable read"
