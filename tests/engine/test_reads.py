"""Read-only connections and sessions: no transaction on PostgreSQL, the usual one on SQLite, and the
pooled connection goes back transactional for whoever takes it next."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.db import transaction
from engine.models import Agency
from engine.reads import read_only, read_only_connection


def _in_transaction(driver) -> bool:
    if hasattr(driver, "info"):  # psycopg
        from psycopg.pq import TransactionStatus

        return driver.info.transaction_status != TransactionStatus.IDLE
    return driver.in_transaction  # sqlite3


def test_a_read_only_session_opens_no_transaction_on_postgresql(ctx):
    with read_only(ctx.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Agency)) > 0
        driver = session.connection().connection.driver_connection
        assert _in_transaction(driver) is (ctx.db.dialect.name != "postgresql")


def test_a_read_only_connection_goes_back_to_the_pool_transactional(ctx):
    if ctx.db.dialect.name != "postgresql":
        pytest.skip("SQLite reads in a transaction as before")
    with read_only_connection(ctx.db) as connection:
        driver = connection.connection.driver_connection
        assert driver.autocommit is True
        connection.execute(select(Agency.code)).all()
    assert driver.autocommit is False


def test_a_failed_transaction_after_reads_still_writes_nothing(ctx):
    """Every pooled connection may have served a read-only call before: a transaction on it must
    still roll back entirely."""
    for _ in range(ctx.db.pool.size() + 1):
        with read_only(ctx.sessions) as session:
            session.scalar(select(func.count()).select_from(Agency))
    with ctx.sessions() as session:
        before = session.scalar(select(func.count()).select_from(Agency))
    with pytest.raises(RuntimeError), transaction(ctx.sessions) as session:
        session.add(Agency(code="TEST.READS", name="Cơ quan thử"))
        session.flush()
        raise RuntimeError("the request failed after its first write")
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Agency)) == before
