"""Scaling simulation: N application processes on loopback against one PostgreSQL, and what it projects to.

    .venv/bin/python bench/scaling.py                          # 1, 2, 4 and 8 processes, 30 s each
    .venv/bin/python bench/scaling.py --processes 1,2,3,4 --duration 60 --json /tmp/scaling.json

Each process is what a web worker or a Celery worker is to the database: its own engine context and
connection pool on one shared scratch database (prepared once: migrations, catalogue, demo accounts).
It loops, with no think time, over the household-business approve path through the service layer
(engine.services.submit_dossier, then complete_task for the four user tasks with ~1 KB of form data each,
as bench/engine_overhead.py), for --duration seconds after a common start. No worker drains the outbox:
delivery is the worker machines' load (bench/outbox.py measures it), not this one's.

Printed per process count: completions/s and submissions/s in all, the median and p95 completion time, and
the CPUs used by the application processes and by the PostgreSQL backends serving them (from /proc). The
CPU cost per completion (application and database) measured at one process gives the projection: how many
completions/s a core delivers on each side, so how many cores a province and the whole country need at
their peak hour (--province-per-year, --country-per-year, --steps, --peak-factor: the assumptions, printed).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/scaling.py` from anywhere

from bench.common import ADMIN_URL, bench_database, machine  # noqa: E402
from bench.engine_overhead import APPLICANT, HKD, PATH, start_form  # noqa: E402
from bench.http_load import machine_cpu, process_cpu  # noqa: E402
from engine.config import PROJECT_ROOT, Settings  # noqa: E402

NAME = "motcua_bench_scaling"
#: working hours in a year: 250 working days x 8 hours (Vietnamese offices; Saturdays mornings ignored)
WORKING_HOURS = 250 * 8


def settings_for(url: str, data_dir: Path) -> Settings:
    connectors = {"email": {"host": "127.0.0.1", "port": 2525, "sender": "motcua@ubnd.demo.gov.vn", "timeout": 5}}
    return Settings(database_url=url, data_dir=data_dir, processes_dir=PROJECT_ROOT / "processes",
                    connectors=connectors)


def worker(url: str, data_dir: str, ready: Any, go: Any, duration: float, results: Any) -> None:
    """One application process: the approve path again and again until the window closes."""
    from sqlalchemy import select

    from engine.context import build_context
    from engine.models import Dossier, Task
    from engine.services import authenticate, complete_task, submit_dossier

    ctx = build_context(settings_for(url, Path(data_dir)))
    actors = {name: authenticate(ctx, name, "demo") for name in ("congdan", "tiepnhan", "chuyenvien", "lanhdao")}
    times: list[float] = []
    submissions = 0
    ready.put(1)
    start_at = go.get()
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + duration
    while time.time() < end:
        view = submit_dossier(ctx, actors["congdan"], HKD, dict(APPLICANT), start_form())
        submissions += 1
        for _bpmn_id, user, form in PATH:
            if time.time() >= end:
                break
            with ctx.sessions() as session:  # the task an official would pick from the inbox
                task_id = session.scalars(select(Task.id).join(Dossier, Dossier.id == Task.dossier_id)
                                          .where(Dossier.code == view.code, Task.state == "open")).one()
            began = time.perf_counter()
            complete_task(ctx, actors[user], task_id, form)
            times.append((time.perf_counter() - began) * 1000)
    ctx.db.dispose()
    results.put({"completions": len(times), "submissions": submissions, "times": times})


def backends(admin_url: str, database: str) -> list[int]:
    from sqlalchemy import create_engine

    admin = create_engine(admin_url)
    try:
        with admin.connect() as conn:
            return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": database})
                        .scalars())
    finally:
        admin.dispose()


def run_level(url: str, data_dir: Path, processes: int, duration: float, admin_url: str) -> dict[str, Any]:
    spawn = mp.get_context("spawn")
    results, ready, go = spawn.Queue(), spawn.Queue(), spawn.Queue()
    procs = [spawn.Process(target=worker, args=(url, str(data_dir), ready, go, duration, results))
             for _ in range(processes)]
    for p in procs:
        p.start()
    for _ in procs:  # every process imported, connected and logged in
        ready.get(timeout=300)
    start_at = time.time() + 0.5
    for _ in procs:
        go.put(start_at)
    time.sleep(max(0.0, start_at - time.time() + 0.5))
    db_pids = backends(admin_url, NAME)
    if not db_pids:
        raise RuntimeError(f"no PostgreSQL backend serves {NAME}: the CPU split would be wrong")
    app_before = sum(process_cpu(p.pid) for p in procs)
    db_before = sum(process_cpu(pid) for pid in db_pids)
    machine_before, began = machine_cpu(), time.perf_counter()
    time.sleep(max(0.0, duration - 1.0))
    seconds = time.perf_counter() - began
    app_cpu = (sum(process_cpu(p.pid) for p in procs) - app_before) / seconds
    db_cpu = (sum(process_cpu(pid) for pid in db_pids) - db_before) / seconds
    machine_after = machine_cpu()
    busy = 100 * (machine_after[0] - machine_before[0]) / max(1e-9, machine_after[1] - machine_before[1])
    out = [results.get(timeout=duration + 60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    times = [t for o in out for t in o["times"]]
    completions = sum(o["completions"] for o in out)
    return {"processes": processes, "completions_per_s": completions / duration,
            "submissions_per_s": sum(o["submissions"] for o in out) / duration,
            "median_ms": statistics.median(times) if times else None,
            "p95_ms": statistics.quantiles(times, n=20)[18] if len(times) > 20 else None,
            "app_cpus": app_cpu, "db_cpus": db_cpu, "machine_busy_pct": busy}


def projection(levels: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Cores needed at the peak hour, from the CPU one completion cost at the smallest process count."""
    base = levels[0]
    per_completion_app = base["app_cpus"] / base["completions_per_s"]  # CPU-seconds per completion
    per_completion_db = base["db_cpus"] / base["completions_per_s"]
    out = {"app_ms_cpu": per_completion_app * 1000, "db_ms_cpu": per_completion_db * 1000}
    for scope, per_year in (("province", args.province_per_year), ("country", args.country_per_year)):
        peak = per_year * args.steps / WORKING_HOURS / 3600 * args.peak_factor  # completions/s at the peak hour
        out[scope] = {"dossiers_per_year": per_year, "peak_completions_per_s": peak,
                      "app_cores": peak * per_completion_app, "db_cores": peak * per_completion_db}
    return out


def render(result: dict[str, Any]) -> str:
    m, p, a = result["machine"], result["projection"], result["assumptions"]
    lines = [f"scaling  {m['date']}  (motcua {m['revision']}), nproc {m['nproc']} ({m['cpu']}), load at start "
             f"{m['load'][0]:.2f}", f"         Python {m['python']}, PostgreSQL {m['postgresql']}",
             f"workload: {HKD} approve path through the service layer, {result['duration']:.0f} s per level, "
             "no think time, one shared database", "",
             f"{'processes':>9} {'compl/s':>9} {'subm/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'app CPUs':>9} "
             f"{'PG CPUs':>8} {'machine':>8}"]
    for lv in result["levels"]:
        lines.append(f"{lv['processes']:>9} {lv['completions_per_s']:>9.1f} {lv['submissions_per_s']:>8.1f} "
                     f"{lv['median_ms'] or 0:>8.1f} {lv['p95_ms'] or 0:>8.1f} {lv['app_cpus']:>9.2f} "
                     f"{lv['db_cpus']:>8.2f} {lv['machine_busy_pct']:>7.0f}%")
    lines += ["", f"one completion (with its share of the submission) costs {p['app_ms_cpu']:.1f} ms of application "
              f"CPU and {p['db_ms_cpu']:.1f} ms of PostgreSQL CPU (measured at {result['levels'][0]['processes']} "
              "process)",
              f"assumptions: {a['steps']} completions per dossier, {WORKING_HOURS} working hours a year, peak hour "
              f"= {a['peak_factor']}x the average hour"]
    for scope in ("province", "country"):
        s = p[scope]
        lines.append(f"{scope:>9}: {s['dossiers_per_year']:,} dossiers/year -> {s['peak_completions_per_s']:.1f} "
                     f"completions/s at the peak hour -> {s['app_cores']:.2f} application cores + "
                     f"{s['db_cores']:.2f} PostgreSQL cores (before web, rendering and connector work)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=ADMIN_URL, help="admin URL of a PostgreSQL server")
    parser.add_argument("--processes", default="1,2,4,8", type=lambda s: [int(n) for n in s.split(",")])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured per level")
    parser.add_argument("--province-per-year", type=int, default=1_000_000,
                        help="dossiers a year in a large province")
    parser.add_argument("--country-per-year", type=int, default=50_000_000,
                        help="dossiers a year in the whole country")
    parser.add_argument("--steps", type=int, default=5, help="task completions per dossier")
    parser.add_argument("--peak-factor", type=float, default=3.0, help="peak hour / average working hour")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    from engine.bootstrap import prepare
    from engine.context import build_context

    with bench_database(args.database_url, NAME, keep=False) as url, \
            tempfile.TemporaryDirectory(prefix="motcua-scaling-") as data_dir:
        ctx = build_context(settings_for(url, Path(data_dir)))
        prepare(ctx, demo=True)
        info = machine(ctx)
        ctx.db.dispose()
        levels = [run_level(url, Path(data_dir), n, args.duration, args.database_url) for n in args.processes]
    result = {"machine": info, "duration": args.duration, "levels": levels,
              "assumptions": {"steps": args.steps, "peak_factor": args.peak_factor},
              "projection": projection(levels, args)}
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
