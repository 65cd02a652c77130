"""Concurrency: gap-free dossier codes under parallel submissions; one winner per task completion."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine import history
from engine.db import transaction
from engine.errors import Conflict, TaskConflict
from engine.models import Dossier, Event, Task
from engine.services import claim_task, complete_task, get_dossier
from engine.services.instances import lock_workflow
from engine.timers import fire_due_timers
from tests.engine.services.workspace import colleague
from tests.factories import open_task, submit, work
from tests.locks import waiting_on_a_lock
from tests.processes.test_dang_ky_ket_hon import APPROVE, RECEIVE, SIGN
from tests.processes.test_dang_ky_ket_hon import submit as submit_marriage


def _parallel(n: int, fn):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            return exc

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_parallel_submissions_get_unique_gap_free_codes(ctx, actors):
    n = 16
    results = _parallel(n, lambda i: submit(ctx, actors["congdan"]))
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    numbers = sorted(int(r.code.rsplit("-", 1)[1]) for r in results)
    assert numbers == list(range(1, n + 1))
    assert len({r.code for r in results}) == n


def test_concurrent_completion_of_one_task_has_exactly_one_winner(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    n = 8
    results = _parallel(n, lambda i: complete_task(ctx, actors["tiepnhan"], task.id, {"ket_qua_tiep_nhan": "tiep_nhan"}))
    winners = [r for r in results if not isinstance(r, Exception)]
    conflicts = [r for r in results if isinstance(r, TaskConflict)]
    assert len(winners) == 1 and len(conflicts) == n - 1, results
    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == dossier.code))
        completed = session.scalar(select(func.count()).select_from(Event).where(
            Event.dossier_id == dossier_id, Event.kind == "task_completed"))
        opened_review = session.scalar(select(func.count()).select_from(Task).where(
            Task.dossier_id == dossier_id, Task.bpmn_id == "tham_dinh"))
    assert completed == 1 and opened_review == 1
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "processing"


def test_concurrent_claims_of_one_task_have_exactly_one_winner(ctx, actors):
    """Two specialists claim the same task at once: one gets it, the other is told it was taken, and
    the history records one claim (the claim locks the task and its dossier, engine/services/tasks.py)."""
    dossier = submit(ctx, actors["congdan"])
    complete_task(ctx, actors["tiepnhan"], open_task(ctx, actors["tiepnhan"], dossier.code).id,
                  {"ket_qua_tiep_nhan": "tiep_nhan"})
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    claimants = [actors["chuyenvien"], colleague(ctx)] * 3
    results = _parallel(len(claimants), lambda i: claim_task(ctx, claimants[i], task.id))
    winners = {r.assignee_id for r in results if not isinstance(r, Exception)}
    assert len(winners) == 1 and all(isinstance(r, TaskConflict) for r in results
                                     if isinstance(r, Exception)), results
    claims = [e for e in get_dossier(ctx, actors["congdan"], dossier.code).history if e["kind"] == "task_claimed"]
    assert len(claims) == 1


def test_a_failed_completion_leaves_nothing_half_written(ctx, actors, monkeypatch):
    """An error after the workflow ran (here: while writing the instance) rolls back every row."""
    dossier = submit(ctx, actors["congdan"])
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    import engine.services.instances as instances

    def broken(_workflow):
        raise RuntimeError("disk full")

    monkeypatch.setattr(instances, "dump_state", broken)
    with pytest.raises(RuntimeError):
        complete_task(ctx, actors["tiepnhan"], task.id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    monkeypatch.undo()
    assert open_task(ctx, actors["tiepnhan"], dossier.code).id == task.id
    view = get_dossier(ctx, actors["congdan"], dossier.code)
    assert view.status == "submitted" and not [e for e in view.history if e["kind"] == "task_completed"]
    complete_task(ctx, actors["tiepnhan"], task.id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "processing"


# SQLite takes its write lock at BEGIN (engine/db.py), so nothing can change the dossier mid-completion there
@pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
def test_a_document_stored_during_a_completion_waits_for_it(ctx, actors, monkeypatch):
    """A worker storing a rendered receipt while an official completes a task of the same dossier waits
    for the completion's row lock, then writes on the new row; the official's completion is neither
    refused nor run twice (found by make chaos, when the completion only had an optimistic lock)."""
    dossier = submit(ctx, actors["congdan"])
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    import engine.services.tasks as tasks

    real, calls, worker, stored = tasks.apply_report, [], [], []

    def store_document():  # what paperwork's render job does to the dossier row, retried on a lost lock
        for _attempt in range(3):
            try:
                with transaction(ctx.sessions) as other:
                    row = other.scalar(select(Dossier).where(Dossier.code == dossier.code))
                    history.record(other, row, "document_ready", status=row.status, data={"kind": "bien_nhan"})
                stored.append(True)
                return
            except Conflict:
                continue

    def with_a_worker_meanwhile(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            worker.append(threading.Thread(target=store_document))
            worker[0].start()
            worker[0].join(0.5)
            assert worker[0].is_alive(), "the worker's write did not wait for the completion's lock"
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks, "apply_report", with_a_worker_meanwhile)
    complete_task(ctx, actors["tiepnhan"], task.id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    worker[0].join(10)

    assert len(calls) == 1 and stored == [True]
    view = get_dossier(ctx, actors["congdan"], dossier.code)
    assert view.status == "processing"
    kinds = [e["kind"] for e in view.history]
    assert kinds.count("task_completed") == 1 and kinds.index("task_completed") < kinds.index("document_ready")
    with ctx.sessions() as session:
        assert history.verify_chain(session, session.scalar(select(Dossier.id).where(Dossier.code == dossier.code))) \
            is None


def test_a_timer_due_while_an_official_holds_the_dossier_waits_for_them_and_fires(ctx, actors):
    """The sweep locks the dossier and its workflow before it runs a timer, as a completion does: it waits
    for the official's transaction and fires on what they committed, instead of losing to it with a
    Conflict and skipping the timer until the next sweep."""
    if ctx.db.dialect.name != "postgresql":
        pytest.skip("row locks and their waits: PostgreSQL")
    code = submit_marriage(ctx, actors["congdan"]).code
    work(ctx, actors["tiepnhan"], code, RECEIVE)
    work(ctx, actors["chuyenvien"], code, APPROVE)
    work(ctx, actors["lanhdao"], code, SIGN)
    later = datetime.now(UTC) + timedelta(days=75)  # the certificate was never collected: its timer is due
    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == code))
    with ThreadPoolExecutor(max_workers=1) as pool, ctx.sessions() as official:
        _dossier, instance = lock_workflow(official, dossier_id=dossier_id)
        fired = pool.submit(fire_due_timers, ctx, now=later)
        waiting_on_a_lock(ctx)
        instance.updated_at = datetime.now(UTC)  # the official's own write: a new version of the row
        official.commit()
        assert fired.result(timeout=30) == [code]
