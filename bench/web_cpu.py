"""Web CPU per API request: what each request of the HTTP benchmark's mix costs a web process, in
process CPU time, optionally against another revision measured in the same run.

    .venv/bin/python bench/web_cpu.py                                   # this tree, 3 rounds
    .venv/bin/python bench/web_cpu.py --against 629ca85 --rounds 4      # A/B, rounds alternating
    .venv/bin/python bench/web_cpu.py --dossiers 200 --json /tmp/web_cpu.json

Why it exists: bench/http_load.py's throughput moves by a third between runs of the same code on a
shared 2-vCPU VM (steal time, neighbours, which gunicorn worker got the keep-alive connections), so a
change that saves 15 % of a request's CPU cannot be seen there. Here each round is one fresh process
per side, serving the requests one at a time through Flask's test client (no sockets, no threads), and
every request is timed with `time.process_time`. With --against the two sides of a round run at the
same time (one process each on the 2 vCPUs, sharing PostgreSQL), so that the machine's drift, which
moves a whole round by a third, hits both alike; sequential rounds showed it flipping the verdict.

Each process sets up what bench/serve.py sets up for gunicorn (a scratch PostgreSQL database migrated
and loaded by `engine.bootstrap.prepare`, production mode, Celery mode publishing to a Redis queue of
its own, the SMTP simulator, one account per official role and citizens with API tokens), creates the
app with `web.create_app()`, and then, once untimed and once timed:

* submit: --dossiers household-business submissions (POST /api/v1/dossiers);
* inbox, claim, complete: each official role reads its inbox (GET /api/v1/tasks, 50 lines) and claims
  and completes every open task in it with http_load's form data, until no task is left;
* badge: the notification badge of the desk (GET /api/v1/inbox/summary), --dossiers times;
* track: public tracking of each dossier by code and phone (GET /api/v1/track/{code}).

Printed: per request kind the median CPU ms of each side (the median of the rounds' medians) and the
ratio of the sides, round by round (its median and range: a kind the change does not touch shows the
noise); and the web CPU per task completion at http_load's default mix (submit=1, inbox=2, complete=4
as claim + complete, track=2, per four completions), with what 200 completions/s would take in CPUs.

PostgreSQL's side of the same requests is measured too when the server runs on this machine: the CPU
time the kernel accounts to the server processes serving the round's database (their
/proc/<pid>/schedstat, read before and after each request; the client is single-threaded, so nothing
else runs on them meanwhile). It is printed as a second table, and the two together give the CPU one
completion at the mix costs the web and the database, hence how many completions per second this
machine's CPUs could carry at most. Not in these figures: the HTTP server's own parsing (gunicorn,
about 0.2 ms a request: bench/http_floor.py), PostgreSQL's background processes (WAL writer,
checkpointer, autovacuum), the load generator, the Celery workers, and what contention between
processes adds under load.

--against REV checks REV out in a scratch git worktree (removed at the end) and measures it with the
same driver; REV must have bench/serve.py's `environment` and `make_accounts` (2026-12-01 or later).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("submit", "inbox", "claim", "complete", "badge", "track")
#: http_load's DEFAULT_MIX per four completions: 1 submit, 2 inbox reads, 4 x (claim + complete), 2 tracks
MIX_PER_FOUR_COMPLETIONS = {"submit": 1, "inbox": 2, "claim": 4, "complete": 4, "track": 2}
TARGET_COMPLETIONS_PER_S = 200
#: the tree a measuring process imports (its engine, web and bench helpers)
TREE_VARIABLE = "BENCH_WEB_CPU_TREE"
#: what a measuring process returns: per part ("web", and "pg" when PostgreSQL is local) the CPU seconds
#: of every timed request by kind
Measured = dict[str, dict[str, list[float]]]


# -- one side, one round (runs in a process of its own, importing the measured tree) -------------------


def measure(dossiers: int, admin_url: str, redis_url: str) -> Measured:
    """CPU seconds of every timed request, by kind: the web process's ("web") and, when the database
    server runs on this machine, its server processes' ("pg"). The tree measured is the one first on
    sys.path."""
    from bench.common import bench_database
    from bench.engine_overhead import HKD, PATH, start_form
    from bench.serve import environment, make_accounts
    from engine.bootstrap import prepare
    from engine.config import Settings
    from engine.context import build_context
    from integrations.notify.smtp_simulator import SmtpSimulator

    forms = {bpmn_id: data for bpmn_id, _user, data in PATH}
    queue = f"motcua_bench_webcpu_{uuid.uuid4().hex[:8]}"
    with bench_database(admin_url, queue, keep=False) as url, tempfile.TemporaryDirectory() as tmp, \
            SmtpSimulator() as smtp:
        env = environment(url, redis_url, Path(tmp), smtp.port, "http://127.0.0.1:9", queue)
        ctx = build_context(Settings.from_env(env))
        try:
            prepare(ctx, demo=False)
            tokens, citizens = make_accounts(ctx, 1, 1)
            os.environ.update({k: v for k, v in env.items() if k.startswith("MOTCUA_")})
            from engine.jobs import app as celery_app
            from web import create_app

            app = create_app()
            celery_app.conf.task_default_queue = queue
            client = app.test_client()
            cpu: Measured = {}
            with ServerCpu(admin_url, url, app.extensions["motcua"].db.pool) as server:
                for _round in ("warm-up", "timed"):
                    cpu = {"web": {kind: [] for kind in KINDS}, "pg": {kind: [] for kind in KINDS}}
                    _round_of_requests(client, cpu, server, tokens, citizens[0], start_form(), forms, dossiers,
                                       HKD)
            if not server.local:
                del cpu["pg"]
            return cpu
        finally:
            ctx.db.dispose()
            import redis

            redis.Redis.from_url(redis_url).delete(queue, f"_kombu.binding.{queue}",
                                                   f"_kombu.binding_permanent.{queue}")


class ServerCpu:
    """CPU seconds the database server spends for the round's database: the kernel's run time of the
    server processes connected to it (/proc/<pid>/schedstat, nanoseconds). `local` is False when the
    server is not on this machine (its pids are not postgres processes here): nothing is measured."""

    def __init__(self, admin_url: str, database_url: str, pool: Any) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.database, self.pool = make_url(database_url).database, pool
        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.local = True
        self._pids: list[int] = []
        self._connections = -1

    def __enter__(self) -> ServerCpu:
        self.connection = self.engine.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.connection.close()
        self.engine.dispose()

    def backends(self) -> list[int]:
        """The server processes of the round's database now (the web process's pooled connections),
        asked of the server again only when the web process's pool has opened or closed one: a query
        between two timed requests would also stir the caches the next one runs in."""
        from sqlalchemy import text

        connections = self.pool.checkedin() + self.pool.checkedout()
        if connections != self._connections or not self._pids:
            self._pids = list(self.connection.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = :db AND backend_type = 'client backend'"),
                {"db": self.database}).scalars())
            self._connections = connections
            self.local = self.local and all(_is_postgres(pid) for pid in self._pids)
        return self._pids

    def seconds(self, pids: list[int]) -> float:
        if not self.local:
            return 0.0
        total = 0
        for pid in pids:
            try:
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):  # the connection closed meanwhile: ask again next time
                self._connections = -1
        return total / 1e9


def _is_postgres(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().startswith("postgres")
    except OSError:
        return False


def _round_of_requests(client: Any, cpu: Measured, server: ServerCpu,
                       tokens: dict[str, list[str]], citizen: Any, form: dict[str, Any],
                       forms: dict[str, dict[str, Any]], dossiers: int, procedure: str) -> None:
    def timed(kind: str, expect: int, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        backends = server.backends()
        server_before = server.seconds(backends)
        started = time.process_time()
        response = client.open(path, method=method, headers=headers, **kw)
        cpu["web"][kind].append(time.process_time() - started)
        cpu["pg"][kind].append(server.seconds(backends) - server_before)
        if response.status_code != expect:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.get_data(as_text=True)[:300]}")
        return response.get_json()

    applicant = {"name": citizen.name, "phone": citizen.phone, "id_number": citizen.id_number,
                 "email": citizen.email, "kind": 1}
    codes = [timed("submit", 201, "POST", "/api/v1/dossiers", citizen.token,
                   json={"procedure": procedure, "applicant": applicant, "data": form})["code"]
             for _ in range(dossiers)]
    for role in ("desk", "specialist", "leader"):
        token = tokens[role][0]
        while True:
            lines = timed("inbox", 200, "GET", "/api/v1/tasks", token)
            work = [t for t in lines if t["assignee_id"] is None and t["role"] == role and t["bpmn_id"] in forms]
            if not work:
                break
            for task in work:
                timed("claim", 200, "POST", f"/api/v1/tasks/{task['id']}/claim", token)
                timed("complete", 200, "POST", f"/api/v1/tasks/{task['id']}/complete", token,
                      json={"data": forms[task["bpmn_id"]]})
    for _ in range(dossiers):
        timed("badge", 200, "GET", "/api/v1/inbox/summary", tokens["desk"][0])
    for code in codes:
        timed("track", 200, "GET", f"/api/v1/track/{code}", query_string={"secret": citizen.phone})


# -- the harness -------------------------------------------------------------------------------------


@contextmanager
def worktree(rev: str):
    path = Path(tempfile.mkdtemp(prefix="motcua-webcpu-"))
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(path), rev],
                   check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], capture_output=True)


def start_side(tree: Path, args: argparse.Namespace) -> subprocess.Popen:
    """One round of one side in a fresh process that imports `tree`'s code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    env[TREE_VARIABLE] = str(tree)
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", "--dossiers", str(args.dossiers),
               "--database-url", args.database_url, "--redis-url", args.redis_url]
    return subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_round(trees: dict[str, Path], started: dict[str, subprocess.Popen]) -> dict[str, Measured]:
    """Wait for every side of the round (none is left running behind a failed one), then read them."""
    outputs = {name: process.communicate() for name, process in started.items()}
    for name, (_out, err) in outputs.items():
        if started[name].returncode != 0:
            raise SystemExit(f"measuring {trees[name]} failed:\n{err[-3000:]}")
    return {name: json.loads(out.strip().splitlines()[-1]) for name, (out, _err) in outputs.items()}


def round_medians(one_round: dict[str, list[float]]) -> dict[str, float]:
    """A round's median CPU ms per kind, and the mix's CPU per completion from them."""
    medians = {kind: 1000 * statistics.median(one_round[kind]) for kind in KINDS}
    medians["per_completion"] = sum(medians[k] * n for k, n in MIX_PER_FOUR_COMPLETIONS.items()) / 4
    return medians


def summary(rounds: list[dict[str, list[float]]]) -> dict[str, float]:
    """Per kind (and per completion) the median over the rounds of each round's median CPU ms."""
    per_round = [round_medians(r) for r in rounds]
    return {kind: statistics.median(r[kind] for r in per_round) for kind in per_round[0]}


def paired_ratios(first: list[dict[str, list[float]]], second: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    """Per kind the ratio first/second of each round: the two sides of a round ran at the same time."""
    pairs = [(round_medians(a), round_medians(b)) for a, b in zip(first, second, strict=True)]
    return {kind: [a[kind] / b[kind] if b[kind] else float("nan") for a, b in pairs] for kind in pairs[0][0]}


PARTS = {"web": "CPU of the web process", "pg": "CPU of PostgreSQL's server processes serving it"}
LABELS = {"submit": "POST /dossiers", "inbox": "GET /tasks (first page)", "claim": "POST /tasks/{id}/claim",
          "complete": "POST /tasks/{id}/complete", "badge": "GET /inbox/summary", "track": "GET /track/{code}",
          "per_completion": "per completion, http_load's mix"}


def analyse(rounds: dict[str, list[Measured]]) -> tuple[dict[str, dict[str, dict[str, float]]],
                                                      dict[str, dict[str, list[float]] | None]]:
    """Per part the sides' summaries, and the round-by-round ratios of the two sides (None for one)."""
    parts = [part for part in PARTS if all(part in r for side in rounds.values() for r in side)]
    summaries = {part: {name: summary([r[part] for r in side]) for name, side in rounds.items()} for part in parts}
    ratios = {part: paired_ratios(*([r[part] for r in side] for side in rounds.values())) if len(rounds) == 2
              else None for part in parts}
    return summaries, ratios


def report(summaries: dict[str, dict[str, dict[str, float]]], ratios: dict[str, dict[str, list[float]] | None],
           counts: dict[str, int], args: argparse.Namespace) -> list[str]:
    names = list(summaries["web"])
    cpus = len(os.sched_getaffinity(0))
    lines = [f"web_cpu  {datetime.now(UTC).isoformat(timespec='seconds')}  ({', '.join(names)})",
             f"machine: nproc {cpus}, Python {sys.version.split()[0]}; "
             f"{args.rounds} rounds, each a fresh process per side (the sides at the same time); "
             f"{args.dossiers} dossiers per round (a warm-up pass untimed, then the timed one)"]
    for part, sides in summaries.items():
        lines += ["", f"{PARTS[part]}, ms per request",
                  f"{'request':<34}{'n/round':>8}" + "".join(f"{n + ' ms':>22}" for n in names)
                  + ("   ratio (rounds: median, min-max)" if ratios[part] else "")]
        for kind in (*KINDS, "per_completion"):
            line = f"{LABELS[kind]:<34}{counts.get(kind, ''):>8}" + "".join(f"{sides[n][kind]:>22.2f}" for n in names)
            if ratios[part]:
                each = ratios[part][kind]
                line += f"{statistics.median(each):>11.2f}x  {min(each):.2f}-{max(each):.2f}"
            lines.append(line)
    if "pg" not in summaries:
        lines.append("(PostgreSQL's CPU not measured: the server is not on this machine)")
    lines.append("")
    for name in names:
        web = summaries["web"][name]["per_completion"]
        pg = summaries["pg"][name]["per_completion"] if "pg" in summaries else 0.0
        need = TARGET_COMPLETIONS_PER_S * (web + pg) / 1000
        if "pg" in summaries:
            lines.append(f"{name}: a completion at the mix costs {web:.2f} ms of web CPU + {pg:.2f} ms of PostgreSQL = "
                         f"{web + pg:.2f} ms; {TARGET_COMPLETIONS_PER_S} completions/s would take {need:.2f} CPUs, "
                         f"and {cpus} CPUs carry at most {1000 * cpus / (web + pg):.0f} completions/s (before HTTP "
                         "parsing, the load generator, the documents)")
        else:
            lines.append(f"{name}: {TARGET_COMPLETIONS_PER_S} completions/s would take {need:.2f} CPUs of web "
                         "processes at this cost (before HTTP parsing, PostgreSQL, the documents)")
    return lines


def main() -> None:
    from bench.common import ADMIN_URL
    from bench.serve import REDIS_URL

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", metavar="REV", help="also measure this git revision (the sides of a round at the same time)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per side (a fresh process each)")
    parser.add_argument("--dossiers", type=int, default=100, help="dossiers submitted and worked per round")
    parser.add_argument("--database-url", default=ADMIN_URL, help="admin URL of the PostgreSQL server")
    parser.add_argument("--redis-url", default=REDIS_URL, help="broker; a queue of its own, deleted at the end")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.dossiers, args.database_url, args.redis_url)))
        return
    from bench.common import git_revision

    code = ("engine", "web", "integrations", "forms")
    trees = {f"this tree {git_revision(code)}": ROOT}
    with worktree(args.against) if args.against else _no_tree() as other:
        if other is not None:
            short = git_revision(code, root=other)
            trees[short if args.against.startswith(short) else f"{args.against} ({short})"] = other
        rounds: dict[str, list[Measured]] = {name: [] for name in trees}
        for n in range(args.rounds):
            # the sides run at the same time, one process each: the machine's drift hits both alike
            started = {name: start_side(tree, args) for name, tree in trees.items()}
            for name, measured in finish_round(trees, started).items():
                rounds[name].append(measured)
            print(f"round {n + 1}/{args.rounds} measured", file=sys.stderr)
    summaries, ratios = analyse(rounds)
    first = next(iter(rounds.values()))[0]["web"]
    lines = report(summaries, ratios, {kind: len(first[kind]) for kind in KINDS}, args)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({"sides": summaries, "rounds": rounds}, indent=1))


@contextmanager
def _no_tree():
    yield None


if __name__ == "__main__":
    sys.path.insert(0, os.environ.get(TREE_VARIABLE) or str(ROOT))
    main()
