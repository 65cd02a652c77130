"""What each rollup row sums, as SQL over the facts: one definition for the full aggregation (rebuild)
and for the contributions of a few changed dossiers (incremental refresh, `engine.reports.deltas`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Select, and_, case, cast, func, or_, select, type_coerce

from engine.reports.facts import RESOLVING
from engine.reports.tables import BUCKET_MINUTES, ReportDossier, ReportTask

F = ReportDossier
T = ReportTask


def count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


RESOLVED = and_(F.outcome.in_(RESOLVING), F.received_on.is_not(None))
#: (the fact's date column, {rollup column: aggregate over the facts counted that day})
MEASURES: tuple[tuple[Any, dict[str, Any]], ...] = (
    (F.submitted_on, {"submitted": func.count(), "submitted_online": count_if(F.channel == "online"),
                      "submitted_synced": count_if(F.synced.is_(True))}),
    (F.received_on, {"received": func.count(), "received_online": count_if(F.channel == "online"),
                     "received_digitized": count_if(F.digitized.is_(True))}),
    (F.finished_on, {"finished": func.count(), "returned": count_if(F.outcome == "returned"),
                     "refused": count_if(F.outcome == "refused"),
                     "refused_at_reception": count_if(and_(F.outcome == "refused", F.received_on.is_(None))),
                     "withdrawn": count_if(F.outcome == "withdrawn"), "stopped": count_if(F.outcome == "stopped"),
                     "finished_with_supplement": count_if(F.supplements > 0),
                     "resolved": count_if(RESOLVED),
                     "early": count_if(and_(RESOLVED, F.timeliness == "early")),
                     "on_time": count_if(and_(RESOLVED, F.timeliness == "on_time")),
                     "late": count_if(and_(RESOLVED, F.timeliness == "late")),
                     "resolved_e_result": count_if(and_(RESOLVED, F.e_result.is_(True))),
                     "resolved_dissatisfied": count_if(and_(RESOLVED, F.rating <= 2)),
                     "processed": count_if(F.processing_minutes.is_not(None)),
                     "processing_minutes": func.coalesce(func.sum(F.processing_minutes), 0),
                     "fee_finished": count_if(F.fee_required.is_(True)),
                     "fee_paid_online": count_if(and_(F.fee_required.is_(True), F.paid_on.is_not(None)))}),
    (F.paid_on, {"paid_online": func.count(), "paid_amount": func.coalesce(func.sum(F.paid_amount), 0)}),
    (F.rated_on, {f"rating_{score}": count_if(F.rating == score) for score in range(1, 6)}),
)
DAILY_COLUMNS = tuple(name for _column, measures in MEASURES for name in measures)
DAILY_KEY = ("day", "agency_code", "procedure_id")
STEP_KEY = ("day", "agency_code", "procedure_id", "bpmn_id")
STEP_COLUMNS = ("tasks", "minutes", "late")
DURATION_KEY = ("month", "agency_code", "procedure_id", "bucket")


def daily_query(column: Any, measures: dict[str, Any], *where: Any) -> Select[Any]:
    """One date column's measures per (day, agency, procedure), over the facts matching `where`."""
    return (select(column.label("day"), F.agency_code, F.procedure_id,
                   *[value.label(name) for name, value in measures.items()])
            .where(column.is_not(None), *where).group_by(column, F.agency_code, F.procedure_id))


def step_query(*where: Any) -> Select[Any]:
    """Completed tasks per (day, agency, procedure, element): count, working minutes, late ones."""
    return (select(T.completed_on.label("day"), T.agency_code, T.procedure_id, T.bpmn_id,
                   func.max(T.title).label("title"), func.max(T.role).label("role"), func.count().label("tasks"),
                   func.sum(T.minutes).label("minutes"), count_if(T.late.is_(True)).label("late"))
            .where(*where).group_by(T.completed_on, T.agency_code, T.procedure_id, T.bpmn_id))


def bucket_of(minutes: Any) -> Any:
    """The histogram bucket (minutes rounded up to BUCKET_MINUTES), as SQL over an integer column."""
    return ((minutes + (BUCKET_MINUTES - 1)) // BUCKET_MINUTES) * BUCKET_MINUTES


def month_start(column: Any, dialect: str) -> Any:
    """The first day of the month of a date column, in SQL."""
    if dialect == "postgresql":
        return cast(func.date_trunc("month", column), Date)
    return type_coerce(func.date(column, "start of month"), Date)  # SQLite's date() gives text


def duration_query(dialect: str, *where: Any) -> Select[Any]:
    """Resolved dossiers per (month finished, agency, procedure, processing-time bucket)."""
    month, bucket = month_start(F.finished_on, dialect), bucket_of(F.processing_minutes)
    return (select(month.label("month"), F.agency_code, F.procedure_id, bucket.label("bucket"),
                   func.count().label("dossiers"))
            .where(F.processing_minutes.is_not(None), *where).group_by(month, F.agency_code, F.procedure_id, bucket))


def in_months(column: Any, months: set[date]) -> Any:
    """`column` falls in one of `months` (given by their first days)."""
    return or_(*[and_(column >= first, column < next_month(first)) for first in sorted(months)])


def next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)
