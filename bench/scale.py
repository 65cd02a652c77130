"""Scale: what citizens and officials wait for when the database holds a province's years of
dossiers. Seeds N dossiers into a dedicated PostgreSQL database (or reuses one), then times the
service calls behind public tracking, an official's inbox, the desk's search by applicant phone or
ID number and the dashboard, against issue 8's targets, with EXPLAIN of any that misses, and the
storage each dossier takes.

    .venv/bin/python bench/scale.py                        # 200,000 dossiers
    .venv/bin/python bench/scale.py --dossiers 1000000     # issue 8's scale
    .venv/bin/python bench/scale.py --dossiers 1000000 --keep && .venv/bin/python bench/scale.py --reuse

The database `motcua_bench_scale` is created on the --database-url server (dropped first if a
previous run left it) and dropped at the end, also on error or Ctrl-C, unless --keep. Seeding is
`engine.seeding.seed_dossiers` (what `motcua seed` runs), then VACUUM ANALYZE. With --reuse
nothing is seeded, analyzed or dropped: --database-url names the seeded database itself (by
default `motcua_bench_scale` on the local server, as --keep leaves it).

Each call is a service function as a web request runs it, minus HTTP, timed with perf_counter on
a warm connection pool after a few untimed calls; parameters are drawn at random (--seed) from
the seeded rows, and every answer is checked (a right proof finds its dossier, a wrong one does
not; a search finds the dossier it was drawn from).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN_URL, Statements, bench_database, explain, machine  # noqa: E402
from engine.calendar import VN_TZ  # noqa: E402
from engine.config import PROJECT_ROOT, Settings  # noqa: E402
from engine.context import build_context  # noqa: E402
from engine.errors import NotFound  # noqa: E402
from engine.models import Dossier, Task, User  # noqa: E402
from engine.reports.filters import Filters  # noqa: E402
from engine.seeding.province import SUFFIX  # noqa: E402
from engine.services import Actor, accounts, inbox_summary, list_inbox, list_procedures, mark_inbox_seen  # noqa: E402
from engine.services import reports as report_service  # noqa: E402
from engine.services.dossiers import track_dossier, tracked_documents  # noqa: E402
from engine.services.operations import search_instances  # noqa: E402
from engine.services.substitutions import OFFICIAL_ROLES  # noqa: E402

NAME = "motcua_bench_scale"
DOSSIER_TABLES = ("dossier", "event", "task", "attachment", "payment", "rating", "outbox", "workflow_instance")
PAGE = 21  # the workspace's first page: 20 rows and one more to know there is a next page
HITS_PER_DESK = 20


@dataclass(frozen=True)
class Measurement:
    name: str
    stat: str  # which figure the target bounds: p50 | p95 | p99 | max
    target_ms: float
    #: one request; returns whether the answer was right
    call: Callable[[Any], bool]
    #: one per request, the first `warm` untimed
    params: list[Any]
    warm: int


@dataclass(frozen=True)
class Official:
    actor: Actor
    #: open tasks of their role at their agency
    own: int


# -- what the samples are drawn from ---------------------------------------------------------------

def sample_dossiers(ctx, n: int, rng: random.Random) -> list[Any]:
    """About `n` random dossiers (code, phone, ID number), by random ids between the first and last."""
    with ctx.sessions() as session:
        low, high = session.execute(select(func.min(Dossier.id), func.max(Dossier.id))).one()
        ids = sorted({rng.randint(low, high) for _ in range(n * 2)})
        rows = session.execute(select(Dossier.code, Dossier.applicant_phone, Dossier.applicant_id_number,
                                      Dossier.agency_code, Dossier.submitted_at).where(Dossier.id.in_(ids))).all()
    rng.shuffle(rows)
    return rows[:n]


def officials(ctx) -> list[Official]:
    """One account per role and agency with open tasks in the sample province, made through the
    service layer where missing (the seeder creates none), found again by username with --reuse."""
    with ctx.sessions() as session:
        lanes = session.execute(select(Task.role, Task.agency_code, func.count()).where(
            Task.state == "open", Task.role.in_(OFFICIAL_ROLES), Task.agency_code.like(f"%{SUFFIX}"))
            .group_by(Task.role, Task.agency_code).order_by(Task.agency_code, Task.role)).all()
        existing = {u.username: Actor.of(u) for u in session.scalars(select(User).where(User.username.like("bench.%")))}
    found = []
    for role, agency, own in lanes:
        username = f"bench.{role}.{agency}"
        actor = existing.get(username) or accounts.create_user(
            ctx, username=username, password=secrets.token_urlsafe(16), full_name=f"Cán bộ {role} {agency} (bench)",
            role=role, agency_code=agency)
        found.append(Official(actor, own))
    return found


def search_hits(ctx, desks: list[Official], rng: random.Random) -> list[tuple[Actor, Any]]:
    """(desk, dossier) pairs where the dossier has an open task in that desk's lane."""
    hits = []
    with ctx.sessions() as session:
        for desk in desks:
            rows = session.execute(select(Dossier.code, Dossier.applicant_phone, Dossier.applicant_id_number)
                                   .join(Task, Task.dossier_id == Dossier.id)
                                   .where(Task.state == "open", Task.role == desk.actor.role,
                                          Task.agency_code == desk.actor.agency_code)
                                   .limit(HITS_PER_DESK)).all()
            hits += [(desk.actor, row) for row in rows]
    rng.shuffle(hits)
    return hits


# -- the measurements ------------------------------------------------------------------------------

def tracking_params(rows: list[Any], count: int, rng: random.Random) -> list[tuple[str, str, bool]]:
    """(code, secret, found?): 40% phone, 40% ID number, 10% a wrong phone, 10% an unknown code."""
    params = []
    for i in range(count):
        row, roll = rows[i % len(rows)], rng.random()
        if roll < 0.4:
            params.append((row.code, row.applicant_phone, True))
        elif roll < 0.8:
            params.append((row.code, row.applicant_id_number, True))
        elif roll < 0.9:  # no seeded or valid number starts 01
            params.append((row.code, "01" + "".join(rng.choices("0123456789", k=8)), False))
        else:  # numbers start at 0001
            params.append((row.code.rsplit("-", 1)[0] + "-0000", row.applicant_phone, False))
    return params


def track(ctx, with_documents: bool) -> Callable[[Any], bool]:
    def call(param: tuple[str, str, bool]) -> bool:
        code, secret, expected = param
        try:
            view = track_dossier(ctx, code, secret)
            if with_documents:  # the page lists the signed results it offers for download
                tracked_documents(ctx, code, secret)
        except NotFound:
            return not expected
        return expected and view.code == code

    return call


def inbox_call(ctx, page: bool) -> Callable[[Official], bool]:
    def call(official: Official) -> bool:
        actor, shown_at = official.actor, datetime.now(UTC)
        if page:  # the full page: the header badge, the list, "seen", the procedure filter
            inbox_summary(ctx, actor)
        tasks = list_inbox(ctx, actor, limit=PAGE)
        if page:
            mark_inbox_seen(ctx, actor, shown_at)
            list_procedures(ctx)
        return len(tasks) >= min(PAGE, official.own)

    return call


def search_params(hits: list[tuple[Actor, Any]], misses: list[Any], desks: list[Official], count: int,
                  field: str, rng: random.Random) -> list[tuple[Actor, str, str | None]]:
    """(desk, text, code expected or None): half drawn from the desk's open dossiers, half from any."""
    params = []
    for i in range(count):
        if hits and (i % 2 == 0 or not misses):
            actor, row = hits[(i // 2) % len(hits)]
            params.append((actor, getattr(row, field), row.code))
        else:
            params.append((rng.choice(desks).actor, getattr(misses[i % len(misses)], field), None))
    return params


def search_call(ctx) -> Callable[[Any], bool]:
    def call(param: tuple[Actor, str, str | None]) -> bool:
        actor, needle, expected = param
        tasks = list_inbox(ctx, actor, limit=PAGE, search=needle)
        return expected is None or any(t.dossier_code == expected for t in tasks)

    return call


def operations_call(ctx) -> Callable[[dict[str, str]], bool]:
    """The admin's dossier search (/quan-tri/ho-so): one page of matches and their capped count."""
    admin = Actor(None, "bench.admin", "Quản trị (bench)", "admin")

    def call(args: dict[str, str]) -> bool:
        found = search_instances(ctx, admin, args)
        return not args.get("ma") or any(row.code.startswith(args["ma"]) for row in found.rows)

    return call


def operations_params(rows: list[Any], count: int, rng: random.Random) -> list[dict[str, str]]:
    """Half by a code's prefix (agency and day: what a desk reads off a receipt), half by status,
    agency and a month of submissions."""
    params = []
    for i in range(count):
        row = rows[i % len(rows)]
        if i % 2 == 0:
            params.append({"ma": row.code.rsplit("-", 1)[0]})
        else:
            day = row.submitted_at.date() if row.submitted_at else datetime.now(VN_TZ).date()
            params.append({"trang_thai": rng.choice(["processing", "returned", "received"]),
                           "co_quan": row.agency_code, "tu_ngay": (day - timedelta(days=30)).isoformat(),
                           "den_ngay": day.isoformat()})
    return params


def dashboard_call(ctx, filters: Filters) -> Callable[[Any], bool]:
    admin = Actor(None, "bench.admin", "Quản trị (bench)", "admin")
    return lambda _param: report_service.dashboard(ctx, admin, filters).counts["received"] > 0


def measurements(ctx, args: argparse.Namespace, rng: random.Random) -> tuple[list[Measurement], list[Official]]:
    warm, warm_dashboards = min(10, args.samples), min(2, args.dashboard_samples)
    count = warm + args.samples
    rows = sample_dossiers(ctx, min(count, 5000), rng)
    staff = officials(ctx)
    if not rows or not staff:
        raise SystemExit("no dossiers, or no open task in the sample province: seed first (motcua seed)")
    desks = [o for o in staff if o.actor.role == "desk"] or staff
    hits = search_hits(ctx, desks, rng)
    today = datetime.now(VN_TZ).date()
    tracking = tracking_params(rows, count, rng)
    inboxes = [rng.choice(staff) for _ in range(count)]
    return [
        Measurement("tracking by code (track_dossier)", "p99", 20, track(ctx, False), tracking, warm),
        Measurement("tracking page (+ tracked_documents)", "p99", 20, track(ctx, True), tracking, warm),
        Measurement("inbox first page (list_inbox)", "p95", 50, inbox_call(ctx, False), inboxes, warm),
        Measurement("inbox page (+ badge, seen, procedures)", "p95", 50, inbox_call(ctx, True), inboxes, warm),
        Measurement("search by applicant phone (list_inbox q=)", "p95", 100, search_call(ctx),
                    search_params(hits, rows, desks, count, "applicant_phone", rng), warm),
        Measurement("search by ID number (list_inbox q=)", "p95", 100, search_call(ctx),
                    search_params(hits, rows, desks, count, "applicant_id_number", rng), warm),
        Measurement("admin dossier search (search_instances)", "p95", 100, operations_call(ctx),
                    operations_params(rows, count, rng), warm),
        Measurement("dashboard, 12 months (reports.dashboard)", "max", 1000,
                    dashboard_call(ctx, Filters(today - timedelta(days=364), today)),
                    [None] * (warm_dashboards + args.dashboard_samples), warm_dashboards),
    ], staff


def percentile(sorted_ms: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the samples at or below it."""
    return sorted_ms[max(0, math.ceil(len(sorted_ms) * share) - 1)]


def run(ctx, item: Measurement) -> dict[str, Any]:
    """Time each request after the untimed ones; keep the statements of the slowest."""
    recorder = Statements()
    event.listen(ctx.db, "before_cursor_execute", recorder)
    times, wrong, slowest, statements = [], 0, -1.0, []
    try:
        for param in item.params[:item.warm]:
            item.call(param)
        for param in item.params[item.warm:]:
            recorder.seen, recorder.on = [], True
            started = time.perf_counter()
            right = item.call(param)
            took = (time.perf_counter() - started) * 1000
            recorder.on = False
            times.append(took)
            wrong += not right
            if took > slowest:
                slowest, statements = took, recorder.seen
    finally:
        event.remove(ctx.db, "before_cursor_execute", recorder)
    ordered = sorted(times)
    figures = {"p50": percentile(ordered, 0.5), "p95": percentile(ordered, 0.95), "p99": percentile(ordered, 0.99),
               "max": ordered[-1]}
    return {"measurement": item.name, "samples": len(times), **{f"{k}_ms": v for k, v in figures.items()},
            "target": f"{item.stat} < {item.target_ms:g} ms", "passed": figures[item.stat] < item.target_ms,
            "wrong_answers": wrong, "statements": statements}


# -- storage ---------------------------------------------------------------------------------------

def storage(ctx) -> dict[str, Any]:
    with ctx.db.connect() as conn:
        dossiers = conn.execute(select(func.count()).select_from(Dossier)).scalar_one()
        # a partitioned table (the history, by month) is counted with all its partitions
        tables = [dict(row) for row in conn.execute(text(
            "SELECT c.relname AS name, sum(greatest(p.reltuples, 0))::bigint AS rows, "
            "sum(pg_total_relation_size(p.oid))::bigint AS total, sum(pg_relation_size(p.oid))::bigint AS heap, "
            "sum(pg_indexes_size(p.oid))::bigint AS indexes, count(*) AS parts FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_class p ON p.oid = c.oid AND c.relkind = 'r' "
            "  OR c.relkind = 'p' AND p.oid IN (SELECT relid FROM pg_partition_tree(c.oid) WHERE isleaf) "
            "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema() "
            "GROUP BY c.relname ORDER BY total DESC")).mappings()]
        open_tasks = conn.execute(select(func.count()).select_from(Task).where(Task.state == "open")).scalar_one()
    related = [t for t in tables if t["name"] in DOSSIER_TABLES or t["name"].startswith("report_")]
    total = sum(t["total"] for t in related)
    return {"dossiers": dossiers, "open_tasks": open_tasks, "related_bytes": total,
            "bytes_per_dossier": total / dossiers if dossiers else 0.0, "related": related, "largest": tables[:8]}


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"


# -- the run ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=ADMIN_URL,
                        help="admin URL of a PostgreSQL server; with --reuse, the seeded database's URL")
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--workers", type=int, default=None, help="seeding processes (default: CPUs, at most 4)")
    parser.add_argument("--seed", type=int, default=766)
    parser.add_argument("--samples", type=int, default=500, help="timed requests per measurement")
    parser.add_argument("--dashboard-samples", type=int, default=50, help="timed dashboards (each reads for ~0.3 s)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN every measurement, not only the misses")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {NAME}")
    parser.add_argument("--reuse", action="store_true", help="measure an already seeded database: no seeding, no drop")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    if args.samples < 1 or args.dashboard_samples < 1:
        parser.error("--samples and --dashboard-samples must be at least 1")

    with tempfile.TemporaryDirectory() as data_dir:
        if args.reuse:
            url = args.database_url
            if args.database_url == ADMIN_URL:
                url = make_url(ADMIN_URL).set(database=NAME).render_as_string(hide_password=False)
            wrong = measure(args, url, Path(data_dir), seeded=None)
        else:
            with bench_database(args.database_url, NAME, args.keep) as url:
                wrong = measure(args, url, Path(data_dir), seeded=seed(args, url, Path(data_dir)))
    if wrong:
        raise SystemExit(f"{wrong} wrong answers: the figures above are not to be trusted")


def settings_for(url: str, data_dir: Path) -> Settings:
    return Settings(database_url=url, data_dir=data_dir, processes_dir=PROJECT_ROOT / "processes")


def seed(args: argparse.Namespace, url: str, data_dir: Path) -> dict[str, Any]:
    from engine.bootstrap import prepare
    from engine.seeding import seed_dossiers

    ctx = build_context(settings_for(url, data_dir))
    try:
        prepare(ctx, demo=False)
        started = time.perf_counter()
        result = seed_dossiers(ctx, args.dossiers, days=args.days, seed=args.seed, workers=args.workers,
                               progress=lambda n: print(f"  seeded {n:,} ({time.perf_counter() - started:,.0f} s)",
                                                        flush=True))
    finally:
        ctx.db.dispose()
    analyzed = time.perf_counter()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {**result.__dict__, "vacuum_analyze_s": time.perf_counter() - analyzed}


def measure(args: argparse.Namespace, url: str, data_dir: Path, seeded: dict[str, Any] | None) -> int:
    ctx = build_context(settings_for(url, data_dir))
    if ctx.db.dialect.name != "postgresql":
        raise SystemExit("bench/scale.py measures PostgreSQL only")
    try:
        rng = random.Random(args.seed)
        items, staff = measurements(ctx, args, rng)
        results = []
        for item in items:
            print(f"  measuring {item.name} …", flush=True)
            results.append(run(ctx, item))
        plans = {r["measurement"]: explain(ctx, r["statements"]) for r in results
                 if args.explain or not r["passed"]}
        info, stored = {**machine(ctx), "database": make_url(url).database}, storage(ctx)
        report(args, info, seeded, staff, results, plans, stored)
        if args.json:
            args.json.write_text(json.dumps({
                "machine": info, "seed": seeded, "samples": args.samples, "dashboard_samples": args.dashboard_samples,
                "officials": len(staff), "storage": stored, "plans": plans,
                "measurements": [{k: v for k, v in r.items() if k != "statements"} for r in results]},
                indent=2, default=str), encoding="utf-8")
        return sum(r["wrong_answers"] for r in results)
    finally:
        ctx.db.dispose()


def report(args, info, seeded, staff, results, plans, stored) -> None:
    print(f"\nscale  {info['date']}  (motcua {info['revision']})")
    print(f"machine: nproc {info['nproc']} ({info['cpu']}), load {info['load']}, {info['platform']}")
    print(f"         Python {info['python']}, PostgreSQL {info['postgresql']}, shared_buffers {info['shared_buffers']}")
    if seeded:
        print(f"seeded {seeded['dossiers']:,} dossiers over {args.days} days in {seeded['seconds']:,.1f} s "
              f"({seeded['workers']} processes): {seeded['events']:,} events, {seeded['tasks']:,} tasks; "
              f"VACUUM ANALYZE {seeded['vacuum_analyze_s']:,.1f} s")
    else:
        print(f"reused database {info['database']} (not seeded, not analyzed by this run)")
    roles = {role: sum(o.actor.role == role for o in staff) for role in OFFICIAL_ROLES}
    owns = sorted(o.own for o in staff)
    print(f"{stored['dossiers']:,} dossiers, {stored['open_tasks']:,} open tasks; {len(staff)} officials "
          f"({', '.join(f'{r} {n}' for r, n in roles.items())}), open tasks of their own lane: "
          f"median {owns[len(owns) // 2]:,}, max {owns[-1]:,}")
    print(f"\n{'measurement':44} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}  "
          f"{'target':15} {'':4} wrong")
    for r in results:
        print(f"{r['measurement']:44} {r['samples']:5} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['p99_ms']:8.1f} "
              f"{r['max_ms']:8.1f}  {r['target']:15} {'PASS' if r['passed'] else 'MISS':4} {r['wrong_answers']}")
    print(f"\nstorage: dossier-related tables {size(stored['related_bytes'])} = "
          f"{size(stored['bytes_per_dossier'])} per dossier (attachment files not included)")
    print(f"{'table':22} {'rows (est.)':>13} {'total':>11} {'heap':>11} {'indexes':>11} {'toast+maps':>11} {'per dossier':>12}")
    for t in stored["related"]:
        per = t["total"] / stored["dossiers"] if stored["dossiers"] else 0
        name = f"{t['name']} ({t['parts']} parts)" if t["parts"] > 1 else t["name"]
        print(f"{name:22} {max(t['rows'], 0):13,} {size(t['total']):>11} {size(t['heap']):>11} "
              f"{size(t['indexes']):>11} {size(t['total'] - t['heap'] - t['indexes']):>11} {size(per):>12}")
    print("largest tables: " + ", ".join(f"{t['name']} {size(t['total'])}" for t in stored["largest"]))
    for name, statements in plans.items():
        print(f"\nEXPLAIN of the slowest sample of \"{name}\", its statements slowest first:\n")
        for plan in statements:
            print(plan + "\n")


if __name__ == "__main__":
    main()
