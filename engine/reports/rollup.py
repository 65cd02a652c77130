"""Keep the reporting facts and rollups in step with the live tables.

Every change to a dossier is an event (the append-only, hash-chained history), so the event id is
the change feed: `refresh` re-derives the facts of the dossiers with events past the last mark
and moves the daily, per-step and duration rollups by the difference (`engine.reports.deltas`). It is cheap when nothing happened (one indexed max()), runs
under a lock (PostgreSQL advisory lock; SQLite serialises writers anyway) and is idempotent.

The mark is re-read with an overlap of `OVERLAP` ids: on PostgreSQL an event id is taken at
insert time, so a transaction still open when the mark moved can commit a smaller id later; it
is picked up by the next refresh as long as fewer than OVERLAP events were written meanwhile.
`rebuild` recomputes everything (after a bulk seed or an upgrade of these rules).

Call `refresh` from the periodic sweep; the dashboards call it before reading (`indicators.dashboard`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from engine.calendar import WorkingCalendar
from engine.context import EngineContext
from engine.db import transaction
from engine.models import Dossier, Event
from engine.reports import bulk, deltas, facts, measures
from engine.reports.tables import (
    ReportDaily,
    ReportDossier,
    ReportDuration,
    ReportState,
    ReportStepDaily,
    ReportTask,
)

log = logging.getLogger(__name__)
#: a transaction open while 200 other events are written is far beyond this system's throughput
OVERLAP = 200
BATCH = 2000
_LOCK_KEY = 766_2022  # any constant unique among motcua's advisory locks


@dataclass(frozen=True)
class RefreshResult:
    dossiers: int
    #: rollup rows written (rebuild: daily rows; refresh: rows moved)
    rows: int
    last_event_id: int
    skipped: bool = False


def refresh(ctx: EngineContext, *, batch: int = BATCH) -> RefreshResult:
    """Bring the facts and rollups up to date with the events written since the last refresh."""
    calendar = ctx.calendar()
    with transaction(ctx.sessions) as session:
        if not _lock(session):
            return RefreshResult(0, 0, 0, skipped=True)  # another process is refreshing right now
        state = _state(session)
        high = session.scalar(select(func.max(Event.id))) or 0
        if high == state.last_event_id:
            return RefreshResult(0, 0, high)
        if high < state.last_event_id:  # the history was emptied (tests); start again
            return _rebuild_in(session, calendar, batch, high)
        ids = list(session.scalars(select(Event.dossier_id).distinct()
                                   .where(Event.id > max(0, state.last_event_id - OVERLAP), Event.id <= high)))
        changed = _update(session, ids, calendar, batch)
        state.last_event_id = high
        return RefreshResult(len(ids), changed, high)


def rebuild(ctx: EngineContext, *, batch: int = 5000,
            progress: Callable[[int], None] | None = None) -> RefreshResult:
    """Recompute every fact and rollup from the live tables (one transaction)."""
    calendar = ctx.calendar()
    with transaction(ctx.sessions) as session:
        _lock(session, wait=True)
        high = session.scalar(select(func.max(Event.id))) or 0
        return _rebuild_in(session, calendar, batch, high, progress)


def _rebuild_in(session: Session, calendar: WorkingCalendar, batch: int, high: int,
                progress: Callable[[int], None] | None = None) -> RefreshResult:
    for table in (ReportDossier, ReportTask, ReportDaily, ReportStepDaily, ReportDuration):
        session.execute(delete(table))
    fees = facts.fee_versions(session)
    done, after = 0, 0
    while True:
        ids = list(session.scalars(select(Dossier.id).where(Dossier.id > after).order_by(Dossier.id).limit(batch)))
        if not ids:
            break
        span = range(ids[0], ids[-1] + 1)  # exactly the dossiers just listed, read by BETWEEN
        bulk.write(session, ReportDossier, facts.dossier_facts(session, span, calendar, fees))
        bulk.write(session, ReportTask, facts.task_facts(session, span, calendar))
        done, after = done + len(ids), ids[-1]
        if progress is not None:
            progress(done)
    return RefreshResult(done, aggregate_all(session, high), high)


def aggregate_all(session: Session, high: int) -> int:
    """Recompute every rollup from the facts and mark them current up to event `high` (after a
    rebuild of the facts, or a seeder that wrote its facts with its rows). Returns the daily rows."""
    days = aggregate_days(session)
    aggregate_steps(session)
    aggregate_durations(session)
    _state(session).last_event_id = high
    return days


def _lock(session: Session, *, wait: bool = False) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: the transaction began with BEGIN IMMEDIATE, writers are serialised
    if wait:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}))


def _state(session: Session) -> ReportState:
    state = session.get(ReportState, 1)
    if state is None:
        state = ReportState(id=1, last_event_id=0)
        session.add(state)
        session.flush()
    return state


def _update(session: Session, ids: Sequence[int], calendar: WorkingCalendar, batch: int) -> int:
    """Re-derive the facts of dossiers `ids` and move the rollups by the difference; returns the
    rollup rows changed."""
    fees = facts.fee_versions(session)
    changed = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        before = deltas.capture(session, chunk)
        session.execute(delete(ReportDossier).where(ReportDossier.dossier_id.in_(chunk)))
        session.execute(delete(ReportTask).where(ReportTask.dossier_id.in_(chunk)))
        bulk.write(session, ReportDossier, facts.dossier_facts(session, chunk, calendar, fees))
        bulk.write(session, ReportTask, facts.task_facts(session, chunk, calendar))
        changed += deltas.apply(session, before, deltas.capture(session, chunk))
    return changed


# -- full aggregation (rebuild, seeding) ------------------------------------------------------------

def aggregate_days(session: Session) -> int:
    """Recompute `report_daily` from all the facts; returns the rows written."""
    session.execute(delete(ReportDaily))
    merged: dict[tuple[date, str, int], dict[str, Any]] = {}
    for column, values in measures.MEASURES:
        for row in session.execute(measures.daily_query(column, values)).mappings():
            key = (row["day"], row["agency_code"], row["procedure_id"])
            target = merged.setdefault(key, {"day": key[0], "agency_code": key[1], "procedure_id": key[2],
                                             **dict.fromkeys(measures.DAILY_COLUMNS, 0)})
            target.update({name: int(row[name] or 0) for name in values})
    rows = list(merged.values())
    for start in range(0, len(rows), 5000):
        bulk.write(session, ReportDaily, rows[start:start + 5000])
    return len(rows)


def aggregate_steps(session: Session) -> None:
    """Recompute `report_step_daily` from all the task facts."""
    session.execute(delete(ReportStepDaily))
    session.execute(insert(ReportStepDaily).from_select(
        ["day", "agency_code", "procedure_id", "bpmn_id", "title", "role", "tasks", "minutes", "late"],
        measures.step_query()))


def aggregate_durations(session: Session) -> None:
    """Recompute `report_duration` from all the facts."""
    session.execute(delete(ReportDuration))
    session.execute(insert(ReportDuration).from_select(
        ["month", "agency_code", "procedure_id", "bucket", "dossiers"],
        measures.duration_query(session.get_bind().dialect.name)))
