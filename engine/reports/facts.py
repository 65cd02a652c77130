"""Derive the reporting facts of a batch of dossiers from what the engine stored: the dossier row
(its clock: received, started, due, finished, timeliness), its status and clock events, tasks,
payments, rating, attachments and portal synchronisation rows.

Working time is measured with the engine's own calendar (`WorkingCalendar.working_hours_between`),
never re-counted here, and follows the dossier's clock rule as `engine.services.clock` applied it:
under the one-stop *restart* rule the legal time runs from the last (re)start of the clock
(`clock_started_at`); under the *pause* rule from reception, minus each pause (the clock events
`pause` … `resume`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.calendar import VN_TZ, WorkingCalendar
from engine.models import Attachment, Dossier, Event, OutboxMessage, Payment, ProcedureVersion, Rating, Task
from engine.portal_sync import CONNECTOR as PORTAL_CONNECTOR
from engine.services.uploads import UPLOAD_KIND

#: Final statuses that resolve a dossier (a result, or a reasoned refusal once it was received).
RESOLVING = ("returned", "refused")
FINAL = ("returned", "refused", "withdrawn", "stopped")
#: Electronic results: the generated result and its digitally signed copy.
RESULT_KINDS = ("ket-qua", "ket-qua-ky-so")


def vn_day(moment: datetime | None) -> date | None:
    """The Vietnam calendar day of a stored (UTC) moment: reports are by local day."""
    return moment.astimezone(VN_TZ).date() if moment is not None else None


def working_minutes(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Office minutes between two moments on the legal calendar (0 when `end` is not after `start`)."""
    if end <= start:
        return 0
    return round(calendar.working_hours_between(start, end) * 60)


def charges_fee(meta: dict[str, Any]) -> bool:
    """Whether a procedure version charges a fee to everyone: a fee line with a positive amount and
    no condition (`applies_when`, `applies_to`, `channel`). Exemptions are not recorded per dossier,
    so the payment indicators count every dossier of such a procedure as owing a fee."""
    fees = meta.get("fees") or []
    return any((fee.get("amount") or 0) > 0 and not (fee.get("applies_when") or fee.get("applies_to")
                                                     or fee.get("channel")) for fee in fees)


@dataclass
class Related:
    """What a batch of dossiers has besides its own row, grouped by dossier id."""

    events: dict[int, list[Any]]
    paid: dict[int, tuple[datetime, int]]
    ratings: dict[int, tuple[int, datetime]]
    attachment_kinds: dict[int, set[str]]
    portal: dict[int, set[str]]


def within(column: Any, ids: Sequence[int]) -> Any:
    """`column` among `ids`; a `range` (every dossier id from its start to its end) reads as BETWEEN,
    which a million-row rebuild needs: thousands of bound parameters cost more than the query."""
    if isinstance(ids, range):
        return column.between(ids.start, ids.stop - 1)
    return column.in_(ids)


def _related(session: Session, ids: Sequence[int]) -> Related:
    events: dict[int, list[Any]] = defaultdict(list)
    for row in session.execute(select(Event.dossier_id, Event.kind, Event.at, Event.status, Event.data)
                               .where(within(Event.dossier_id, ids), Event.kind.in_(("status", "clock")))
                               .order_by(Event.dossier_id, Event.seq)):
        events[row.dossier_id].append(row)
    paid = {row.dossier_id: (row.first, int(row.amount or 0)) for row in session.execute(
        select(Payment.dossier_id, func.min(Payment.paid_at).label("first"), func.sum(Payment.amount).label("amount"))
        .where(within(Payment.dossier_id, ids), Payment.state == "paid").group_by(Payment.dossier_id))}
    ratings = {row.dossier_id: (row.score, row.created_at) for row in session.execute(
        select(Rating.dossier_id, Rating.score, Rating.created_at).where(within(Rating.dossier_id, ids)))}
    kinds: dict[int, set[str]] = defaultdict(set)
    for row in session.execute(select(Attachment.dossier_id, Attachment.kind).distinct()
                               .where(within(Attachment.dossier_id, ids),
                                      Attachment.kind.in_((UPLOAD_KIND, *RESULT_KINDS)))):
        kinds[row.dossier_id].add(row.kind)
    portal: dict[int, set[str]] = defaultdict(set)
    for row in session.execute(select(OutboxMessage.dossier_id, OutboxMessage.state).distinct()
                               .where(within(OutboxMessage.dossier_id, ids), OutboxMessage.connector == PORTAL_CONNECTOR)):
        portal[row.dossier_id].add(row.state)
    return Related(events, paid, ratings, kinds, portal)


def processing_minutes(calendar: WorkingCalendar, row: Any, events: Iterable[Any]) -> int | None:
    """Working minutes the agency had the dossier, as the law counts them (see the module doc);
    None unless it was received and resolved."""
    if row.status not in RESOLVING or row.finished_at is None or row.received_at is None:
        return None
    start = row.clock_started_at or row.received_at
    total = working_minutes(calendar, start, row.finished_at)
    paused_at: datetime | None = None
    for event in events:
        action = (event.data or {}).get("action") if event.kind == "clock" else None
        if action == "pause":
            paused_at = event.at
        elif action == "resume" and paused_at is not None:
            total -= working_minutes(calendar, max(paused_at, start), min(event.at, row.finished_at))
            paused_at = None
    if paused_at is not None:  # ended while the citizen was still awaited
        total -= working_minutes(calendar, max(paused_at, start), row.finished_at)
    return max(total, 0)


_DOSSIER_COLUMNS = (Dossier.id, Dossier.agency_code, Dossier.channel, Dossier.status, Dossier.submitted_at,
                    Dossier.received_at, Dossier.finished_at, Dossier.clock_started_at, Dossier.timeliness,
                    Dossier.procedure_version_id, ProcedureVersion.procedure_id)


def dossier_facts(session: Session, ids: Sequence[int], calendar: WorkingCalendar,
                  fee_versions: set[int]) -> list[dict[str, Any]]:
    """The `report_dossier` rows of dossiers `ids` (those that exist)."""
    if not ids:
        return []
    related = _related(session, ids)
    rows = session.execute(select(*_DOSSIER_COLUMNS)
                           .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
                           .where(within(Dossier.id, ids)))
    return [fact_of(row, related, calendar, fee_versions) for row in rows]


def fact_of(row: Any, related: Related, calendar: WorkingCalendar, fee_versions: set[int]) -> dict[str, Any]:
    """One dossier's `report_dossier` row, from its row (the `_DOSSIER_COLUMNS`) and `related`."""
    events = related.events.get(row.id, [])
    paid_at, amount = related.paid.get(row.id, (None, 0))
    score, rated_at = related.ratings.get(row.id, (None, None))
    kinds = related.attachment_kinds.get(row.id, set())
    portal = related.portal.get(row.id, set())
    final = row.status in FINAL
    return {
        "dossier_id": row.id, "agency_code": row.agency_code, "procedure_id": row.procedure_id,
        "channel": row.channel, "submitted_on": vn_day(row.submitted_at), "received_on": vn_day(row.received_at),
        "finished_on": vn_day(row.finished_at) if final else None, "outcome": row.status if final else None,
        "timeliness": row.timeliness if row.status in RESOLVING else None,
        "processing_minutes": processing_minutes(calendar, row, events),
        "supplements": sum(1 for e in events if e.kind == "status" and e.status == "supplement_requested"),
        "fee_required": row.procedure_version_id in fee_versions or paid_at is not None,
        "paid_on": vn_day(paid_at), "paid_amount": amount, "rating": score, "rated_on": vn_day(rated_at),
        "digitized": row.channel == "online" or UPLOAD_KIND in kinds,
        "e_result": row.status == "returned" and bool(kinds & set(RESULT_KINDS)),
        "synced": bool(portal) and "incident" not in portal,
    }


_TASK_COLUMNS = (Task.id, Task.dossier_id, Task.bpmn_id, Task.title, Task.role, Task.created_at, Task.completed_at,
                 Task.due_at, Dossier.agency_code, ProcedureVersion.procedure_id)


def task_facts(session: Session, ids: Sequence[int], calendar: WorkingCalendar) -> list[dict[str, Any]]:
    """The `report_task` rows of the completed tasks of dossiers `ids`."""
    if not ids:
        return []
    rows = session.execute(select(*_TASK_COLUMNS)
                           .join(Dossier, Dossier.id == Task.dossier_id)
                           .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
                           .where(within(Task.dossier_id, ids), Task.state == "done", Task.completed_at.is_not(None)))
    return [task_fact(row, calendar) for row in rows]


def task_fact(row: Any, calendar: WorkingCalendar) -> dict[str, Any]:
    """One completed task's `report_task` row (from the `_TASK_COLUMNS`)."""
    return {"task_id": row.id, "dossier_id": row.dossier_id, "agency_code": row.agency_code,
            "procedure_id": row.procedure_id, "bpmn_id": row.bpmn_id, "title": row.title[:255], "role": row.role,
            "completed_on": vn_day(row.completed_at),
            "minutes": working_minutes(calendar, row.created_at, row.completed_at),
            "late": row.due_at is not None and row.completed_at > row.due_at}


def fee_versions(session: Session) -> set[int]:
    """Ids of the procedure versions that charge everyone a fee (see `charges_fee`); reads only
    the fee lines of each package, not its BPMN."""
    fees = ProcedureVersion.package["procedure"]["fees"]
    return {version_id for version_id, lines in session.execute(select(ProcedureVersion.id, fees))
            if charges_fee({"fees": lines if isinstance(lines, list) else []})}
