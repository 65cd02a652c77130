"""Outbox throughput and latency: Celery worker processes executing e-mail calls against the SMTP simulator.

Rows are written the way the engine writes them: `OutboxMessage` rows (connector `email`, operation
`send`, one unique idempotency key each) inserted and committed in a transaction, then handed to the
outbox listener `engine.jobs.enqueue_after_commit` (one `motcua.deliver` message per row on Redis),
exactly what a task completion does after its commit. `celery -A engine.jobs worker` processes on a
scratch PostgreSQL database claim each row with a lease, call the real e-mail connector (smtplib) against
the SMTP simulator on loopback, and record the success; the simulator timestamps every message on
arrival (`on_message`).

For each worker count (default 1, 2, 4; `--pool=solo` processes, or one `--pool=prefork` process with
`--concurrency=N`):
* throughput: a burst of --calls rows committed in batches of --batch as fast as possible;
  calls/s = calls / (last arrival - first commit);
* latency commit -> connector call (arrival at the simulator), median and p95, at a light paced load
  (--paced rows, one commit each, --rate per second) and, for reference, inside the burst (queueing).

Usage: .venv/bin/python bench/outbox.py [--workers 1,2,4] [--calls 1000] [--json out.json]
A scratch database is created on the --database-url server and dropped at the end, the worker
processes are stopped and the Redis queue deleted, even on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/outbox.py` from anywhere

from bench.common import ADMIN_URL, bench_database, publish  # noqa: E402
from engine.config import ENV_PREFIX, PROJECT_ROOT, Settings  # noqa: E402
from engine.context import EngineContext, build_context
from engine.db import transaction, upgrade
from engine.jobs import app as celery_app
from engine.jobs import configure, enqueue_after_commit
from engine.models import OutboxMessage
from integrations.notify.smtp_simulator import Delivery, SmtpSimulator

REDIS_URL = "redis://127.0.0.1:6379/14"
SUBJECT = "Hồ sơ H99.21-251130-{n:04d} đã được tiếp nhận"
TEXT = ("Kính gửi Phạm Thị Công Dân,\n\nBộ phận Một cửa UBND phường Hòa Bình đã tiếp nhận hồ sơ đăng ký hộ kinh "
        "doanh của Ông/Bà. Ngày hẹn trả kết quả: 03/12/2026. Tra cứu tình trạng hồ sơ tại "
        "http://127.0.0.1:5000/tra-cuu với mã hồ sơ và số giấy tờ tùy thân.\n\nTrân trọng.")


class Arrivals:
    """The simulator's on_message hook: arrival time (time.time()) per idempotency key."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._cond = threading.Condition()

    def __call__(self, delivery: Delivery) -> None:
        now = time.time()
        with self._cond:
            self.at[delivery.message["X-Idempotency-Key"]] = now
            self._cond.notify_all()

    def wait(self, keys: list[str], timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: all(k in self.at for k in keys), timeout):
                missing = sum(k not in self.at for k in keys)
                raise TimeoutError(f"{missing} of {len(keys)} calls did not reach the simulator in {timeout:g}s")


class Workers:
    """Celery worker processes, each in its own process group (stopped together with its children)."""

    def __init__(self, env: dict[str, str], queue: str, log_dir: Path) -> None:
        self.env, self.queue, self.log_dir = env, queue, log_dir
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, count: int, pool: str) -> None:
        specs = ([("solo", 1)] * count) if pool == "solo" else [("prefork", count)]
        for pool_name, concurrency in specs:
            n = len(self.processes)
            log = self.log_dir / f"worker-{n}.log"
            with log.open("w") as out:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "engine.jobs", "worker", f"--pool={pool_name}",
                     f"--concurrency={concurrency}", "-Q", self.queue, f"--hostname=bench{n}-{uuid.uuid4().hex[:6]}@%h",
                     "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                     # the calls a worker queues itself (a resumed workflow's next ones) go to this queue too
                     "--", "worker_enable_remote_control=false", f"task_default_queue={self.queue}"],
                    env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, start_new_session=True))
            self.logs.append(log)
        deadline = time.monotonic() + 60
        for process, log in zip(self.processes, self.logs, strict=True):
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker processes and of their children (prefork) so far."""
        total = 0.0
        for process in self.processes:
            pids = [process.pid]
            with suppress(OSError):
                pids += [int(p) for p in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
            for pid in pids:
                with suppress(OSError, IndexError, ValueError):
                    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        return total

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            with suppress(ProcessLookupError):  # whatever is left in its group (prefork children)
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        self.processes, self.logs = [], []


class Producer:
    """Commits outbox rows and notifies the listener, as the engine does after a completion's commit."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.serial = 0
        self.committed: dict[str, float] = {}

    def commit(self, count: int) -> list[str]:
        keys = [f"bench:{uuid.uuid4().hex[:12]}:{self.serial + i}" for i in range(count)]
        now = datetime.now(UTC)
        with transaction(self.ctx.sessions) as session:
            rows = [OutboxMessage(dossier_id=None, task_id=None, connector="email", operation="send",
                                  payload={"to": "congdan@example.vn", "subject": SUBJECT.format(n=self.serial + i),
                                           "text": TEXT},
                                  idempotency_key=key, waits=False, state="pending", attempts=0,
                                  next_attempt_at=now, created_at=now) for i, key in enumerate(keys)]
            session.add_all(rows)
            session.flush()
        committed = time.time()
        self.serial += count
        self.committed.update(dict.fromkeys(keys, committed))
        self.ctx.notify_outbox(rows)
        return keys

    def wait_done(self, expected: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self.ctx.sessions() as session:
                done = session.scalar(select(func.count()).where(OutboxMessage.state == "done"))
            if done >= expected:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {done} of {expected} outbox rows recorded done within {timeout:g}s")
            time.sleep(0.2)

    def reset(self) -> None:
        with transaction(self.ctx.sessions) as session:
            session.execute(text("DELETE FROM outbox"))


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat (0, 0 elsewhere)."""
    try:
        fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return (sum(fields) - idle) / tick, sum(fields) / tick


def latency_ms(keys: list[str], producer: Producer, arrivals: Arrivals) -> dict[str, float]:
    values = sorted((arrivals.at[k] - producer.committed[k]) * 1000 for k in keys)
    return {"n": len(values), "median": statistics.median(values),
            "p95": statistics.quantiles(values, n=20, method="inclusive")[18], "max": values[-1]}


def measure(count: int, args: argparse.Namespace, workers: Workers, producer: Producer,
            arrivals: Arrivals) -> dict[str, Any]:
    producer.reset()
    workers.start(count, args.pool)
    try:
        warmup = producer.commit(args.warmup * count)  # every process connects, builds its context
        arrivals.wait(warmup, 60)
        time.sleep(0.5)

        burst: list[str] = []
        cpu_before, workers_before = machine_cpu(), workers.cpu_seconds()
        first_commit = time.time()
        for _ in range(0, args.calls, args.batch):
            burst += producer.commit(min(args.batch, args.calls - len(burst)))
        produced = time.time()
        arrivals.wait(burst, max(60.0, args.calls / 5))
        last = max(arrivals.at[k] for k in burst)
        cpu_after, workers_after = machine_cpu(), workers.cpu_seconds()
        producer.wait_done(len(warmup) + len(burst), 60)

        paced: list[str] = []
        start = time.monotonic()
        for i in range(args.paced):
            time.sleep(max(0.0, start + i / args.rate - time.monotonic()))
            paced += producer.commit(1)
        arrivals.wait(paced, 60)
        producer.wait_done(len(warmup) + len(burst) + len(paced), 60)
    finally:
        workers.stop()
    return {"workers": count, "calls": len(burst), "calls_per_s": len(burst) / (last - first_commit),
            "seconds": last - first_commit, "produce_seconds": produced - first_commit,
            "machine_busy_pct": 100 * (cpu_after[0] - cpu_before[0]) / max(1e-9, cpu_after[1] - cpu_before[1]),
            "worker_cpu_ms_per_call": 1000 * (workers_after - workers_before) / len(burst),
            "burst_latency_ms": latency_ms(burst, producer, arrivals),
            "paced_latency_ms": latency_ms(paced, producer, arrivals)}


def machine_info(ctx: EngineContext, redis_url: str) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    git = ["git", "-C", str(PROJECT_ROOT), "--no-optional-locks"]  # read-only queries
    try:
        revision = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
        dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", "engine", "integrations"]).returncode != 0
    except OSError:
        revision, dirty = "unknown", False
    with ctx.db.connect() as conn:
        postgresql = conn.execute(text("SHOW server_version")).scalar_one()
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "cpu": next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), ""),
            "platform": platform.platform(), "python": platform.python_version(), "postgresql": postgresql,
            "redis": redis.Redis.from_url(redis_url).info("server")["redis_version"],
            "celery": version("celery"), "sqlalchemy": version("SQLAlchemy"),
            "revision": revision.strip() + (" + uncommitted engine/integrations changes" if dirty else "")}


def render(result: dict[str, Any]) -> str:
    m, a = result["machine"], result["args"]
    pool = ("--pool=solo worker processes" if a["pool"] == "solo"
            else "one --pool=prefork worker process with --concurrency=N")
    row = "{:>8}{:>10}{:>10}{:>10}{:>8}{:>12}  {:>9}{:>9}  {:>9}{:>9}{:>9}"
    lines = [
        f"outbox  {m['date']}  (motcua {m['revision']})",
        f"machine: nproc {m['nproc']} ({m['cpu']}), {m['platform']}",
        f"         Python {m['python']}, PostgreSQL {m['postgresql']}, Redis {m['redis']}, Celery {m['celery']}, "
        f"SQLAlchemy {m['sqlalchemy']}",
        f"workload: email/send through the real connector to the SMTP simulator on loopback; {pool}, "
        "prefetch 1, acks late, no beat",
        f"          burst: {a['calls']} calls committed in batches of {a['batch']}, then enqueued after each commit; "
        f"paced: {a['paced']} calls, one commit each, at {a['rate']:g}/s; {a['warmup']} warm-up calls per worker",
        "",
        f"{'':58}  {'burst latency ms':>18}  {'paced latency ms':>27}",
        row.format("workers", "calls/s", "burst s", "commit s", "CPU %", "worker ms", "median", "p95", "median",
                   "p95", "max"),
    ]
    for r in result["runs"]:
        b, p = r["burst_latency_ms"], r["paced_latency_ms"]
        lines.append(row.format(r["workers"], f"{r['calls_per_s']:.1f}", f"{r['seconds']:.2f}",
                                f"{r['produce_seconds']:.2f}", f"{r['machine_busy_pct']:.0f}",
                                f"{r['worker_cpu_ms_per_call']:.1f}",
                                f"{b['median']:.0f}", f"{b['p95']:.0f}", f"{p['median']:.1f}", f"{p['p95']:.1f}",
                                f"{p['max']:.1f}"))
    lines += ["", "calls/s = burst calls / (last arrival - first commit); commit s = time to commit and enqueue "
              "the burst;", "CPU % = whole machine busy during the burst (all CPUs, every process); worker ms = CPU "
              "of the worker processes per call;", "latency = arrival at the simulator - commit returned (in the burst it is mostly "
              "queueing behind the burst)"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    queue = f"motcua_bench_outbox_{uuid.uuid4().hex[:8]}"
    arrivals = Arrivals()
    with bench_database(args.database_url, queue, keep=False) as url, tempfile.TemporaryDirectory(prefix="motcua-bench-") as tmp, \
            SmtpSimulator(on_message=arrivals) as smtp:
        # every call on the run's own queue (no per-connector pools: only e-mail is measured)
        settings = Settings(database_url=url, redis_url=args.redis_url, worker="celery", data_dir=Path(tmp),
                            processes_dir=PROJECT_ROOT / "processes", outbox_queues={"*": queue},
                            connectors={"email": {"host": "127.0.0.1", "port": smtp.port,
                                                  "sender": "motcua@ubnd.demo.gov.vn", "timeout": 10}})
        ctx = build_context(settings)
        upgrade(ctx.db)
        configure(settings)  # before the first publish: the app caches its connection pool
        celery_app.conf.task_default_queue = queue
        ctx.outbox_listeners.append(enqueue_after_commit)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
        env.update({f"MOTCUA_{prefix}_ENABLED": "0" for cid, prefix in ENV_PREFIX.items() if cid != "email"})
        env.update({"MOTCUA_DATABASE_URL": url, "MOTCUA_REDIS_URL": args.redis_url, "MOTCUA_WORKER": "celery",
                    "MOTCUA_DATA_DIR": tmp, "MOTCUA_SMTP_HOST": "127.0.0.1", "MOTCUA_SMTP_PORT": str(smtp.port),
                    "MOTCUA_OUTBOX_QUEUES": f"*={queue}"})
        workers = Workers(env, queue, Path(tmp))
        try:
            info = machine_info(ctx, args.redis_url)
            producer = Producer(ctx)
            runs = []
            for count in args.workers:
                runs.append(measure(count, args, workers, producer, arrivals))
                print(f"  {count} worker(s): {runs[-1]['calls_per_s']:.1f} calls/s", file=sys.stderr, flush=True)
            assert smtp.duplicates == 0, "a call reached the simulator twice"
            return {"benchmark": "outbox", "machine": info, "args": {k: v for k, v in vars(args).items()
                                                                      if k not in ("json", "database_url")},
                    "runs": runs}
        finally:
            workers.stop()
            with suppress(Exception):
                celery_app.pool.force_close_all()
            with suppress(Exception):
                client = redis.Redis.from_url(args.redis_url)
                client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
            ctx.db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=ADMIN_URL,
                        help="admin URL of the PostgreSQL server; a scratch database is created and dropped there")
    parser.add_argument("--redis-url", default=REDIS_URL,
                        help="broker; the benchmark uses its own queue there and deletes it at the end")
    parser.add_argument("--workers", default="1,2,4", type=lambda s: [int(n) for n in s.split(",")],
                        help="worker counts to measure, comma-separated")
    parser.add_argument("--pool", choices=("solo", "prefork"), default="solo",
                        help="N --pool=solo processes, or one --pool=prefork process with --concurrency=N")
    parser.add_argument("--calls", type=int, default=1000, help="calls in the throughput burst")
    parser.add_argument("--batch", type=int, default=20, help="rows per commit in the burst")
    parser.add_argument("--paced", type=int, default=200, help="calls for the latency run, one commit each")
    parser.add_argument("--rate", type=float, default=20.0, help="commits per second in the latency run")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls per worker first")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `kill` as on Ctrl-C
    result = run(args)
    publish(render(result), result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
