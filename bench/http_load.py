"""HTTP throughput: gunicorn + Celery on PostgreSQL under a mixed REST load from a second process.

    .venv/bin/python bench/http_load.py                               # CPUs + 1 sync workers, 60 s
    .venv/bin/python bench/http_load.py --no-claim --celery-workers 0 --drain 0   # the issue's mix, web only
    .venv/bin/python bench/http_load.py --clients 20 --duration 120 --json /tmp/http_load.json
    .venv/bin/python bench/http_load.py --worker-class gthread --threads 1   # keep-alive connections

bench/serve.py starts the installation (scratch database, production-mode gunicorn serving
`web:create_app()`, Celery workers, the SMTP simulator). A closed-loop generator (asyncio with
bench/lean_http.py's keep-alive client, or aiohttp's with --client aiohttp, in a process of its own so
that its CPU is its own) runs --clients clients; each repeats, with no think
time, an action drawn by the --mix weights:

* submit:   a citizen submits a household-business dossier (POST /api/v1/dossiers, 201);
* inbox:    an official of the desk, the specialists or the leaders reads the first page of their
            inbox (GET /api/v1/tasks, 50 tasks); tasks not seen before join the work queue of their role;
* complete: an official takes the oldest task of the longest queue, claims it and completes it with
            ~1 KB of form data (POST .../claim, POST .../complete); with no work queued it reads an inbox
            instead, so the load finds the work it created. With --no-claim the official completes the
            task without claiming it first, as the task page allows (the completion assigns it): the
            issue's mix names submissions, inbox reads, completions and tracking, no claims;
* track:    anyone tracks a dossier submitted in this run by code and phone (GET /api/v1/track/{code}).

After --warmup seconds (not counted) it measures --duration seconds: per endpoint the requests, the
unexpected statuses, requests/s and p50/p95/p99 latency; the CPU of the machine (/proc/stat) and of each
process group. Then it checks what the server did: every acknowledged submission exists exactly once,
no task was completed twice (task_completed events), and the outbox drained.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import random
import signal
import statistics
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import git_revision, publish  # noqa: E402
from bench.engine_overhead import HKD, PATH, start_form  # noqa: E402
from bench.lean_http import LeanHttp  # noqa: E402
from bench.serve import (  # noqa: E402
    ADMIN_URL,
    OFFICIAL_ROLES,
    REDIS_URL,
    Server,
    check,
    due_or_running,
    render_check,
    serve,
)
from engine.models import OutboxMessage  # noqa: E402

ACTIONS = ("submit", "inbox", "complete", "track", "download")
DEFAULT_MIX = "submit=1,inbox=2,complete=4,track=2"
#: the endpoints as reported (an action's requests; `complete` is two of them)
ENDPOINTS = {"submit": "POST /dossiers", "inbox": "GET /tasks", "claim": "POST /tasks/{id}/claim",
             "complete": "POST /tasks/{id}/complete", "track": "GET /track/{code}",
             "documents": "GET /dossiers/{code}/attachments", "download": "GET /dossiers/{code}/attachments/{id}"}
FORMS = {bpmn_id: data for bpmn_id, _user, data in PATH}
TARGET_COMPLETIONS_PER_S = 200.0
TARGET_INBOX_P95_MS = 100.0
#: a run that stops after N completions gives up when none has been acknowledged for this long
STALL_SECONDS = 60.0


# -- the generator (runs in its own process) ---------------------------------------------------


def process_cpu(pid: int) -> float:
    """utime + stime of one process, seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the machine since boot, from /proc/stat."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


def cpu_snapshot(groups: dict[str, list[int]]) -> dict[str, Any]:
    """Machine and per-group CPU seconds; a group's pids include their children (gunicorn workers)."""
    from bench.serve import children

    snap: dict[str, Any] = {"machine": machine_cpu(), "at": time.perf_counter()}
    for name, pids in groups.items():
        snap[name] = sum(process_cpu(p) + sum(process_cpu(c) for c in children(p)) for p in pids)
    return snap


def cpu_usage(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Busy % of the whole machine, and CPUs used (CPU-seconds per second) per group and the rest."""
    seconds = after["at"] - before["at"]
    busy = after["machine"][0] - before["machine"][0]
    usage = {"machine_busy_pct": 100 * busy / max(1e-9, after["machine"][1] - before["machine"][1]),
             "machine_cpus": busy / seconds}
    for name in before:
        if name not in ("machine", "at"):
            usage[name] = (after[name] - before[name]) / seconds
    usage["rest"] = usage["machine_cpus"] - sum(v for k, v in usage.items() if k not in ("machine_busy_pct",
                                                                                       "machine_cpus"))
    return usage


class Load:
    """Shared state of the clients of one run (one event loop: no locks)."""

    def __init__(self, plan: dict[str, Any], session: Any) -> None:
        self.plan, self.session = plan, session  # LeanHttp, or AiohttpClient with its interface
        self.tokens: dict[str, list[str]] = plan["tokens"]
        self.citizens: list[dict[str, str]] = plan["citizens"]
        self.names = [a for a in ACTIONS if plan["mix"].get(a, 0) > 0]
        self.weights = [plan["mix"][a] for a in self.names]
        self.queues: dict[str, deque[tuple[str, str]]] = {role: deque() for role in OFFICIAL_ROLES}
        self.known: set[str] = set()
        self.codes: dict[str, str] = {}  # acknowledged submissions: code -> tracking secret (phone)
        self.owners: dict[str, str] = {}  # code -> the submitting citizen's token
        self.damaged_downloads = 0  # 200 answers whose bytes do not hash to the listed sha256
        self.code_list: list[str] = []
        self.completed: list[str] = []  # task ids whose completion was acknowledged (200)
        self.inbox_turn = 0
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter] = defaultdict(Counter)
        self.samples: dict[str, list[str]] = defaultdict(list)
        self.unknown_tasks: Counter = Counter()
        start = time.perf_counter()
        self.t0 = start + plan["warmup"]
        self.t1 = self.t0 + plan["duration"] if plan.get("duration") else float("inf")
        self.target = plan.get("completions")
        self.parent = os.getppid()
        self.last_at = self.t0
        self.progress_at = start  # the last acknowledged completion (a stalled count run gives up)
        self.stalled = False

    def stopping(self) -> bool:
        if os.getppid() != self.parent:  # the harness is gone: stop hammering a server nobody watches
            return True
        if self.target is not None:
            if time.perf_counter() - self.progress_at > STALL_SECONDS:
                self.stalled = True
            return self.stalled or len(self.completed) >= self.target
        return time.perf_counter() >= self.t1

    async def call(self, endpoint: str, method: str, path: str, token: str | None, expect: int,
                   raw: bool = False, **kw: Any) -> tuple[int, Any]:
        """(status, the JSON answer decoded, or its bytes if `raw`; None unless the status is `expect`)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.perf_counter()
        try:
            status, body = await self.session.request(method, "/api/v1" + path, headers=headers, **kw)
        except Exception as exc:  # noqa: BLE001 - a refused or reset connection is a failed request
            status, body = 0, repr(exc).encode()
        ended = time.perf_counter()
        if started >= self.t0 and ended <= self.t1:
            self.latency[endpoint].append((ended - started) * 1000)
            self.last_at = max(self.last_at, ended)
            if status != expect:
                self.errors[endpoint][status] += 1
                if len(self.samples[endpoint]) < 3:
                    self.samples[endpoint].append(f"{status}: {body[:300].decode(errors='replace')}")
        return status, answer(status, expect, body, raw)

    async def submit(self, rng: random.Random) -> None:
        person = rng.choice(self.citizens)
        applicant = {"name": person["name"], "phone": person["phone"], "id_number": person["id_number"],
                     "email": person["email"], "kind": 1}
        status, body = await self.call("submit", "POST", "/dossiers", person["token"], 201,
                                       json={"procedure": HKD, "applicant": applicant, "data": self.plan["form"]})
        if body:
            self.codes[body["code"]] = person["phone"]
            self.owners[body["code"]] = person["token"]
            self.code_list.append(body["code"])

    async def inbox(self, rng: random.Random, role: str | None = None) -> None:
        if role is None:
            role = OFFICIAL_ROLES[self.inbox_turn % len(OFFICIAL_ROLES)]
            self.inbox_turn += 1
        _status, tasks = await self.call("inbox", "GET", "/tasks", rng.choice(self.tokens[role]), 200)
        for task in tasks or ():
            if task["id"] in self.known or task["assignee_id"] is not None or task["role"] not in self.queues:
                continue
            self.known.add(task["id"])
            if task["bpmn_id"] in FORMS:
                self.queues[task["role"]].append((task["id"], task["bpmn_id"]))
            else:
                self.unknown_tasks[task["bpmn_id"]] += 1

    async def complete(self, rng: random.Random) -> None:
        role = max(self.queues, key=lambda r: len(self.queues[r]))
        if not self.queues[role]:
            return await self.inbox(rng)
        task_id, bpmn_id = self.queues[role].popleft()
        token = rng.choice(self.tokens[role])
        if self.plan.get("claim", True):
            status, _ = await self.call("claim", "POST", f"/tasks/{task_id}/claim", token, 200)
            if status != 200:
                return
        status, _ = await self.call("complete", "POST", f"/tasks/{task_id}/complete", token, 200,
                                    json={"data": FORMS[bpmn_id]})
        if status == 200:
            self.completed.append(task_id)
            self.progress_at = time.perf_counter()

    async def track(self, rng: random.Random) -> None:
        if not self.code_list:
            return await self.submit(rng)
        code = rng.choice(self.code_list)
        await self.call("track", "GET", f"/track/{code}", None, 200, params={"secret": self.codes[code]})

    async def download(self, rng: random.Random) -> None:
        """A citizen opens one of their dossier's documents (the receipt, the result): the file store's
        share of the load. The bytes must hash to the digest the listing gives."""
        if not self.code_list:
            return await self.submit(rng)
        code = rng.choice(self.code_list)
        token = self.owners[code]
        _status, listing = await self.call("documents", "GET", f"/dossiers/{code}/attachments", token, 200)
        if listing:
            item = rng.choice(listing)
            status, data = await self.call("download", "GET", f"/dossiers/{code}/attachments/{item['id']}", token,
                                           200, raw=True)
            if status == 200 and hashlib.sha256(data).hexdigest() != item["sha256"]:
                self.damaged_downloads += 1

    async def client(self, n: int) -> None:
        rng = random.Random(self.plan["seed"] * 1000 + n)
        while not self.stopping():
            await getattr(self, rng.choices(self.names, self.weights)[0])(rng)


def answer(status: int, expect: int, body: bytes, raw: bool) -> Any:
    if status != expect or not body:
        return None
    return body if raw else orjson.loads(body)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    if len(values) == 1:
        return dict.fromkeys(("p50", "p95", "p99"), values[0])
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98]}


class AiohttpClient:
    """aiohttp's client with LeanHttp's `request` (the generator's former client, for comparison)."""

    def __init__(self, origin: str, clients: int) -> None:
        import aiohttp

        self.origin = origin
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients),
                                             timeout=aiohttp.ClientTimeout(total=60))

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None, json: Any = None,
                      params: dict[str, str] | None = None) -> tuple[int, bytes]:
        # the body as LeanHttp sends it: UTF-8 JSON by orjson (aiohttp's json= would escape Vietnamese)
        body = orjson.dumps(json) if json is not None else None
        headers = {**(headers or {}), **({"Content-Type": "application/json"} if body is not None else {})}
        async with self.session.request(method, self.origin + path, headers=headers, data=body,
                                        params=params) as response:
            return response.status, await response.read()

    async def aclose(self) -> None:
        await self.session.close()


@asynccontextmanager
async def http_client(plan: dict[str, Any]) -> AsyncIterator[Any]:
    aiohttp = plan.get("client", "lean") == "aiohttp"
    client = AiohttpClient(plan["url"], plan["clients"]) if aiohttp else LeanHttp(plan["url"])
    try:
        yield client
    finally:
        await client.aclose()


async def _generate(plan: dict[str, Any]) -> dict[str, Any]:
    async with http_client(plan) as session:
        load = Load(plan, session)
        before: dict[str, Any] = {}

        async def watch() -> None:  # CPU of the measured window only
            await asyncio.sleep(max(0.0, load.t0 - time.perf_counter()))
            before.update(cpu_snapshot(plan["pids"]))

        watcher = asyncio.create_task(watch())
        await asyncio.gather(*(load.client(n) for n in range(plan["clients"])))
        await watcher
        after = cpu_snapshot(plan["pids"])
    seconds = (min(load.t1, after["at"]) if load.target is None else load.last_at) - load.t0
    endpoints = {name: {"requests": len(load.latency[name]), "errors": sum(load.errors[name].values()),
                        "statuses": {str(k): v for k, v in load.errors[name].items()},
                        "error_samples": load.samples[name], "per_s": len(load.latency[name]) / seconds,
                        **percentiles(load.latency[name])} for name in ENDPOINTS}
    every = [v for values in load.latency.values() for v in values]
    endpoints["all"] = {"requests": len(every), "errors": sum(e["errors"] for e in endpoints.values()),
                        "per_s": len(every) / seconds, **percentiles(every)}
    return {"seconds": seconds, "endpoints": endpoints, "completions_per_s": endpoints["complete"]["per_s"]
            - endpoints["complete"]["errors"] / seconds, "cpu": cpu_usage(before, after),
            "codes": load.code_list, "completed": load.completed, "unknown_tasks": dict(load.unknown_tasks),
            "damaged_downloads": load.damaged_downloads,
            "stalled": load.stalled,
            "queued_left": {role: len(q) for role, q in load.queues.items()}}


def generate(plan: dict[str, Any]) -> dict[str, Any]:
    """The generator's entry point in its own process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle; we stop with it
    return asyncio.run(_generate(plan))


def plan_for(server: Server, *, clients: int, mix: dict[str, float], warmup: float, duration: float | None,
             completions: int | None = None, seed: int = 8, claim: bool = True,
             client: str = "lean") -> dict[str, Any]:
    citizens = [{"token": c.token, "name": c.name, "phone": c.phone, "id_number": c.id_number, "email": c.email}
                for c in server.citizens]
    return {"url": server.url, "tokens": server.tokens, "citizens": citizens, "clients": clients, "mix": mix,
            "warmup": warmup, "duration": duration, "completions": completions, "seed": seed, "form": start_form(),
            "claim": claim, "client": client,
            "pids": {"web": [server.web_master_pid], "celery": server.celery_pids, "generator": [0]}}


def run_generator(plan: dict[str, Any]) -> dict[str, Any]:
    """Run one load in a fresh process and return its figures."""
    plan = {**plan, "pids": {**plan["pids"]}}
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        pid = pool.submit(os.getpid).result()
        plan["pids"]["generator"] = [pid]
        return pool.submit(generate, plan).result()


# -- the report ---------------------------------------------------------------------------------


def celery_cpu(server: Server) -> float:
    return cpu_snapshot({"celery": server.celery_pids})["celery"]


def outbox_cost(server: Server, cpu_seconds: float, completions: int, states: dict[str, int]) -> dict[str, Any]:
    """What the Celery workers spent from the start of the load until the outbox drained (or the drain
    gave up): CPU seconds, the calls they made by connector and operation, and the CPU per completion.
    `states`: the rows per state after the drain (the consistency check's)."""
    with server.ctx.sessions() as session:
        done = session.execute(select(OutboxMessage.connector, OutboxMessage.operation, func.count())
                               .where(OutboxMessage.state == "done")
                               .group_by(OutboxMessage.connector, OutboxMessage.operation)).all()
        left = session.scalar(select(func.count()).select_from(OutboxMessage).where(due_or_running()))
    calls = sum(n for _c, _o, n in done)
    return {"cpu_s": cpu_seconds, "calls_done": calls, "calls_left": left, "incidents": states.get("incident", 0),
            "by_operation": {f"{connector}/{operation}": n for connector, operation, n in sorted(done)},
            "cpu_ms_per_call": 1000 * cpu_seconds / calls if calls else None,
            "cpu_ms_per_completion": 1000 * cpu_seconds / completions if completions and not left else None}


def machine_info(server: Server) -> dict[str, Any]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    with server.ctx.db.connect() as conn:
        postgresql = conn.execute(text("SHOW server_version")).scalar_one()
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "revision": git_revision(("engine", "web", "integrations")),
            "nproc": len(os.sched_getaffinity(0)),
            "cpu": next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), ""),
            "platform": platform.platform(), "python": platform.python_version(), "postgresql": postgresql,
            **{name.lower(): version(name) for name in ("gunicorn", "celery", "SQLAlchemy", "aiohttp")}}


def describe(server: Server, m: dict[str, Any], celery_workers: int) -> list[str]:
    web = f"{server.web_workers} {server.worker_class} workers" + (
        f" x {server.threads} threads" if server.worker_class == "gthread" else "")
    return [
        f"machine: nproc {m['nproc']} ({m['cpu']}), {m['platform']}",
        f"         Python {m['python']}, PostgreSQL {m['postgresql']}, gunicorn {m['gunicorn']}, Celery "
        f"{m['celery']}, SQLAlchemy {m['sqlalchemy']}, aiohttp {m['aiohttp']}",
        f"server:  gunicorn 'web:create_app()' with {web}, {celery_workers} Celery worker process(es) "
        "(--pool=solo, no beat), MOTCUA_MODE=production, MOTCUA_WORKER=celery, all on loopback",
    ]


def render(result: dict[str, Any]) -> str:
    m, a, r = result["machine"], result["args"], result["load"]
    row = "{:<28}{:>9}{:>8}{:>9}{:>9}{:>9}{:>9}"
    lines = [f"http_load  {m['date']}  (motcua {m['revision']})", *result["describe"],
             f"load:    {a['clients']} closed-loop clients ({a.get('client', 'aiohttp')} HTTP client, own process), "
             f"mix {a['mix']}"
             f"{' (completions without a claim)' if a.get('no_claim') else ''}, "
             f"warm-up {a['warmup']:g} s, measured {r['seconds']:.1f} s", "",
             row.format("endpoint", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms")]
    for name, label in [*ENDPOINTS.items(), ("all", "all")]:
        e = r["endpoints"][name]
        if not e["requests"] and name in ("documents", "download"):  # not in this run's mix
            continue
        lines.append(row.format(label, e["requests"], e["errors"], f"{e['per_s']:.1f}", f"{e['p50']:.1f}",
                                f"{e['p95']:.1f}", f"{e['p99']:.1f}"))
    if r["endpoints"]["download"]["requests"]:
        lines.append(f"downloads whose bytes did not hash to their listed sha256: {r['damaged_downloads']}")
    for name in ENDPOINTS:
        for sample in r["endpoints"][name]["error_samples"]:
            lines.append(f"  {name} error  {sample}")
    inbox_p95 = r["endpoints"]["inbox"]["p95"]
    cpu = r["cpu"]
    lines += ["",
              f"task completions/s {r['completions_per_s']:8.1f}   target >= {TARGET_COMPLETIONS_PER_S:g}   "
              f"{'met' if r['completions_per_s'] >= TARGET_COMPLETIONS_PER_S else 'NOT met'}",
              f"inbox p95 ms       {inbox_p95:8.1f}   target < {TARGET_INBOX_P95_MS:g}    "
              f"{'met' if inbox_p95 < TARGET_INBOX_P95_MS else 'NOT met'}",
              f"CPU: machine {cpu['machine_busy_pct']:.0f}% busy of {m['nproc']} CPUs; CPUs used: gunicorn "
              f"{cpu['web']:.2f}, Celery {cpu['celery']:.2f}, load generator {cpu['generator']:.2f}, rest "
              f"{cpu['rest']:.2f} (PostgreSQL, Redis, anything else running)",
              f"work queued but not done at the end: {r['queued_left']}"
              + (f"; tasks of steps the load does not work: {r['unknown_tasks']}" if r["unknown_tasks"] else ""),
              *render_check(result["consistency"]), *render_outbox_cost(r["outbox_cost"])]
    return "\n".join(lines)


def render_outbox_cost(cost: dict[str, Any]) -> list[str]:
    if not cost["calls_done"]:
        return ["outbox cost: no call made (no Celery worker?)"]
    per_completion = (f"{cost['cpu_ms_per_completion']:.1f} ms of Celery CPU per task completion" if
                      cost["cpu_ms_per_completion"] is not None else
                      f"{cost['calls_left']} calls still pending: per completion unknown (a longer --drain tells)")
    incidents = f" (and {cost['incidents']} that became incidents)" if cost.get("incidents") else ""
    return [f"outbox cost, from the start of the load until drained: {cost['cpu_s']:.1f} Celery CPU-seconds for "
            f"{cost['calls_done']} calls{incidents}, {cost['cpu_ms_per_call']:.1f} ms each; {per_completion}",
            "  calls: " + ", ".join(f"{name} {n}" for name, n in cost["by_operation"].items())]


def parse_mix(text_: str) -> dict[str, float]:
    mix = {}
    for item in text_.split(","):
        name, _, weight = item.partition("=")
        if name.strip() not in ACTIONS or not weight:
            raise argparse.ArgumentTypeError(f"--mix takes {','.join(a + '=W' for a in ACTIONS)}, not {item!r}")
        mix[name.strip()] = float(weight)
    if mix.get("submit", 0) <= 0 and mix.get("track", 0) <= 0:
        raise argparse.ArgumentTypeError("--mix needs submissions (submit or track) to create work")
    return mix


def common_arguments(parser: argparse.ArgumentParser) -> None:
    cpus = os.cpu_count() or 1
    parser.add_argument("--database-url", default=ADMIN_URL,
                        help="admin URL of the PostgreSQL server; a scratch database is created and dropped there")
    parser.add_argument("--redis-url", default=REDIS_URL, help="broker; a queue of its own, deleted at the end")
    # bench/README.md says why: one process per CPU and one more to run while another waits for
    # PostgreSQL; one request at a time per process, as threads of one process take turns on its GIL;
    # sync workers, as gthread's keep-alive connections sometimes pile up on one worker
    parser.add_argument("--web-workers", type=int, default=cpus + 1, help="gunicorn workers (CPUs + 1)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--celery-workers", type=int, default=1, help="Celery worker processes (--pool=solo)")
    parser.add_argument("--clients", type=int, help="concurrent closed-loop clients (default 2 x web workers)")
    parser.add_argument("--mix", type=parse_mix, default=parse_mix(DEFAULT_MIX),
                        help=f"action weights (default {DEFAULT_MIX})")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the outbox to drain")
    parser.add_argument("--seed", type=int, default=8, help="random seed of the clients")
    parser.add_argument("--client", choices=("lean", "aiohttp"), default="lean",
                        help="the generator's HTTP client (bench/lean_http.py, or aiohttp's)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")


def server_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"database_url": args.database_url, "redis_url": args.redis_url, "web_workers": args.web_workers,
            "worker_class": args.worker_class, "threads": args.threads if args.worker_class == "gthread" else 1,
            "celery_workers": args.celery_workers}


def public_args(args: argparse.Namespace) -> dict[str, Any]:
    shown = {k: v for k, v in vars(args).items() if k not in ("json", "database_url", "redis_url")}
    shown["mix"] = ",".join(f"{k}={v:g}" for k, v in args.mix.items())
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser)
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before measuring")
    parser.add_argument("--no-claim", action="store_true",
                        help="complete tasks without claiming them first (the issue's mix: no claims)")
    args = parser.parse_args(argv)
    args.clients = args.clients or 2 * args.web_workers
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `kill` as on Ctrl-C
    with serve(**server_options(args)) as server:
        info = machine_info(server)
        print(f"serving on {server.url}; {args.warmup:g} s warm-up + {args.duration:g} s of load ...",
              file=sys.stderr, flush=True)
        celery_before = celery_cpu(server)
        load = run_generator(plan_for(server, clients=args.clients, mix=args.mix, warmup=args.warmup,
                                      duration=args.duration, seed=args.seed, claim=not args.no_claim,
                                      client=args.client))
        completions = len(load["completed"])
        consistency = check(server, load.pop("codes"), load.pop("completed"), args.drain)
        load["outbox_cost"] = outbox_cost(server, celery_cpu(server) - celery_before, completions,
                                          consistency["outbox"])
        result = {"benchmark": "http_load", "machine": info, "args": public_args(args),
                  "describe": describe(server, info, args.celery_workers), "load": load,
                  "consistency": consistency}
    publish(render(result), result, args.json)
    return 0 if consistency["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
