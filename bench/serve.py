"""A production-shaped motcua on loopback for the HTTP benchmarks: gunicorn + Celery + PostgreSQL + Redis.

    with serve(web_workers=5, celery_workers=1) as server:
        server.url, server.tokens["desk"], server.web_worker_pids(), server.celery_pids ...

Everything is scratch and removed on the way out, also on error, Ctrl-C or `kill` (SIGTERM, once the
caller turns it into SystemExit as the benchmarks do): a database `motcua_bench_http_*` on the
--database-url server, migrated and loaded with the procedure catalogue by `engine.bootstrap.prepare`;
accounts made with `create_user` (random passwords: production mode refuses the demo ones) and their
API tokens; a data directory; a Celery queue of its own on --redis-url; the SMTP simulator that e-mail
notices go to (every other connector is off, as production leaves a connector without an address).
The web and worker processes run with `MOTCUA_MODE=production MOTCUA_WORKER=celery`, configured only
through the environment as an installation would be.

`check(server, codes, completions, drain)` then says what the server did with the load: every
acknowledged submission stored exactly once, no task completed twice, the outbox drained.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN_URL, bench_database  # noqa: E402
from bench.outbox import Workers  # noqa: E402
from engine.bootstrap import prepare  # noqa: E402
from engine.config import PROJECT_ROOT, Settings  # noqa: E402
from engine.context import EngineContext, build_context  # noqa: E402
from engine.models import Dossier, Event, OutboxMessage, Task  # noqa: E402
from engine.services import issue_token  # noqa: E402
from engine.services.accounts import create_user  # noqa: E402
from integrations.notify.smtp_simulator import SmtpSimulator  # noqa: E402

#: Tests use DB 15 and bench/outbox.py DB 14: a database of our own keeps a crash from mixing queues.
REDIS_URL = "redis://127.0.0.1:6379/13"
AGENCY = "000.00.21.H99"  # where dang-ky-ho-kinh-doanh is handled (its procedure.json)
OFFICIAL_ROLES = ("desk", "specialist", "leader")
#: The gunicorn workers publish to the benchmark's queue: set once the app is loaded in each worker.
GUNICORN_CONFIG = '''\
import os


def post_worker_init(worker):
    from engine.jobs import app

    app.conf.task_default_queue = os.environ["BENCH_CELERY_QUEUE"]
'''


@dataclass(frozen=True)
class Citizen:
    token: str
    name: str
    phone: str
    id_number: str
    email: str


@dataclass
class Server:
    """What a benchmark needs to drive and watch the running installation."""

    url: str
    database_url: str
    ctx: EngineContext  # the harness's own connection to the scratch database, for checks
    tokens: dict[str, list[str]]  # role -> API tokens of that role's accounts
    citizens: list[Citizen]
    web_master_pid: int
    celery_pids: list[int]
    web_workers: int
    worker_class: str
    threads: int
    smtp: SmtpSimulator
    logs: Path
    extra: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # what the web and worker processes were given

    def web_worker_pids(self) -> list[int]:
        """The gunicorn master's children now (a worker gunicorn replaced has a new pid)."""
        return children(self.web_master_pid)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_accounts(ctx: EngineContext, officials: int, citizens: int) -> tuple[dict[str, list[str]], list[Citizen]]:
    """`officials` accounts per official role in the procedure's agency and `citizens` citizens, each
    with an API token (what `POST /api/v1/auth/token` hands out, without a password hash per login)."""
    tokens: dict[str, list[str]] = {role: [] for role in OFFICIAL_ROLES}
    for role in OFFICIAL_ROLES:
        for n in range(officials):
            actor = create_user(ctx, username=f"bench_{role}_{n}", password=secrets.token_urlsafe(16),
                                full_name=f"Cán bộ thử tải {role} {n}", role=role, agency_code=AGENCY,
                                email=f"bench_{role}_{n}@ubnd.demo.gov.vn")
            tokens[role].append(issue_token(ctx, actor))
    people = []
    for n in range(citizens):
        phone, id_number = f"09{n:08d}", f"0010900{n:05d}"
        email = f"congdan{n}@example.vn"
        name = f"Công Dân Thử Tải {n}"
        actor = create_user(ctx, username=f"bench_citizen_{n}", password=secrets.token_urlsafe(16), full_name=name,
                            role="citizen", phone=phone, id_number=id_number, email=email)
        people.append(Citizen(issue_token(ctx, actor), name, phone, id_number, email))
    tokens["citizen"] = [c.token for c in people]
    return tokens, people


def environment(url: str, redis_url: str, data_dir: Path, smtp_port: int, public_url: str, queue: str) -> dict[str, str]:
    """The production configuration of the web and worker processes (no MOTCUA_* leaks in from outside)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env.update({"MOTCUA_MODE": "production", "MOTCUA_SECRET_KEY": secrets.token_hex(32),
                "MOTCUA_DATABASE_URL": url, "MOTCUA_REDIS_URL": redis_url, "MOTCUA_WORKER": "celery",
                "MOTCUA_DATA_DIR": str(data_dir), "MOTCUA_PUBLIC_URL": public_url,
                "MOTCUA_SMTP_HOST": "127.0.0.1", "MOTCUA_SMTP_PORT": str(smtp_port),
                # every client of the load comes from 127.0.0.1: one address would hit the public
                # tracking limit (30 a minute) at once and measure 429s instead of lookups
                "MOTCUA_TRACKING_RATE_LIMIT": "",
                # every connector's calls, the sweep and the clock on the run's own queue (one pool)
                "MOTCUA_OUTBOX_QUEUES": f"*={queue}",
                "BENCH_CELERY_QUEUE": queue})
    return env


class Gunicorn:
    """`gunicorn 'web:create_app()'` in its own process group (stopped with its workers)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log = env, log_dir / "gunicorn.log"
        self.config = log_dir / "gunicorn_conf.py"
        self.config.write_text(GUNICORN_CONFIG)
        self.process: subprocess.Popen | None = None

    def start(self, port: int, workers: int, worker_class: str, threads: int) -> None:
        command = [sys.executable, "-m", "gunicorn", "--config", str(self.config), "--bind", f"127.0.0.1:{port}",
                   "--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads),
                   "--backlog", "2048", "--timeout", "60", "--graceful-timeout", "10", "web:create_app()"]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(command, env=self.env, cwd=PROJECT_ROOT, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, url: str, workers: int, timeout: float = 90.0) -> None:
        """Until every worker has booted and the catalogue answers (one query on the database)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                break
            if len(children(self.process.pid)) >= workers:
                with suppress(httpx.HTTPError):
                    response = httpx.get(url + "/api/v1/procedures", timeout=5)
                    if response.status_code == 200 and response.json():
                        return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not become ready:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.process is not None:
            stop_group(self.process)


def stop_group(process: subprocess.Popen) -> None:
    """A process started in a session of its own, with its children (gunicorn and its workers): TERM to
    the group, KILL after 20 s."""
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def serve(*, database_url: str = ADMIN_URL, redis_url: str = REDIS_URL, web_workers: int | None = None,
          worker_class: str = "sync", threads: int = 1, celery_workers: int = 1, officials: int = 3,
          citizens: int = 20, app_env: Callable[[str], dict[str, str]] | None = None,
          settings_env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start the installation, yield it, tear it all down (processes, queue, database, files).

    `settings_env` adds to the configuration of the harness's `ctx` and of the processes alike (the
    chaos run's file store in a bucket). `app_env(scratch database URL)` overrides the environment of
    the web and worker processes only (the chaos run points them at proxies in front of PostgreSQL,
    Redis and the bucket); the harness's own `ctx` and the clean-up keep the direct addresses."""
    web_workers = web_workers or 2 * (os.cpu_count() or 1) + 1
    queue = f"motcua_bench_http_{uuid.uuid4().hex[:8]}"
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    with bench_database(database_url, queue, keep=False) as url, tempfile.TemporaryDirectory(prefix="motcua-bench-http-") as tmp, \
            SmtpSimulator() as smtp:
        env = environment(url, redis_url, Path(tmp), smtp.port, public_url, queue) | (settings_env or {})
        ctx = build_context(Settings.from_env(env))  # exactly what the web and worker processes read
        env.update(app_env(url) if app_env else {})
        web, workers = Gunicorn(env, Path(tmp)), Workers(env, queue, Path(tmp))
        try:
            prepare(ctx, demo=False)
            tokens, people = make_accounts(ctx, officials, citizens)
            if celery_workers:
                workers.start(celery_workers, "solo")
            web.start(port, web_workers, worker_class, threads)
            web.wait_ready(public_url, web_workers)
            yield Server(url=public_url, database_url=url, ctx=ctx, tokens=tokens, citizens=people,
                         web_master_pid=web.process.pid, celery_pids=[p.pid for p in workers.processes],
                         web_workers=web_workers, worker_class=worker_class, threads=threads, smtp=smtp,
                         logs=Path(tmp), extra={"queue": queue}, env=env)
        finally:
            web.stop()
            workers.stop()
            with suppress(Exception):
                client = redis.Redis.from_url(redis_url)
                client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
            ctx.db.dispose()


# -- what the server did ------------------------------------------------------------------------


def outbox_states(server: Server) -> dict[str, int]:
    with server.ctx.sessions() as session:
        return dict(session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all())


def due_or_running():
    """Outbox rows the workers must still do: running, or pending and due."""
    return (OutboxMessage.state == "running") | ((OutboxMessage.state == "pending")
                                                 & (OutboxMessage.next_attempt_at <= func.now()))


def wait_outbox(server: Server, timeout: float) -> float:
    """Until no outbox row is due or running (what the workers must still do); returns the wait."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not outbox_left(server):
            break
        time.sleep(0.5)
    return time.monotonic() - started


def outbox_left(server: Server) -> int:
    """Outbox rows due or running: 0 once the workers have caught up."""
    with server.ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage).where(due_or_running()))


def check(server: Server, codes: list[str], completed: list[str], drain: float) -> dict[str, Any]:
    """Every acknowledged submission exactly once, every acknowledged completion exactly once."""
    waited = wait_outbox(server, drain)
    with server.ctx.sessions() as session:
        stored = Counter(session.scalars(select(Dossier.code)))
        submitted = Counter(session.scalars(select(Dossier.code).join(Event, Event.dossier_id == Dossier.id)
                                            .where(Event.kind == "submitted")))
        events = Counter(data.get("task") for data in
                         session.scalars(select(Event.data).where(Event.kind == "task_completed")))
        done = session.scalar(select(func.count()).select_from(Task).where(Task.state == "done"))
        incidents = [f"{row.connector}/{row.operation} after {row.attempts} attempt(s): {(row.last_error or '')[:300]}"
                     for row in session.scalars(select(OutboxMessage).where(OutboxMessage.state == "incident")
                                                .order_by(OutboxMessage.id).limit(3))]
    acknowledged, answered = Counter(codes), Counter(completed)
    result = {
        "dossiers_acknowledged": len(codes), "dossiers_stored": sum(stored.values()),
        "duplicate_codes": sum(n > 1 for n in stored.values()) + sum(n > 1 for n in acknowledged.values()),
        "missing": len(set(acknowledged) - set(stored)), "unacknowledged": len(set(stored) - set(acknowledged)),
        "submitted_events_not_one": sum(submitted.get(code, 0) != 1 for code in stored),
        "completions_acknowledged": len(completed), "task_completed_events": sum(events.values()),
        "tasks_done": done, "completed_twice": sum(n > 1 for n in events.values())
        + sum(n > 1 for n in answered.values()),
        "acknowledged_without_event": len(set(answered) - set(events)),
        "outbox": outbox_states(server), "outbox_wait_s": waited, "incidents": incidents,
    }
    result["ok"] = (not (result["duplicate_codes"] or result["missing"] or result["unacknowledged"]
                         or result["submitted_events_not_one"] or result["completed_twice"]
                         or result["acknowledged_without_event"])
                    and result["task_completed_events"] == result["completions_acknowledged"] == done)
    return result


def render_check(c: dict[str, Any]) -> list[str]:
    outbox = ", ".join(f"{k} {v}" for k, v in sorted(c["outbox"].items())) or "empty"
    return [
        f"consistency: {'OK' if c['ok'] else 'FAILED'}",
        f"  submissions: {c['dossiers_acknowledged']} acknowledged (201), {c['dossiers_stored']} dossiers stored; "
        f"duplicate codes {c['duplicate_codes']}, missing {c['missing']}, stored but not acknowledged "
        f"{c['unacknowledged']}, 'submitted' events != 1 {c['submitted_events_not_one']}",
        f"  completions: {c['completions_acknowledged']} acknowledged (200), {c['task_completed_events']} "
        f"task_completed events, {c['tasks_done']} task rows done; completed twice {c['completed_twice']}, "
        f"acknowledged without an event {c['acknowledged_without_event']}",
        f"  outbox after {c['outbox_wait_s']:.1f} s of draining: {outbox}",
        *(f"    incident: {line}" for line in c["incidents"]),
    ]
