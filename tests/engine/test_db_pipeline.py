"""engine/db.transaction on the real PostgreSQL: a pipelined commit writes rows the transaction locked
in one round trip, and every way a transaction can lose to a concurrent one still ends in Conflict
with nothing written."""

from __future__ import annotations

import threading

import pytest
from psycopg import pq
from psycopg._pipeline_base import BasePipeline
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from engine.db import hold_locks, transaction
from engine.errors import Conflict
from engine.models import Agency, Dossier
from tests.factories import submit

pytestmark = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)


def _dossier(session, code: str, *, lock: bool) -> Dossier:
    query = select(Dossier).where(Dossier.code == code)
    return session.scalar(query.with_for_update() if lock else query)


@pytest.fixture
def timeline(ctx, monkeypatch):
    """From now on: each statement's first word as it is sent, "sync" for each round trip of a pipeline,
    and "unpipelined" for a statement sent outside one (a round trip of its own)."""
    timeline: list[str] = []

    def sent(conn, _cursor, statement, *_):
        timeline.append(statement.split()[0])
        if conn.connection.driver_connection.pgconn.pipeline_status == pq.PipelineStatus.OFF:
            timeline.append("unpipelined")

    real_sync = BasePipeline._enqueue_sync
    monkeypatch.setattr(BasePipeline, "_enqueue_sync", lambda self: (timeline.append("sync"), real_sync(self)))
    event.listen(ctx.db, "before_cursor_execute", sent)
    yield timeline
    event.remove(ctx.db, "before_cursor_execute", sent)


def test_begin_travels_with_the_first_statement_and_the_writes_with_the_commit(ctx, actors, timeline):
    """BEGIN, SELECT ... FOR UPDATE, UPDATE, COMMIT: two round trips where the same transaction
    statement by statement takes four; the second also ends the pipeline."""
    code = submit(ctx, actors["congdan"]).code
    timeline.clear()
    with transaction(ctx.sessions, pipelined=True) as session:
        dossier = _dossier(session, code, lock=True)
        hold_locks(session, dossier)
        before = dossier.version
        dossier.applicant_phone = "0987654321"
    assert timeline == ["SELECT", "sync", "UPDATE", "sync"]
    with ctx.sessions() as session:
        stored = _dossier(session, code, lock=False)
        assert (stored.applicant_phone, stored.version) == ("0987654321", before + 1)
    with ctx.db.connect() as connection:  # the pooled connection is back to the driver's own transactions
        assert _clean(connection)


def test_a_versioned_row_read_without_a_lock_keeps_its_optimistic_lock(ctx, actors):
    """Nobody said the row is locked: the commit goes out statement by statement, SQLAlchemy checks the
    UPDATE's row count, and a concurrent change of the row ends in Conflict with nothing written."""
    code = submit(ctx, actors["congdan"]).code
    with pytest.raises(Conflict), transaction(ctx.sessions, pipelined=True) as session:
        dossier = _dossier(session, code, lock=False)
        with transaction(ctx.sessions) as other:
            _dossier(other, code, lock=False).applicant_phone = "0900000001"
        dossier.applicant_phone = "0900000002"
    with ctx.sessions() as session:
        assert _dossier(session, code, lock=False).applicant_phone == "0900000001"


@pytest.fixture
def invalidations(ctx):
    """Pooled connections thrown away from now on (a connection left dirty would be one)."""
    thrown: list[object] = []

    def invalidated(_dbapi_connection, _record, exception):
        thrown.append(exception)

    event.listen(ctx.db.pool, "invalidate", invalidated)
    yield thrown
    event.remove(ctx.db.pool, "invalidate", invalidated)


def _clean(connection) -> bool:
    driver = connection.connection.driver_connection
    return (not driver.autocommit and driver.pgconn.pipeline_status == pq.PipelineStatus.OFF
            and driver.pgconn.transaction_status == pq.TransactionStatus.IDLE)


def test_a_refusal_after_the_reads_rolls_back_and_keeps_the_connection(ctx, actors, invalidations):
    """A completion refused half-way (TaskConflict, a form error) is an exception inside the pipeline:
    the transaction is rolled back and the connection goes back to the pool as it came."""
    code = submit(ctx, actors["congdan"]).code
    with pytest.raises(Conflict), transaction(ctx.sessions, pipelined=True) as session:
        dossier = _dossier(session, code, lock=True)
        hold_locks(session, dossier)
        dossier.applicant_phone = "0900000005"
        session.flush()  # queued... and synced: the write is in the transaction that must go
        raise Conflict("refused after the reads")
    assert invalidations == []
    with ctx.db.connect() as connection:
        assert _clean(connection)
    with ctx.sessions() as session:
        assert _dossier(session, code, lock=False).applicant_phone != "0900000005"


def test_a_connection_the_server_drops_mid_transaction_fails_as_a_disconnection(ctx, actors, postgres_url):
    """The web layer answers 503 for a database that went away (web/errors.py): the error must stay
    the driver's, not a follow-up error of the cleanup."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    code = submit(ctx, actors["congdan"]).code
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with pytest.raises(OperationalError), transaction(ctx.sessions, pipelined=True) as session:
            pid = session.scalar(text("SELECT pg_backend_pid()"))
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})
            _dossier(session, code, lock=True)
    finally:
        admin.dispose()
    with transaction(ctx.sessions, pipelined=True) as session:  # the pool recovers by itself
        assert _dossier(session, code, lock=False).code == code


def test_a_failure_inside_the_pipeline_writes_nothing_and_leaves_a_clean_connection(ctx, actors, invalidations):
    code = submit(ctx, actors["congdan"]).code
    with pytest.raises(IntegrityError), transaction(ctx.sessions, pipelined=True) as session:
        dossier = _dossier(session, code, lock=True)
        hold_locks(session, dossier)
        dossier.applicant_phone = "0900000003"
        session.add(Agency(code=session.scalar(select(Agency.code)), name="Trùng mã"))  # the primary key exists: the INSERT fails
    assert invalidations == []
    with transaction(ctx.sessions, pipelined=True) as session:  # the pool's connections still work
        assert _dossier(session, code, lock=False).applicant_phone != "0900000003"
        assert session.scalar(text("SELECT 1")) == 1


def test_a_deadlock_between_two_transactions_ends_in_conflict_for_one_of_them(ctx, actors):
    first, second = submit(ctx, actors["congdan"]).code, submit(ctx, actors["congdan"]).code
    both_hold_one = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def lock_in_order(name: str, codes: tuple[str, str]) -> None:
        try:
            with transaction(ctx.sessions) as session:
                _dossier(session, codes[0], lock=True)
                both_hold_one.wait(5)
                _dossier(session, codes[1], lock=True).applicant_phone = "0900000004"
            outcomes[name] = "committed"
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test asserts
            outcomes[name] = exc

    threads = [threading.Thread(target=lock_in_order, args=("a", (first, second))),
               threading.Thread(target=lock_in_order, args=("b", (second, first)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(map(type, outcomes.values()), key=str) == sorted([str, Conflict], key=str), outcomes


def test_a_transaction_that_only_writes_still_commits(ctx, timeline):
    """The first statement is a write the commit defers: the COMMIT is queued behind it all the same
    (the driver, which has seen nothing come back yet, would take the connection for idle and skip it),
    and the pipeline's end sends them with the BEGIN in one round trip."""
    code = "000.00.99.T01"
    try:
        with transaction(ctx.sessions, pipelined=True) as session:
            session.add(Agency(code=code, name="Cơ quan thử ghi trước"))
        assert timeline == ["INSERT", "sync"], timeline
        with ctx.sessions() as session:
            assert session.get(Agency, code) is not None
    finally:
        with transaction(ctx.sessions) as session:
            session.execute(text("DELETE FROM agency WHERE code = :code"), {"code": code})
