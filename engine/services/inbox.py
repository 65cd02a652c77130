"""The inbox as a query: whose open tasks, narrowed by the workspace's filters, with their due state;
and the officials' notifications (new, overdue, due-soon tasks) counted in SQL from the task table
and the user's `inbox_seen_at`, with no notification rows fanned out per person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Row, Select, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import InvalidInput
from engine.models import Dossier, Procedure, ProcedureVersion, Substitution, Task, User
from engine.reads import read_only
from engine.services.accounts import Actor
from engine.services.dossiers import _normalize_phone
from engine.services.search import fold, like_pattern
from engine.services.substitutions import OFFICIAL_ROLES, active_on, vietnam_today
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


@dataclass(frozen=True)
class Reader:
    """What the inbox needs to know of the person reading it: the absent colleagues whose assigned
    tasks they work today as their substitute, and when they last marked their inbox seen."""

    absent: list[int]
    seen_at: datetime | None = None
    official: bool = False

    def is_new(self, task: Task | Row) -> bool:
        """Created after the reader's `inbox_seen_at` (any task, if they never looked). The same rule
        as the badge's count; only officials mark their inbox seen, so for anyone else nothing is new."""
        return self.official and (self.seen_at is None or task.created_at > self.seen_at)


#: An official's seen time and whom they stand in for today: built once, it is read on every inbox request.
_READER = (select(User.inbox_seen_at, Substitution.user_id)
           .outerjoin(Substitution, (Substitution.substitute_id == User.id) & active_on(bindparam("today")))
           .where(User.id == bindparam("user_id")))


def reader(session: Session, actor: Actor, *, any_role: bool = False) -> Reader:
    """The reader of an inbox in one statement: an official's user row joined with the substitutions
    that make them stand in for someone today. Anyone else stands in for nobody and has nothing new
    in their list; `any_role` still reads their seen time (the badge counts by it for whoever marked
    their inbox seen)."""
    if actor.role not in OFFICIAL_ROLES:
        return Reader([], session.scalar(select(User.inbox_seen_at).where(User.id == actor.id)) if any_role else None)
    rows = session.execute(_READER, {"user_id": actor.id, "today": vietnam_today()}).all()
    seen_at = rows[0].inbox_seen_at if rows else None
    return Reader([row.user_id for row in rows if row.user_id is not None], seen_at, official=True)


def lane(actor: Actor, absent: list[int]) -> tuple[Any, bool]:
    """Which open tasks are the actor's: (condition, whether it reads the dossier table).

    Officials: their role in their agency, plus what is assigned to colleagues they stand in for.
    The desk also works applicant steps of walk-in dossiers (no account); citizens their own."""
    return _lane(_lane_kind(actor.role), actor.id, actor.role, actor.agency_code, absent or None)


def _lane_kind(role: str) -> str:
    return role if role in ("citizen", "desk") else "official"


def _lane(kind: str, actor_id: Any, role: Any, agency_code: Any, absent: Any) -> tuple[Any, bool]:
    """`lane`'s condition for a kind of actor; the values may be bound parameters (`_unfiltered_page`)."""
    if kind == "citizen":
        return (Task.role == "applicant") & (Dossier.owner_id == actor_id), True
    if kind == "desk":
        condition = or_((Task.role == "desk") & (Task.agency_code == agency_code),
                        (Task.role == "applicant") & Dossier.owner_id.is_(None)
                        & (Dossier.agency_code == agency_code))
        uses_dossier = True
    else:
        condition, uses_dossier = (Task.role == role) & (Task.agency_code == agency_code), False
    if absent is not None:
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


#: What an inbox line shows of a task and its dossier. Rows of these columns, not Task and Dossier
#: objects: loading 50 whole objects of each (every date column converted, the milestones' JSON
#: parsed) cost more than the rest of the inbox request together. No name is in both halves, so a
#: row reads as the task and as its dossier alike (`tasks._view`).
LINE_COLUMNS = (Task.id, Task.title, Task.bpmn_id, Task.role, Task.agency_code, Task.state, Task.assignee_id,
                Task.created_at, Task.due_at,
                Dossier.code, Dossier.procedure_version_id, Dossier.applicant_name, Dossier.status)


def tasks_query(actor: Actor, absent: list[int], filters: InboxFilter, bounds: Bounds) -> tuple[Select, dict[str, Any]]:
    """One page of the open tasks of the actor's inbox with their dossiers (LINE_COLUMNS), filtered
    and sorted: the statement and its parameters. The unfiltered page, which every inbox shows first
    and every refresh reads again, is built once per shape (`_unfiltered_page`)."""
    text = (filters.search or "").strip()
    if not (filters.procedure or filters.status or filters.due or text):
        params = {**_lane_params(actor, absent), "page_limit": filters.limit, "page_offset": filters.offset}
        return _unfiltered_page(_lane_kind(actor.role), bool(absent), filters.sort), params
    condition, _ = lane(actor, absent)
    query = _page(condition)
    if filters.procedure:
        versions = (select(ProcedureVersion.id).join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
                    .where(or_(Procedure.slug == filters.procedure, Procedure.code == filters.procedure)))
        query = query.where(Dossier.procedure_version_id.in_(versions))
    if filters.status:
        query = query.where(Dossier.status == filters.status)
    if filters.due:
        query = query.where(_due_condition(filters.due, bounds))
    if text:
        query = query.where(_search_condition(text))
    return query.order_by(*_order(filters.sort)).limit(filters.limit).offset(filters.offset), {}


def _page(condition: Any) -> Select:
    return (select(*LINE_COLUMNS).select_from(Task).join(Dossier, Dossier.id == Task.dossier_id)
            .where(Task.state == "open", condition))


@lru_cache(maxsize=64)
def _unfiltered_page(kind: str, covering: bool, sort: str) -> Select:
    """The unfiltered inbox page of a kind of actor, the actor and the page as bound parameters:
    building the statement cost about as much as PostgreSQL spent running it."""
    condition, _ = _bound_lane(kind, covering)
    return (_page(condition).order_by(*_order(sort))
            .limit(bindparam("page_limit", type_=Integer)).offset(bindparam("page_offset", type_=Integer)))


def _bound_lane(kind: str, covering: bool) -> tuple[Any, bool]:
    """`lane` of a kind of actor with the actor as bound parameters (`_lane_params`)."""
    return _lane(kind, bindparam("lane_actor"), bindparam("lane_role"), bindparam("lane_agency"),
                 bindparam("lane_absent", expanding=True) if covering else None)


def _lane_params(actor: Actor, absent: list[int]) -> dict[str, Any]:
    params = {"lane_actor": actor.id, "lane_role": actor.role, "lane_agency": actor.agency_code}
    if absent:
        params["lane_absent"] = list(absent)
    return params


@dataclass(frozen=True)
class InboxSummary:
    #: open tasks in the inbox
    total: int
    #: created since the official last marked the inbox seen (all of them, if never)
    new: int
    overdue: int
    due_soon: int
    seen_at: datetime | None


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def inbox_summary(ctx: EngineContext, actor: Actor, *, now: datetime | None = None) -> InboxSummary:
    """Counts for the notification badge, in one aggregate statement over the inbox's tasks (built once
    per shape: every page an official opens shows the badge)."""
    with read_only(ctx.sessions) as session:
        now, soon = due_bounds(ctx, session, now)
        reading = reader(session, actor, any_role=True)
        seen_at = reading.seen_at
        params = {**_lane_params(actor, reading.absent), "due_now": now, "due_soon": soon}
        if seen_at is not None:
            params["seen_at"] = seen_at
        statement = _summary(_lane_kind(actor.role), bool(reading.absent), seen_at is not None)
        total, new, overdue, soon_count = session.execute(statement, params).one()
        return InboxSummary(int(total), int(new), int(overdue), int(soon_count), seen_at)


@lru_cache(maxsize=16)
def _summary(kind: str, covering: bool, seen: bool) -> Select:
    """The badge's counts for a kind of actor: the actor, the due bounds and the seen time bound."""
    condition, uses_dossier = _bound_lane(kind, covering)
    bounds = (bindparam("due_now"), bindparam("due_soon"))
    is_new = Task.created_at > bindparam("seen_at") if seen else Task.id.is_not(None)
    query = select(func.count(Task.id), _count(is_new), _count(_due_condition("overdue", bounds)),
                   _count(_due_condition("due_soon", bounds))).select_from(Task)
    if uses_dossier:
        query = query.join(Dossier, Dossier.id == Task.dossier_id)
    return query.where(Task.state == "open", condition)


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
