"""What the database benchmarks share: a scratch PostgreSQL database that never outlives the run,
the SQL a measured call sends (to EXPLAIN it afterwards), and the machine the figures came from."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.config import PROJECT_ROOT

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
EXPLAINABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES")


@contextmanager
def bench_database(admin_url: str, name: str, keep: bool) -> Iterator[str]:
    """A new database `name` on the server of `admin_url` (dropped first if a previous run left it),
    dropped again on the way out, also on error or Ctrl-C, unless `keep`; yields its URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"), {"d": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))

    drop()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        if not keep:
            drop()
        admin.dispose()


class Statements:
    """The SQL a query sends (to EXPLAIN the slowest): a `before_cursor_execute` listener."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.on = False

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if self.on:
            self.seen.append((statement, parameters))


def explain(ctx, statements: list[tuple[str, Any]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement, slowest first by its own timing. One
    transaction, rolled back: an UPDATE among them is run by ANALYZE but not kept."""
    plans = []
    with ctx.db.connect() as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith(EXPLAINABLE):
                plans.append((0.0, f"{statement}\n(not explainable)"))
                continue
            rows = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).all()
            plan = "\n".join(row[0] for row in rows)
            took = next((float(line.split(":")[1].split()[0]) for line in plan.splitlines()
                         if line.startswith("Execution Time")), 0.0)
            plans.append((took, f"{statement}\n{plan}"))
    return [plan for _took, plan in sorted(plans, reverse=True)]


def publish(text: str, result: dict[str, Any], json_path: str | None) -> None:
    """Print a benchmark's report; with --json, also write its figures there."""
    print(text)
    if json_path:
        Path(json_path).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def git_revision(paths: tuple[str, ...] = ("engine",), dirty_mark: str = "+", root: Path = PROJECT_ROOT) -> str:
    """The short commit of the checkout at `root` (this one by default), with `dirty_mark` when `paths`
    have uncommitted changes."""
    git = ["git", "-C", str(root), "--no-optional-locks"]  # read-only queries
    try:
        revision = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run([*git, "diff", "--quiet", "HEAD", "--", *paths]).returncode != 0
    except OSError:
        return "unknown"
    return revision + (dirty_mark if dirty else "")


def machine(ctx) -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    with ctx.db.connect() as conn:
        postgresql = conn.execute(text("SHOW server_version")).scalar_one()
        buffers = conn.execute(text("SHOW shared_buffers")).scalar_one()
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "revision": git_revision(),
            "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "cpu": next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), ""),
            "load": os.getloadavg() if hasattr(os, "getloadavg") else None, "platform": platform.platform(),
            "python": platform.python_version(), "postgresql": postgresql, "shared_buffers": buffers}
