"""The admin's incident desk: connector calls that gave up, and workflows a script stopped while a
timer fired; each is retried, or skipped with a reason. The rules themselves are in engine/outbox.py
(calls) and engine/incidents.py (scripts); this room lists both kinds alike for the page and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import incidents as script_incidents
from engine import outbox
from engine.context import EngineContext
from engine.errors import NotFound
from engine.models import Dossier, OutboxMessage, WorkflowInstance
from engine.services.accounts import Actor

OUTBOX, INSTANCE = "outbox", "instance"


@dataclass(frozen=True)
class IncidentView:
    #: the outbox row id (kind "outbox") or the workflow instance id (kind "instance")
    id: int
    #: "outbox": a connector call that gave up (retry makes the call again); "instance": the
    #: workflow stopped on a script while a timer fired (retry fires the timer again)
    kind: str
    #: "connector" (the call failed) or "script" (a script failed on the result or the timer's path)
    cause: str
    dossier_code: str | None
    #: incident | pending (retried, queued) | skipped | resolved (an instance retried with success)
    state: str
    attempts: int
    last_error: str | None
    #: when it last failed
    failed_at: datetime | None
    #: the BPMN element the script failed at (None for a connector failure)
    element: str | None
    connector: str | None
    operation: str | None
    created_at: datetime
    next_attempt_at: datetime | None


def list_incidents(ctx: EngineContext, actor: Actor) -> list[IncidentView]:
    """Both kinds, the oldest failure first."""
    script_incidents.require_admin(actor, "Chỉ quản trị viên xem được các sự cố.")
    calls = (select(OutboxMessage, Dossier.code).outerjoin(Dossier, Dossier.id == OutboxMessage.dossier_id)
             .where(OutboxMessage.state == "incident").order_by(OutboxMessage.id))
    stopped = (select(WorkflowInstance.id).where(WorkflowInstance.error.is_not(None))
               .order_by(WorkflowInstance.error_at))
    with ctx.sessions() as session:
        views = [_call(row, code) for row, code in session.execute(calls).all()]
        views += [_stopped(session, instance_id, "incident") for instance_id in session.scalars(stopped)]
    return sorted(views, key=lambda view: (view.failed_at or view.created_at).timestamp())


def retry_incident(ctx: EngineContext, actor: Actor, message_id: int) -> IncidentView:
    """Send a call back to the queue with a fresh attempt budget (`engine.outbox.retry_incident`)."""
    script_incidents.require_admin(actor)
    outbox.retry_incident(ctx, actor, message_id)
    return _call_view(ctx, message_id)


def skip_incident(ctx: EngineContext, actor: Actor, message_id: int, reason: str | None) -> IncidentView:
    """Give up on a call for a reason; a workflow waiting on it goes on (`engine.outbox.skip_incident`)."""
    outbox.skip_incident(ctx, actor, message_id, reason)
    return _call_view(ctx, message_id)


def retry_instance_incident(ctx: EngineContext, actor: Actor, instance_id: int) -> IncidentView:
    """Fire the stopped instance's timer again, now: state "resolved", or "incident" with the new error."""
    resolution = script_incidents.retry_instance(ctx, actor, instance_id)
    return _instance_view(ctx, instance_id, "resolved" if resolution.resolved else "incident")


def skip_instance_incident(ctx: EngineContext, actor: Actor, instance_id: int, reason: str | None) -> IncidentView:
    """Pass over the failing script and go on (engine/incidents.py): state "skipped", or "incident"
    when the workflow failed further on (nothing applied, the error names where)."""
    resolution = script_incidents.skip_instance(ctx, actor, instance_id, reason)
    return _instance_view(ctx, instance_id, "skipped" if resolution.resolved else "incident")


def _call_view(ctx: EngineContext, message_id: int) -> IncidentView:
    with ctx.sessions() as session:
        row = session.get(OutboxMessage, message_id)
        code = session.get(Dossier, row.dossier_id).code if row.dossier_id is not None else None
        return _call(row, code)


def _call(row: OutboxMessage, dossier_code: str | None) -> IncidentView:
    return IncidentView(row.id, OUTBOX, "connector", dossier_code, row.state, row.attempts, row.last_error,
                        row.next_attempt_at, None, row.connector, row.operation, row.created_at, row.next_attempt_at)


def _instance_view(ctx: EngineContext, instance_id: int, state: str) -> IncidentView:
    with ctx.sessions() as session:
        return _stopped(session, instance_id, state)


def _stopped(session: Session, instance_id: int, state: str) -> IncidentView:
    row = session.execute(select(WorkflowInstance.error, WorkflowInstance.error_at, WorkflowInstance.updated_at,
                                 WorkflowInstance.dossier_id, Dossier.code)
                          .join(Dossier, Dossier.id == WorkflowInstance.dossier_id)
                          .where(WorkflowInstance.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"no instance {instance_id}", message_vi="Không tìm thấy sự cố này.")
    error, error_at, updated_at, dossier_id, code = row
    incident = script_incidents.last_incident(session, dossier_id)
    return IncidentView(instance_id, INSTANCE, "script", code, state, incident.attempts, error, error_at,
                        incident.element, None, None, error_at or updated_at, None)
