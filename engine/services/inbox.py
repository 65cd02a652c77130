"""The inbox as a query: whose open tasks, narrowed by the workspace's filters, with their due state;
and the officials' notifications (new, overdue, due-soon tasks) counted in SQL from the task table
and the user's `inbox_seen_at`, with no notification rows fanned out per person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.orm import Session, contains_eager

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import InvalidInput
from engine.models import Dossier, Procedure, ProcedureVersion, Task, User
from engine.services.accounts import Actor
from engine.services.dossiers import _normalize_phone
from engine.services.search import fold, like_pattern
from engine.services.substitutions import OFFICIAL_ROLES, standing_in_for
from engine.statuses import STATUSES

DUE_STATES = ("on_track", "due_soon", "overdue")
#: a leading "-" sorts descending
SORTS = ("due_at", "-due_at", "created_at", "-created_at", "code", "-code")
MAX_SEARCH = 100
MAX_PAGE = 1000
_PHONE_LIKE = re.compile(r"[\d\s+().-]+")

Bounds = tuple[datetime, datetime]


def due_bounds(ctx: EngineContext, session: Session, now: datetime | None = None) -> Bounds:
    """(now, the end of the next working day's worth of time): due before now is overdue, by the
    second bound due soon. Working time, so a Friday afternoon sees Monday's tasks coming."""
    now = now or datetime.now(UTC)
    return now, ctx.calendar(session).add_working_days(now, 1)


def due_state(due_at: datetime | None, bounds: Bounds) -> str:
    """on_track | due_soon | overdue; a task without a due date cannot be late."""
    now, soon = bounds
    if due_at is None or due_at > soon:
        return "on_track"
    return "overdue" if due_at < now else "due_soon"


def _due_condition(state: str, bounds: Bounds) -> Any:
    now, soon = bounds
    if state == "overdue":
        return Task.due_at < now
    if state == "due_soon":
        return (Task.due_at >= now) & (Task.due_at <= soon)
    return or_(Task.due_at.is_(None), Task.due_at > soon)


@dataclass(frozen=True)
class InboxFilter:
    """What the workspace narrows the inbox to. `procedure` is a slug (or mã TTHC); `search` a
    dossier code prefix, part of the applicant's name or phone, or the exact ID number."""

    procedure: str | None = None
    status: str | None = None
    due: str | None = None
    search: str | None = None
    sort: str = "due_at"
    limit: int = 50
    offset: int = 0

    def check(self) -> None:
        errors: dict[str, list[str]] = {}
        if not 1 <= self.limit <= MAX_PAGE:
            errors["limit"] = [f"Số công việc mỗi trang phải từ 1 đến {MAX_PAGE}."]
        if self.offset < 0:
            errors["offset"] = ["Vị trí bắt đầu không được âm."]
        if self.status is not None and self.status not in STATUSES:
            errors["status"] = ["Trạng thái hồ sơ không hợp lệ."]
        if self.due is not None and self.due not in DUE_STATES:
            errors["due"] = ["Tình trạng hạn phải là on_track, due_soon hoặc overdue."]
        if self.sort not in SORTS:
            errors["sort"] = ["Cách sắp xếp phải là một trong: " + ", ".join(SORTS) + "."]
        if self.search is not None and len(self.search) > MAX_SEARCH:
            errors["search"] = [f"Từ khóa không được dài quá {MAX_SEARCH} ký tự."]
        if errors:
            raise InvalidInput(errors)


def covering(session: Session, actor: Actor) -> list[int]:
    """The absent colleagues whose assigned tasks `actor` works today as their substitute."""
    return standing_in_for(session, actor.id) if actor.role in OFFICIAL_ROLES else []


def lane(actor: Actor, absent: list[int]) -> tuple[Any, bool]:
    """Which open tasks are the actor's: (condition, whether it reads the dossier table).

    Officials: their role in their agency, plus what is assigned to colleagues they stand in for.
    The desk also works applicant steps of walk-in dossiers (no account); citizens their own."""
    if actor.role == "citizen":
        return (Task.role == "applicant") & (Dossier.owner_id == actor.id), True
    if actor.role == "desk":
        condition = or_((Task.role == "desk") & (Task.agency_code == actor.agency_code),
                        (Task.role == "applicant") & Dossier.owner_id.is_(None)
                        & (Dossier.agency_code == actor.agency_code))
        uses_dossier = True
    else:
        condition, uses_dossier = (Task.role == actor.role) & (Task.agency_code == actor.agency_code), False
    if absent:
        condition = or_(condition, Task.assignee_id.in_(absent))
    return condition, uses_dossier


def _search_condition(text: str) -> Any:
    conditions = [Dossier.code.like(like_pattern(text.upper()) + "%", escape="\\"),
                  Dossier.applicant_name_folded.like("%" + like_pattern(fold(text)) + "%", escape="\\"),
                  Dossier.applicant_id_number == text]
    if _PHONE_LIKE.fullmatch(text):
        digits = _normalize_phone(text) or ""
        if len(digits) >= 3:
            conditions.append(Dossier.applicant_phone.like(f"%{digits}%"))
    return or_(*conditions)


def _order(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key == "due_at":
        due = Task.due_at.desc() if descending else Task.due_at.asc()
        return [due.nulls_last(), Task.created_at, Task.id]
    column = Task.created_at if key == "created_at" else Dossier.code
    return [column.desc() if descending else column.asc(), Task.id.desc() if descending else Task.id]


def tasks_query(actor: Actor, absent: list[int], filters: InboxFilter, bounds: Bounds) -> Select:
    """One page of the open tasks of the actor's inbox (their dossiers loaded by the same join),
    filtered and sorted."""
    condition, _ = lane(actor, absent)
    query = (select(Task).join(Dossier, Dossier.id == Task.dossier_id).options(contains_eager(Task.dossier))
             .where(Task.state == "open", condition))
    if filters.procedure:
        versions = (select(ProcedureVersion.id).join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
                    .where(or_(Procedure.slug == filters.procedure, Procedure.code == filters.procedure)))
        query = query.where(Dossier.procedure_version_id.in_(versions))
    if filters.status:
        query = query.where(Dossier.status == filters.status)
    if filters.due:
        query = query.where(_due_condition(filters.due, bounds))
    text = (filters.search or "").strip()
    if text:
        query = query.where(_search_condition(text))
    return query.order_by(*_order(filters.sort)).limit(filters.limit).offset(filters.offset)


@dataclass(frozen=True)
class InboxSummary:
    #: open tasks in the inbox
    total: int
    #: created since the official last marked the inbox seen (all of them, if never)
    new: int
    overdue: int
    due_soon: int
    seen_at: datetime | None


def new_since_last_visit(session: Session, actor: Actor) -> Callable[[Task], bool]:
    """Whether a task of the actor's inbox is new to them: created after their `inbox_seen_at` (any
    task, if they never looked). The same rule as the badge's count; only officials mark their
    inbox seen, so for anyone else nothing is new."""
    if actor.role not in OFFICIAL_ROLES:
        return lambda task: False
    seen_at = session.scalar(select(User.inbox_seen_at).where(User.id == actor.id))
    return lambda task: seen_at is None or task.created_at > seen_at


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def inbox_summary(ctx: EngineContext, actor: Actor, *, now: datetime | None = None) -> InboxSummary:
    """Counts for the notification badge, in one aggregate statement over the inbox's tasks."""
    with ctx.sessions() as session:
        bounds = due_bounds(ctx, session, now)
        condition, uses_dossier = lane(actor, covering(session, actor))
        seen_at = session.scalar(select(User.inbox_seen_at).where(User.id == actor.id))
        is_new = Task.created_at > seen_at if seen_at is not None else Task.id.is_not(None)
        query = select(func.count(Task.id), _count(is_new), _count(_due_condition("overdue", bounds)),
                       _count(_due_condition("due_soon", bounds))).select_from(Task)
        if uses_dossier:
            query = query.join(Dossier, Dossier.id == Task.dossier_id)
        total, new, overdue, soon = session.execute(query.where(Task.state == "open", condition)).one()
        return InboxSummary(int(total), int(new), int(overdue), int(soon), seen_at)


def mark_inbox_seen(ctx: EngineContext, actor: Actor, until: datetime | None = None) -> InboxSummary:
    """Tasks created up to `until` (now by default; never later, never moving backwards) are no
    longer new. Passing the time the inbox was shown keeps tasks that arrived since then new."""
    now = datetime.now(UTC)
    at = min(until, now) if until is not None else now
    with transaction(ctx.sessions) as session:
        session.execute(update(User).where(User.id == actor.id,
                                           or_(User.inbox_seen_at.is_(None), User.inbox_seen_at < at))
                        .values(inbox_seen_at=at))
    return inbox_summary(ctx, actor)
