"""Script errors that stop a workflow between wait states become incidents an admin retries or skips.

Every run that moves a workflow happens in one transaction that rolls back as a whole when a script
(a script task, a pre- or post-script) or a condition fails, so the instance stays at its last wait
state, exactly as a Camunda job that failed leaves its process instance at the last save point. What
would be lost is kept instead, in a transaction of its own, on the instance row (`error`, `error_at`)
with an "incident" event: a timer the sweep fired is simply due again; what came from outside (a
connector's result, a confirmed payment, an agency's reply) is held on the instance
(`held_inputs`, engine/services/instances.py) after its own effects were recorded (a signed file
stored, a payment marked paid), so nothing is asked twice. The sweep passes such instances by (no
hot loop).

**Retry** runs the same path again: the held inputs are applied again, in order, then the due
timers fire. **Skip** runs it again *passing over* the failing element: its scripts are not run
and it completes with the data it had, then the workflow goes on; a BPMN sees the task as
completed, and the variables the script would have set are simply absent. Only a script can be
passed over: a failing condition or expression (a gateway, a timer, a service task's parameter) has
no value to skip to, so a skip of it fails again and the incident stays. When the run then fails
at a later element, nothing is applied and the incident names that element; the elements the admin
already chose to pass over are remembered with it (in the incident's event), so the next retry or
skip passes over them too.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, WorkflowError
from engine.models import Dossier, Event, OutboxMessage, WorkflowInstance
from engine.services.accounts import SYSTEM, Actor
from engine.services.instances import apply_held_inputs, apply_report, load_runner

log = logging.getLogger(__name__)

MAX_ERROR = 2000
MAX_REASON = 500


def require_admin(actor: Actor, message_vi: str = "Chỉ quản trị viên được xử lý sự cố.") -> None:
    if actor.role != "admin":
        raise Forbidden("only admins handle incidents", message_vi=message_vi)


def skip_reason(reason: str | None) -> str:
    """The reason an admin gives for a skip: required, at most MAX_REASON characters."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": ["Vui lòng nêu lý do bỏ qua sự cố."]}, "a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidInput({"reason": [f"Lý do bỏ qua tối đa {MAX_REASON} ký tự."]}, "reason too long")
    return reason


def failed_element(exc: BaseException) -> str | None:
    """The BPMN element id a workflow error happened at (SpiffWorkflow's exception names its task)."""
    seen: BaseException | None = exc
    while seen is not None:
        spec = getattr(seen, "task_spec", None)
        if spec is not None:
            return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
        seen = seen.__cause__
    return None


def describe(exc: BaseException) -> str:
    """What an admin reads: the element id, then the error (as the dossier's officials would see it)."""
    element = failed_element(exc)
    text = getattr(exc, "message_vi", None) or f"{type(exc).__name__}: {exc}"
    return (f"{element}: {text}" if element else text)[:MAX_ERROR]


class PassingOver:
    """A script engine that does not run the scripts of some elements (a skip), and delegates all else.

    It stands in for the context's engine for one run only; the workflow state never refers to it."""

    def __init__(self, engine: Any, elements: Iterable[str]) -> None:
        self._engine = engine
        self.elements = frozenset(elements)

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        if task.task_spec.bpmn_id in self.elements:
            log.info("passing over the script of %s (incident skipped)", task.task_spec.bpmn_id)
            return True
        return self._engine.execute(task, script, external_context)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def passing_over(ctx: EngineContext, elements: Iterable[str]) -> EngineContext:
    """A view of `ctx` whose workflows pass over the scripts of `elements` (ctx itself if none)."""
    elements = [e for e in elements if e]
    if not elements:
        return ctx
    return dataclasses.replace(ctx, script_engine=PassingOver(ctx.script_engine, elements))


# --- instance incidents (a timer's path failed) -------------------------------------------------


@dataclass(frozen=True)
class InstanceIncident:
    """The incident of an instance, as its last "incident" event recorded it."""

    element: str | None
    attempts: int
    passing_over: tuple[str, ...]


def last_incident(session: Session, dossier_id: int) -> InstanceIncident:
    """The latest instance incident in the dossier's history (its outbox incidents are passed by)."""
    recent = session.scalars(select(Event.data).where(Event.dossier_id == dossier_id, Event.kind == "incident")
                             .order_by(Event.seq.desc()).limit(50))
    data = next((d for d in recent if d and d.get("kind") == "script" and "instance" in d), None)
    if data is None:
        return InstanceIncident(None, 0, ())
    return InstanceIncident(data.get("element"), int(data.get("attempts") or 1), tuple(data.get("passing_over") or ()))


def record_instance_error(ctx: EngineContext, instance_id: int, exc: BaseException, *,
                          passed_over: Iterable[str] = (), at: datetime | None = None) -> str:
    """Keep the error of a run that was rolled back on the instance row, with an "incident" event.

    An incident already open on the instance (a retry or a skip that failed again) counts one more
    attempt; a new one starts at one."""
    at = at or datetime.now(UTC)
    message = describe(exc)
    element = failed_element(exc)
    for _attempt in range(5):
        try:
            with transaction(ctx.sessions) as session:
                instance = session.get(WorkflowInstance, instance_id)
                dossier = session.get(Dossier, instance.dossier_id)
                before = last_incident(session, dossier.id) if instance.error is not None else None
                instance.error, instance.error_at = message, at
                version = ctx.versions.get(session, dossier.procedure_version_id)
                specs = ctx.specs.get(version.content_hash, version.package)
                history.record(session, dossier, "incident", actor=SYSTEM, status=dossier.status, at=at, data={
                    "kind": "script", "instance": instance_id, "element": element,
                    "operation": _title(specs, element), "error": message[:500],
                    "attempts": before.attempts + 1 if before else 1, "passing_over": sorted(set(passed_over))})
            break
        except Conflict:
            continue  # the dossier moved meanwhile (a person worked it): record on the fresh row
    log.warning("instance %s stopped with a script error: %s", instance_id, message)
    return message


def _title(specs: Any, element: str | None) -> str:
    """The element's name in the BPMN, for the history line (its id if it has none)."""
    for spec in [specs.spec, *specs.subprocess_specs.values()]:
        task_spec = next((t for t in spec.task_specs.values() if getattr(t, "bpmn_id", None) == element), None)
        if task_spec is not None:
            return getattr(task_spec, "bpmn_name", None) or element or ""
    return element or ""


@dataclass(frozen=True)
class Resolution:
    #: the instance moved on (False: it failed again, `error` says where)
    resolved: bool
    error: str | None


def retry_instance(ctx: EngineContext, actor: Actor, instance_id: int) -> Resolution:
    """Fire the instance's due timers again, now (the elements already skipped stay passed over)."""
    require_admin(actor)
    return _rerun(ctx, actor, instance_id, "incident_retried", {}, skip=False)


def skip_instance(ctx: EngineContext, actor: Actor, instance_id: int, reason: str | None) -> Resolution:
    """Fire the instance's due timers again passing over the failing element (see the module's doc)."""
    require_admin(actor)
    reason = skip_reason(reason)
    return _rerun(ctx, actor, instance_id, "incident_skipped", {"reason": reason}, skip=True)


def _rerun(ctx: EngineContext, actor: Actor, instance_id: int, kind: str, data: dict[str, Any], *,
           skip: bool) -> Resolution:
    with ctx.sessions() as session:
        instance = session.get(WorkflowInstance, instance_id)
        if instance is None or instance.error is None:
            raise NotFound(f"no incident on instance {instance_id}", message_vi="Không tìm thấy sự cố này.")
        incident = last_incident(session, instance.dossier_id)
        clock = _fire_clock(instance)
    elements = set(incident.passing_over) | ({incident.element} if skip and incident.element else set())
    data = {**data, "instance": instance_id, "element": incident.element, "passing_over": sorted(elements)}
    try:
        created = _fire_resolving(passing_over(ctx, elements), actor, instance_id, clock, kind, data)
    except WorkflowError as exc:
        error = record_instance_error(ctx, instance_id, exc, passed_over=elements, at=clock)
        return Resolution(False, error)
    ctx.notify_outbox(created)
    return Resolution(True, None)


def _fire_clock(instance: WorkflowInstance) -> datetime:
    """The clock to fire again with: the later of now and the due time of the timer that failed (it
    was due when the sweep failed, at `error_at`); a later timer the workflow reached meanwhile (a
    person moved the dossier on) is not fired early."""
    now = datetime.now(UTC)
    due, failed_at = _aware(instance.next_timer_at), _aware(instance.error_at) or now
    return max(now, due) if due is not None and due <= failed_at else now


def _fire_resolving(ctx: EngineContext, actor: Actor, instance_id: int, clock: datetime, kind: str,
                    data: dict[str, Any]) -> list[OutboxMessage]:
    """Fire again what failed and clear the error, in one transaction; returns the calls decided."""
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        instance = session.get(WorkflowInstance, instance_id)
        if instance is None or instance.error is None:
            raise NotFound(f"no incident on instance {instance_id}", message_vi="Không tìm thấy sự cố này.")
        dossier = session.get(Dossier, instance.dossier_id)
        outbox = []
        if instance.held_inputs:  # input that came while suspended and failed on resume: apply it again
            apply_held_inputs(ctx, session, dossier, instance)
            session.flush()
        if instance.next_timer_at is not None and not instance.completed:
            instance, runner = load_runner(ctx, session, dossier, instance)
            report = runner.fire_timers(clock)
            outbox = apply_report(ctx, session, dossier, instance, runner, report, SYSTEM, now=now)
        instance.error = instance.error_at = None
        history.record(session, dossier, kind, actor=actor, status=dossier.status, data=data, at=now)
        session.flush()
        return list(outbox)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
