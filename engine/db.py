"""Database engine and sessions. One service call, one session, one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
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
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, json_serializer=_json_dumps, json_deserializer=orjson.loads, **kwargs)


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
