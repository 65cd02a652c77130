"""What the officials' workspace reads beyond one inbox: the agency's open tasks for its leader (to
reassign them) and a due date's distance in working days (the clock shown on a task)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from engine.context import EngineContext
from engine.models import Dossier, Task
from engine.services import inbox, substitutions
from engine.services.accounts import Actor
from engine.services.tasks import TaskView, _view


def agency_open_tasks(ctx: EngineContext, supervisor: Actor, *, limit: int = 100,
                      offset: int = 0) -> list[TaskView]:
    """The open officials' tasks of the supervisor's agency, soonest due first: what a leader may
    reassign (applicant steps are not reassigned, so they are left out)."""
    substitutions.check_supervisor(supervisor, supervisor.agency_code)
    query = (select(Task).join(Dossier, Dossier.id == Task.dossier_id).options(contains_eager(Task.dossier))
             .where(Task.state == "open", Task.agency_code == supervisor.agency_code,
                    Task.role.in_(substitutions.OFFICIAL_ROLES))
             .order_by(Task.due_at.asc().nulls_last(), Task.created_at, Task.id).limit(limit).offset(offset))
    with ctx.sessions() as session:
        bounds = inbox.due_bounds(ctx, session)
        return [_view(ctx, session, task, bounds=bounds) for task in session.scalars(query)]


def working_days_left(ctx: EngineContext, due_at: datetime | None, now: datetime | None = None) -> float | None:
    """Working days from now to `due_at` (negative once overdue), in half-day steps; None without a due date."""
    if due_at is None:
        return None
    return ctx.calendar().working_days_between(now or datetime.now(UTC), due_at)
