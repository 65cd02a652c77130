"""The timer sweep: fire BPMN timers that are due (consultation windows, verification periods,
reminders). Each instance row carries its next fire time (indexed), so the sweep reads only the
due rows; the in-process worker and Celery beat call the same function."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import or_, select

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, WorkflowError
from engine.incidents import record_instance_error
from engine.models import WorkflowInstance
from engine.services.accounts import SYSTEM
from engine.services.instances import apply_report, load_runner, lock_workflow

log = logging.getLogger(__name__)


def due_instances(ctx: EngineContext, now: datetime, limit: int = 100) -> list[int]:
    with ctx.sessions() as session:
        return list(session.scalars(
            select(WorkflowInstance.id).where(WorkflowInstance.next_timer_at <= now, WorkflowInstance.completed.is_(False),
                                              WorkflowInstance.suspended_at.is_(None),  # an admin holds it
                                              # an incident: the timer that failed waits for an admin; a
                                              # later one the workflow reached since (a person moved it) fires
                                              or_(WorkflowInstance.error.is_(None),
                                                  WorkflowInstance.next_timer_at > WorkflowInstance.error_at))
            .order_by(WorkflowInstance.next_timer_at).limit(limit)))


def fire_due_timers(ctx: EngineContext, *, now: datetime | None = None, limit: int = 100) -> list[str]:
    """Fire what is due at `now` (default: the real clock); return the dossier codes moved."""
    now = now or datetime.now(UTC)
    moved = []
    for instance_id in due_instances(ctx, now, limit):
        try:
            code = _fire(ctx, instance_id, now)
        except Conflict:
            continue  # someone worked the dossier meanwhile; the next sweep looks again
        except WorkflowError as exc:  # a script on the timer's path: an incident, the sweep goes on
            record_instance_error(ctx, instance_id, exc, at=now)
            continue
        if code:
            moved.append(code)
    return moved


def _fire(ctx: EngineContext, instance_id: int, now: datetime) -> str | None:
    with transaction(ctx.sessions, pipelined=True) as session:
        locked = lock_workflow(session, instance_id=instance_id)  # an official's completion goes first
        if locked is None:
            return None
        dossier, instance = locked
        if instance.next_timer_at is None or instance.next_timer_at > now:
            return None
        if instance.error is not None and (instance.held_inputs or instance.next_timer_at <= instance.error_at):
            return None  # the incident's own timer, or input held for it: an admin retries or skips
        instance, runner = load_runner(ctx, session, dossier, instance)
        report = runner.fire_timers(now)
        outbox = apply_report(ctx, session, dossier, instance, runner, report, SYSTEM, now=now)
        session.flush()
        code = dossier.code
    ctx.notify_outbox(outbox)
    log.info("timers fired for dossier %s", code)
    return code
