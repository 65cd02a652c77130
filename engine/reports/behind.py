"""The dossiers behind each figure: `dossiers_behind(indicator, filters)` is a SELECT of the
Dossier rows a number counts, so the web can link every figure to its list (and a test can check
that the list and the number agree).

Indicator names are the keys of `Dashboard.counts` (submitted, received_online, late, rating_5, …)
plus `overdue_now`, `satisfied`, `step:<bpmn_id>` (tasks at that element completed in the period)
and `waiting:<bpmn_id>` (tasks open there now).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, select

from engine.errors import InvalidInput
from engine.models import Dossier, ProcedureVersion, Task
from engine.reports.facts import RESOLVING
from engine.reports.filters import Filters
from engine.reports.tables import ReportDossier, ReportTask

F = ReportDossier
#: Statuses in which the legal clock runs towards the due date (the citizen is not being awaited).
CLOCK_RUNNING = ("received", "processing", "payment_requested", "result_ready")
_RESOLVED = and_(F.outcome.in_(RESOLVING), F.received_on.is_not(None))

#: indicator → (the fact's date column the period applies to, extra condition or None)
INDICATORS: dict[str, tuple[Any, Any]] = {
    "submitted": (F.submitted_on, None),
    "submitted_online": (F.submitted_on, F.channel == "online"),
    "submitted_synced": (F.submitted_on, F.synced.is_(True)),
    "received": (F.received_on, None),
    "received_online": (F.received_on, F.channel == "online"),
    "received_desk": (F.received_on, F.channel != "online"),
    "received_digitized": (F.received_on, F.digitized.is_(True)),
    "finished": (F.finished_on, None),
    "returned": (F.finished_on, F.outcome == "returned"),
    "refused": (F.finished_on, F.outcome == "refused"),
    "refused_at_reception": (F.finished_on, and_(F.outcome == "refused", F.received_on.is_(None))),
    "withdrawn": (F.finished_on, F.outcome == "withdrawn"),
    "stopped": (F.finished_on, F.outcome == "stopped"),
    "finished_with_supplement": (F.finished_on, F.supplements > 0),
    "resolved": (F.finished_on, _RESOLVED),
    "early": (F.finished_on, and_(_RESOLVED, F.timeliness == "early")),
    "on_time": (F.finished_on, and_(_RESOLVED, F.timeliness == "on_time")),
    "late": (F.finished_on, and_(_RESOLVED, F.timeliness == "late")),
    "resolved_e_result": (F.finished_on, and_(_RESOLVED, F.e_result.is_(True))),
    "resolved_dissatisfied": (F.finished_on, and_(_RESOLVED, F.rating <= 2)),
    "processed": (F.finished_on, F.processing_minutes.is_not(None)),
    "fee_finished": (F.finished_on, F.fee_required.is_(True)),
    "fee_paid_online": (F.finished_on, and_(F.fee_required.is_(True), F.paid_on.is_not(None))),
    "paid_online": (F.paid_on, None),
    "rated": (F.rated_on, None),
    "satisfied": (F.rated_on, F.rating >= 4),
    **{f"rating_{score}": (F.rated_on, F.rating == score) for score in range(1, 6)},
}


def unknown(indicator: str) -> InvalidInput:
    return InvalidInput({"indicator": [f"Không có chỉ số «{indicator}»."]}, f"unknown indicator {indicator!r}")


def dossiers_behind(indicator: str, filters: Filters, *, now: datetime | None = None) -> Select[tuple[Dossier]]:
    """A SELECT of the Dossier rows counted by `indicator` under `filters` (newest first)."""
    if indicator == "overdue_now":
        return overdue_now_query(filters, now or datetime.now(UTC))
    if indicator.startswith("waiting:"):
        return _waiting(indicator.removeprefix("waiting:"), filters)
    if indicator.startswith("step:"):
        return _completed_step(indicator.removeprefix("step:"), filters)
    if indicator not in INDICATORS:
        raise unknown(indicator)
    column, condition = INDICATORS[indicator]
    query = (select(Dossier).join(F, F.dossier_id == Dossier.id)
             .where(column >= filters.date_from, column <= filters.date_to, *_scope(filters)))
    if condition is not None:
        query = query.where(condition)
    return query.order_by(Dossier.id.desc())


def _scope(filters: Filters, table: Any = F) -> list[Any]:
    where = []
    if filters.agency_code:
        where.append(table.agency_code == filters.agency_code)
    if filters.procedure_id:
        where.append(table.procedure_id == filters.procedure_id)
    return where


def _live(query: Select[Any], filters: Filters) -> Select[Any]:
    """Scope a query over live Dossier rows by agency and procedure."""
    if filters.agency_code:
        query = query.where(Dossier.agency_code == filters.agency_code)
    if filters.procedure_id:
        query = query.join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id) \
            .where(ProcedureVersion.procedure_id == filters.procedure_id)
    return query


def overdue_condition(now: datetime) -> Any:
    """Open, received, the clock running (no supplement awaited, not paused) and past its due date."""
    return and_(Dossier.status.in_(CLOCK_RUNNING), Dossier.finished_at.is_(None), Dossier.received_at.is_not(None),
                Dossier.due_at < now, Dossier.clock_paused_at.is_(None))


def overdue_now_query(filters: Filters, now: datetime) -> Select[tuple[Dossier]]:
    """Dossiers overdue at `now` (live, whatever the period: "quá hạn đang xử lý")."""
    return _live(select(Dossier).where(overdue_condition(now)), filters).order_by(Dossier.due_at, Dossier.id)


def _waiting(bpmn_id: str, filters: Filters) -> Select[tuple[Dossier]]:
    waiting = select(Task.dossier_id).where(Task.state == "open", Task.bpmn_id == bpmn_id)
    return _live(select(Dossier).where(Dossier.id.in_(waiting)), filters).order_by(Dossier.id.desc())


def _completed_step(bpmn_id: str, filters: Filters) -> Select[tuple[Dossier]]:
    T = ReportTask
    done = select(T.dossier_id).where(T.bpmn_id == bpmn_id, T.completed_on >= filters.date_from,
                                      T.completed_on <= filters.date_to, *_scope(filters, T))
    return select(Dossier).where(Dossier.id.in_(done)).order_by(Dossier.id.desc())
