"""`make chaos`: issue #9's fault drill against a production-shaped installation, with the checks after.

    .venv/bin/python bench/chaos.py                      # defaults: about 6.5 minutes on 2 CPUs
    .venv/bin/python bench/chaos.py --kills 40 --redis-outage 20 --json /tmp/chaos.json
    .venv/bin/python bench/chaos.py --restart-postgres   # really restart the server (stops everyone's sessions)

bench/serve.py starts gunicorn `web:create_app()` (sync workers), Celery workers and a `celery beat`
(bench/chaos_faults.py supervises them), a scratch PostgreSQL database and the SMTP simulator, which
holds every reply back --smtp-delay seconds so that e-mail calls are slow enough to be killed inside.
The web and worker processes reach PostgreSQL and Redis through TCP proxies on loopback
(tests/tcp_proxy.py), so "Redis down" and "PostgreSQL restarting" happen to this installation only.
The load is bench/http_load.py's closed-loop clients (bench/chaos_load.py), in their own process, and
runs through every phase:

1. kills: --kills SIGKILLs, every --kill-interval seconds on average: a random gunicorn worker in the
   middle of the load (its master forks a new one), or a Celery worker caught inside an SMTP call
   (else one while an outbox row is running), replaced by the supervisor;
2. Redis down --redis-outage seconds: submissions and completions must go on (the outbox is in the
   database), the sweep delivers what was queued once Redis is back;
3. PostgreSQL down --pg-outage seconds (the proxy drops every connection and refuses new ones, which is
   what clients see in a restart): requests get 503 with the Vietnamese message, then the pools
   reconnect by themselves;
4. the file store down --store-outage seconds: the installation keeps its files in a bucket of an
   S3-compatible server on loopback (moto, tests/s3_server.py) behind a proxy the drill cuts.
   Submissions and completions go on (they need no file), a citizen's download gets 503 with the
   store's message, documents being rendered wait (no incident) and are made once it is back;
5. --after seconds of load, then the load stops, the outbox drains, and bench/chaos_checks.py checks
   submissions, completions, connector effects, wait states, the audit chain and the files.

The report gives the kills per kind, the answers by status (per phase), the 503s, the outbox and each
check with its counts; the exit status is 1 when a check fails. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import chaos_checks, chaos_load  # noqa: E402
from bench.chaos_faults import CeleryPool, in_smtp_call, kill, kill_group, restart_postgresql  # noqa: E402
from bench.chaos_report import phase_figures, render, verdicts  # noqa: E402
from bench.http_load import machine_info, parse_mix, plan_for  # noqa: E402
from bench.serve import ADMIN_URL, REDIS_URL, Server, outbox_states, serve  # noqa: E402
from engine.documents.errors import StoreUnavailable  # noqa: E402
from engine.models import Dossier, OutboxMessage  # noqa: E402
from engine.paperwork import CONNECTOR as DOCUMENTS  # noqa: E402
from tests.tcp_proxy import TcpProxy  # noqa: E402
from web.errors import UNAVAILABLE  # noqa: E402


class Drill:
    """The fault schedule, run in the harness while the load runs in its own process."""

    def __init__(self, args: argparse.Namespace, server: Server, pool: CeleryPool, proxies: dict[str, TcpProxy]):
        self.args, self.server, self.pool, self.proxies = args, server, pool, proxies
        self.rng = random.Random(args.seed)
        self.kills: Counter = Counter()
        self.phases: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def wait(self, seconds: float) -> None:
        """Sleep, restarting dead Celery processes meanwhile (the supervisor never stops)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.pool.supervise()
            time.sleep(min(0.2, left))

    def phase(self, name: str, action: Any) -> None:
        started = time.time()
        action()
        self.phases.append({"name": name, "start": started, "end": time.time()})

    def warm_up(self) -> None:
        """--warmup seconds of load, counted from the first stored dossier (the generator's process
        takes a few seconds to start)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with self.server.ctx.sessions() as session:
                if session.scalar(select(func.count()).select_from(Dossier)):
                    break
            self.wait(0.5)
        self.wait(self.args.warmup)

    def kill_web(self) -> None:
        workers = self.server.web_worker_pids()
        if workers and kill(self.rng.choice(workers)):
            self.kills["gunicorn worker"] += 1

    def kill_celery(self) -> None:
        """A worker inside an SMTP call if one shows up within --call-wait s, else one while a row runs."""
        deadline = time.monotonic() + self.args.call_wait
        while time.monotonic() < deadline:
            self.pool.supervise()
            caught = in_smtp_call(self.pool.worker_pids(), self.server.smtp.port)
            if caught and kill_group(self.rng.choice(caught)):
                self.kills["celery worker inside an SMTP call"] += 1
                return
            time.sleep(0.02)
        with self.server.ctx.sessions() as session:
            running = session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.state == "running"))
        workers = self.pool.worker_pids()
        if running and workers and kill_group(self.rng.choice(workers)):
            self.kills["celery worker while a row was running"] += 1
        else:
            self.kills["celery kill skipped (nothing running)"] += 1

    def kill_phase(self) -> None:
        web = round(self.args.kills * self.args.web_share)
        kinds = ["web"] * web + ["celery"] * (self.args.kills - web)
        self.rng.shuffle(kinds)
        for kind in kinds:
            self.wait(self.args.kill_interval * self.rng.uniform(0.5, 1.5))
            self.kill_web() if kind == "web" else self.kill_celery()

    def outage(self, proxy: str, seconds: float) -> None:
        """The proxy in front of a service drops every connection and refuses new ones for `seconds`."""
        self.proxies[proxy].cut()
        try:
            self.wait(seconds)
        finally:
            self.proxies[proxy].restore()

    def postgres_phase(self) -> None:
        if self.args.restart_postgres:
            self.notes.append(f"PostgreSQL restarted by pg_ctlcluster in {restart_postgresql():.1f} s")
            return
        self.outage("postgres", self.args.pg_outage)

    def run(self) -> None:
        self.phase("warm-up", self.warm_up)
        self.phase("kills", self.kill_phase)
        self.phase("settle after kills", lambda: self.wait(self.args.settle))
        self.phase("Redis down", lambda: self.outage("redis", self.args.redis_outage))
        self.phase("after Redis", lambda: self.wait(self.args.settle))
        self.phase("PostgreSQL down", self.postgres_phase)
        self.phase("after PostgreSQL", lambda: self.wait(self.args.after))
        if "store" not in self.proxies:
            return
        self.phase("file store down", lambda: self.outage("store", self.args.store_outage))
        self.phase("after file store", lambda: self.wait(self.args.after))


def drain(server: Server, pool: CeleryPool, timeout: float) -> float:
    """Until no outbox row is pending or running at all (backing-off ones included); returns the wait."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        pool.supervise()
        states = outbox_states(server)
        if not states.get("pending") and not states.get("running"):
            break
        time.sleep(0.5)
    return time.monotonic() - started


def catch_up(server: Server, window: dict[str, Any], connector: str | None = None) -> dict[str, Any]:
    """The rows (of `connector`) decided during a phase: how many, how many delivered, the first and
    the last one when, counted from the phase's end."""
    start, end = (datetime.fromtimestamp(window[k], UTC) for k in ("start", "end"))
    query = select(OutboxMessage.state, OutboxMessage.finished_at).where(OutboxMessage.created_at.between(start, end))
    if connector is not None:
        query = query.where(OutboxMessage.connector == connector)
    with server.ctx.sessions() as session:
        rows = list(session.execute(query))
    finished = [at.timestamp() for state, at in rows if state == "done" and at is not None]
    return {"rows": len(rows), "done": sum(state == "done" for state, _at in rows),
            "first_done_after_restore_s": round(min(finished) - window["end"], 1) if finished else None,
            "last_done_after_restore_s": round(max(finished) - window["end"], 1) if finished else None}


@contextmanager
def bucket(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    """The installation's file store in a bucket of an S3-compatible server on loopback (moto's, a test
    extra), as its settings; {} (the folder store) when the drill has no store outage."""
    if args.store_outage <= 0:
        yield {}
        return
    from tests.s3_server import CREDENTIALS, start_server, stop_server

    # boto3's chain, here and in every process the installation starts; as before once the drill is over
    with mock.patch.dict(os.environ, CREDENTIALS):
        server = start_server()
        try:
            yield {"MOTCUA_FILE_STORE": f"s3://{server.new_bucket()}/files", "MOTCUA_S3_ENDPOINT_URL": server.endpoint}
        finally:
            stop_server(server)


def app_env(args: argparse.Namespace, proxies: dict[str, TcpProxy]) -> Any:
    def env(url: str) -> dict[str, str]:
        db = make_url(url)
        if not args.restart_postgres:
            db = db.set(host="127.0.0.1", port=proxies["postgres"].port)
        redis = make_url(args.redis_url).set(host="127.0.0.1", port=proxies["redis"].port)
        store = {"MOTCUA_S3_ENDPOINT_URL": f"http://127.0.0.1:{proxies['store'].port}"} if "store" in proxies else {}
        return {**store, "MOTCUA_DATABASE_URL": db.render_as_string(hide_password=False),
                "MOTCUA_REDIS_URL": redis.render_as_string(hide_password=False),
                "MOTCUA_OUTBOX_LEASE_SECONDS": str(args.lease), "MOTCUA_OUTBOX_BACKOFF_BASE": "0.5",
                "MOTCUA_OUTBOX_BACKOFF_CAP": "5",
                # the tracking limit stays in the path (it counts in Redis), high enough for one address
                "MOTCUA_TRACKING_RATE_LIMIT": "100000/minute"}
    return env


def run(args: argparse.Namespace) -> dict[str, Any]:
    pg, rd = make_url(args.database_url), make_url(args.redis_url)
    proxies = {"postgres": TcpProxy((pg.host or "127.0.0.1", pg.port or 5432)),
               "redis": TcpProxy((rd.host or "127.0.0.1", rd.port or 6379))}
    try:
        with bucket(args) as store:
            if store:
                endpoint = urlsplit(store["MOTCUA_S3_ENDPOINT_URL"])
                proxies["store"] = TcpProxy((endpoint.hostname, endpoint.port))
            with serve(database_url=args.database_url, redis_url=args.redis_url, web_workers=args.web_workers,
                       celery_workers=0, app_env=app_env(args, proxies), settings_env=store) as server, \
                    tempfile.TemporaryDirectory(prefix="motcua-chaos-") as tmp:
                return drill(args, server, proxies, Path(tmp))
    finally:
        for proxy in proxies.values():
            proxy.close()


def drill(args: argparse.Namespace, server: Server, proxies: dict[str, TcpProxy], tmp: Path) -> dict[str, Any]:
    info = machine_info(server)
    pool = CeleryPool(server.env, server.extra["queue"], server.logs, args.celery_workers)
    try:
        pool.start()
        server.smtp.delay_every(args.smtp_delay)
        plan = {**plan_for(server, clients=args.clients, mix=args.mix, warmup=0, duration=None, seed=args.seed),
                "stop_file": str(tmp / "stop"), "think": args.think,
                "unavailable_messages": {"ServiceUnavailable": UNAVAILABLE,
                                         StoreUnavailable.__name__: StoreUnavailable.message_vi}}
        print(f"serving on {server.url}; chaos drill running ...", file=sys.stderr, flush=True)
        executor, future = chaos_load.start(plan)
        faults = Drill(args, server, pool, proxies)
        try:
            faults.run()
        finally:
            (tmp / "stop").touch()
            load = future.result(timeout=180)
            executor.shutdown()
        waited = drain(server, pool, args.drain)
        server.smtp.delay_every(0)
        checks = chaos_checks.run_all(server.ctx, server.smtp, load)
        return {"benchmark": "chaos", "machine": info, "args": public_args(args), "kills": dict(faults.kills),
                "restarts": dict(pool.restarts), "notes": faults.notes,
                "phases": phase_figures(faults.phases, load["answers"]),
                "answers": dict(Counter(f"{e} {s}" for _t, e, s in load["answers"])),
                "unavailable": load["unavailable"], "ambiguous": load["ambiguous"], "retried": load["retried"],
                "retries_left": load["retries_left"], "samples": load["samples"],
                "damaged_downloads": load["damaged_downloads"],
                "redis_catch_up": catch_up(server, phase_named(faults.phases, "Redis down")),
                "store_catch_up": (catch_up(server, phase_named(faults.phases, "file store down"), DOCUMENTS)
                                   if "store" in proxies else None),
                "outbox": outbox_states(server), "drain_s": round(waited, 1),
                "incidents": incidents(server), "unhandled_in_logs": unhandled(server), "checks": checks}
    finally:
        pool.stop()
        forget_unacked(args.redis_url, server.extra["queue"])


def phase_named(phases: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(p for p in phases if p["name"] == name)


def forget_unacked(redis_url: str, queue: str) -> int:
    """Kombu keeps the messages a killed worker had taken in `unacked` (shared by every queue of the
    Redis database) to restore them an hour later; ours name a queue that is gone with the run."""
    client = redis.Redis.from_url(redis_url)
    ours = [tag for tag, raw in client.hgetall("unacked").items() if json.loads(raw)[-1] == queue]
    if ours:
        client.hdel("unacked", *ours)
        client.zrem("unacked_index", *ours)
    return len(ours)


def incidents(server: Server) -> list[str]:
    with server.ctx.sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.state == "incident").order_by(OutboxMessage.id))
        return [f"outbox {r.id} {r.connector}/{r.operation} ({r.idempotency_key}) after {r.attempts} attempt(s): "
                f"{(r.last_error or '')[:400]}" for r in rows]


def unhandled(server: Server) -> int:
    """Tracebacks of unhandled errors the web workers logged (a 500 the load may not have seen)."""
    log = server.logs / "gunicorn.log"
    return log.read_text(errors="replace").count("unhandled error") if log.exists() else 0


def public_args(args: argparse.Namespace) -> dict[str, Any]:
    shown = {k: v for k, v in vars(args).items() if k not in ("json", "database_url", "redis_url")}
    shown["mix"] = ",".join(f"{k}={v:g}" for k, v in args.mix.items())
    return shown


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=ADMIN_URL, help="admin URL; a scratch database is made and dropped")
    p.add_argument("--redis-url", default=REDIS_URL, help="Redis reached through a proxy the drill cuts")
    p.add_argument("--web-workers", type=int, default=3, help="gunicorn sync workers")
    p.add_argument("--celery-workers", type=int, default=2, help="Celery worker processes (--pool=solo)")
    p.add_argument("--clients", type=int, default=3,
                   help="closed-loop clients (more makes outbox rows faster than 2 workers deliver them under kills)")
    p.add_argument("--think", type=float, default=0.4,
                   help="seconds each client pauses between actions (keeps the outbox's backlog drainable)")
    p.add_argument("--mix", type=parse_mix, default=parse_mix("submit=1,inbox=2,complete=4,track=1,download=2"))
    p.add_argument("--kills", type=int, default=100, help="SIGKILLs in all")
    p.add_argument("--web-share", type=float, default=0.5, help="share of the kills aimed at gunicorn workers")
    p.add_argument("--kill-interval", type=float, default=2.0, help="mean seconds between kills")
    p.add_argument("--call-wait", type=float, default=10.0, help="seconds to wait for a worker inside a call")
    p.add_argument("--smtp-delay", type=float, default=0.3, help="seconds the SMTP simulator holds each reply")
    p.add_argument("--lease", type=float, default=15.0, help="outbox lease seconds (a killed call's retry)")
    p.add_argument("--redis-outage", type=float, default=60.0, help="seconds Redis is unreachable")
    p.add_argument("--pg-outage", type=float, default=10.0, help="seconds PostgreSQL is unreachable")
    p.add_argument("--store-outage", type=float, default=20.0,
                   help="seconds the file store (a bucket on loopback) is unreachable; 0: files in a folder, no outage")
    p.add_argument("--restart-postgres", action="store_true",
                   help="restart the real PostgreSQL server (pg_ctlcluster) instead of cutting the proxy")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds of load before the first kill")
    p.add_argument("--settle", type=float, default=10.0, help="seconds of load between the phases")
    p.add_argument("--after", type=float, default=20.0, help="seconds of load after PostgreSQL is back")
    p.add_argument("--drain", type=float, default=300.0, help="seconds to wait for the outbox to drain")
    p.add_argument("--seed", type=int, default=9, help="random seed of the clients and the kills")
    p.add_argument("--json", metavar="PATH", nargs="?", const="-",
                   help="also write the results as JSON to PATH (`--json` alone: JSON on stdout, no text)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `kill` as on Ctrl-C
    result = run(args)
    result["verdicts"] = verdicts(result)
    result["ok"] = all(v["ok"] for v in result["verdicts"].values())
    text = json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n"
    if args.json == "-":
        sys.stdout.write(text)
    else:
        print(render(result))
        if args.json:
            Path(args.json).write_text(text, encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
