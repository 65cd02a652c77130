"""Issue #4's reliability promises, each against the real thing: PostgreSQL, Redis, real Celery worker
processes (`celery -A engine.jobs worker -B --pool=solo`) and the SMTP simulator on loopback.

* a worker killed (SIGKILL) inside a connector call is replaced; once the lease has expired the call is
  made again with the same idempotency key and the relay keeps one message;
* transient failures back off exponentially and then succeed; past the attempt budget the row becomes
  an incident, an admin retries it (`engine.services.health.retry_incident`, which calls
  `engine.outbox.retry_incident`), and the dossier goes on;
* while Redis is unreachable the web side still commits (the rows live in the database); a worker
  started on the real Redis delivers every row through the beat sweep.

Every wait is bounded; with CI=true a missing PostgreSQL or Redis fails instead of skipping.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.config import ENV_PREFIX
from engine.errors import Forbidden
from engine.jobs import app as celery_app
from engine.jobs import configure, enqueue_after_commit
from engine.models import Dossier, OutboxMessage
from engine.outbox import incidents
from engine.services import get_dossier, health
from integrations.notify.email import message_id_for
from tests.child_processes import stop_group
from tests.factories import open_task, submit, work
from tests.ports import free_port

pytestmark = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)

ROOT = Path(__file__).resolve().parents[2]
RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan"}
EXAMINE = {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"}
APPROVE = {"quyet_dinh": "dong_y"}
RETURN = {"hinh_thuc_tra": "truc_tiep"}


# -- helpers ---------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, *, interval: float = 0.05,
               context: Callable[[], str] = lambda: "") -> Any:
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}\n{context()}")
        time.sleep(interval)


def row(ctx, row_id: int) -> OutboxMessage:
    with ctx.sessions() as session:
        return session.get(OutboxMessage, row_id)


def email_rows(ctx, code: str) -> list[OutboxMessage]:
    """The dossier's e-mail rows in decision order (receipt notice first, then the result notice)."""
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxMessage).join(Dossier, Dossier.id == OutboxMessage.dossier_id)
                                    .where(Dossier.code == code, OutboxMessage.connector == "email")
                                    .order_by(OutboxMessage.id)))


def stored_for(smtp, key: str) -> list:
    return [m for m in smtp.messages if m["X-Idempotency-Key"] == key]


closed_port = free_port  # nobody listens there: connections are refused


def point_web_enqueue_at(ctx, url: str) -> None:
    """What the web process does at start-up (`engine.jobs.configure`), for another broker URL.

    `configure()` drops the pools of an earlier broker and makes publishing give up at once when the
    broker is down (the web request must not wait out kombu's retries)."""
    configure(replace(ctx.settings, redis_url=url))


@dataclass(frozen=True)
class Snapshot:
    """A state of the row and when it changed: after `since` (the start of the last poll that did not
    see it yet) and before `seen_at` (the end of the first poll that saw it)."""

    since: datetime
    seen_at: datetime
    state: str
    attempts: int
    next_attempt_at: datetime


def watch(ctx, row_id: int, until: Callable[[Snapshot], bool], timeout: float, what: str,
          context: Callable[[], str] = lambda: "") -> list[Snapshot]:
    """Poll one outbox row every 20 ms, keeping each distinct (state, attempts, next_attempt_at)."""
    seen: list[Snapshot] = []
    last_poll = [datetime.now(UTC)]

    def look() -> bool:
        since = last_poll[0]
        last_poll[0] = datetime.now(UTC)
        current = row(ctx, row_id)
        snap = Snapshot(since, datetime.now(UTC), current.state, current.attempts, current.next_attempt_at)
        if not seen or (seen[-1].state, seen[-1].attempts, seen[-1].next_attempt_at) != \
                (snap.state, snap.attempts, snap.next_attempt_at):
            seen.append(snap)
        return until(snap)

    wait_until(look, timeout, what, interval=0.02, context=context)
    return seen


class Workers:
    """Celery worker processes (solo pool, embedded beat sweeping every 2 s), each in its own process
    group so that a SIGKILL takes the worker and its beat child down together, like a lost machine."""

    def __init__(self, ctx, redis_url: str, tmp_path: Path) -> None:
        self.ctx, self.redis_url, self.tmp_path = ctx, redis_url, tmp_path
        self.processes: list[tuple[subprocess.Popen, Path]] = []

    def env(self, **settings: Any) -> dict[str, str]:
        smtp = self.ctx.settings.connectors["email"]
        values = {"database_url": self.ctx.settings.database_url, "redis_url": self.redis_url,
                  "data_dir": str(self.ctx.settings.data_dir), "worker": "celery",
                  "smtp_host": smtp["host"], "smtp_port": smtp["port"], "smtp_timeout": 10,
                  "outbox_max_attempts": 3, "outbox_backoff_base": 0.05, "outbox_backoff_cap": 0.2,
                  "outbox_lease_seconds": 5, **settings}
        # The worker gets the test process's connectors (e-mail only): in embedded mode every other one
        # would default to a simulator on loopback that is not running here.
        off = {f"MOTCUA_{prefix}_ENABLED": "0" for cid, prefix in ENV_PREFIX.items() if cid != "email"}
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
        return {**clean, **off, **{f"MOTCUA_{k.upper()}": str(v) for k, v in values.items()}}

    def start(self, pool: str = "solo", beat: bool = True, **settings: Any) -> subprocess.Popen:
        n = len(self.processes)
        log_path = self.tmp_path / f"worker-{n}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "engine.jobs", "worker", *(["-B"] if beat else []),
                 f"--pool={pool}",
                 *(["--concurrency=1"] if pool == "prefork" else []),
                 f"--hostname=reliability{n}@%h", f"--schedule={self.tmp_path / f'beat-{n}'}", "--loglevel=INFO",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                env=self.env(**settings), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
        self.processes.append((process, log_path))

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"worker {n} exited with {process.returncode}\n{self.logs()}")
            return " ready." in log_path.read_text(errors="replace")

        wait_until(ready, 30, f"worker {n} to be ready", interval=0.1, context=self.logs)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def logs(self, tail: int = 40) -> str:
        parts = []
        for n, (_process, path) in enumerate(self.processes):
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            parts.append(f"--- worker {n} ({path}) ---\n" + "\n".join(lines[-tail:]))
        return "\n".join(parts)

    def stop_all(self) -> None:
        for process, _path in self.processes:
            stop_group(process)


@pytest.fixture
def workers(ctx, redis_url, tmp_path):
    """Worker processes started by the test; the web side enqueues after commit through Redis."""
    transport_options = dict(celery_app.conf.broker_transport_options)
    point_web_enqueue_at(ctx, redis_url)
    ctx.outbox_listeners.append(enqueue_after_commit)
    pool = Workers(ctx, redis_url, tmp_path)
    yield pool
    pool.stop_all()
    point_web_enqueue_at(ctx, redis_url)
    celery_app.conf.broker_transport_options = transport_options


# -- the promises ----------------------------------------------------------------------------------


def test_a_worker_killed_inside_the_smtp_call_is_replaced_and_the_mail_arrives_once(ctx, actors, smtp, workers):
    first = workers.start(outbox_lease_seconds=2, smtp_timeout=60)
    dossier = submit(ctx, actors["congdan"])
    # The relay stores the receipt notice, then holds its "250" back: the worker sits inside the call.
    smtp.delay_next(1, seconds=30)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    [mail] = smtp.wait_for(1, timeout=30)
    [claimed] = email_rows(ctx, dossier.code)
    assert (claimed.state, claimed.attempts) == ("running", 1)
    assert mail["Message-ID"] == message_id_for(claimed.idempotency_key)

    workers.kill(first)  # kill -9, before the worker could record anything
    assert row(ctx, claimed.id).state == "running"
    workers.start(outbox_lease_seconds=2)

    done = wait_until(lambda: (r := row(ctx, claimed.id)).state == "done" and r, 30,
                      "the replacement worker to redeliver after the lease", context=workers.logs)
    assert done.attempts == 2 and done.idempotency_key == claimed.idempotency_key
    assert done.finished_at >= claimed.locked_until, "redelivered before the lease expired"
    # Two calls with one key, one message: the second was recognised and acknowledged, not stored.
    assert len(stored_for(smtp, claimed.idempotency_key)) == 1 and len(smtp.messages) == 1
    assert smtp.duplicates == 1
    # The dossier goes on.
    work(ctx, actors["chuyenvien"], dossier.code, EXAMINE)
    open_task(ctx, actors["lanhdao"], dossier.code)


def test_a_worker_child_past_its_memory_bound_is_replaced_after_its_call_and_the_next_call_is_made(
        ctx, actors, smtp, workers):
    # `motcua worker` runs the prefork pool; a bound of 1 MiB is passed by every child after its first task
    workers.start(pool="prefork", beat=False, worker_max_memory_mib=1)  # calls published after commit only
    first, second = submit(ctx, actors["congdan"]), submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], first.code, RECEIVE)  # the receipt notice: a call
    smtp.wait_for(1, timeout=30)
    work(ctx, actors["tiepnhan"], second.code, RECEIVE)
    smtp.wait_for(2, timeout=30)
    wait_until(lambda: all(email_rows(ctx, d.code)[0].state == "done" for d in (first, second)), 30,
               "both calls recorded", context=workers.logs)
    children = re.findall(r"INFO/(ForkPoolWorker-\d+)\] Task motcua\.\w+\[[^\]]+\] succeeded", workers.logs(1000))
    assert len(children) >= 2
    assert len(children) == len(set(children)), "a child went on past its bound"


def test_failures_back_off_then_succeed_and_past_the_limit_an_admin_retries_the_incident(
        ctx, actors, smtp, workers):
    base, max_attempts = 1.0, 3
    workers.start(outbox_backoff_base=base, outbox_backoff_cap=8, outbox_max_attempts=max_attempts)
    dossier = submit(ctx, actors["congdan"])

    # 1. Two 451s, then the relay accepts: the receipt notice is retried with a growing back-off.
    smtp.fail_next(2, code=451)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    [receipt] = email_rows(ctx, dossier.code)
    seen = watch(ctx, receipt.id, lambda s: s.state == "done", 30, "the receipt notice after two 451s",
                 context=workers.logs)
    backoffs = {}
    for snap in seen:
        if snap.state == "pending" and snap.attempts and snap.attempts not in backoffs:
            backoffs[snap.attempts] = snap
    assert sorted(backoffs) == [1, 2], seen
    for k, snap in backoffs.items():
        # The worker chose next_attempt_at = (moment of the failure) + min(cap, base * 2^(k-1)) * uniform(0.5, 1),
        # the failure falling between two polls (its transaction takes a few ms: 0.05 s of slack).
        shortest = (snap.next_attempt_at - snap.seen_at).total_seconds()
        longest = (snap.next_attempt_at - snap.since).total_seconds() + 0.05
        assert shortest <= base * 2 ** (k - 1) + 0.01 and longest >= 0.5 * base * 2 ** (k - 1), \
            (k, shortest, longest, seen)
        retried = next(s for s in seen if s.attempts == k + 1)
        assert retried.seen_at >= snap.next_attempt_at, f"attempt {k + 1} came before its back-off ended"
    assert backoffs[2].next_attempt_at > backoffs[1].next_attempt_at
    final = row(ctx, receipt.id)
    assert final.attempts == 3 and "451" in final.last_error
    assert len(stored_for(smtp, receipt.idempotency_key)) == 1

    # 2. More 451s than the attempt budget: the result notice becomes an incident.
    smtp.fail_next(max_attempts + 1, code=451)
    work(ctx, actors["chuyenvien"], dossier.code, EXAMINE)
    work(ctx, actors["lanhdao"], dossier.code, APPROVE)
    result_row = email_rows(ctx, dossier.code)[1]
    incident = wait_until(lambda: (r := row(ctx, result_row.id)).state == "incident" and r, 30,
                          "the result notice to become an incident", context=workers.logs)
    assert incident.attempts == max_attempts and "451" in incident.last_error
    [listed] = health.list_incidents(ctx, actors["quantri"])  # what the admin's incident page shows
    assert (listed.id, listed.dossier_code, listed.attempts) == (result_row.id, dossier.code, max_attempts)
    history = get_dossier(ctx, actors["tiepnhan"], dossier.code).history
    [event] = [e for e in history if e["kind"] == "incident"]
    assert event["data"]["outbox"] == result_row.id and event["data"]["attempts"] == max_attempts
    time.sleep(2.5)  # a beat sweep or two: an incident is not retried by itself
    assert row(ctx, result_row.id).state == "incident" and stored_for(smtp, result_row.idempotency_key) == []

    # 3. The admin retries it (the retry button) with a fresh budget: one 451 is left, then it goes through.
    with pytest.raises(Forbidden):
        health.retry_incident(ctx, actors["tiepnhan"], result_row.id)
    health.retry_incident(ctx, actors["quantri"], result_row.id)
    done = wait_until(lambda: (r := row(ctx, result_row.id)).state == "done" and r, 30,
                      "the retried incident to be delivered", context=workers.logs)
    assert done.attempts == 2, done.last_error
    assert incidents(ctx) == [], [(i.connector, i.operation, i.last_error) for i in incidents(ctx)]
    [mail] = stored_for(smtp, result_row.idempotency_key)
    assert mail["Subject"] == f"Hồ sơ {dossier.code} đã có kết quả"
    history = get_dossier(ctx, actors["tiepnhan"], dossier.code).history
    assert [e["actor"] for e in history if e["kind"] == "incident_retried"] == [actors["quantri"].full_name]

    # 4. The dossier goes on to the end.
    work(ctx, actors["tiepnhan"], dossier.code, RETURN)
    assert get_dossier(ctx, actors["tiepnhan"], dossier.code).status == "returned"


def test_while_redis_is_down_the_web_side_commits_and_a_worker_delivers_everything_later(
        ctx, actors, smtp, workers, caplog):
    def count() -> dict[str, int]:
        with ctx.sessions() as session:
            return dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())

    point_web_enqueue_at(ctx, f"redis://127.0.0.1:{closed_port()}/0")
    caplog.set_level(logging.WARNING, logger="engine.jobs")
    codes = []
    for _ in range(3):
        dossier = submit(ctx, actors["congdan"])
        work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
        work(ctx, actors["chuyenvien"], dossier.code, EXAMINE)
        work(ctx, actors["lanhdao"], dossier.code, APPROVE)
        assert get_dossier(ctx, actors["congdan"], dossier.code).status == "result_ready"
        codes.append(dossier.code)

    before = count()
    # Per dossier: receipt + result documents to render, receipt + result notices to send.
    assert before == {"pending": 12}
    lost = [r.args[0] for r in caplog.records if r.getMessage().startswith("could not enqueue outbox")]
    assert sum(len(ids) for ids in lost) == 12, "the enqueues were expected to fail: Redis was unreachable"

    point_web_enqueue_at(ctx, workers.redis_url)
    workers.start()
    smtp.wait_for(6, timeout=45)
    wait_until(lambda: count() == {"done": 12}, 30, "every outbox row to be done",
               context=lambda: f"{count()}\n{workers.logs()}")
    assert sum(count().values()) == sum(before.values()), "an outbox row was lost"
    assert sorted(m["Subject"] for m in smtp.messages) == sorted(
        f"Hồ sơ {code} {what}" for code in codes for what in ("đã được tiếp nhận", "đã có kết quả"))
    assert smtp.duplicates == 0
