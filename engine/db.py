"""Database engine and sessions. One service call, one session, one transaction."""

from __future__ import annotations

import copy
import select
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import orjson
from psycopg import Cursor, pq
from sqlalchemy import Connection, Engine, Select, create_engine, event, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, SAWarning
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Conflict
from engine.pg_cursor import LazyDescriptionCursor

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
    if engine.dialect.driver == "psycopg":
        engine.dialect.do_rollback = _rollback_keeping_prepared
        engine.dialect.do_commit = _commit_ending_pipeline
        event.listen(engine, "connect", _describe_lazily)
    return engine


def _describe_lazily(dbapi_connection, _record) -> None:
    """Cursors of this connection describe their results only when asked (engine/pg_cursor.py);
    a cursor class chosen through connect_args (a ClientCursor) is left as it is."""
    if dbapi_connection.cursor_factory is Cursor:
        dbapi_connection.cursor_factory = LazyDescriptionCursor


def _commit_ending_pipeline(dbapi_connection) -> None:
    """COMMIT. For a pipelined transaction (`_commit_pipelined`), the COMMIT is queued behind the
    writes and the pipeline is ended right away: its closing Sync sends them together and reads every
    result back, one round trip where committing and then leaving the pipeline cost two. A failure
    of any queued statement is raised here, as from any COMMIT."""
    if not dbapi_connection.info.pop(_COMMIT_ENDS_PIPELINE, False):
        dbapi_connection.commit()
        return
    dbapi_connection.driver_connection.execute(b"COMMIT")  # queued, as the BEGIN was
    dbapi_connection.info[_PIPELINE_END]()


def _rollback_keeping_prepared(dbapi_connection) -> None:
    """Roll back without forgetting the connection's prepared statements.

    psycopg prepares a statement on the server once a connection has run it five times, and forgets
    them all (DEALLOCATE ALL, one more round trip) on every rollback, in case one was prepared inside a
    transaction that had failed. Every request that only reads ends with a rollback when its
    connection goes back to the pool, so no statement ever reached five: the server parsed and planned
    the lock SELECT and the completion's writes on every request. A transaction that has not failed
    (INTRANS) cannot have lost a statement prepared in it (prepared statements outlive a rollback), so
    it is rolled back directly in libpq, out of psycopg's sight; a failed one goes through psycopg."""
    pgconn = dbapi_connection.pgconn
    if pgconn.transaction_status == pq.TransactionStatus.INTRANS \
            and pgconn.pipeline_status == pq.PipelineStatus.OFF:
        if pgconn.exec_(b"ROLLBACK").status == pq.ExecStatus.COMMAND_OK:
            return
    dbapi_connection.rollback()


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
def transaction(factory: sessionmaker[Session], *, pipelined: bool = False) -> Iterator[Session]:
    """A session whose work commits together at the end, or rolls back entirely on any error.

    A versioned row changed by someone else meanwhile (optimistic lock) surfaces as `Conflict`, and so
    does a deadlock or serialization failure PostgreSQL resolved by aborting this transaction: in
    each case nothing was written and the same request may simply be tried again.

    `pipelined=True` (PostgreSQL; SQLite ignores it) runs the transaction in psycopg's pipeline mode,
    for the hot paths that write much (completing a task, submitting a dossier): BEGIN travels with
    the first statement instead of costing a round trip of its own, and the final flush goes out with
    the COMMIT in one round trip instead of one per statement. The second needs every versioned row
    the flush changes to be locked by this transaction (`hold_locks`): those rows cannot have moved,
    and inside a pipeline the driver knows row counts only after the fact, too late for SQLAlchemy's
    version check. With a versioned row not locked, the flush goes out statement by statement.
    """
    engine = factory.kw.get("bind")
    connection = engine.connect() if pipelined and engine is not None and engine.dialect.name == "postgresql" \
        else None
    session = factory() if connection is None else factory(bind=connection)
    try:
        if connection is None:
            yield session
            session.commit()
        else:
            with _pipeline(connection):
                yield session
                _commit_pipelined(session, connection)
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(f"concurrent update: {exc}") from exc
    except DBAPIError as exc:
        session.rollback()
        if getattr(exc.orig, "sqlstate", None) in LOST_TO_CONCURRENCY:
            raise Conflict(f"concurrent update: {exc.orig}") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if connection is not None:
            connection.close()


#: PostgreSQL aborted the transaction in favour of a concurrent one: deadlock, serialization failure
LOST_TO_CONCURRENCY = ("40P01", "40001")

#: connection.info key: the psycopg pipeline the transaction runs in
_PIPELINE = "motcua_pipeline"

#: connection.info key: ends the transaction's pipeline mode (sends a Sync, reads every result back)
_PIPELINE_END = "motcua_pipeline_end"

#: connection.info key, set for the COMMIT of a pipelined transaction: queue the COMMIT, then end the
#: pipeline (`_commit_ending_pipeline`)
_COMMIT_ENDS_PIPELINE = "motcua_commit_ends_pipeline"

#: session.info key: the versioned rows this transaction locked (SELECT ... FOR UPDATE)
_LOCKED = "motcua_locked_rows"


def locking(statement: Select) -> Select:
    """`statement` reading its rows FOR NO KEY UPDATE (the lock an UPDATE takes anyway) with
    `populate_existing`: the objects it returns carry the versions as locked, whatever the session held,
    so that they can be passed to `hold_locks`."""
    return statement.with_for_update(key_share=True).execution_options(populate_existing=True)


def hold_locks(session: Session, *rows: object) -> None:
    """Say that `rows`, inserted or read FOR [NO KEY] UPDATE by the session's transaction, are locked
    until it ends: nobody else can change them meanwhile. Rows read so must come from that locking
    statement with `populate_existing` (or be new to the session): an object loaded earlier keeps
    the version it was loaded with, and its deferred UPDATE would match no row unnoticed."""
    session.info.setdefault(_LOCKED, []).extend(rows)


@contextmanager
def _pipeline(connection: Connection) -> Iterator[None]:
    """The connection in pipeline mode, each statement synced at once (results and row counts as usual)
    until `_commit_pipelined` lets the writes wait for the COMMIT. The driver is switched to autocommit
    for the duration so that it does not send BEGIN on its own, as a round trip of its own: the BEGIN
    is queued here and travels with the first statement. psycopg still sends COMMIT and ROLLBACK for
    the transaction it sees open. Whatever happens inside, the connection leaves in the state the pool
    hands out: no transaction (rolled back here on any failure), out of pipeline mode, no autocommit;
    one the server dropped is left to SQLAlchemy, which has invalidated it."""
    driver = connection.connection.driver_connection
    info, dialect = connection.info, connection.dialect
    driver.autocommit = True
    connection.dialect = _pipeline_dialect(dialect, deferring=False)
    try:
        with ExitStack() as pipeline_mode:
            info[_PIPELINE] = pipeline_mode.enter_context(driver.pipeline())
            info[_PIPELINE_END] = pipeline_mode.close  # the COMMIT may end it early (`_commit_ending_pipeline`)
            driver.execute(b"BEGIN")
            yield
    finally:
        connection.dialect = dialect
        for key in (_PIPELINE, _PIPELINE_END, _COMMIT_ENDS_PIPELINE):
            info.pop(key, None)
        if not connection.invalidated and not driver.closed:
            try:
                if driver.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                    driver.rollback()  # a failure inside: SQLAlchemy's own rollback comes after, a no-op then
                driver.autocommit = False
            except Exception:  # noqa: BLE001 - the connection is unusable: not for the pool
                connection.invalidate()


def _commit_pipelined(session: Session, connection: Connection) -> None:
    connection.info[_COMMIT_ENDS_PIPELINE] = True
    locked = session.info.get(_LOCKED, ())
    if any(inspect(row).mapper.version_id_col is not None and not any(row is held for held in locked)
           for row in (*session.dirty, *session.deleted)):
        session.commit()  # a versioned row nobody locked: SQLAlchemy must see its UPDATE's row count
        return
    from engine import statement_flush

    written = statement_flush.write(session, connection)
    if written is not None:
        session.connection()  # a session that had not run a statement yet must still send the COMMIT
        session.commit()  # nothing left to flush: COMMIT, and the pipeline ends
        written.assign_keys()
        return
    synced = connection.dialect
    connection.dialect = _pipeline_dialect(synced._motcua_engine_dialect, deferring=True)
    try:
        with warnings.catch_warnings():
            # what SQLAlchemy says of a dialect without row counts: here the locks stand for the check
            warnings.filterwarnings("ignore", message=r"Dialect .* does not support updated rowcount",
                                    category=SAWarning)
            session.commit()
    finally:
        connection.dialect = synced


def _pipeline_dialect(dialect: Dialect, *, deferring: bool) -> Dialect:
    """The engine's dialect for a connection in pipeline mode. Syncing: every statement is synced as
    soon as it is sent. Deferring (the commit of locked rows): a write that returns nothing is only
    queued, and the dialect says it cannot count updated rows (true until the pipeline syncs), so
    SQLAlchemy does not mistake the count not yet known for a lost optimistic lock; a statement that
    returns rows (INSERT ... RETURNING a new row's id) is synced at once, since SQLAlchemy reads its
    result right after sending it."""
    # kept on the engine's dialect itself (and shared with its copies), so they go with the engine
    variants = dialect.__dict__.setdefault("_motcua_pipeline_variants", {})
    if deferring not in variants:
        variant = copy.copy(dialect)
        if deferring:
            variant.supports_sane_rowcount = variant.supports_sane_multi_rowcount = False

        def do_execute(cursor, statement, parameters, context=None) -> None:
            cursor.execute(statement, parameters)
            if not (deferring and _writes_without_rows(context)):
                context.root_connection.info[_PIPELINE].sync()

        def do_executemany(cursor, statement, parameters, context=None) -> None:
            cursor.executemany(statement, parameters)
            if not deferring:
                context.root_connection.info[_PIPELINE].sync()

        def do_execute_no_params(cursor, statement, context=None) -> None:
            cursor.execute(statement)
            context.root_connection.info[_PIPELINE].sync()

        variant.do_execute, variant.do_executemany = do_execute, do_executemany
        variant.do_execute_no_params = do_execute_no_params
        variant._motcua_engine_dialect = dialect
        variants[deferring] = variant
    return variants[deferring]


def _writes_without_rows(context) -> bool:
    compiled = context.compiled
    return compiled is not None and (context.isinsert or context.isupdate or context.isdelete) \
        and not compiled.effective_returning


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations to `engine` (the same migrations for SQLite and PostgreSQL)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
