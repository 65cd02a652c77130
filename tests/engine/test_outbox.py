"""The outbox: retries with back-off, incidents after the last attempt, admin retry, idempotency."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from engine.models import OutboxMessage
from engine.outbox import _claim, _record_success, deliver, drain, incidents, retry_incident
from engine.services import get_dossier
from engine.worker import InProcessWorker
from tests.factories import submit, work
from tests.locks import waiting_on_a_lock


def to_result(ctx, actors, smtp=None):
    """A dossier waiting at 'result ready', its earlier notices (receipt) already delivered."""
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    drain_until_settled(ctx)
    if smtp is not None:
        smtp.clear()
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    return dossier


def drain_until_settled(ctx, rounds=40):
    for _ in range(rounds):
        drain(ctx)
        with ctx.sessions() as session:
            if not session.scalar(select(OutboxMessage.id).where(OutboxMessage.state.in_(("pending", "running")))):
                return
        time.sleep(0.05)


def test_notification_is_queued_in_the_same_transaction_and_does_not_block_the_dossier(ctx, actors, smtp):
    dossier = to_result(ctx, actors, smtp)
    with ctx.sessions() as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.connector == "email",
                                                                  OutboxMessage.state == "pending")))
    assert [(r.connector, r.operation, r.state, r.waits) for r in rows] == [("email", "send", "pending", False)]
    assert rows[0].payload["to"] == "congdan@example.vn"
    # The dossier moved on already: the desk can return the result before the e-mail leaves.
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "result_ready"
    assert smtp.messages == []


def test_transient_failures_back_off_then_succeed(ctx, actors, smtp):
    to_result(ctx, actors, smtp)
    smtp.fail_next(2, code=451)
    drain_until_settled(ctx)
    with ctx.sessions() as session:
        row = session.scalar(select(OutboxMessage).where(OutboxMessage.connector == "email")
                             .order_by(OutboxMessage.id.desc()))
    assert row.state == "done" and row.attempts == 3
    assert len(smtp.messages) == 1


def test_failures_past_the_limit_become_an_incident_that_an_admin_can_retry(ctx, actors, smtp):
    dossier = to_result(ctx, actors, smtp)
    smtp.fail_next(3, code=451)
    drain_until_settled(ctx)
    [incident] = incidents(ctx)
    assert incident.attempts == 3 and "451" in incident.last_error
    history = get_dossier(ctx, actors["tiepnhan"], dossier.code).history
    assert any(e["kind"] == "incident" for e in history)
    retry_incident(ctx, actors["quantri"], incident.id)
    drain_until_settled(ctx)
    assert incidents(ctx) == [] and len(smtp.messages) == 1


def test_permanent_rejection_becomes_an_incident_at_once(ctx, actors, smtp):
    to_result(ctx, actors, smtp)
    smtp.fail_next(1, code=550, message="5.1.1 mailbox unavailable")
    drain_until_settled(ctx)
    [incident] = incidents(ctx)
    assert incident.attempts == 1


def test_a_redelivered_message_has_one_effect(ctx, actors, smtp):
    """A worker that died after the call but before recording it: the lease expires, the call is
    made again with the same idempotency key, and the simulator keeps one message."""
    to_result(ctx, actors, smtp)
    with ctx.sessions() as session:
        row_id = session.scalar(select(OutboxMessage.id).where(OutboxMessage.connector == "email",
                                                               OutboxMessage.state == "pending"))
    connector = ctx.connectors.get("email")
    with ctx.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        connector.call(row.operation, row.payload, idempotency_key=row.idempotency_key)  # the lost call
    assert deliver(ctx, row_id).state == "done"
    assert len(smtp.messages) == 1 and smtp.duplicates == 1


def test_in_process_worker_delivers_right_after_commit(ctx, actors, smtp):
    worker = InProcessWorker(ctx, interval=5.0).start()
    try:
        to_result(ctx, actors, smtp)
        smtp.wait_for(1, timeout=5)
    finally:
        worker.stop()


def test_calls_to_an_ordered_connector_leave_in_order_per_dossier(ctx, actors):
    """A later portal update for a dossier waits while an earlier one is retrying or in incident."""
    from engine.models import Dossier
    from engine.outbox import ORDERED, due_ids

    dossier = submit(ctx, actors["congdan"])
    connector = next(iter(ORDERED))
    now = datetime.now(UTC)
    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == dossier.code))
        rows = [OutboxMessage(dossier_id=dossier_id, connector=connector, operation="sync_progress",
                              payload={"n": n}, idempotency_key=f"order-{n}", waits=False, state="pending",
                              attempts=0, next_attempt_at=now - timedelta(seconds=1), created_at=now)
                for n in range(3)]
        session.add_all(rows)
        session.commit()
        first, second, third = (row.id for row in rows)
    assert first in due_ids(ctx) and second not in due_ids(ctx) and third not in due_ids(ctx)
    with ctx.sessions() as session:
        session.get(OutboxMessage, first).state = "done"
        session.commit()
    assert second in due_ids(ctx) and third not in due_ids(ctx)


def pending_email(ctx, actors, smtp) -> int:
    to_result(ctx, actors, smtp)
    with ctx.sessions() as session:
        return session.scalar(select(OutboxMessage.id).where(OutboxMessage.connector == "email",
                                                             OutboxMessage.state == "pending"))


def test_a_claim_leases_the_row_in_one_statement(ctx, actors, smtp):
    row_id = pending_email(ctx, actors, smtp)
    now = datetime.now(UTC)
    statements = []
    def seen(conn, cursor, statement, *args):
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(ctx.db, "before_cursor_execute", seen)
    try:
        message = _claim(ctx, row_id, now)
    finally:
        event.remove(ctx.db, "before_cursor_execute", seen)
    assert [s for s in statements if s != "BEGIN"] == ["UPDATE"]  # SQLite: its explicit BEGIN
    assert (message.id, message.state, message.attempts, message.operation) == (row_id, "running", 1, "send")
    assert message.locked_until > now and message.payload["to"] == "congdan@example.vn"
    assert _claim(ctx, row_id, now) is None  # leased: no second worker gets it
    with ctx.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert (row.state, row.attempts) == ("running", 1)


def test_two_workers_handed_one_row_make_one_call(ctx, actors, smtp):
    """On PostgreSQL the second claim waits for the first's COMMIT, then finds the lease; on SQLite the
    writes are serialized anyway. Either way one worker calls, the other is told nothing is due."""
    row_id = pending_email(ctx, actors, smtp)
    barrier = threading.Barrier(4)

    def one(_):
        barrier.wait()
        return deliver(ctx, row_id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(one, range(4)))
    assert sorted(o.state for o in outcomes if o is not None) == ["done"]
    assert outcomes.count(None) == 3
    assert len(smtp.messages) == 1 and smtp.duplicates == 0


def test_a_claim_waits_for_a_lock_on_the_row_and_rechecks_it(ctx, actors, smtp):
    """Someone holds the row (another worker's claim, an admin's retry) when the claim arrives: it waits
    for their COMMIT and claims only if the row is still due then."""
    if ctx.db.dialect.name != "postgresql":
        pytest.skip("row locks and their waits: PostgreSQL")
    row_id = pending_email(ctx, actors, smtp)
    for still_due, expected in ((False, None), (True, row_id)):
        with ctx.sessions() as session:  # due
            session.get(OutboxMessage, row_id).state = "pending"
            session.get(OutboxMessage, row_id).locked_until = None
            session.commit()
        with ThreadPoolExecutor(max_workers=1) as pool, ctx.sessions() as holder:
            row = holder.scalar(select(OutboxMessage).where(OutboxMessage.id == row_id).with_for_update())
            claimed = pool.submit(_claim, ctx, row_id, datetime.now(UTC))
            waiting_on_a_lock(ctx)
            if not still_due:  # another worker's claim
                row.state, row.locked_until = "running", datetime.now(UTC) + timedelta(minutes=5)
            holder.commit()
            message = claimed.result(timeout=10)
        assert (message.id if message is not None else None) == expected


def test_two_workers_finishing_one_call_record_it_once(ctx, actors, smtp):
    """A worker whose lease ran out and the one that claimed the row after it both finish the call: the
    second waits for the first's COMMIT, finds the row done and records nothing."""
    if ctx.db.dialect.name != "postgresql":
        pytest.skip("row locks and their waits: PostgreSQL")
    row_id = pending_email(ctx, actors, smtp)
    message = _claim(ctx, row_id, datetime.now(UTC))
    with ThreadPoolExecutor(max_workers=1) as pool, ctx.sessions() as first:
        row = first.get(OutboxMessage, row_id, with_for_update=True)
        second = pool.submit(_record_success, ctx, message, {"message_id": "<second@relay>"})
        waiting_on_a_lock(ctx)
        row.state, row.result = "done", {"message_id": "<first@relay>"}
        first.commit()
        assert second.result(timeout=10) == []
    with ctx.sessions() as session:
        assert session.get(OutboxMessage, row_id).result == {"message_id": "<first@relay>"}


def test_a_document_rendered_while_the_file_store_is_down_waits_and_is_made_once_it_is_back(ctx, actors, s3_server):
    """Rendering the receipt needs the bucket: out of reach, the job waits without spending attempts,
    so an outage longer than the attempts' back-off makes no incident, and the receipt is stored once
    the bucket answers again."""

    from engine.paperwork import CONNECTOR
    from tests.conftest import with_object_store, with_store_down

    bucket = with_object_store(ctx, s3_server)
    down = with_store_down(bucket)
    dossier = submit(bucket, actors["congdan"])
    work(bucket, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})

    asked = []
    deadline = time.monotonic() + 10
    while len(asked) <= 2 * ctx.settings.outbox_max_attempts and time.monotonic() < deadline:
        asked += [o for o in drain(down) if o.error and "Kho lưu trữ tệp" in o.error]
        time.sleep(0.05)
    assert len(asked) > 2 * ctx.settings.outbox_max_attempts, "the jobs were not asked again during the outage"
    assert {o.state for o in asked} == {"pending"}
    with ctx.sessions() as session:
        jobs = list(session.scalars(select(OutboxMessage).where(OutboxMessage.connector == CONNECTOR)))
    assert jobs and {(job.state, job.attempts) for job in jobs} == {("pending", 0)}
    assert all("Kho lưu trữ tệp" in job.last_error for job in jobs)
    assert list(bucket.files.stored()) == []

    drain_until_settled(bucket)
    with ctx.sessions() as session:
        jobs = list(session.scalars(select(OutboxMessage).where(OutboxMessage.connector == CONNECTOR)))
    assert jobs and {(job.state, job.attempts) for job in jobs} == {("done", 1)}
    assert len(list(bucket.files.stored())) == len(jobs)


def test_a_call_whose_documents_the_file_store_cannot_give_waits_without_spending_attempts(ctx, actors, monkeypatch):
    """A call that carries the dossier's documents (`attachDocuments`) reads them when it is made: the
    store out of reach, it waits like a pending call, over more than its attempt budget."""
    from engine import paperwork
    from engine.db import transaction
    from engine.documents.errors import StoreUnavailable
    from engine.models import Dossier

    dossier = submit(ctx, actors["congdan"])
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == dossier.code))
        row = OutboxMessage(dossier_id=dossier_id, task_id=None,
                            connector="email", operation="send", payload={"to": "congdan@example.vn", "text": "…"},
                            idempotency_key=f"{dossier.code}:attach-test", waits=False, state="pending", attempts=0,
                            next_attempt_at=now, created_at=now, context={"attach": ["giay-tiep-nhan"]})
        session.add(row)
        session.flush()
        row_id = row.id

    def store_down(*_args):
        raise StoreUnavailable("the bucket's endpoint stopped answering")

    monkeypatch.setattr(paperwork, "attachments_for", store_down)
    for _ in range(2 * ctx.settings.outbox_max_attempts):
        with transaction(ctx.sessions) as session:
            session.get(OutboxMessage, row_id).next_attempt_at = datetime.now(UTC)
        outcome = deliver(ctx, row_id)
        assert outcome.state == "pending" and "Kho lưu trữ tệp" in outcome.error
    with ctx.sessions() as session:
        row = session.get(OutboxMessage, row_id)
        assert (row.state, row.attempts) == ("pending", 0)


def test_the_wait_for_the_file_store_grows_with_the_time_already_waited(ctx, monkeypatch):
    """A quarter of the time waited, between the back-off's base and cap: a short outage costs a few
    seconds after the store is back, a long one does not have the workers asking every few seconds."""
    import dataclasses

    from engine import outbox
    from engine.documents.errors import StoreUnavailable

    settings = dataclasses.replace(ctx.settings, outbox_backoff_base=2.0, outbox_backoff_cap=300.0)
    waits = []
    monkeypatch.setattr(outbox, "_pending", lambda _ctx, _message, exc: waits.append(exc.retry_after))
    for waited in (1, 40, 600, 7200):
        message = OutboxMessage(created_at=datetime.now(UTC) - timedelta(seconds=waited))
        outbox._waiting_on_the_store(dataclasses.replace(ctx, settings=settings), message,
                                     StoreUnavailable("connection refused"))
    assert [round(w) for w in waits] == [2, 10, 150, 300]


def test_a_row_past_the_pending_limit_takes_the_ordinary_back_off_when_the_store_is_down(ctx, monkeypatch):
    """An incident retried days later has no waiting left: the store's outage spends its attempts
    (not an incident at once, as an expired pending call would be)."""
    from engine import outbox
    from engine.documents.errors import StoreUnavailable

    calls = []
    monkeypatch.setattr(outbox, "_pending", lambda *_a: calls.append("pending"))
    monkeypatch.setattr(outbox, "_failed", lambda _ctx, _m, _exc, permanent: calls.append(("failed", permanent)))
    limit = timedelta(hours=ctx.settings.outbox_pending_hours)
    for age in (limit - timedelta(minutes=1), limit + timedelta(minutes=1)):
        outbox._waiting_on_the_store(ctx, OutboxMessage(created_at=datetime.now(UTC) - age),
                                     StoreUnavailable("connection refused"))
    assert calls == ["pending", ("failed", False)]
