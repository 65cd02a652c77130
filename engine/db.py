"""Database engine and sessions. One service call, one session, one transaction."""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Conflict

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str, **kwargs) -> Engine:
    """Create the SQLAlchemy engine; SQLite gets the settings that make it safe for threads."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=_json_dumps, json_deserializer=orjson.loads, **kwargs)
        _sqlite_serializable_writes(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _check_on_checkout(engine)
    return engine


#: A pooled connection idle longer than this is pinged before use (a firewall may have dropped it).
PING_AFTER_IDLE = 30.0


def _check_on_checkout(engine: Engine) -> None:
    """Hand out only live connections without a round trip per request (SQLAlchemy's pool_pre_ping
    costs one on every checkout: about a tenth of a task completion). A server that restarted or
    terminated the backend has written its goodbye to the socket, so an idle connection with bytes
    waiting is dead; only one idle for long enough to have been dropped silently is pinged. A
    connection that dies mid-request fails that request and SQLAlchemy invalidates the pool, so the
    next ones reconnect by themselves."""

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        if _has_unread_bytes(dbapi_connection):
            raise DisconnectionError("the server closed this connection while it was idle")
        if time.monotonic() - record.info.get("idle_since", 0.0) > PING_AFTER_IDLE:
            try:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                # the driver opened a transaction for it: left open, the connection would be handed
                # out "in transaction", where psycopg refuses to change the isolation level (backup's
                # REPEATABLE READ snapshot) and now() would be the ping's time
                dbapi_connection.rollback()
            except Exception as exc:  # any failure of the ping: discard this connection, try another
                raise DisconnectionError(f"ping failed: {exc}") from exc


def _has_unread_bytes(dbapi_connection) -> bool:
    try:
        fileno = dbapi_connection.fileno()
    except Exception:  # psycopg raises once the connection is closed
        return True
    poller = select.poll()  # not select.select: it refuses descriptors above 1023 (FD_SETSIZE)
    poller.register(fileno, select.POLLIN)
    return bool(poller.poll(0))


def _json_dumps(value: object) -> str:
    """JSON columns through orjson (the stdlib encoder showed up in profiles of task completion)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_serializable_writes(engine: Engine) -> None:
    """pysqlite's deferred BEGIN lets two writers race into SQLITE_BUSY on lock upgrade; take the
    write lock at BEGIN instead (BEGIN IMMEDIATE) so concurrent writers queue on busy_timeout."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # pragma: no cover - exercised by every sqlite test
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:  # pragma: no cover
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits together at the end, or rolls back entirely on any error.

    A versioned row changed by someone else meanwhile (optimistic lock) surfaces as `Conflict`.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(f"concurrent update: {exc}") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations to `engine` (the same migrations for SQLite and PostgreSQL)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
