"""Operations on dossiers' workflow instances, for admins: find them, see where each one stands on
its BPMN, suspend and resume them.

Suspension is enforced where workflows move, not here: engine/services/instances.py refuses to
write any run of a suspended instance (task completion, supplement, payment, an agency's reply, a
timer, a connector's result) and refuses claims; the timer sweep (engine/timers.py) and the
outbox (engine/outbox.py) pass suspended dossiers by, their calls waiting with attempts kept.

The search must stay fast over a million dossiers: newest first along the primary key, filters
on columns as stored (no function on an indexed column), a capped count. An agency is found
through the unique code index: codes are `{agency}-{yymmdd}-{NNNN}` with the Vietnam day of
submission (engine/codes.py, engine/seeding/batch.py), so an agency and a period are a range of
codes; the exact conditions on agency and submission time are kept beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar import VN_TZ
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, DossierNotFound, Forbidden, InvalidInput, ProcedureNotFound, WorkflowError
from engine.incidents import last_incident, record_instance_error
from engine.models import (
    Agency,
    Dossier,
    Event,
    OutboxMessage,
    Procedure,
    ProcedureVersion,
    Task,
    User,
    WorkflowInstance,
)
from engine.procedures.editor_properties import main_bpmn_file
from engine.procedures.graph import read_graph
from engine.procedures.simulation_path import PathRecorder, SimStep
from engine.runtime.runner import Runner, timer_due, title_of
from engine.services.accounts import Actor
from engine.services.instances import apply_held_inputs, load_runner
from engine.statuses import STATUSES

#: The most rows a count reads: past it the page says "more than" (counting a million rows is a scan).
COUNT_CAP = 10_000
MAX_PER_PAGE = 200
MAX_REASON = 500
#: The calls of one dossier the detail lists, newest first.
MAX_CALLS = 100
QUERY_KEYS = ("ma", "thu_tuc", "trang_thai", "co_quan", "tu_ngay", "den_ngay", "tam_dung", "su_co")
_CODE = re.compile(r"[0-9A-Z.\-]{1,40}")
_FLAGS = {"": False, "0": False, "1": True}


def require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("only admins operate workflow instances",
                        message_vi="Chỉ quản trị viên được xem và điều khiển quy trình của hồ sơ.")


# --- search -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceFilters:
    code: str | None = None
    procedure_id: int | None = None
    status: str | None = None
    agency_code: str | None = None
    #: Vietnam days, inclusive
    date_from: date | None = None
    date_to: date | None = None
    suspended_only: bool = False
    incident_only: bool = False


@dataclass(frozen=True)
class InstanceRow:
    code: str
    procedure_name: str
    version_number: int
    agency_code: str
    agency_name: str
    status: str
    submitted_at: datetime
    due_at: datetime | None
    has_instance: bool
    completed: bool
    suspended: bool
    incident: bool


@dataclass(frozen=True)
class InstancePage:
    filters: InstanceFilters
    rows: list[InstanceRow]
    #: at most COUNT_CAP; `capped` says there are more
    total: int
    capped: bool
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def parse_filters(session: Session, args: Mapping[str, Any]) -> InstanceFilters:
    """The filters from query arguments (Vietnamese names, text values), or InvalidInput per field."""
    text = {key: str(args.get(key) or "").strip() for key in QUERY_KEYS}
    errors: dict[str, list[str]] = {}
    code = text["ma"].upper() or None
    if code and not _CODE.fullmatch(code):
        errors["ma"] = ["Mã hồ sơ chỉ gồm chữ, số, dấu chấm và dấu gạch nối, tối đa 40 ký tự."]
    procedure_id = int(text["thu_tuc"]) if text["thu_tuc"].isdigit() and len(text["thu_tuc"]) < 18 else None
    if text["thu_tuc"] and (procedure_id is None or session.get(Procedure, procedure_id) is None):
        errors["thu_tuc"] = ["Không có thủ tục này."]
    status = text["trang_thai"] or None
    if status and status not in STATUSES:
        errors["trang_thai"] = ["Không có trạng thái hồ sơ này."]
    agency = text["co_quan"] or None
    if agency and (len(agency) > 32 or session.get(Agency, agency) is None):
        errors["co_quan"] = ["Không có cơ quan này."]
    days: dict[str, date] = {}
    for key in ("tu_ngay", "den_ngay"):
        if not text[key]:
            continue
        try:
            days[key] = date.fromisoformat(text[key])
        except ValueError:
            errors[key] = ["Ngày không hợp lệ, cần dạng YYYY-MM-DD."]
            continue
        if not 2000 <= days[key].year <= 2099:  # dossier codes carry a two-digit year
            errors[key] = ["Ngày phải trong khoảng từ năm 2000 đến năm 2099."]
    if "tu_ngay" in days and "den_ngay" in days and days["tu_ngay"] > days["den_ngay"] and not errors.get("den_ngay"):
        errors["den_ngay"] = ["Ngày kết thúc phải sau hoặc trùng ngày bắt đầu."]
    for key in ("tam_dung", "su_co"):
        if text[key] not in _FLAGS:
            errors[key] = ["Giá trị không hợp lệ: 1 để lọc, để trống để không lọc."]
    if errors:
        raise InvalidInput(errors, "invalid instance search")
    return InstanceFilters(code, procedure_id, status, agency, days.get("tu_ngay"), days.get("den_ngay"),
                           _FLAGS[text["tam_dung"]], _FLAGS[text["su_co"]])


def search_instances(ctx: EngineContext, actor: Actor, args: Mapping[str, Any], page: int = 1,
                     per_page: int = 50) -> InstancePage:
    """One page of the dossiers matching `args` (newest first), with their instance's state."""
    require_admin(actor)
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    page = max(1, int(page))
    with ctx.sessions() as session:
        filters = parse_filters(session, args)
        where = _conditions(filters, session.get_bind().dialect.name)
        counted = session.scalar(select(func.count()).select_from(
            select(Dossier.id).where(*where).limit(COUNT_CAP + 1).subquery())) or 0
        found = session.execute(
            select(Dossier.id, Dossier.code, Dossier.procedure_version_id, Dossier.agency_code, Dossier.status,
                   Dossier.submitted_at, Dossier.due_at, WorkflowInstance.id.label("instance_id"),
                   WorkflowInstance.completed, WorkflowInstance.suspended_at, WorkflowInstance.error)
            .outerjoin(WorkflowInstance, WorkflowInstance.dossier_id == Dossier.id)
            .where(*where).order_by(Dossier.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
        rows = _rows(ctx, session, found)
    return InstancePage(filters, rows, min(counted, COUNT_CAP), counted > COUNT_CAP, page, per_page)


def _conditions(filters: InstanceFilters, dialect: str) -> list[Any]:
    where: list[Any] = []
    if filters.code:
        where.append(_code_prefix(filters.code, dialect))
    if filters.procedure_id:
        where.append(Dossier.procedure_version_id.in_(
            select(ProcedureVersion.id).where(ProcedureVersion.procedure_id == filters.procedure_id)))
    if filters.status:
        where.append(Dossier.status == filters.status)
    if filters.agency_code:
        # Bounds end with digits: right in any collation, not only byte order.
        first = filters.date_from.strftime("%y%m%d") if filters.date_from else "000000"
        after = _next_code_day(filters.date_to) if filters.date_to else "991232"
        where += [Dossier.code >= f"{filters.agency_code}-{first}", Dossier.code < f"{filters.agency_code}-{after}",
                  Dossier.agency_code == filters.agency_code]
    if filters.date_from:
        where.append(Dossier.submitted_at >= _vietnam_midnight(filters.date_from))
    if filters.date_to:
        where.append(Dossier.submitted_at < _vietnam_midnight(filters.date_to + timedelta(days=1)))
    if filters.suspended_only:
        where.append(Dossier.id.in_(select(WorkflowInstance.dossier_id)
                                    .where(WorkflowInstance.suspended_at.is_not(None))))
    if filters.incident_only:
        where.append(or_(Dossier.id.in_(select(OutboxMessage.dossier_id).where(OutboxMessage.state == "incident")),
                         Dossier.id.in_(select(WorkflowInstance.dossier_id)
                                        .where(WorkflowInstance.error.is_not(None)))))
    return where


def _code_prefix(prefix: str, dialect: str) -> Any:
    """Codes starting with `prefix`, through the code index. PostgreSQL turns a LIKE prefix into an
    index range itself (C collation) and keeps it exact in any other; SQLite's LIKE ignores case and
    skips the index, so there the prefix is a range (its columns compare bytes)."""
    if dialect == "postgresql":
        return Dossier.code.like(prefix + "%")  # the prefix has no LIKE wildcard (checked by _CODE)
    return (Dossier.code >= prefix) & (Dossier.code < prefix[:-1] + chr(ord(prefix[-1]) + 1))


def _next_code_day(day: date) -> str:
    """The code's day (yymmdd) after `day`, past every day of the century's codes at its end."""
    following = day + timedelta(days=1)
    return following.strftime("%y%m%d") if following.year < 2100 else "991232"


def _vietnam_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=VN_TZ).astimezone(UTC)


def _rows(ctx: EngineContext, session: Session, found: list[Any]) -> list[InstanceRow]:
    """The page's rows with names: versions from the process cache, one query each for agencies and
    the page's connector incidents."""
    if not found:
        return []
    ids = [row.id for row in found]
    incidents = set(session.scalars(select(OutboxMessage.dossier_id).distinct()
                                    .where(OutboxMessage.dossier_id.in_(ids), OutboxMessage.state == "incident")))
    agencies = dict(session.execute(select(Agency.code, Agency.name)
                                    .where(Agency.code.in_({row.agency_code for row in found}))).all())
    versions = {vid: ctx.versions.get(session, vid) for vid in {row.procedure_version_id for row in found}}
    return [InstanceRow(row.code, versions[row.procedure_version_id].meta["name"],
                        versions[row.procedure_version_id].number, row.agency_code,
                        agencies.get(row.agency_code, row.agency_code), row.status, row.submitted_at, row.due_at,
                        has_instance=row.instance_id is not None, completed=bool(row.completed),
                        suspended=row.suspended_at is not None,
                        incident=row.error is not None or row.id in incidents)
            for row in found]


# --- one instance -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingElement:
    element_id: str
    title: str
    #: user (an open task) | service (a connector's result) | timer | event (a message, a signal)
    kind: str
    #: the connector operation a service task waits on
    operation: str | None = None
    #: when a timer fires
    due_at: datetime | None = None


@dataclass(frozen=True)
class OpenTask:
    id: str
    bpmn_id: str
    title: str
    role: str
    agency_code: str | None
    assignee_name: str | None
    created_at: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class OutboxCall:
    id: int
    connector: str
    operation: str
    state: str
    attempts: int
    last_error: str | None
    waits: bool
    created_at: datetime
    next_attempt_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Suspension:
    at: datetime
    #: who suspended it, from the dossier's history (None if the event is missing)
    by: str | None
    reason: str | None


@dataclass(frozen=True)
class InstanceDetail:
    code: str
    status: str
    channel: str
    agency_code: str
    agency_name: str
    procedure_id: int
    procedure_name: str
    version_id: int
    version_number: int
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    #: seeded dossiers never ran in SpiffWorkflow: no instance, no position, nothing to suspend
    has_instance: bool
    completed: bool
    suspension: Suspension | None
    #: the engine could not move the instance on its own (engine/services/instances.py)
    error: str | None
    error_at: datetime | None
    #: BPMN element id → CSS class for the diagram: studio-path | studio-current | studio-error
    marks: dict[str, str] = field(default_factory=dict)
    path: list[SimStep] = field(default_factory=list)
    waiting: list[WaitingElement] = field(default_factory=list)
    tasks: list[OpenTask] = field(default_factory=list)
    calls: list[OutboxCall] = field(default_factory=list)

    @property
    def incident(self) -> bool:
        return self.error is not None or any(call.state == "incident" for call in self.calls)

    @property
    def can_suspend(self) -> bool:
        return self.has_instance and not self.completed and self.suspension is None and self.finished_at is None

    @property
    def can_resume(self) -> bool:
        return self.suspension is not None


def instance_detail(ctx: EngineContext, actor: Actor, code: str) -> InstanceDetail:
    """The dossier, where its workflow stands (diagram marks, path, what it waits for), its open
    tasks, its connector calls and its suspension."""
    require_admin(actor)
    with ctx.sessions() as session:
        dossier = _dossier(session, code)
        version = ctx.versions.get(session, dossier.procedure_version_id)
        instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.dossier_id == dossier.id))
        position: dict[str, Any] = {}
        if instance is not None:
            _instance, runner = load_runner(ctx, session, dossier, instance)
            position = _position(runner, version.package)
            position["marks"].update(_failed_elements(session, runner, dossier, instance))
        return InstanceDetail(
            code=dossier.code, status=dossier.status, channel=dossier.channel, agency_code=dossier.agency_code,
            agency_name=session.scalar(select(Agency.name).where(Agency.code == dossier.agency_code))
            or dossier.agency_code,
            procedure_id=version.procedure_id, procedure_name=version.meta["name"], version_id=version.id,
            version_number=version.number, submitted_at=dossier.submitted_at, received_at=dossier.received_at,
            due_at=dossier.due_at, finished_at=dossier.finished_at, has_instance=instance is not None,
            completed=bool(instance and instance.completed), suspension=_suspension(session, dossier, instance),
            error=instance.error if instance else None, error_at=instance.error_at if instance else None,
            tasks=_open_tasks(session, dossier), calls=_calls(session, dossier), **position)


def version_bpmn(ctx: EngineContext, actor: Actor, version_id: int) -> tuple[str, str]:
    """A published version's main BPMN XML and its content hash (versions never change: cacheable)."""
    require_admin(actor)
    with ctx.sessions() as session:
        version = ctx.versions.get(session, version_id)
    try:
        return version.package["bpmn"][main_bpmn_file(version.package)], version.content_hash
    except ValueError as exc:  # a package without BPMN cannot be published; kept for safety
        raise ProcedureNotFound(f"version {version_id} has no BPMN") from exc


def _dossier(session: Session, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None:
        raise DossierNotFound(code)
    return dossier


def _position(runner: Runner, package: dict[str, Any]) -> dict[str, Any]:
    """Marks, path and waiting elements of a loaded workflow (the studio's path recorder names the
    steps; a step waited in again after a loop is current, not only passed)."""
    workflow = runner.workflow
    recorder = PathRecorder(graph=read_graph(package["bpmn"], package["procedure"].get("process_id") or ""))
    recorder.record(workflow.tasks, {}, failed=True)
    marks = {task.task_spec.bpmn_id: "studio-path" for task in workflow.get_tasks(state=TaskState.COMPLETED)
             if task.task_spec.bpmn_id}
    waiting = _waiting(runner)
    marks.update({element.element_id: "studio-current" for element in waiting})
    marks.update({task.task_spec.bpmn_id: "studio-error" for task in workflow.get_tasks(state=TaskState.ERROR)
                  if task.task_spec.bpmn_id})
    return {"marks": marks, "path": recorder.path, "waiting": waiting}


def _failed_elements(session: Session, runner: Runner, dossier: Dossier,
                     instance: WorkflowInstance) -> dict[str, str]:
    """Where the dossier is stuck: a failed run is rolled back whole, so the element that failed is
    named by the incident (the script that raised; the service task whose call became an incident)."""
    failed = {}
    if instance.error is not None and (element := last_incident(session, dossier.id).element):
        failed[element] = "studio-error"
    task_ids = session.scalars(select(OutboxMessage.task_id).where(
        OutboxMessage.dossier_id == dossier.id, OutboxMessage.state == "incident", OutboxMessage.waits.is_(True)))
    for task_id in task_ids:
        task = runner.workflow.tasks.get(UUID(task_id)) if task_id else None
        if task is not None and task.task_spec.bpmn_id:
            failed[task.task_spec.bpmn_id] = "studio-error"
    return failed


def _waiting(runner: Runner) -> list[WaitingElement]:
    found = [WaitingElement(task.bpmn_id, task.title, "user") for task in runner.open_human_tasks()]
    found += [WaitingElement(task.task_spec.bpmn_id, title_of(task.task_spec), "service",
                             operation=getattr(task.task_spec, "operation_name", None))
              for task in runner.workflow.get_tasks(state=TaskState.STARTED) if task.task_spec.bpmn_id]
    for task in list(runner.workflow.event_manager.tasks.values()):
        if task.task_spec.bpmn_id:
            due = timer_due(task)
            found.append(WaitingElement(task.task_spec.bpmn_id, title_of(task.task_spec),
                                        "timer" if due else "event", due_at=due))
    return found


def _open_tasks(session: Session, dossier: Dossier) -> list[OpenTask]:
    rows = session.execute(select(Task, User.full_name).outerjoin(User, User.id == Task.assignee_id)
                           .where(Task.dossier_id == dossier.id, Task.state == "open").order_by(Task.created_at))
    return [OpenTask(task.id, task.bpmn_id, task.title, task.role, task.agency_code, name, task.created_at,
                     task.due_at) for task, name in rows]


def _calls(session: Session, dossier: Dossier) -> list[OutboxCall]:
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.dossier_id == dossier.id)
                           .order_by(OutboxMessage.id.desc()).limit(MAX_CALLS))
    return [OutboxCall(m.id, m.connector, m.operation, m.state, m.attempts, m.last_error, m.waits, m.created_at,
                       m.next_attempt_at, m.finished_at) for m in rows]


def _suspension(session: Session, dossier: Dossier, instance: WorkflowInstance | None) -> Suspension | None:
    if instance is None or instance.suspended_at is None:
        return None
    by = session.scalar(select(Event.actor_name).where(Event.dossier_id == dossier.id, Event.kind == "suspended")
                        .order_by(Event.seq.desc()).limit(1))
    return Suspension(instance.suspended_at, by, instance.suspended_reason)


# --- suspend and resume -----------------------------------------------------------------------------


def suspend(ctx: EngineContext, actor: Actor, code: str, reason: str) -> Suspension:
    """Hold the dossier's workflow: no task is claimed or completed, no timer fires, no connector
    call goes out until `resume`. The history says who and why, in the same transaction."""
    require_admin(actor)
    reason = _reason(reason, required=True)
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        dossier, instance = _instance_of(session, code)
        if instance.suspended_at is not None:
            raise Conflict(f"{code} is already suspended", message_vi="Quy trình của hồ sơ này đang tạm dừng rồi.")
        if instance.completed or dossier.finished_at is not None:
            raise Conflict(f"{code} has finished",
                           message_vi="Quy trình của hồ sơ này đã kết thúc, không tạm dừng được.")
        instance.suspended_at, instance.suspended_reason = now, reason
        history.record(session, dossier, "suspended", actor=actor, status=dossier.status, data={"reason": reason},
                       at=now)
    return Suspension(now, actor.full_name, reason)


def resume(ctx: EngineContext, actor: Actor, code: str, reason: str | None = None) -> None:
    """Let the workflow move again: what arrived meanwhile (a payment, an agency's reply, a connector's
    result) is applied now, in order; its waiting connector calls are announced to the worker and due
    timers fire on the next sweep. If the workflow fails on a held input, the resume stands and the
    input stays held as an incident on the instance (retry applies it again)."""
    require_admin(actor)
    reason = _reason(reason, required=False)
    failed: WorkflowError | None = None
    with transaction(ctx.sessions) as session:
        dossier, instance = _instance_of(session, code)
        if instance.suspended_at is None:
            raise Conflict(f"{code} is not suspended", message_vi="Quy trình của hồ sơ này không bị tạm dừng.")
        instance.suspended_at = instance.suspended_reason = None
        history.record(session, dossier, "resumed", actor=actor, status=dossier.status,
                       data={"reason": reason} if reason else {})
        try:
            with session.begin_nested():
                apply_held_inputs(ctx, session, dossier, instance)
        except WorkflowError as exc:
            failed = exc
        instance_id = instance.id
        waiting = list(session.scalars(select(OutboxMessage).where(OutboxMessage.dossier_id == dossier.id,
                                                                   OutboxMessage.state == "pending")))
    if failed is not None:
        record_instance_error(ctx, instance_id, failed)
    ctx.notify_outbox(waiting)


def _reason(reason: str | None, *, required: bool) -> str | None:
    reason = (reason or "").strip()
    if not reason and required:
        raise InvalidInput({"ly_do": ["Vui lòng nêu lý do tạm dừng."]}, "a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidInput({"ly_do": [f"Lý do không được dài quá {MAX_REASON} ký tự."]}, "reason too long")
    return reason or None


def _instance_of(session: Session, code: str) -> tuple[Dossier, WorkflowInstance]:
    dossier = _dossier(session, code)
    instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.dossier_id == dossier.id))
    if instance is None:
        raise Conflict(f"{code} has no workflow instance",
                       message_vi="Hồ sơ này không có phiên quy trình (hồ sơ mẫu), không tạm dừng hay tiếp tục được.")
    return dossier, instance


__all__ = ["COUNT_CAP", "InstanceDetail", "InstanceFilters", "InstancePage", "InstanceRow", "OpenTask", "OutboxCall",
           "Suspension", "WaitingElement", "instance_detail", "parse_filters", "resume", "search_instances",
           "suspend", "version_bpmn"]
