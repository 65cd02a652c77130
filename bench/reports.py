"""Dashboard queries at scale: seed N dossiers into a dedicated PostgreSQL database, then time each
query the monitoring dashboards run, cold and warm, and print EXPLAIN ANALYZE of the slowest.

    .venv/bin/python bench/reports.py                      # 200,000 dossiers
    .venv/bin/python bench/reports.py --dossiers 1000000   # the issue's target: each query < 1 s
    .venv/bin/python bench/reports.py --keep               # leave motcua_bench_reports for psql

The database `motcua_bench_reports` is created on the --database-url server (dropped first if a
previous run left it) and dropped at the end, also on error or Ctrl-C, unless --keep. Seeding is
`engine.seeding.seed_dossiers` (what `motcua seed` runs: COPY in batches, worker processes, the
report facts written with the rows, rollups aggregated at the end), then VACUUM ANALYZE.

"Cold" is a query's first run on a new connection (a fresh server backend: empty plan and catalog
caches); PostgreSQL's shared buffers and the OS page cache may still hold pages from the seeding,
and dropping those needs a server restart this benchmark does not do. "Warm" is the median of
--runs more runs on that connection.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN_URL, Statements, bench_database, explain, machine  # noqa: E402
from engine.calendar import VN_TZ  # noqa: E402
from engine.config import PROJECT_ROOT, Settings  # noqa: E402
from engine.context import build_context  # noqa: E402
from engine.reports import indicators, rollup, scorecard  # noqa: E402
from engine.reports.behind import dossiers_behind  # noqa: E402
from engine.reports.filters import Filters  # noqa: E402

NAME = "motcua_bench_reports"
TABLES = ("dossier", "event", "task", "attachment", "payment", "rating", "outbox", "report_dossier", "report_task",
          "report_daily", "report_step_daily", "report_duration")


@dataclass(frozen=True)
class Query:
    name: str
    run: Callable[[Session], Any]


def queries(today: date, agency: str, procedure: int) -> list[Query]:
    """What the dashboard pages ask, over the periods people pick."""
    month = Filters.month(today.year, today.month)
    last_month_end = today.replace(day=1) - timedelta(days=1)
    last_month = Filters.month(last_month_end.year, last_month_end.month)
    year = Filters(today - timedelta(days=364), today)
    everything = Filters(today - timedelta(days=2 * 365 + 30), today)
    now = datetime.now(UTC)

    def page(indicator: str, filters: Filters) -> Callable[[Session], Any]:
        return lambda s: s.scalars(dossiers_behind(indicator, filters, now=now).limit(50)).all()

    def scoped(**kw: Any) -> Filters:
        return Filters(year.date_from, year.date_to, **kw)

    return [
        Query("totals, this month", lambda s: indicators.totals(s, month)),
        Query("totals, last month", lambda s: indicators.totals(s, last_month)),
        Query("totals, 12 months", lambda s: indicators.totals(s, year)),
        Query("totals, 2 years", lambda s: indicators.totals(s, everything)),
        Query("totals, 12 months, one agency", lambda s: indicators.totals(s, scoped(agency_code=agency))),
        Query("totals, 12 months, one procedure", lambda s: indicators.totals(s, scoped(procedure_id=procedure))),
        Query("p90, last month (whole month)", lambda s: indicators.duration_histogram(s, last_month)),
        Query("p90, 12 months (partial edges)", lambda s: indicators.duration_histogram(s, year)),
        Query("p90, 2 years", lambda s: indicators.duration_histogram(s, everything)),
        Query("p90, 12 months, one agency", lambda s: indicators.duration_histogram(s, scoped(agency_code=agency))),
        Query("overdue now", lambda s: indicators.overdue_now(s, year, now)),
        Query("overdue now, one agency", lambda s: indicators.overdue_now(s, scoped(agency_code=agency), now)),
        Query("steps, 12 months (+ open now)", lambda s: indicators.step_times(s, year, now)),
        Query("per agency, 12 months", lambda s: indicators.breakdown(s, year, "agency")),
        Query("per procedure, 12 months", lambda s: indicators.breakdown(s, year, "procedure")),
        Query("whole dashboard, 12 months", lambda s: indicators.read_dashboard(s, year, now=now)),
        Query("766 scorecard, 12 months", lambda s: scorecard.read_scorecard(s, year)),
        Query("list: late, 12 months (page 1)", page("late", year)),
        Query("list: satisfied, last month (page 1)", page("satisfied", last_month)),
        Query("list: overdue now (page 1)", page("overdue_now", year)),
        Query("list: waiting at tham_dinh (page 1)", page("waiting:tham_dinh", year)),
        Query("list: step lap_phieu done, 12 months (page 1)", page("step:lap_phieu", year)),
    ]


def time_queries(ctx, items: list[Query], runs: int) -> list[dict[str, Any]]:
    results = []
    for item in items:
        ctx.db.dispose()  # a new connection, a new backend: cold caches on the server side
        recorder = Statements()
        event.listen(ctx.db, "before_cursor_execute", recorder)
        try:
            with Session(ctx.db) as session:
                session.execute(text("SELECT 1"))  # connect outside the timing: cold caches, not a cold socket
                recorder.on = True
                started = time.perf_counter()
                item.run(session)
                cold = time.perf_counter() - started
                recorder.on = False
                warm = []
                for _ in range(runs):
                    started = time.perf_counter()
                    item.run(session)
                    warm.append(time.perf_counter() - started)
        finally:
            event.remove(ctx.db, "before_cursor_execute", recorder)
        results.append({"query": item.name, "cold_ms": cold * 1000, "warm_ms": statistics.median(warm) * 1000,
                        "warm_max_ms": max(warm) * 1000, "statements": recorder.seen})
    return results


def sizes(ctx) -> dict[str, str]:
    with ctx.db.connect() as conn:
        return {table: conn.execute(text("SELECT pg_size_pretty(pg_total_relation_size(:t))"), {"t": table}).scalar_one()
                for table in TABLES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=ADMIN_URL, help="admin URL of a PostgreSQL server")
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--workers", type=int, default=None, help="seeding processes (default: CPUs, at most 4)")
    parser.add_argument("--runs", type=int, default=5, help="warm runs per query")
    parser.add_argument("--seed", type=int, default=766)
    parser.add_argument("--keep", action="store_true", help=f"keep the database {NAME}")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()

    from engine.bootstrap import prepare
    from engine.models import Procedure
    from engine.seeding import seed_dossiers
    from engine.seeding.province import agency_code

    with bench_database(args.database_url, NAME, args.keep) as url, tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(database_url=url, data_dir=Path(data_dir), processes_dir=PROJECT_ROOT / "processes")
        ctx = build_context(settings)
        prepare(ctx, demo=False)
        started = time.perf_counter()
        result = seed_dossiers(ctx, args.dossiers, days=args.days, seed=args.seed, workers=args.workers,
                               progress=lambda n: print(f"  seeded {n:,} ({time.perf_counter() - started:,.0f} s)",
                                                        flush=True))
        analyzed = time.perf_counter()
        with create_engine(url, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
        analyze_s = time.perf_counter() - analyzed
        refreshed = time.perf_counter()
        rollup.refresh(ctx)
        noop_refresh_ms = (time.perf_counter() - refreshed) * 1000
        with ctx.sessions() as session:
            procedure = session.scalar(select(Procedure.id).where(Procedure.slug == "cap-phieu-ly-lich-tu-phap"))
            dossiers = session.scalar(select(func.count()).select_from(text("dossier")))
        timed = time_queries(ctx, queries(datetime.now(VN_TZ).date(), agency_code(31), procedure), args.runs)
        incremental_ms = refresh_after_one_dossier(ctx)
        slowest = max(timed, key=lambda r: r["cold_ms"])
        plans = explain(ctx, slowest["statements"])
        info = machine(ctx)
        table_sizes = sizes(ctx)
        report(args, info, result, dossiers, analyze_s, noop_refresh_ms, incremental_ms, timed, slowest, plans,
               table_sizes)
        if args.json:
            args.json.write_text(json.dumps({"machine": info, "seed": result.__dict__, "dossiers": dossiers,
                                             "vacuum_analyze_s": analyze_s, "noop_refresh_ms": noop_refresh_ms,
                                             "refresh_after_one_dossier_ms": incremental_ms,
                                             "sizes": table_sizes,
                                             "queries": [{k: v for k, v in r.items() if k != "statements"}
                                                         for r in timed],
                                             "slowest_plans": plans}, indent=2, default=str), encoding="utf-8")
        ctx.db.dispose()


def refresh_after_one_dossier(ctx) -> float:
    """A desk submits one dossier (through the service layer), then the rollups follow: ms."""
    from engine.services import Actor, submit_dossier
    from tests.factories import APPLICANT, HKD, household_form

    desk = Actor(None, "bench", "Bàn tiếp nhận (bench)", "desk", "000.00.21.H99")
    submit_dossier(ctx, desk, HKD, dict(APPLICANT), household_form())
    started = time.perf_counter()
    rollup.refresh(ctx)
    return (time.perf_counter() - started) * 1000


def report(args, info, result, dossiers, analyze_s, noop_refresh_ms, incremental_ms, timed, slowest, plans,
           table_sizes) -> None:
    print(f"\nreports  {info['date']}  (motcua {info['revision']})")
    print(f"machine: nproc {info['nproc']} ({info['cpu']}), load {info['load']}, {info['platform']}")
    print(f"         Python {info['python']}, PostgreSQL {info['postgresql']}, shared_buffers {info['shared_buffers']}")
    print(f"seeded {result.dossiers:,} dossiers over {args.days} days ({dossiers:,} in the database): "
          f"{result.events:,} events, {result.tasks:,} tasks, {result.payments:,} payments, {result.ratings:,} ratings, "
          f"{result.attachments:,} attachments")
    print(f"  seeding with facts {result.seconds:,.1f} s ({result.workers} processes, "
          f"{result.seconds / result.dossiers * 1e6:,.0f} µs per dossier); rollups {result.rollup_seconds:,.1f} s; "
          f"VACUUM ANALYZE {analyze_s:,.1f} s")
    print(f"rollup refresh: nothing new {noop_refresh_ms:,.1f} ms; after one more dossier {incremental_ms:,.1f} ms "
          f"(re-derives the dossiers of the last {rollup.OVERLAP} events, moves the rollup rows they touch)")
    print("sizes: " + ", ".join(f"{t} {s}" for t, s in table_sizes.items()))
    print(f"\n{'query':48} {'cold ms':>9} {'warm ms':>9} {'warm max':>9}")
    for row in timed:
        print(f"{row['query']:48} {row['cold_ms']:9.1f} {row['warm_ms']:9.1f} {row['warm_max_ms']:9.1f}")
    print(f"\nslowest cold: {slowest['query']} ({slowest['cold_ms']:.1f} ms); its statements, slowest first:\n")
    for plan in plans:
        print(plan + "\n")


if __name__ == "__main__":
    main()
