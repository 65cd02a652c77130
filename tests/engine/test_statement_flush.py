"""engine/statement_flush on the real PostgreSQL: a locked transaction's changes go out as one statement
with the COMMIT, write the rows the ORM's flush would have written, and hand the ORM anything else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from psycopg import RawCursor, pq
from psycopg._pipeline_base import BasePipeline
from sqlalchemy import event, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import history
from engine.db import hold_locks, make_engine, transaction
from engine.models import Dossier, Event, OutboxMessage, Task, WorkflowInstance
from engine.services import claim_task, complete_task
from tests.factories import open_task, submit

_postgres = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def sent(ctx, monkeypatch):
    """Each statement's first word as it is sent, and "sync" for each round trip of a pipeline."""
    words: list[str] = []
    real_sync = BasePipeline._enqueue_sync
    monkeypatch.setattr(BasePipeline, "_enqueue_sync", lambda self: (words.append("sync"), real_sync(self)))

    def statement(_conn, _cursor, sql, *_):
        words.append(sql.split()[0])

    event.listen(ctx.db, "before_cursor_execute", statement)
    yield words
    event.remove(ctx.db, "before_cursor_execute", statement)


def _locked(session: Session, code: str) -> tuple[Dossier, WorkflowInstance]:
    dossier, instance = session.execute(
        select(Dossier, WorkflowInstance).join(WorkflowInstance, WorkflowInstance.dossier_id == Dossier.id)
        .where(Dossier.code == code).with_for_update(key_share=True)
        .execution_options(populate_existing=True)).one()
    hold_locks(session, dossier, instance)
    return dossier, instance


def _change(session: Session, dossier: Dossier, instance: WorkflowInstance, tag: str) -> list[OutboxMessage]:
    """What a completion does to the rows: columns changed (JSON, times, a JSON set to None), a task
    and outbox rows added (defaults left to the model, a JSON column with none_as_null), events."""
    session.info["versions before"] = (dossier.version, instance.version)
    dossier.status = "processing"
    dossier.milestones = [{"at": AT.isoformat(), "text": "Thẩm định"}]
    dossier.received_at = AT
    dossier.applicant_email = None
    instance.state = b'{"tasks": {}, "format": 1}'
    instance.held_inputs = None
    instance.next_timer_at = AT
    session.add(Task(id=f"statement-flush-{tag}", dossier_id=dossier.id, bpmn_id="tham_dinh", title="Thẩm định",
                     lane=None, role="specialist", agency_code=dossier.agency_code, state="open", created_at=AT))
    outbox = [OutboxMessage(dossier_id=dossier.id, task_id=None, connector="email", operation="send",
                            payload={"n": n, "văn bản": "Thông báo"}, idempotency_key=f"statement-flush-{tag}-{n}",
                            state="pending", next_attempt_at=AT, created_at=AT,
                            context={"attach": ["receipt"]} if n == 1 else None)
              for n in range(3)]
    session.add_all(outbox)
    history.record(session, dossier, "status", status="processing", data={"element": "x"}, at=AT)
    history.record(session, dossier, "milestone", status="processing", data={"text": "Thẩm định"}, at=AT)
    return outbox


#: columns that differ between two dossiers whatever wrote them
_OWN = {"id", "dossier_id", "idempotency_key", "hash", "prev_hash"}
#: what `_change` writes to the rows that were there before
_CHANGED = {Dossier: ("status", "milestones", "received_at", "applicant_email", "event_seq"),
            WorkflowInstance: ("state", "held_inputs", "next_timer_at")}


def _rows(session: Session, dossier_id: int) -> dict[str, object]:
    def values(row) -> dict[str, object]:
        return {c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs if c.key not in _OWN}

    instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.dossier_id == dossier_id))
    return {
        **{model.__name__: {key: getattr(row, key) for key in _CHANGED[model]}
           for model, row in ((Dossier, session.get(Dossier, dossier_id)), (WorkflowInstance, instance))},
        "task": [values(t) | {"id": t.id.rsplit("-", 1)[0]} for t in session.scalars(
            select(Task).where(Task.dossier_id == dossier_id, Task.id.like("statement-flush-%")))],
        "outbox": [values(o) for o in session.scalars(
            select(OutboxMessage).where(OutboxMessage.dossier_id == dossier_id).order_by(OutboxMessage.id))],
        "events": [values(e) for e in session.scalars(
            select(Event).where(Event.dossier_id == dossier_id, Event.at == AT).order_by(Event.seq))],
        # SQL NULL and JSON null read alike through the ORM: tell them apart
        "json_nulls": session.execute(text(
            "SELECT context IS NULL, result IS NULL FROM outbox WHERE dossier_id = :d ORDER BY id"),
            {"d": dossier_id}).all(),
        "held_inputs_null": session.scalar(text(
            "SELECT held_inputs IS NULL FROM workflow_instance WHERE dossier_id = :d"), {"d": dossier_id}),
    }


@_postgres
def test_the_rows_are_those_the_orm_writes(ctx, actors, sent):
    by_statement, by_orm = submit(ctx, actors["congdan"]).code, submit(ctx, actors["congdan"]).code
    sent.clear()
    with transaction(ctx.sessions, pipelined=True) as session:
        dossier, instance = _locked(session, by_statement)
        outbox = _change(session, dossier, instance, "a")
        ids, before = (dossier.id,), session.info["versions before"]
    assert sent[sent.index("SELECT") + 1:] == ["sync", "WITH", "sync"], sent  # the writes with the COMMIT
    with transaction(ctx.sessions) as session:  # the ORM's flush, statement by statement
        dossier, instance = _locked(session, by_orm)
        _change(session, dossier, instance, "b")
        ids += (dossier.id,)
    with ctx.sessions() as session:
        written, flushed = _rows(session, ids[0]), _rows(session, ids[1])
        assert written == flushed
        assert len(written["outbox"]) == 3 and len(written["task"]) == 1 and len(written["events"]) == 2
        assert history.verify_chain(session, ids[0]) is None
        after = session.execute(select(Dossier.version, WorkflowInstance.version).join(
            WorkflowInstance, WorkflowInstance.dossier_id == Dossier.id).where(Dossier.id == ids[0])).one()
        assert tuple(after) == (before[0] + 1, before[1] + 1)  # each versioned row bumped once
        # the generated keys reached the objects, in the order they were added
        stored = session.scalars(select(OutboxMessage.id).where(OutboxMessage.dossier_id == ids[0])
                                 .order_by(OutboxMessage.idempotency_key)).all()
        assert [message.id for message in outbox] == stored == sorted(stored)


@_postgres
def test_a_completion_writes_one_statement(ctx, actors, sent):
    code = submit(ctx, actors["congdan"]).code
    task = open_task(ctx, actors["tiepnhan"], code)
    sent.clear()
    complete_task(ctx, actors["tiepnhan"], task.id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    # reads synced one by one, then every write in one statement that goes with the COMMIT
    assert sent[-2:] == ["WITH", "sync"] and not {"UPDATE", "INSERT"} & set(sent), sent


@_postgres
def test_a_claim_is_the_lock_and_one_write(ctx, actors, sent):
    code = submit(ctx, actors["congdan"]).code
    task = open_task(ctx, actors["tiepnhan"], code)
    sent.clear()
    view = claim_task(ctx, actors["tiepnhan"], task.id)
    assert sent == ["SELECT", "sync", "WITH", "sync"], sent
    assert view.assignee_id == actors["tiepnhan"].id
    with ctx.sessions() as session:
        stored = session.get(Task, task.id)
        assert (stored.assignee_id, stored.claimed_at is not None) == (actors["tiepnhan"].id, True)
        assert session.scalar(select(Event.kind).where(Event.dossier_id == stored.dossier_id)
                              .order_by(Event.seq.desc()).limit(1)) == "task_claimed"


@_postgres
def test_what_it_does_not_handle_goes_through_the_orm(ctx, actors, sent):
    """A deletion, and a new row whose parent is new too (its key not known before the INSERT): the
    ORM's flush writes them, still correctly."""
    code = submit(ctx, actors["congdan"]).code
    sent.clear()
    with transaction(ctx.sessions, pipelined=True) as session:
        dossier, _instance = _locked(session, code)
        dossier.applicant_phone = "0900000011"
        doomed = session.scalar(select(Task).where(Task.dossier_id == dossier.id))
        session.delete(doomed)
    assert "WITH" not in sent and "DELETE" in sent
    with ctx.sessions() as session:
        assert session.get(Task, doomed.id) is None
        assert session.scalar(select(Dossier.applicant_phone).where(Dossier.code == code)) == "0900000011"

    sent.clear()
    with transaction(ctx.sessions, pipelined=True) as session:
        template = session.scalar(select(Dossier).where(Dossier.code == code))
        parent = Dossier(**{c.key: getattr(template, c.key) for c in inspect(Dossier).column_attrs
                            if c.key not in ("id", "version")} | {"code": f"{code}-B"})
        session.add(Task(id="statement-flush-child", dossier=parent, bpmn_id="x", title="x", role="desk",
                         state="open", created_at=AT))
    assert "WITH" not in sent
    with ctx.sessions() as session:
        child = session.get(Task, "statement-flush-child")
        assert child.dossier.code == f"{code}-B"


@_postgres
def test_a_failed_statement_writes_nothing(ctx, actors):
    code = submit(ctx, actors["congdan"]).code
    with transaction(ctx.sessions, pipelined=True) as session:
        dossier, instance = _locked(session, code)
        _change(session, dossier, instance, "first")
    with pytest.raises(IntegrityError), transaction(ctx.sessions, pipelined=True) as session:
        dossier, instance = _locked(session, code)
        dossier.applicant_phone = "0900000012"
        session.add(OutboxMessage(dossier_id=dossier.id, connector="email", operation="send", payload={},
                                  idempotency_key="statement-flush-first-0", state="pending",
                                  next_attempt_at=AT, created_at=AT))  # taken: the statement fails at COMMIT
    with ctx.sessions() as session:
        assert session.scalar(select(Dossier.applicant_phone).where(Dossier.code == code)) != "0900000012"
    with ctx.db.connect() as connection:  # the pool's connection is clean
        driver = connection.connection.driver_connection
        assert driver.pgconn.pipeline_status == pq.PipelineStatus.OFF and not driver.autocommit


def test_a_rollback_keeps_the_prepared_statements(postgres_url):
    """psycopg prepares a statement run five times on a connection; a read that ends in a rollback (every
    request that only reads) must not make it forget them."""
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        for _ in range(7):
            with Session(engine) as session:
                session.execute(text("SELECT count(*) FROM pg_class WHERE relkind = :kind"), {"kind": "r"}).all()
        with engine.connect() as connection:
            prepared = connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
            assert any("pg_class" in statement for statement in prepared), prepared
            # a failed transaction is rolled back the driver's way (its statements may not have been prepared)
            with pytest.raises(Exception):  # noqa: B017 - any error puts the transaction in the failed state
                connection.exec_driver_sql("SELECT 1/0")
            connection.rollback()
            assert connection.connection.driver_connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
    finally:
        engine.dispose()


@_postgres
def test_the_raw_cursor_takes_postgresql_placeholders(ctx):
    """The statement is sent as compiled, in $n form: psycopg does not parse it (and would fail on $1)."""
    with ctx.db.connect() as connection:
        cursor = RawCursor(connection.connection.driver_connection)
        cursor.execute("SELECT $1::int + $2::int, '100%'", [40, 2])
        assert cursor.fetchone() == (42, "100%")
