"""Bulk seeding: realistic dossiers over about two years, for dashboards, load tests and demos
(`motcua seed --dossiers N`). A million take minutes on PostgreSQL: COPY in batches, the days
shared between worker processes.

What is written, per dossier: the dossier (code, applicant, channel, the clock as the engine set
it), its hash-chained history, its task rows (done, or open for dossiers still in progress),
payments made online, a rating for about a third of returned ones, an electronic result and desk
scans (attachment rows pointing at one sample PDF in the file store), a portal synchronisation
row once the province is connected, and its report facts; the report rollups are then rebuilt.

What is not: workflow instances (seeded dossiers never ran in SpiffWorkflow: they can be read and
reported on, not worked), user accounts (officials are names in the history). Everything lives in
the sample province H98 (`engine.seeding.province`), so no real inbox shows it; a database with
any dossier outside it is refused unless `force=True`. Seed while the system is idle: dossier ids
are reserved up front, and rollups are marked up to date at the end.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing import Manager, get_context

from sqlalchemy import exists, func, not_, select, text
from sqlalchemy.orm import Session

from engine.calendar import VN_TZ, WorkingCalendar
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import MotcuaError
from engine.event_months import ensure_months
from engine.models import Agency, CodeCounter, Dossier, Event
from engine.reports import rollup
from engine.seeding import batch, province
from engine.seeding.batch import COUNTS, Chunk, SeedingImpossible, online_fee
from engine.seeding.templates import TEMPLATES

log = logging.getLogger(__name__)
MAX_DOSSIERS = 10_000_000
ANALYZED = ("dossier", "event", "task", "payment", "rating", "attachment", "outbox", "code_counter", "report_dossier",
            "report_task", "report_daily", "report_step_daily", "report_duration")


class RealDataPresent(MotcuaError):
    message_vi = ("Cơ sở dữ liệu đã có hồ sơ thật (ngoài tỉnh Mẫu H98). Không tạo dữ liệu mẫu; "
                  "dùng --force nếu thật sự muốn thêm.")


@dataclass(frozen=True)
class SeedResult:
    dossiers: int
    events: int
    tasks: int
    payments: int
    ratings: int
    attachments: int
    seconds: float
    rollup_seconds: float
    workers: int


def has_real_data(session: Session) -> bool:
    """Any dossier outside the sample province."""
    return bool(session.scalar(select(exists().where(not_(Dossier.agency_code.like(f"%{province.SUFFIX}"))))))


def seed_dossiers(ctx: EngineContext, count: int, *, force: bool = False, end: datetime | None = None,
                  days: int = 730, seed: int | None = None, batch_size: int = 2000, workers: int | None = None,
                  progress: Callable[[int], None] | None = None) -> SeedResult:
    """Write `count` dossiers submitted over the `days` Vietnam days before the day of `end`
    (default now), lives cut off at `end`; same `seed`, same dossiers."""
    if not 0 < count <= MAX_DOSSIERS:
        raise SeedingImpossible(f"count {count}", message_vi=f"Số hồ sơ mẫu phải từ 1 đến {MAX_DOSSIERS:,}.")
    if not 1 <= days <= 3660:
        raise SeedingImpossible(f"days {days}", message_vi="Số ngày phải từ 1 đến 3660.")
    started = time.perf_counter()
    end = end or datetime.now(UTC)
    rng = random.Random(seed)
    with transaction(ctx.sessions) as session:
        if not force and has_real_data(session):
            raise RealDataPresent("the database has dossiers outside the sample province")
        _ensure_agencies(session)
        batch.load_procedures(ctx, session)  # refuse early when a procedure is missing or remodelled
    rollup.refresh(ctx)  # the facts of existing dossiers up to date: the seeded ones come with theirs
    first_day = end.astimezone(VN_TZ).date() - timedelta(days=days)
    with ctx.db.begin() as connection:  # the seeded history goes to its months' partitions, not the default
        ensure_months(connection, first_day, end.astimezone(VN_TZ).date())
    start = datetime.combine(first_day, datetime.min.time(), VN_TZ).astimezone(UTC)
    day_counts = _day_counts(ctx.calendar(), first_day, days, count, rng)
    busiest = max(n for _, n in day_counts) * province.busiest_share(TEMPLATES)
    if busiest > 9000:  # codes number 4 digits per agency and day (DOMAIN.md)
        raise SeedingImpossible(f"about {busiest:.0f} dossiers a day at one agency",
                                message_vi="Quá 9999 hồ sơ một ngày tại một cơ quan: hãy giảm số hồ sơ hoặc tăng số ngày.")
    workers = _workers(ctx, workers, count)
    first_id = _reserve_ids(ctx, count)
    counters = _counters(ctx)
    sample = _sample_file(ctx)
    chunks = []
    for part, offset in _split(day_counts, workers):
        codes_days = {day.strftime("%y%m%d") for day, _ in part}
        chunks.append(Chunk(tuple(part), first_id + offset, start, end, rng.randrange(2**63), batch_size, sample,
                            {key: last for key, last in counters.items() if key[1] in codes_days}))
    totals = _run(ctx, chunks, progress)
    seeded = time.perf_counter()
    with transaction(ctx.sessions) as session:
        rollup.aggregate_all(session, session.scalar(select(func.max(Event.id))) or 0)
        if session.get_bind().dialect.name == "postgresql":
            # fresh statistics: until autovacuum gets there, the planner would scan the new rows
            # where an index serves (a refresh after a big seed went from 0.9 s to 0.15 s)
            session.execute(text("ANALYZE " + ", ".join(ANALYZED)))
    return SeedResult(**totals, seconds=seeded - started, rollup_seconds=time.perf_counter() - seeded,
                      workers=len(chunks))


def _workers(ctx: EngineContext, wanted: int | None, count: int) -> int:
    if ctx.db.dialect.name != "postgresql":
        return 1  # SQLite writes one at a time anyway
    if wanted is None:  # by default, small seeds are not worth starting processes
        wanted = min(os.cpu_count() or 1, 4) if count >= 20_000 else 1
    return max(1, min(wanted, count))


def _run(ctx: EngineContext, chunks: list[Chunk], progress: Callable[[int], None] | None) -> dict[str, int]:
    totals = dict.fromkeys(COUNTS, 0)
    if len(chunks) == 1:
        sink = _Sink(progress)
        results = [batch.seed_chunk(ctx, chunks[0], sink)]
    else:
        with Manager() as manager, ProcessPoolExecutor(len(chunks), mp_context=get_context("spawn")) as pool:
            done = manager.Queue()
            futures = [pool.submit(batch.run, ctx.settings, chunk, done) for chunk in chunks]
            written = 0
            while not all(f.done() for f in futures):
                try:
                    written += done.get(timeout=0.5)
                except queue.Empty:
                    continue
                if progress is not None:
                    progress(written)
            results = [f.result() for f in futures]
    for result in results:
        for key in COUNTS:
            totals[key] += result[key]
    return totals


class _Sink:
    """A queue-like progress reporter for the in-process worker."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self._progress, self._written = progress, 0

    def put(self, written: int) -> None:
        self._written += written
        if self._progress is not None:
            self._progress(self._written)


def _ensure_agencies(session: Session) -> None:
    known = set(session.scalars(select(Agency.code).where(Agency.code.like(f"%{province.SUFFIX}"))))
    for code, name, parent in province.all_agencies():
        if code not in known:
            session.add(Agency(code=code, name=name, parent_code=parent))
            session.flush()


def _reserve_ids(ctx: EngineContext, count: int) -> int:
    """The first of `count` dossier ids nobody else will take (PostgreSQL: the sequence moves past them)."""
    with transaction(ctx.sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text('LOCK TABLE "dossier" IN SHARE ROW EXCLUSIVE MODE'))
        first = (session.scalar(select(func.max(Dossier.id))) or 0) + 1
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT setval(pg_get_serial_sequence('dossier', 'id'), :last)"),
                            {"last": first + count - 1})
        return first


SAMPLE_HTML = """<html><head><meta charset="utf-8"></head><body style="font-family: sans-serif">
<h1>Bản mẫu</h1><p>Tài liệu của dữ liệu mẫu (tỉnh Mẫu, H98), tạo bởi <code>motcua seed</code>.
Không có giá trị pháp lý.</p></body></html>"""


def _sample_file(ctx: EngineContext) -> tuple[str, int]:
    """One real PDF in the file store that every seeded attachment row points at."""
    from weasyprint import HTML

    return ctx.files.put(HTML(string=SAMPLE_HTML).write_pdf())


def _counters(ctx: EngineContext) -> dict[tuple[str, str], int]:
    with ctx.sessions() as session:
        return {(row.agency_code, row.day): row.last for row in session.scalars(
            select(CodeCounter).where(CodeCounter.agency_code.like(f"%{province.SUFFIX}")))}


def _day_counts(calendar: WorkingCalendar, first: date, days: int, count: int,
                rng: random.Random) -> list[tuple[date, int]]:
    """How many dossiers each day gets: working days about 1, days off 0.04 (online only), and a
    slow growth over the period, as one-stop shops see."""
    weights = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        base = 1.0 if calendar.is_working_day(day) else 0.04
        weights.append(base * (0.85 + 0.3 * offset / max(days - 1, 1)))
    total = sum(weights)
    counts = [int(count * w / total) for w in weights]
    for index in rng.choices(range(days), weights, k=count - sum(counts)):
        counts[index] += 1
    return [(first + timedelta(days=i), n) for i, n in enumerate(counts) if n]


def _split(day_counts: list[tuple[date, int]], parts: int) -> list[tuple[list[tuple[date, int]], int]]:
    """Consecutive runs of days with about the same number of dossiers, and each run's id offset."""
    total = sum(n for _, n in day_counts)
    runs: list[tuple[list[tuple[date, int]], int]] = []
    current: list[tuple[date, int]] = []
    offset = taken = 0
    for day, n in day_counts:
        current.append((day, n))
        taken += n
        if len(runs) < parts - 1 and taken >= total * (len(runs) + 1) / parts:
            runs.append((current, offset))
            offset, current = taken, []
    if current:
        runs.append((current, offset))
    return runs


__all__ = ["RealDataPresent", "SeedResult", "SeedingImpossible", "has_real_data", "online_fee", "seed_dossiers"]

