"""The figures of the monitoring dashboard, per period, agency and procedure (DOMAIN.md, indicators).

Every count is a sum over `report_daily` (a few rows per day), never a scan of the dossiers; the
p90 reads the monthly duration histogram plus the facts of the period's partial months; "overdue
now" and the tasks waiting now are live (indexed on status and due date / task state). Each count
has its list of dossiers: `dossiers_behind(name, filters)` (engine/reports/behind.py).

Definitions (what each name counts, for the period's Vietnam days):

- submitted / received: dossiers submitted (nộp) / received (tiếp nhận) that day; online vs desk by
  channel (post counts as desk).
- finished: reached a final status that day (returned, refused, withdrawn, stopped).
- resolved (đã giải quyết): returned with a result, or refused after reception, that day; classified
  early / on_time / late by the engine at the end (`engine.calendar.timeliness`).
- overdue_now: open, received, clock running, past its due date at `now`.
- processing time: for resolved dossiers, working minutes from the clock's last (re)start to the
  end, supplement pauses excluded (`engine/reports/facts.py`); average exact, p90 by nearest rank
  on a quarter-hour histogram (value rounded up to 15 minutes). Days = minutes / one office day.
- supplement rate: finished dossiers that had at least one supplement request / finished.
- refusal rate: refused / finished.
- online payments: payments confirmed that day (count, amount); online payment share: finished
  dossiers owing a fee that paid online / finished dossiers owing a fee.
- satisfaction: ratings given that day by score 1–5; satisfied = 4 or 5, share = satisfied / rated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine.calendar import CalendarConfig
from engine.context import EngineContext
from engine.models import Dossier, ProcedureVersion, Task
from engine.reports import measures, rollup
from engine.reports.behind import INDICATORS, dossiers_behind, overdue_condition
from engine.reports.filters import Filters
from engine.reports.replica import report_session
from engine.reports.tables import ReportDaily, ReportDossier, ReportDuration, ReportStepDaily

__all__ = ["Dashboard", "Filters", "INDICATORS", "dashboard", "dossiers_behind", "read_dashboard", "totals",
           "breakdown", "processing_time", "step_times", "overdue_now", "percentile"]

SATISFIED_FROM = 4


@dataclass(frozen=True)
class Ratio:
    part: int
    whole: int

    @property
    def share(self) -> float | None:
        """part / whole, None when there is nothing to divide (shown as "—", not 0%)."""
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class ProcessingTime:
    dossiers: int
    total_minutes: int
    p90_minutes: int | None
    minutes_per_day: int

    @property
    def average_minutes(self) -> float | None:
        return self.total_minutes / self.dossiers if self.dossiers else None

    @property
    def average_days(self) -> float | None:
        average = self.average_minutes
        return None if average is None else average / self.minutes_per_day

    @property
    def p90_days(self) -> float | None:
        return None if self.p90_minutes is None else self.p90_minutes / self.minutes_per_day


@dataclass(frozen=True)
class StepTime:
    """One BPMN element: tasks completed in the period and their working time; tasks open now."""

    bpmn_id: str
    title: str
    role: str
    completed: int = 0
    minutes: int = 0
    late: int = 0
    open_now: int = 0
    overdue_now: int = 0

    @property
    def average_minutes(self) -> float | None:
        return self.minutes / self.completed if self.completed else None


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    now: datetime
    counts: dict[str, int]
    overdue_now: int
    processing: ProcessingTime
    steps: list[StepTime] = field(default_factory=list)

    @property
    def received_desk(self) -> int:
        return self.counts["received"] - self.counts["received_online"]

    @property
    def online_share(self) -> Ratio:
        return Ratio(self.counts["received_online"], self.counts["received"])

    @property
    def on_time_share(self) -> Ratio:
        """Trước hạn + đúng hạn over resolved."""
        return Ratio(self.counts["early"] + self.counts["on_time"], self.counts["resolved"])

    @property
    def supplement_rate(self) -> Ratio:
        return Ratio(self.counts["finished_with_supplement"], self.counts["finished"])

    @property
    def refusal_rate(self) -> Ratio:
        return Ratio(self.counts["refused"], self.counts["finished"])

    @property
    def online_payment_share(self) -> Ratio:
        return Ratio(self.counts["fee_paid_online"], self.counts["fee_finished"])

    @property
    def ratings(self) -> dict[int, int]:
        return {score: self.counts[f"rating_{score}"] for score in range(1, 6)}

    @property
    def satisfied(self) -> Ratio:
        ratings = self.ratings
        return Ratio(sum(n for score, n in ratings.items() if score >= SATISFIED_FROM), sum(ratings.values()))


def dashboard(ctx: EngineContext, filters: Filters, *, now: datetime | None = None,
              refresh: bool = True) -> Dashboard:
    """Every figure for `filters`, after bringing the rollups up to date (one cheap query when nothing changed)."""
    if refresh:
        rollup.refresh(ctx)
    with report_session(ctx) as session:
        return read_dashboard(session, filters, now=now, minutes_per_day=minutes_per_day(ctx.settings.calendar_config()))


def read_dashboard(session: Session, filters: Filters, *, now: datetime | None = None,
                   minutes_per_day: int = 450) -> Dashboard:
    now = now or datetime.now(UTC)
    counts = totals(session, filters)
    return Dashboard(filters, now, counts, overdue_now(session, filters, now),
                     processing_time(session, filters, counts, minutes_per_day), step_times(session, filters, now))


def minutes_per_day(config: CalendarConfig) -> int:
    """Office minutes in one working day (7.5 h = 450 by default): the unit of "days" in reports."""
    def span(hours: tuple[Any, Any]) -> int:
        begin, end = hours
        return (end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute)

    return span(config.morning) + span(config.afternoon)


def _daily_scope(query: Any, filters: Filters, table: Any = ReportDaily) -> Any:
    query = query.where(table.day >= filters.date_from, table.day <= filters.date_to)
    if filters.agency_code:
        query = query.where(table.agency_code == filters.agency_code)
    if filters.procedure_id:
        query = query.where(table.procedure_id == filters.procedure_id)
    return query


def totals(session: Session, filters: Filters) -> dict[str, int]:
    """Every `report_daily` count summed over the period, plus `rated` and `satisfied`."""
    columns = [func.coalesce(func.sum(getattr(ReportDaily, name)), 0).label(name) for name in measures.DAILY_COLUMNS]
    row = session.execute(_daily_scope(select(*columns), filters)).mappings().one()
    counts = {name: int(row[name]) for name in measures.DAILY_COLUMNS}
    counts["received_desk"] = counts["received"] - counts["received_online"]
    counts["rated"] = sum(counts[f"rating_{score}"] for score in range(1, 6))
    counts["satisfied"] = sum(counts[f"rating_{score}"] for score in range(SATISFIED_FROM, 6))
    return counts


def breakdown(session: Session, filters: Filters, by: str) -> dict[Any, dict[str, int]]:
    """`totals` per agency (`by="agency"`) or per procedure (`by="procedure"`) within `filters`."""
    key = {"agency": ReportDaily.agency_code, "procedure": ReportDaily.procedure_id}.get(by)
    if key is None:
        raise ValueError(f"breakdown by {by!r}: expected 'agency' or 'procedure'")
    columns = [func.sum(getattr(ReportDaily, name)).label(name) for name in measures.DAILY_COLUMNS]
    query = _daily_scope(select(key.label("key"), *columns), filters).group_by(key)
    result = {}
    for row in session.execute(query).mappings():
        counts = {name: int(row[name] or 0) for name in measures.DAILY_COLUMNS}
        counts["received_desk"] = counts["received"] - counts["received_online"]
        counts["rated"] = sum(counts[f"rating_{score}"] for score in range(1, 6))
        counts["satisfied"] = sum(counts[f"rating_{score}"] for score in range(SATISFIED_FROM, 6))
        result[row["key"]] = counts
    return result


def overdue_now(session: Session, filters: Filters, now: datetime) -> int:
    query = select(func.count()).select_from(Dossier).where(overdue_condition(now))
    if filters.agency_code:
        query = query.where(Dossier.agency_code == filters.agency_code)
    if filters.procedure_id:
        query = query.join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id) \
            .where(ProcedureVersion.procedure_id == filters.procedure_id)
    return int(session.scalar(query) or 0)


# -- processing time --------------------------------------------------------------------------------

def processing_time(session: Session, filters: Filters, counts: dict[str, int] | None = None,
                    minutes_per_day: int = 450) -> ProcessingTime:
    counts = counts if counts is not None else totals(session, filters)
    histogram = duration_histogram(session, filters)
    return ProcessingTime(counts["processed"], counts["processing_minutes"], percentile(histogram, 0.9),
                          minutes_per_day)


def percentile(histogram: dict[int, int], fraction: float) -> int | None:
    """Nearest rank: the smallest bucket at or below which at least `fraction` of the values lie."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = math.ceil(fraction * total)
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket
    raise AssertionError("unreachable: the ranks add up to the total")  # pragma: no cover


def _full_months(start: date, end: date) -> tuple[date, date] | None:
    """(first day of the first, first day of the last) whole month inside [start, end], or None."""
    first = start if start.day == 1 else measures.next_month(start.replace(day=1))
    if measures.next_month(end.replace(day=1)) - timedelta(days=1) == end:  # `end` closes its month
        last = end.replace(day=1)
    else:
        last = (end.replace(day=1) - timedelta(days=1)).replace(day=1)
    return (first, last) if first <= last else None


def duration_histogram(session: Session, filters: Filters) -> dict[int, int]:
    """Resolved dossiers per processing-time bucket for the period: whole months from the rollup,
    the days of partial months from the facts."""
    histogram: dict[int, int] = {}
    months = _full_months(filters.date_from, filters.date_to)
    edges: list[tuple[date, date]] = []
    if months is None:
        edges.append((filters.date_from, filters.date_to))
    else:
        first, last = months
        D = ReportDuration
        query = select(D.bucket, func.sum(D.dossiers)).where(D.month >= first, D.month <= last).group_by(D.bucket)
        if filters.agency_code:
            query = query.where(D.agency_code == filters.agency_code)
        if filters.procedure_id:
            query = query.where(D.procedure_id == filters.procedure_id)
        _add(histogram, session.execute(query))
        if filters.date_from < first:
            edges.append((filters.date_from, first - timedelta(days=1)))
        after_last = measures.next_month(last)
        if after_last <= filters.date_to:
            edges.append((after_last, filters.date_to))
    F = ReportDossier
    bucket = measures.bucket_of(F.processing_minutes)
    for start, end in edges:
        query = (select(bucket, func.count()).where(F.finished_on >= start, F.finished_on <= end,
                                                    F.processing_minutes.is_not(None)).group_by(bucket))
        if filters.agency_code:
            query = query.where(F.agency_code == filters.agency_code)
        if filters.procedure_id:
            query = query.where(F.procedure_id == filters.procedure_id)
        _add(histogram, session.execute(query))
    return histogram


def _add(histogram: dict[int, int], rows: Iterable[Any]) -> None:
    for bucket, count in rows:
        histogram[int(bucket)] = histogram.get(int(bucket), 0) + int(count)


# -- steps -------------------------------------------------------------------------------------------

def step_times(session: Session, filters: Filters, now: datetime) -> list[StepTime]:
    """Per BPMN element: completed tasks in the period (count, working time, late) and open ones now."""
    S = ReportStepDaily
    query = _daily_scope(select(S.bpmn_id, func.max(S.title), func.max(S.role), func.sum(S.tasks),
                                func.sum(S.minutes), func.sum(S.late)), filters, S).group_by(S.bpmn_id)
    steps = {row[0]: StepTime(row[0], row[1], row[2], int(row[3]), int(row[4]), int(row[5]))
             for row in session.execute(query)}
    live = (select(Task.bpmn_id, func.max(Task.title), func.max(Task.role), func.count(),
                   func.sum(case((Task.due_at < now, 1), else_=0)))
            .join(Dossier, Dossier.id == Task.dossier_id).where(Task.state == "open").group_by(Task.bpmn_id))
    if filters.agency_code:
        live = live.where(Dossier.agency_code == filters.agency_code)
    if filters.procedure_id:
        live = live.join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id) \
            .where(ProcedureVersion.procedure_id == filters.procedure_id)
    for bpmn_id, title, role, waiting, overdue in session.execute(live):
        known = steps.get(bpmn_id) or StepTime(bpmn_id, title, role)
        steps[bpmn_id] = StepTime(known.bpmn_id, known.title, known.role, known.completed, known.minutes,
                                  known.late, int(waiting), int(overdue or 0))
    return sorted(steps.values(), key=lambda step: step.bpmn_id)

