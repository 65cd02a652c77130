"""Reports on a hot standby: what reading the figures from a streaming replica adds to a report, how
far behind the standby is when a report arrives while the primary takes writes, and which statements
each server runs. Measured on a real primary and hot standby started on loopback for the run
(tests/pg_standby.py: initdb, pg_basebackup -R; both servers on this machine's CPUs).

    .venv/bin/python bench/standby.py                          # 20,000 dossiers, 40 reports a phase
    .venv/bin/python bench/standby.py --dossiers 100000 --reports 60 --json /tmp/standby.json

The pair's primary is migrated and loaded (`engine.bootstrap.prepare` with the demo accounts) and
seeded with --dossiers over a year (`engine.seeding`, what `motcua seed` runs); the standby replays
all of it. Then the dashboard service (`engine.services.reports.dashboard`, this month's figures
after a rollup refresh, as the page asks) is timed in four phases, --reports calls each:

1. primary: no standby configured, the primary idle;
2. standby: MOTCUA_REPORTS_DATABASE_URL set, the primary idle: the wait adds asking the primary where
   its WAL stands and the standby how far it has replayed;
3. primary, writes: a thread submits household-business dossiers on the primary without pause
   (one transaction each, a few hundred a second here) while the reports run;
4. standby, writes: the same, the reports on the standby, each waiting for the standby to replay the
   primary's WAL as far as it stood when the report asked (at most MOTCUA_REPORTS_REPLICA_WAIT).

Printed per phase: the report's time (p50, p95, max), the time spent waiting for replay, the
statements each server ran per report, and in the writing phases the writer's submissions per second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine  # noqa: E402
from engine.bootstrap import prepare  # noqa: E402
from engine.config import PROJECT_ROOT, Settings  # noqa: E402
from engine.context import build_context  # noqa: E402
from engine.models import User  # noqa: E402
from engine.reports import replica  # noqa: E402
from engine.seeding import seed_dossiers  # noqa: E402
from engine.services import Actor, reports, submit_dossier  # noqa: E402
from tests.factories import APPLICANT, HKD, household_form  # noqa: E402
from tests.pg_standby import start_pair, stop_pair  # noqa: E402

PHASES = (("primary", False, False), ("standby", True, False), ("primary, writes", False, True),
          ("standby, writes", True, True))


class Counter:
    """Statements sent through an engine (a `before_cursor_execute` listener), while `on`."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.count, self.on = engine, 0, False
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, *_args: Any) -> None:
        if self.on and threading.current_thread() is threading.main_thread():
            self.count += 1


class Writer(threading.Thread):
    """Submits dossiers on the primary without pause until stopped; counts them."""

    def __init__(self, ctx: Any, citizen: Actor) -> None:
        super().__init__(daemon=True)
        self.ctx, self.citizen, self.done, self.stop = ctx, citizen, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            submit_dossier(self.ctx, self.citizen, HKD, dict(APPLICANT), household_form())
            self.done += 1


def phase(ctx: Any, admin: Actor, citizen: Actor, count: int, writes: bool,
          counters: dict[str, Counter]) -> dict[str, Any]:
    waits: list[float] = []
    original = replica.wait_for_replay

    def timed_wait(session: Any, lsn: str, timeout: float) -> bool:
        started = time.perf_counter()
        try:
            return original(session, lsn, timeout)
        finally:
            waits.append(time.perf_counter() - started)

    replica.wait_for_replay = timed_wait
    writer = Writer(ctx, citizen) if writes else None
    filters = reports.report_filters(ctx, admin, {})
    times: list[float] = []
    try:
        reports.dashboard(ctx, admin, filters)  # warm: connections, plans
        if writer is not None:
            writer.start()
            time.sleep(1.0)
        for counter in counters.values():
            counter.count, counter.on = 0, True
        written_before, started_all = (writer.done if writer else 0), time.perf_counter()
        for _ in range(count):
            started = time.perf_counter()
            reports.dashboard(ctx, admin, filters)
            times.append(time.perf_counter() - started)
        elapsed = time.perf_counter() - started_all
        written = (writer.done if writer else 0) - written_before
    finally:
        for counter in counters.values():
            counter.on = False
        if writer is not None:
            writer.stop.set()
            writer.join()
        replica.wait_for_replay = original
    waits = waits[1:] if len(waits) > count else waits  # the warm-up's
    ms = sorted(1000 * t for t in times)
    return {"reports": count, "p50_ms": statistics.median(ms), "p95_ms": ms[int(0.95 * (len(ms) - 1))],
            "max_ms": ms[-1], "wait_p50_ms": 1000 * statistics.median(waits) if waits else None,
            "wait_max_ms": 1000 * max(waits) if waits else None,
            "statements": {name: c.count / count for name, c in counters.items()},
            "writes_per_s": written / elapsed if writes else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=20_000, help="seeded into the primary first")
    parser.add_argument("--reports", type=int, default=40, help="dashboard calls per phase")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    pair = start_pair()
    try:
        admin_engine = create_engine(pair.primary_url(), isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(text("CREATE DATABASE motcua"))
        admin_engine.dispose()
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(database_url=pair.primary_url("motcua"), data_dir=Path(data_dir),
                                processes_dir=PROJECT_ROOT / "processes")
            ctx = build_context(settings)
            prepare(ctx, demo=True)
            started = time.perf_counter()
            seed_dossiers(ctx, args.dossiers, days=365, force=True)
            seeded = time.perf_counter() - started
            with ctx.sessions() as session:
                people = {u.username: Actor.of(u) for u in session.scalars(select(User))}
            on_standby = replace(ctx, settings=replace(settings, reports_database_url=pair.standby_url("motcua")),
                                 report_sessions=replica.replica_sessions(pair.standby_url("motcua")))
            counters = {"primary": Counter(ctx.db), "standby": Counter(on_standby.report_sessions.kw["bind"])}
            results = {}
            for name, standby, writes in PHASES:
                print(f"  {name} …", file=sys.stderr)
                results[name] = phase(on_standby if standby else ctx, people["quantri"], people["congdan"],
                                      args.reports, writes, counters)
            about = machine(ctx)
            on_standby.report_sessions.kw["bind"].dispose()
            ctx.db.dispose()
    finally:
        stop_pair(pair)
    print(report(args, about, seeded, results))
    if args.json:
        args.json.write_text(json.dumps({"machine": about, "seeded_s": seeded, "phases": results}, indent=2))


def report(args: argparse.Namespace, about: dict[str, Any], seeded: float, results: dict[str, Any]) -> str:
    lines = [f"standby  {about['date']}  (motcua {about['revision']})",
             f"machine: nproc {about['nproc']} ({about['cpu']}), PostgreSQL {about['postgresql']}; a primary and a "
             "hot standby on loopback, both on this machine",
             f"seeded {args.dossiers:,} dossiers over 365 days in {seeded:.1f} s; {args.reports} dashboard calls "
             "(this month, rollups refreshed first) per phase", "",
             f"{'phase':18}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'wait p50':>10}{'wait max':>10}"
             f"{'stmts primary':>15}{'stmts standby':>15}{'writes/s':>10}"]
    for name, r in results.items():
        wait50 = f"{r['wait_p50_ms']:.2f}" if r["wait_p50_ms"] is not None else "-"
        waitmax = f"{r['wait_max_ms']:.2f}" if r["wait_max_ms"] is not None else "-"
        writes = f"{r['writes_per_s']:.0f}" if r["writes_per_s"] is not None else "-"
        lines.append(f"{name:18}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['max_ms']:>9.1f}{wait50:>10}{waitmax:>10}"
                     f"{r['statements']['primary']:>15.1f}{r['statements']['standby']:>15.1f}{writes:>10}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
