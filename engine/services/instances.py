"""Load a dossier's workflow and write back what a run changed: one instance row, and only the
task, event and outbox rows that changed, in the caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.orm import Session

from engine import history, notifications, paperwork, portal_sync
from engine.calendar import WorkingCalendar, deadline
from engine.context import EngineContext
from engine.db import hold_locks, locking
from engine.documents.qr import tracking_url
from engine.errors import TaskConflict, TaskNotFound, WorkflowError
from engine.models import Dossier, Event, OutboxMessage, Task, WorkflowInstance
from engine.procedures.package import form_name
from engine.runtime.runner import Runner, StepReport, properties_of
from engine.runtime.state import dump_state, load_state
from engine.services import clock
from engine.statuses import STATUSES

#: What the engine does with a connector's result besides resuming the workflow.
FOLLOW_UPS = {"dvcqg_payment/init_payment": {"on_done": "record_payment"},
              "vdxp/send_edoc": {"on_done": "record_exchange_sent"}}


class InstanceSuspended(TaskConflict):
    """An admin suspended the dossier's workflow (engine/services/operations.py): nothing moves it
    until they resume it. A TaskConflict, so every caller already shows its message and keeps the
    person's input."""

    message_vi = ("Hồ sơ đang bị quản trị viên tạm dừng: chưa thể xử lý hồ sơ này cho đến khi "
                  "quản trị viên cho tiếp tục.")


def ensure_running(instance: WorkflowInstance | Row) -> None:
    """Refuse to move a suspended instance (a column of the row the caller already holds: no query; a
    claim passes the row of its locking select, which names the instance's id and suspended_at)."""
    if instance.suspended_at is not None:
        raise InstanceSuspended(f"workflow instance {instance.id} is suspended")


def _locking(where) -> Any:
    return locking(select(Dossier, WorkflowInstance)
                   .join(WorkflowInstance, WorkflowInstance.dossier_id == Dossier.id).where(where))


#: built once: a dossier and its workflow instance, by the dossier's or the instance's id
_LOCK_BY_DOSSIER = _locking(Dossier.id == bindparam("dossier_id"))
_LOCK_BY_INSTANCE = _locking(WorkflowInstance.id == bindparam("instance_id"))


def lock_workflow(session: Session, *, dossier_id: int | None = None,
                  instance_id: int | None = None) -> tuple[Dossier, WorkflowInstance] | None:
    """The dossier and its workflow instance in one round trip, locked until the transaction ends, in
    the order every flush writes them (as a completion locks them: engine/services/tasks.py). What
    moves a workflow without a person (a timer, a connector's result) then waits for an official's
    completion of the same dossier instead of losing to it with a Conflict, and its own writes can go
    out with the COMMIT (engine/db.py). None when there is no such dossier."""
    if dossier_id is not None:
        row = session.execute(_LOCK_BY_DOSSIER, {"dossier_id": dossier_id}).first()
    else:
        row = session.execute(_LOCK_BY_INSTANCE, {"instance_id": instance_id}).first()
    if row is None:
        return None
    hold_locks(session, row[0], row[1])
    return row[0], row[1]


def load_runner(ctx: EngineContext, session: Session, dossier: Dossier,
                instance: WorkflowInstance | None = None) -> tuple[WorkflowInstance, Runner]:
    if instance is None:
        instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.dossier_id == dossier.id))
    version = ctx.versions.get(session, dossier.procedure_version_id)
    specs = ctx.specs.get(version.content_hash, version.package)
    ctx.calendar(session)  # fresh before the run: timer expressions read it
    return instance, Runner(load_state(instance.state, specs, ctx.script_engine))


def complete_marked_task(ctx: EngineContext, session: Session, dossier: Dossier, marker: str,
                         data: dict[str, Any]) -> bool:
    """Complete, as the system, the dossier's open task whose BPMN property `marker` is "true" (a
    payment confirmed, an agency's reply arrived); False when no such task is waiting."""
    from engine.services.accounts import SYSTEM

    instance, runner = load_runner(ctx, session, dossier)
    if instance.suspended_at is not None:  # nothing is lost: applied when an admin resumes the dossier
        hold_input(instance, {"marker": marker, "data": data})
        return True
    open_ids = set(session.scalars(select(Task.id).where(Task.dossier_id == dossier.id, Task.state == "open")))
    task = next((t for t in runner.workflow.get_tasks() if str(t.id) in open_ids
                 and properties_of(t.task_spec).get(marker) == "true"), None)
    if task is None:
        return False
    report = runner.complete_human_task(str(task.id), data)
    row = session.get(Task, str(task.id))
    row.state, row.completed_at = "done", datetime.now(UTC)
    session.add_all(apply_report(ctx, session, dossier, instance, runner, report, SYSTEM, completed=(row.id,)))
    return True


def hold_input(instance: WorkflowInstance, entry: dict[str, Any]) -> None:
    """Keep what the outside world delivered for a workflow that cannot take it now (suspended, or a
    script failed on it): `{"marker", "data"}` for a marked task, `{"service_task", "result"}` for a
    connector's result."""
    instance.held_inputs = [*(instance.held_inputs or []), {**entry, "at": datetime.now(UTC).isoformat()}]


def apply_held_inputs(ctx: EngineContext, session: Session, dossier: Dossier, instance: WorkflowInstance) -> int:
    """What arrived while the workflow could not take it, in the order it came; returns how many
    were applied (a marked task no longer waiting drops its input). A workflow error propagates with
    the failing input still held: the caller rolls back to before this call and keeps it for a retry."""
    from engine.services.accounts import SYSTEM

    applied = 0
    while instance.held_inputs:
        first, *rest = instance.held_inputs
        instance.held_inputs = rest or None
        if "service_task" in first:
            instance, runner = load_runner(ctx, session, dossier, instance)
            try:
                report = runner.complete_service_task(first["service_task"], first["result"])
            except TaskNotFound:  # the step no longer waits (an admin migrated the dossier meanwhile)
                continue
            session.add_all(apply_report(ctx, session, dossier, instance, runner, report, SYSTEM))
            applied += 1
        elif complete_marked_task(ctx, session, dossier, first["marker"], first["data"]):
            applied += 1
    return applied


def complete_marked_or_hold(ctx: EngineContext, session: Session, dossier: Dossier, marker: str,
                            data: dict[str, Any]) -> tuple[int, WorkflowError] | None:
    """`complete_marked_task` for input from outside (a payment, an agency's reply) that must not be
    lost when the workflow fails on it: the failed run is rolled back to a savepoint, the input held on
    the instance, and (instance id, error) returned for the caller to record as an incident after its
    commit (`engine.incidents.record_instance_error`)."""
    try:
        with session.begin_nested():
            complete_marked_task(ctx, session, dossier, marker, data)
    except WorkflowError as exc:
        instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.dossier_id == dossier.id))
        hold_input(instance, {"marker": marker, "data": data})
        return instance.id, exc
    return None


def lane_assignment(meta: dict[str, Any], lane: str | None, dossier: Dossier) -> tuple[str, str | None]:
    """Which role and agency work a task in `lane` (procedure.json `lanes`)."""
    target = (meta.get("lanes") or {}).get(lane, "desk")
    if isinstance(target, dict):
        return target["role"], target.get("agency") or dossier.agency_code
    return target, dossier.agency_code


def task_form_name(properties: dict[str, str]) -> str | None:
    schema_file = properties.get("formJsonSchemaFilename")
    return form_name(schema_file) if schema_file else None


def apply_report(ctx: EngineContext, session: Session, dossier: Dossier, instance: WorkflowInstance,
                 runner: Runner, report: StepReport, actor: Any, completed: tuple[str, ...] = (),
                 now: datetime | None = None) -> list[OutboxMessage]:
    """Persist the run: fire-and-forget connector requests are queued and their tasks completed at
    once (the workflow does not wait for a notification), then rows are synced.

    Every run that moves a workflow is written here (a task completed, a payment confirmed, an
    agency's reply, a timer, a connector's result), so this is where a suspended instance is
    refused; `load_runner` stays free for reading (task pages, the dossier's data)."""
    ensure_running(instance)
    now = now or datetime.now(UTC)
    calendar = ctx.calendar(session)
    outbox: list[OutboxMessage] = []
    reports = [report]
    index = 0
    while index < len(reports):
        for request in reports[index].requests:
            connector, operation = ctx.connectors.operation(request.operation)
            context = dict(FOLLOW_UPS.get(request.operation) or {})
            if request.attach:  # documents of the dossier the call carries (read in when it is made)
                context["attach"] = list(request.attach)
            message = OutboxMessage(
                dossier_id=dossier.id, task_id=request.task_id, connector=connector.id,
                operation=operation.name, payload=request.params,
                idempotency_key=f"{dossier.code}:{request.task_id}", waits=operation.waits_for_result,
                state="pending", attempts=0, next_attempt_at=now, created_at=now,
                context=context or None,
            )
            outbox.append(message)
            if not operation.waits_for_result:
                reports.append(runner.complete_service_task(request.task_id, {"queued": True}))
        index += 1
    meta = ctx.versions.get(session, dossier.procedure_version_id).meta
    data = runner.data  # the workflow has run all it will: read once
    for step in reports:
        changed = _apply_entered(session, dossier, meta, step, actor, calendar, now)
        outbox += [paperwork.request(ctx, session, dossier, meta, kind.strip(), data, actor, now)
                   for element in step.entered if element.document for kind in element.document.split(",")]
        available = set(ctx.connectors.available())
        outbox += [row for status in changed for row in _notify(ctx, dossier, meta, status, data, now)]
        outbox += [row for status in changed
                   for row in portal_sync.status_rows(ctx, session, dossier, meta, status, actor, now, available)]
    _sync_tasks(session, dossier, meta, reports[-1], now, runner.initially_open, completed, calendar)
    session.add_all(outbox)
    instance.state = dump_state(runner.workflow)
    instance.completed = reports[-1].completed
    instance.next_timer_at = runner.next_timer()
    instance.updated_at = now
    if instance.completed and dossier.finished_at is None:
        clock.finished(dossier, calendar, now)
    return outbox


def _notify(ctx: EngineContext, dossier: Dossier, meta: dict[str, Any], status: str, data: dict[str, Any],
            now: datetime) -> list[OutboxMessage]:
    """The citizen's notice for a status change, if the procedure asks for one."""
    kind = (meta.get("notifications") or notifications.DEFAULT_NOTIFICATIONS).get(status)
    if kind is None:
        return []
    context = {"procedure_name": meta["name"], "items": [str(i) for i in data.get("giay_to_thieu") or []],
               "tracking_url": tracking_url(ctx.settings.public_url, dossier.code), "reason": ""}
    return notifications.messages(dossier, kind, context, set(ctx.connectors.available()), now)


def _apply_entered(session: Session, dossier: Dossier, meta: dict[str, Any], report: StepReport, actor: Any,
                   calendar: WorkingCalendar, now: datetime) -> list[str]:
    """Apply statuses, clock rules and milestones of the entered elements; return the new statuses."""
    changed = []
    for element in report.entered:
        if element.status and element.status != dossier.status:
            changed.append(element.status)
            clock.status_changed(session, dossier, meta, dossier.status, element.status, calendar, now)
            dossier.status = element.status
            history.record(session, dossier, "status", actor=actor, status=element.status,
                           data={"element": element.bpmn_id, "label": STATUSES[element.status].label_vi}, at=now)
        if element.deadline_rule:
            clock.deadline_rule_entered(session, dossier, meta, element.deadline_rule, calendar, now)
        if element.milestone:
            dossier.milestones = [*dossier.milestones, {"at": now.isoformat(), "text": element.milestone,
                                                        "status": dossier.status}]
            history.record(session, dossier, "milestone", actor=actor, status=dossier.status,
                           data={"element": element.bpmn_id, "text": element.milestone}, at=now)
    return changed


def _sync_tasks(session: Session, dossier: Dossier, meta: dict[str, Any], report: StepReport, now: datetime,
                initially_open: set[str], completed: tuple[str, ...], calendar: WorkingCalendar) -> None:
    budgets = meta.get("step_budgets") or {}
    still_open = {task.id for task in report.open_tasks}
    # Closed without a person completing them (a boundary event or a cancelled branch): no query
    # needed, the runner knows which tasks were waiting when it was loaded.
    closed = initially_open - still_open - set(completed)
    if closed:
        with session.no_autoflush:  # keep the request's writes in one flush
            session.execute(update(Task).where(Task.id.in_(closed), Task.state == "open")
                            .values(state="cancelled", completed_at=now))
    for task in report.open_tasks:
        if task.id in initially_open:
            continue
        role, agency = lane_assignment(meta, task.lane, dossier)
        budget = budgets.get(task.bpmn_id)
        due = deadline(_budget_start(session, dossier, meta, task.bpmn_id, budget, now), budget["value"],
                       budget.get("unit", "working_days"), calendar) if budget else dossier.due_at
        session.add(Task(id=task.id, dossier_id=dossier.id, bpmn_id=task.bpmn_id, title=task.title, lane=task.lane,
                         role=role, agency_code=agency, state="open", created_at=now, due_at=due))
        history.record(session, dossier, "task_opened", status=dossier.status,
                       data={"task": task.id, "element": task.bpmn_id, "title": task.title, "role": role}, at=now)


def _budget_start(session: Session, dossier: Dossier, meta: dict[str, Any], element: str, budget: dict[str, Any],
                  now: datetime) -> datetime:
    """When a step's budget starts: now, or for a budget `since` an earlier task (a consulted agency's
    window inside the drafting days) when that task opened on this pass.

    This pass: after the step's own previous opening (a loop back through it) and, with the clock
    restarting on a supplement, after the latest supplement request, as lint counts it
    (engine/procedures/budgets.py). Rows written by this run are not flushed yet and are not needed:
    anything opened in this run opened `now`.
    """
    since = budget.get("since")
    if not isinstance(since, str) or since == element:  # lint reports what is not an element id
        return now
    with session.no_autoflush:  # keep the request's writes in one flush
        opened = dict(session.execute(
            select(Task.bpmn_id, func.max(Task.created_at))
            .where(Task.dossier_id == dossier.id, Task.bpmn_id.in_((since, element))).group_by(Task.bpmn_id)).all())
        start = opened.get(since)
        if start is None or (opened.get(element) is not None and start < opened[element]):
            return now
        if meta.get("supplement_clock", "restart") == "restart":
            asked = session.scalar(select(func.max(Event.at)).where(
                Event.dossier_id == dossier.id, Event.kind == "status", Event.status == "supplement_requested"))
            if asked is not None and start < asked:
                return now
    return start
