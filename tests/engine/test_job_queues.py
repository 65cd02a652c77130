"""Outbox calls per worker pool: each connector's calls go to its own Celery queue (engine/jobs.py,
`Settings.outbox_queues`), and a pool executes only its own calls, whether a commit published them or
the beat's sweep found them in the database. Against the real thing where it matters: real Redis,
real `celery -A engine.jobs worker -Q ...` processes, PostgreSQL, the SMTP simulator.

With CI=true a missing PostgreSQL or Redis fails instead of skipping.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from sqlalchemy import select

from engine import paperwork
from engine.config import DEFAULT_OUTBOX_QUEUES, ENV_PREFIX, Settings
from engine.db import transaction
from engine.jobs import app as celery_app
from engine.jobs import configure, enqueue_after_commit, sweep
from engine.models import OutboxMessage
from engine.outbox import deliver, drain, due_ids
from engine.services.health import worker_health
from integrations import registry
from tests.child_processes import stop_group
from tests.factories import submit, work

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRESQL = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)


# -- the routing table -----------------------------------------------------------------------------


def test_the_default_table_sends_each_connector_to_its_pool():
    settings = Settings()
    expected = {"local_signing": "signing", "remote_signing": "signing", "email": "notify", "sms": "notify",
                "dvcqg": "portal", "dvcqg_payment": "portal", "vdxp": "exchange",
                paperwork.CONNECTOR: "documents", "vneid": "default", "a_plugin_nobody_listed": "default"}
    assert {connector: settings.outbox_queue(connector) for connector in expected} == expected
    assert settings.outbox_queue_names == ["default", "documents", "exchange", "notify", "portal", "signing"]


def test_every_connector_an_outbox_row_can_name_has_a_pool_of_its_own():
    """A connector added later without an entry would silently share the fallback queue."""
    callable_by_outbox = {cid for cid, cls in registry.classes().items() if cls.kind != "identity"}
    assert callable_by_outbox <= set(DEFAULT_OUTBOX_QUEUES)


def test_MOTCUA_OUTBOX_QUEUES_replaces_the_whole_table():
    settings = Settings.from_env({"MOTCUA_OUTBOX_QUEUES": " email = mail , *=rest"})
    assert settings.outbox_queues == {"email": "mail", "*": "rest"}
    assert (settings.outbox_queue("email"), settings.outbox_queue("sms"), settings.outbox_queue("documents")) == \
        ("mail", "rest", "rest")
    assert settings.outbox_queue_names == ["rest", "mail"]
    assert Settings.from_env({"MOTCUA_OUTBOX_QUEUES": "email=mail"}).outbox_queue("sms") == "default"
    assert Settings.from_env({"MOTCUA_OUTBOX_QUEUES": ""}).outbox_queues == DEFAULT_OUTBOX_QUEUES
    assert Settings.from_env({}).outbox_queues == DEFAULT_OUTBOX_QUEUES


@pytest.mark.parametrize(("value", "error"), [
    ("email", r"expects connector=queue,\.\.\. \(got 'email'\)"),
    ("email=notify,=portal", r"expects connector=queue,\.\.\. \(got '=portal'\)"),
    ("email=", r"expects connector=queue"),
    ("email=notify,email=mail", r"names connector 'email' twice"),
    ("emial=notify", r"unknown connector\(s\) emial \(known: \*, documents, dvcqg, .*email"),
    ("email=no tify", r"'no tify' is not a queue name"),
    ("*=../etc", r"'\.\./etc' is not a queue name"),
])
def test_a_bad_table_stops_the_start_up_naming_the_mistake(value, error):
    with pytest.raises(ValueError, match=f"MOTCUA_OUTBOX_QUEUES.*{error}"):
        Settings.from_env({"MOTCUA_OUTBOX_QUEUES": value})


# -- a pool claims only its own calls (both databases, no Celery) ----------------------------------


def add_rows(ctx, *connectors: str) -> list[OutboxMessage]:
    """Due outbox rows, committed the way the engine writes them (fire-and-forget calls, no dossier)."""
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        rows = [OutboxMessage(dossier_id=None, task_id=None, connector=connector, operation="send",
                              payload={"to": "congdan@example.vn", "subject": f"Thử nhóm {n}", "text": "Nội dung"},
                              idempotency_key=f"test-pools-{n}-{connector}", waits=False, state="pending",
                              attempts=0, next_attempt_at=now, created_at=now)
                for n, connector in enumerate(connectors)]
        session.add_all(rows)
    return rows


def stored(ctx, row: OutboxMessage) -> OutboxMessage:
    with ctx.sessions() as session:
        return session.get(OutboxMessage, row.id)


def test_a_pool_claims_and_drains_only_its_own_connectors_calls(ctx, smtp):
    mail, signing, plugin = add_rows(ctx, "email", "local_signing", "a_plugin_nobody_listed")
    assert due_ids(ctx, queue="notify") == [mail.id]
    assert due_ids(ctx, queue="signing") == [signing.id]
    assert due_ids(ctx, queue="default") == [plugin.id]  # the fallback takes what the table does not name
    assert due_ids(ctx, queue="portal") == []
    assert sorted(due_ids(ctx)) == sorted([mail.id, signing.id, plugin.id])  # no queue: the embedded worker

    # a signing call that reached the notify pool is not made there, nor even claimed
    assert deliver(ctx, signing.id, "notify") is None
    assert (stored(ctx, signing).state, stored(ctx, signing).attempts) == ("pending", 0)

    assert [(o.id, o.state) for o in drain(ctx, queue="notify")] == [(mail.id, "done")]
    assert len(smtp.wait_for(1, timeout=10)) == 1
    assert [(o.id, o.state) for o in drain(ctx, queue="default")] == [(plugin.id, "incident")]  # no such connector
    assert (stored(ctx, signing).state, stored(ctx, signing).attempts) == ("pending", 0)


# -- publishing: after a commit, and the beat's sweep (real Redis, no worker) ----------------------


def queued(redis_url: str) -> dict[str, list[tuple]]:
    """What waits in each queue of the default table: the (task, args) of every message."""
    client = redis.Redis.from_url(redis_url)
    found = {}
    for queue in Settings().outbox_queue_names:
        messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
        found[queue] = [(m["headers"]["task"], tuple(json.loads(base64.b64decode(m["body"]))[0]))
                        for m in reversed(messages)]  # kombu pushes on the left: oldest last
    return found


@pytest.fixture
def publishing(ctx, redis_url):
    """This process publishes to the test Redis, as a web process does after `configure`."""
    transport_options = dict(celery_app.conf.broker_transport_options)
    configure(replace(ctx.settings, redis_url=redis_url))
    yield redis_url
    celery_app.conf.broker_transport_options = transport_options


@ON_POSTGRESQL
def test_each_committed_row_is_published_to_its_connectors_queue(ctx, publishing):
    rows = add_rows(ctx, "email", "remote_signing", "dvcqg", "vdxp", "documents", "sms", "a_plugin_nobody_listed")
    enqueue_after_commit(rows)
    ids = {row.connector: row.id for row in rows}
    assert queued(publishing) == {
        "notify": [("motcua.deliver", (ids["email"], "notify")), ("motcua.deliver", (ids["sms"], "notify"))],
        "signing": [("motcua.deliver", (ids["remote_signing"], "signing"))],
        "portal": [("motcua.deliver", (ids["dvcqg"], "portal"))],
        "exchange": [("motcua.deliver", (ids["vdxp"], "exchange"))],
        "documents": [("motcua.deliver", (ids["documents"], "documents"))],
        "default": [("motcua.deliver", (ids["a_plugin_nobody_listed"], "default"))],
    }


@ON_POSTGRESQL
def test_the_sweep_sends_each_idle_pool_one_drain_and_never_piles_them_up(ctx, publishing):
    enqueue_after_commit(add_rows(ctx, "email"))  # the notify pool already has work waiting
    assert sweep() == ["default", "documents", "exchange", "portal", "signing"]
    assert sweep() == []  # a pool with no worker holds one drain, not one per beat
    waiting = queued(publishing)
    assert [task for task, _args in waiting["notify"]] == ["motcua.deliver"]
    assert {queue: messages for queue, messages in waiting.items() if queue != "notify"} == \
        {queue: [("motcua.drain", (queue,))] for queue in ("default", "documents", "exchange", "portal", "signing")}


# -- real worker processes, one pool each ----------------------------------------------------------


class Pools:
    """`celery -A engine.jobs worker --pool=solo -Q <queues>` processes, each in its own process group."""

    def __init__(self, ctx, redis_url: str, tmp_path: Path) -> None:
        self.ctx, self.redis_url, self.tmp_path = ctx, redis_url, tmp_path
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def env(self) -> dict[str, str]:
        smtp = self.ctx.settings.connectors["email"]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
        # only e-mail, like the test settings: no other simulator runs here
        off = {f"MOTCUA_{prefix}_ENABLED": "0" for cid, prefix in ENV_PREFIX.items() if cid != "email"}
        return {**clean, **off, "MOTCUA_DATABASE_URL": self.ctx.settings.database_url,
                "MOTCUA_REDIS_URL": self.redis_url, "MOTCUA_DATA_DIR": str(self.ctx.settings.data_dir),
                "MOTCUA_WORKER": "celery", "MOTCUA_SMTP_HOST": smtp["host"], "MOTCUA_SMTP_PORT": str(smtp["port"]),
                "MOTCUA_OUTBOX_BACKOFF_BASE": "0.05", "MOTCUA_OUTBOX_BACKOFF_CAP": "0.2"}

    def start(self, queues: str, *, beat: bool = False) -> subprocess.Popen:
        n = len(self.started)
        log_path = self.tmp_path / f"worker-{n}-{queues}.log"
        command = [sys.executable, "-m", "celery", "-A", "engine.jobs", "worker", "--pool=solo", "-Q", queues,
                   f"--hostname=pools{n}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle",
                   "--without-heartbeat"]
        if beat:
            command += ["-B", f"--schedule={self.tmp_path / f'beat-{n}'}"]
        with log_path.open("w") as log:
            process = subprocess.Popen(command, env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                       start_new_session=True)
        self.started.append((process, log_path))

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"worker -Q {queues} exited with {process.returncode}\n{self.logs()}")
            return " ready." in log_path.read_text(errors="replace")

        wait_until(ready, 30, f"worker -Q {queues} to be ready", self.logs)
        return process

    def logs(self, tail: int = 30) -> str:
        return "\n".join(f"--- {path.name} ---\n" + "\n".join(path.read_text(errors="replace").splitlines()[-tail:])
                         for _process, path in self.started)

    def stop(self) -> None:
        for process, _path in self.started:
            stop_group(process)


@pytest.fixture
def pools(ctx, publishing, tmp_path):
    started = Pools(ctx, publishing, tmp_path)
    yield started
    started.stop()


def wait_until(predicate: Callable[[], Any], timeout: float, what: str,
               context: Callable[[], str] = lambda: "") -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}\n{context()}")
        time.sleep(0.1)
    return value


def rows_of(ctx) -> dict[str, list[tuple[str, int]]]:
    """connector -> (state, attempts) of its rows, in id order."""
    with ctx.sessions() as session:
        found: dict[str, list[tuple[str, int]]] = {}
        for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            found.setdefault(row.connector, []).append((row.state, row.attempts))
        return found


def receive(ctx, actors):
    """A submission and its reception: a receipt to render (`documents`) and an e-mail notice (`notify`)."""
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    assert set(rows_of(ctx)) == {"documents", "email"}
    return dossier


def all_done(ctx) -> bool:
    return {state for rows in rows_of(ctx).values() for state, _attempts in rows} == {"done"}


@ON_POSTGRESQL
def test_a_notify_worker_sends_the_mail_and_leaves_the_rendering_to_the_documents_pool(ctx, actors, smtp, pools):
    notify = pools.start("notify")
    ctx.outbox_listeners.append(enqueue_after_commit)
    dossier = receive(ctx, actors)

    [mail] = smtp.wait_for(1, timeout=30)
    assert mail["Subject"] == f"Hồ sơ {dossier.code} đã được tiếp nhận"
    wait_until(lambda: rows_of(ctx)["email"] == [("done", 1)], 15, "the notice recorded done", pools.logs)
    time.sleep(1.0)  # the worker is idle now: had it taken the rendering, it would have started it
    assert rows_of(ctx)["documents"] == [("pending", 0)]
    assert [task for task, _args in queued(pools.redis_url)["documents"]] == ["motcua.deliver"]

    pools.start("documents")
    wait_until(lambda: all_done(ctx), 60, "the receipt rendered by the documents pool", pools.logs)
    assert rows_of(ctx)["documents"] == [("done", 1)]
    assert notify.poll() is None, "the notify worker died"


@ON_POSTGRESQL
def test_rows_whose_messages_were_lost_are_drained_by_their_own_pool_only(ctx, actors, smtp, pools):
    """No publish after the commit (as if Redis had been down then): the beat's sweep, on a worker of the
    default queue, delivers nothing itself; each pool drains its own rows once a worker serves it."""
    receive(ctx, actors)  # no listener: nothing published
    pools.start("default", beat=True)
    wait_until(lambda: all(queued(pools.redis_url)[q] for q in ("notify", "documents")), 20,
               "the sweep's drains for notify and documents", pools.logs)
    time.sleep(4.5)  # two more beats: no more drains pile up, and the sweep made no call itself
    waiting = queued(pools.redis_url)
    assert waiting["notify"] == [("motcua.drain", ("notify",))]
    assert waiting["documents"] == [("motcua.drain", ("documents",))]
    assert rows_of(ctx) == {"documents": [("pending", 0)], "email": [("pending", 0)]}
    assert smtp.messages == []

    pools.start("notify,portal")
    smtp.wait_for(1, timeout=30)
    wait_until(lambda: rows_of(ctx)["email"] == [("done", 1)], 15, "the notice recorded done", pools.logs)
    assert rows_of(ctx)["documents"] == [("pending", 0)]

    pools.start("documents")
    wait_until(lambda: all_done(ctx), 60, "the receipt rendered by the documents pool", pools.logs)


@ON_POSTGRESQL
def test_the_health_page_names_the_queues_no_worker_consumes(ctx, pools):
    """A pool nobody started leaves its calls waiting in silence: the workers' health says which."""
    # what worker_health reads of the context: the web process's settings in Celery mode
    checked = SimpleNamespace(settings=replace(ctx.settings, worker="celery", redis_url=pools.redis_url))
    pools.start("default,notify")
    health = worker_health(checked)
    assert not health.ok and health.names
    assert health.missing_queues == ["documents", "exchange", "portal", "signing"]
    assert "documents, exchange, portal, signing" in health.detail

    pools.start("documents,exchange,portal,signing")
    health = worker_health(checked)
    assert health.ok and health.missing_queues == [] and len(health.names) == 2, health
