"""Task services: the inbox, reading a task with its form, claiming, completing, reassigning."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, Select, bindparam, select, update
from sqlalchemy.orm import Session, contains_eager

import forms
from engine import access_log, history
from engine.context import EngineContext
from engine.db import hold_locks, locking, transaction
from engine.errors import Conflict, Forbidden, InvalidInput, TaskConflict, TaskNotFound
from engine.models import Dossier, OutboxMessage, Payment, Task, User, WorkflowInstance
from engine.procedures.versions import PublishedVersion
from engine.reads import read_only
from engine.runtime.runner import properties_of
from engine.services import inbox, substitutions
from engine.services.accounts import Actor
from engine.services.instances import (
    apply_report,
    ensure_running,
    load_runner,
    task_form_name,
)


@dataclass(frozen=True)
class TaskView:
    id: str
    title: str
    bpmn_id: str
    role: str
    agency_code: str | None
    state: str
    dossier_code: str
    procedure_name: str
    applicant_name: str
    dossier_status: str
    assignee_id: int | None
    created_at: datetime
    due_at: datetime | None
    form: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    instructions: str | None = None
    #: why nobody completes this task by hand (it waits for a payment, an agency's reply), if so
    completed_by_system: str | None = None
    #: the payment the applicant is asked to make here: {"redirect_url", "amount"}
    payment: dict[str, Any] | None = None
    #: open tasks: on_track | due_soon | overdue (by the step's due date, in working time)
    due_state: str | None = None
    #: the absent colleague (user id) the reader stands in for on this task, if that is why they see it
    on_behalf_of: int | None = None
    #: in an official's inbox: the task arrived after they last looked at it (the badge's "mới")
    is_new: bool = False


def _view(ctx: EngineContext, session: Session, task: Task | Row, *, bounds: inbox.Bounds | None = None,
          absent: Collection[int] = (), **extra: Any) -> TaskView:
    """`task` is a Task, or a row of the inbox query, which reads as the task and its dossier alike."""
    dossier = task.dossier if isinstance(task, Task) else task
    name = ctx.versions.get(session, dossier.procedure_version_id).meta["name"]
    state = inbox.due_state(task.due_at, bounds or inbox.due_bounds(ctx, session)) if task.state == "open" else None
    return TaskView(id=task.id, title=task.title, bpmn_id=task.bpmn_id, role=task.role, agency_code=task.agency_code,
                    state=task.state, dossier_code=dossier.code,
                    procedure_name=name,
                    applicant_name=dossier.applicant_name, dossier_status=dossier.status,
                    assignee_id=task.assignee_id, created_at=task.created_at, due_at=task.due_at, due_state=state,
                    on_behalf_of=task.assignee_id if task.assignee_id in absent else None, **extra)


def may_work(actor: Actor, task: Task, covering: Collection[int] = ()) -> bool:
    """Role + agency for officials; the dossier's owner for applicant tasks (the desk when walk-in);
    and the tasks assigned to the absent colleagues (`covering`) the actor stands in for today."""
    if task.assignee_id is not None and task.assignee_id in covering:
        return True
    if task.role == "applicant":
        if task.dossier.owner_id is not None:
            return actor.id == task.dossier.owner_id
        return actor.role == "desk" and actor.agency_code == task.dossier.agency_code
    return actor.role == task.role and actor.agency_code == task.agency_code


def list_inbox(ctx: EngineContext, actor: Actor, *, limit: int = 50, offset: int = 0, procedure: str | None = None,
               status: str | None = None, due: str | None = None, search: str | None = None,
               sort: str = "due_at") -> list[TaskView]:
    """The actor's open tasks, soonest due first by default; the filters narrow it (see InboxFilter).
    An official's tasks say whether they are new since the inbox was last marked seen."""
    filters = inbox.InboxFilter(procedure=procedure, status=status, due=due, search=search, sort=sort, limit=limit,
                                offset=offset)
    filters.check()
    with read_only(ctx.sessions) as session:
        bounds = inbox.due_bounds(ctx, session)
        reader = inbox.reader(session, actor)
        lines = session.execute(*inbox.tasks_query(actor, reader.absent, filters, bounds))
        return [_view(ctx, session, line, bounds=bounds, absent=reader.absent, is_new=reader.is_new(line))
                for line in lines]


def _absent_assignee(session: Session, actor: Actor, task: Task) -> int | None:
    """The colleague the task is assigned to, when `actor` stands in for them today."""
    if task.assignee_id is None or task.assignee_id == actor.id or actor.role not in substitutions.OFFICIAL_ROLES:
        return None
    return task.assignee_id if substitutions.stands_in(session, actor.id, task.assignee_id) else None


def _may_access(session: Session, actor: Actor, task: Task) -> bool:
    # The substitution lookup only runs when the lane alone does not open the task.
    return may_work(actor, task) or _absent_assignee(session, actor, task) is not None


def _load_task(session: Session, actor: Actor, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None or not _may_access(session, actor, task):
        # Not distinguishing "missing" from "not yours" keeps other agencies' work invisible.
        raise TaskNotFound(task_id)
    return task


def _lock_task_and_instance(session: Session, actor: Actor, task_id: str) -> tuple[Task, WorkflowInstance]:
    """The task, its dossier and the workflow instance in one round trip, locked until the transaction
    ends: a second official completing the same task waits here, then finds it done. Locked in the
    order every flush writes them (dossier, instance, task), so that a concurrent writer of the same
    dossier queues behind us instead of deadlocking. FOR NO KEY UPDATE (key_share), the lock an UPDATE
    takes anyway: a transaction that only inserts a row referring to the dossier (an attachment, an
    event) holds a key-share lock on it and need not be waited for."""
    row = _locked_row(session, actor, task_id, _LOCK_TASK)
    hold_locks(session, row[0].dossier, row[1], row[0])
    return row[0], row[1]


def _locked_row(session: Session, actor: Actor, task_id: str, statement: Select) -> Row:
    row = session.execute(statement, {"task_id": task_id}).first()
    if row is None or not _may_access(session, actor, row[0]):
        raise TaskNotFound(task_id)
    return row


def _task_lock(*instance: Any) -> Select:
    """The task with its dossier and `instance` (the workflow instance, or some of its columns), all
    three rows locked as `_lock_task_and_instance` says."""
    return locking(select(Task, *instance).select_from(Dossier)
                   .join(WorkflowInstance, WorkflowInstance.dossier_id == Dossier.id)
                   .join(Task, Task.dossier_id == Dossier.id)
                   .options(contains_eager(Task.dossier))
                   .where(Task.id == bindparam("task_id")))


#: built once: the statement every completion runs first
_LOCK_TASK = _task_lock(WorkflowInstance)
#: a claim's: the same rows locked, but a claim changes no instance, so only its id and whether it is
#: suspended are read (not its state of some 17 KB and a dozen columns made into an object)
_LOCK_CLAIM = _task_lock(WorkflowInstance.id, WorkflowInstance.suspended_at)


def get_task(ctx: EngineContext, actor: Actor, task_id: str) -> TaskView:
    """The task with its form and data; it shows the applicant's data, so a staff read is logged."""
    with transaction(ctx.sessions) as session:
        task = _load_task(session, actor, task_id)
        access_log.log_access(session, actor, task.dossier, access_log.TASK_VIEW)
        package = ctx.versions.get(session, task.dossier.procedure_version_id).package
        form = data = instructions = system = payment = None
        if task.state == "open":
            _instance, runner = load_runner(ctx, session, task.dossier)
            spiff_task = runner.workflow.get_task_from_id(UUID(task.id))
            props = properties_of(spiff_task.task_spec)
            name = task_form_name(props)
            form = package["forms"].get(name) if name else None
            data = dict(spiff_task.data)
            instructions = (getattr(spiff_task.task_spec, "extensions", {}) or {}).get("instructionsForEndUser")
            system = next((note for marker, note in SYSTEM_COMPLETED.items() if props.get(marker) == "true"), None)
            if props.get("paymentTask") == "true":
                row = session.scalar(select(Payment).where(Payment.dossier_id == task.dossier_id,
                                                           Payment.state == "pending").order_by(Payment.id.desc()))
                payment = {"redirect_url": row.redirect_url, "amount": row.amount} if row else None
        absent = _absent_assignee(session, actor, task)
        return _view(ctx, session, task, form=form, data=data, instructions=instructions,
                     completed_by_system=system, payment=payment, absent=(absent,) if absent else ())


def claim_task(ctx: EngineContext, actor: Actor, task_id: str) -> TaskView:
    now = datetime.now(UTC)
    # A second claimant waits for the lock, then reads the task taken. The claim and its history are
    # written with the COMMIT: one round trip after the lock's.
    with transaction(ctx.sessions, pipelined=True) as session:
        row = _locked_row(session, actor, task_id, _LOCK_CLAIM)
        task = row[0]
        hold_locks(session, task.dossier, task)
        if task.state != "open":
            raise TaskConflict(f"task {task_id} is {task.state}")
        if task.assignee_id == actor.id:
            return _view(ctx, session, task)
        if task.assignee_id is not None:
            raise TaskConflict(f"task {task_id} was claimed by someone else")
        ensure_running(row)  # the row names the instance's id and suspended_at
        task.assignee_id, task.claimed_at = actor.id, now
        history.record(session, task.dossier, "task_claimed", actor=actor, status=task.dossier.status,
                       data={"task": task.id, "title": task.title}, at=now)
        return _view(ctx, session, task)


def unclaim_task(ctx: EngineContext, actor: Actor, task_id: str) -> TaskView:
    with transaction(ctx.sessions) as session:
        task = _load_task(session, actor, task_id)
        if task.state != "open" or (task.assignee_id != actor.id and _absent_assignee(session, actor, task) is None):
            raise TaskConflict(f"task {task_id} is not claimed by you")
        task.assignee_id = None
        task.claimed_at = None
        history.record(session, task.dossier, "task_unclaimed", actor=actor, status=task.dossier.status,
                       data={"task": task.id, "title": task.title})
        return _view(ctx, session, task)


#: Tasks only the system completes, on evidence from outside: a confirmed payment, an agency's reply.
SYSTEM_COMPLETED = {
    "paymentTask": "Bước này tự hoàn thành khi cổng thanh toán xác nhận đã nộp phí.",
    "exchangeReply": "Bước này tự hoàn thành khi nhận được văn bản trả lời qua Trục liên thông.",
}


def complete_task(ctx: EngineContext, actor: Actor, task_id: str, data: dict[str, Any], *,
                  also: Callable[[Session, Task], None] | None = None) -> TaskView:
    """Validate the form, complete the task, run to the next wait state and persist, atomically.

    Two officials completing the same task: the instance row's version makes exactly one win;
    the other gets TaskConflict and nothing of theirs is written. `also(session, task)` runs in
    the same transaction once the task is completed (the applicant's supplementary files are
    linked so): whatever it raises undoes the completion too.
    """
    for attempt in range(COMPLETION_ATTEMPTS):
        now = datetime.now(UTC)
        try:
            # the writes and the COMMIT in one round trip: the rows they change are locked
            with transaction(ctx.sessions, pipelined=True) as session:
                view, outbox = _complete_in(ctx, session, actor, task_id, data, now)
                if also is not None:
                    also(session, session.get(Task, task_id))
            break
        except TaskConflict:
            raise
        except Conflict as exc:
            # The dossier or instance row moved under us. Often nobody touched the task: a worker stored
            # a rendered document on the dossier meanwhile. Everything was rolled back, so try again:
            # if someone did complete the task, the next attempt finds it done and says so.
            if attempt == COMPLETION_ATTEMPTS - 1:
                raise TaskConflict(f"task {task_id} was completed concurrently") from exc
    ctx.notify_outbox(outbox)
    return view


#: attempts of a completion whose optimistic lock lost to a change of the dossier that was not this task
COMPLETION_ATTEMPTS = 3


def _complete_in(ctx: EngineContext, session: Session, actor: Actor, task_id: str, data: dict[str, Any],
                 now: datetime) -> tuple[TaskView, list[OutboxMessage]]:
    """The completion inside the caller's transaction: the view and the outbox rows to announce once
    committed (their ids come with the commit's flush)."""
    task, instance = _lock_task_and_instance(session, actor, task_id)
    if actor.role in ("analyst", "admin"):
        raise Forbidden("analysts and admins do not work dossier tasks")
    if task.state != "open":
        raise TaskConflict(f"task {task_id} is already {task.state}")
    ensure_running(instance)  # before the form is judged: the official keeps what they typed
    on_behalf_of = _absent_assignee(session, actor, task)
    if task.assignee_id not in (None, actor.id) and on_behalf_of is None:
        raise TaskConflict(f"task {task_id} is claimed by someone else")
    dossier = task.dossier
    instance, runner = load_runner(ctx, session, dossier, instance)
    spiff_task = runner.workflow.get_task_from_id(UUID(task.id))
    props = properties_of(spiff_task.task_spec)
    if marker := next((m for m in SYSTEM_COMPLETED if props.get(m) == "true"), None):
        raise Forbidden(f"task {task_id} is completed by the system ({marker})",
                        message_vi=SYSTEM_COMPLETED[marker])
    name = task_form_name(props)
    version = ctx.versions.get(session, dossier.procedure_version_id)
    cleaned = validate_task_data(version, name, data)
    report = runner.complete_human_task(task_id, cleaned)
    task.state = "done"
    task.assignee_id = task.assignee_id or actor.id
    task.completed_at = now
    task.completed_by_id = actor.id
    done = {"task": task.id, "element": task.bpmn_id, "title": task.title,
            "decision": _decision(version.package, name, cleaned)}
    if on_behalf_of is not None:  # a substitute worked it: the record says for whom
        done["on_behalf_of"] = on_behalf_of
    history.record(session, dossier, "task_completed", actor=actor, status=dossier.status, data=done, at=now)
    outbox = apply_report(ctx, session, dossier, instance, runner, report, actor, completed=(task.id,))
    return _view(ctx, session, task), outbox


def validate_task_data(version: PublishedVersion, name: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """The form data a task takes: validated by the task's form, only its own editable fields (also the
    studio's test runs, engine/procedures/simulation.py)."""
    if not isinstance(data, dict):
        raise InvalidInput({"": ["Dữ liệu biểu mẫu phải là một đối tượng JSON."]})
    if name is None:
        return {}  # a task without a form takes no data: nothing reaches the workflow
    form = version.form(name)
    try:
        cleaned = forms.validate(form, data)
    except forms.FormInvalid as exc:
        raise InvalidInput(exc.errors) from exc
    # Only the form's own fields reach the workflow: a caller must not overwrite dossier data
    # (applicant e-mail, earlier decisions) by posting extra keys.
    properties = form.schema.get("properties", {})
    ui = form.ui_schema or {}
    # Read-only fields are shown to the official, never taken back from them.
    allowed = {key for key, prop in properties.items()
               if not prop.get("readOnly") and not (ui.get(key) or {}).get("ui:readonly")} - RESERVED_KEYS
    return {key: value for key, value in cleaned.items() if key in allowed}


RESERVED_KEYS = {"dossier", "applicant"}


def _decision(package: dict[str, Any], name: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """The choice-valued fields of a completed form (enums, booleans): the decision taken, for the
    history. Free text and personal data stay in the workflow, not in the audit trail."""
    if name is None:
        return {}
    properties = package["forms"][name]["schema"].get("properties", {})
    return {key: data[key] for key, prop in properties.items()
            if key in data and ("enum" in prop or "oneOf" in prop or prop.get("type") == "boolean")}


def reassign_task(ctx: EngineContext, supervisor: Actor, task_id: str, user_id: int, reason: str) -> TaskView:
    """A leader (or admin) gives an open task of their agency to a named official of the task's role
    and agency; the previous assignee loses it. The history says who moved it, to whom and why."""
    substitutions.check_supervisor(supervisor, supervisor.agency_code)  # only supervisors go further
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": ["Vui lòng nêu lý do giao lại công việc."]})
    if len(reason) > substitutions.MAX_REASON:
        raise InvalidInput({"reason": [f"Lý do không được dài quá {substitutions.MAX_REASON} ký tự."]})
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        task = session.get(Task, task_id)
        if task is None or (supervisor.role != "admin" and task.agency_code != supervisor.agency_code):
            raise TaskNotFound(task_id)
        if task.state != "open":
            raise TaskConflict(f"task {task_id} is {task.state}",
                               message_vi="Công việc đã được xử lý xong, không thể giao lại.")
        if task.role not in substitutions.OFFICIAL_ROLES:
            raise Forbidden("applicant steps are not reassigned",
                            message_vi="Bước của người nộp hồ sơ không giao lại cho cán bộ được.")
        target = substitutions.official(session, user_id, "user_id")
        if target.role != task.role or target.agency_code != task.agency_code:
            raise Forbidden("assignee of another role or agency",
                            message_vi="Chỉ giao được cho cán bộ cùng cơ quan và đúng vai trò của bước này.")
        previous = task.assignee_id
        if previous == target.id:
            raise InvalidInput({"user_id": ["Công việc đang được giao cho cán bộ này."]})
        moved = session.execute(
            update(Task).where(Task.id == task_id, Task.state == "open",
                               Task.assignee_id.is_(None) if previous is None else Task.assignee_id == previous)
            .values(assignee_id=target.id, claimed_at=now)
        ).rowcount
        if moved != 1:
            raise TaskConflict(f"task {task_id} changed meanwhile")
        previous_name = session.scalar(select(User.full_name).where(User.id == previous)) if previous else None
        history.record(session, task.dossier, "task_reassigned", actor=supervisor, status=task.dossier.status,
                       at=now, data={"task": task.id, "title": task.title, "from": previous,
                                     "from_name": previous_name, "to": target.id, "to_name": target.full_name,
                                     "reason": reason})
        session.refresh(task)
        return _view(ctx, session, task)
