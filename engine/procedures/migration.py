"""Move running dossiers of a procedure from an older published version to a newer one.

`plan_migration` lists the running dossiers on older versions, grouped by the task they wait in,
and says which can move; `migrate` moves the movable ones, one transaction per dossier.

A dossier can move when (the rule is deliberately simple):

1. it waits in exactly one user task and nothing else (no connector call in flight, no subprocess);
2. that task's id exists in the new version with the same task type, and no element the dossier
   already went through was removed (its history must still load on the new model);
3. the task's form is compatible: every field the new form requires that the old one did not has a
   `default`, and no field the old form had and the new one dropped is still read by the new
   version's scripts, conditions or connector parameters.

Moving uses SpiffWorkflow's own spec diff (`SpiffWorkflow.bpmn.util.diff`): tasks are re-pointed
to the aligned specs of the new version, the waiting task is reset in place (same task id, same
data; its boundary timers start again from the move) and its successors are predicted anew.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Forbidden, InvalidInput
from engine.models import Dossier, ProcedureVersion, Task, WorkflowInstance
from engine.procedures.catalogue import find_procedure
from engine.procedures.graph import read_graph
from engine.procedures.package import form_name
from engine.procedures.versions import PublishedVersion
from engine.runtime.runner import Runner, properties_of, title_of
from engine.runtime.state import _REGISTRY, dump_state, load_state
from engine.services.accounts import Actor
from engine.services.instances import lane_assignment

#: Task states that are the dossier's past or present (predicted tasks are re-predicted).
_LIVED = TaskState.COMPLETED | TaskState.READY | TaskState.STARTED | TaskState.WAITING | TaskState.ERROR


@dataclass(frozen=True)
class PlanItem:
    id: str  # "<dossier code>@<target version>", what `migrate` takes
    dossier_code: str
    from_version: int
    to_version: int
    task_id: str | None  # BPMN id of the waiting task
    task_title: str | None
    movable: bool
    reason: str  # Vietnamese; empty when movable


@dataclass(frozen=True)
class PlanGroup:
    task_id: str | None
    task_title: str | None
    items: list[PlanItem]


@dataclass(frozen=True)
class MigrationPlan:
    procedure_slug: str
    target_version: int
    groups: list[PlanGroup]

    @property
    def items(self) -> list[PlanItem]:
        return [item for group in self.groups for item in group.items]

    @property
    def movable(self) -> list[PlanItem]:
        return [item for item in self.items if item.movable]


@dataclass(frozen=True)
class MigrationResult:
    item_id: str
    dossier_code: str
    migrated: bool
    reason: str = ""


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("only admins migrate dossiers between procedure versions",
                        message_vi="Chỉ quản trị viên được chuyển hồ sơ sang phiên bản quy trình mới.")


def plan_migration(ctx: EngineContext, procedure_slug: str, target_version: int) -> MigrationPlan:
    """Running dossiers of `procedure_slug` on versions older than `target_version`, grouped by waiting task."""
    with ctx.sessions() as session:
        target = _version(ctx, session, procedure_slug, target_version)
        groups: dict[str | None, list[PlanItem]] = {}
        for dossier in _running(session, target):
            item = _assess(ctx, session, dossier, target)[0]
            groups.setdefault(item.task_id, []).append(item)
    return MigrationPlan(procedure_slug, target_version,
                         [PlanGroup(task_id, items[0].task_title, items) for task_id, items in groups.items()])


def migrate(ctx: EngineContext, admin: Actor, plan_item_ids: list[str]) -> list[MigrationResult]:
    """Move each listed dossier if it is (still) movable; each dossier moves entirely or not at all."""
    _require_admin(admin)
    results = []
    for item_id in plan_item_ids:
        code, _sep, number = item_id.rpartition("@")
        if not code or not number.isdigit():
            raise InvalidInput({"plan_item_ids": [f"Mã mục kế hoạch không hợp lệ: {item_id!r}"]})
        results.append(_migrate_one(ctx, admin, item_id, code, int(number)))
    return results


def _migrate_one(ctx: EngineContext, admin: Actor, item_id: str, code: str, number: int) -> MigrationResult:
    with transaction(ctx.sessions) as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        if dossier is None:
            return MigrationResult(item_id, code, False, "Không tìm thấy hồ sơ.")
        old_row = session.get(ProcedureVersion, dossier.procedure_version_id)
        target = session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_id == old_row.procedure_id,
                                                               ProcedureVersion.number == number))
        if target is None:
            return MigrationResult(item_id, code, False, f"Thủ tục không có phiên bản {number}.")
        new = ctx.versions.get(session, target.id)
        if old_row.number >= number:
            return MigrationResult(item_id, code, False, f"Hồ sơ đang ở phiên bản {old_row.number}.")
        item, moved = _assess(ctx, session, dossier, new)
        if not item.movable or moved is None:
            return MigrationResult(item_id, code, False, item.reason)
        instance, workflow = moved
        _apply(ctx, session, dossier, instance, workflow, new, admin, old_row.number)
    return MigrationResult(item_id, code, True)


def _apply(ctx: EngineContext, session: Session, dossier: Dossier, instance: WorkflowInstance,
           workflow: BpmnWorkflow, new: PublishedVersion, admin: Actor, old_number: int) -> None:
    now = datetime.now(UTC)
    runner = Runner(workflow)
    instance.state = dump_state(workflow)
    instance.procedure_version_id = new.id
    instance.next_timer_at = runner.next_timer()
    instance.updated_at = now
    dossier.procedure_version_id = new.id
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        row = session.get(Task, str(task.id))
        if row is not None:
            row.title, row.lane = title_of(task.task_spec), task.task_spec.lane
            row.role, row.agency_code = lane_assignment(new.meta, task.task_spec.lane, dossier)
    history.record(session, dossier, "migrated", actor=admin, status=dossier.status, at=now,
                   data={"from_version": old_number, "to_version": new.number,
                         "text": f"Chuyển hồ sơ từ phiên bản {old_number} sang phiên bản {new.number} của quy trình"})


def _version(ctx: EngineContext, session: Session, slug: str, number: int) -> PublishedVersion:
    procedure = find_procedure(session, slug)
    row = session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id,
                                                        ProcedureVersion.number == number))
    if row is None:
        raise InvalidInput({"target_version": [f"Thủ tục {slug} không có phiên bản {number}."]})
    return ctx.versions.get(session, row.id)


def _running(session: Session, target: PublishedVersion) -> list[Dossier]:
    older = select(ProcedureVersion.id).where(ProcedureVersion.procedure_id == target.procedure_id,
                                              ProcedureVersion.number < target.number)
    return list(session.scalars(select(Dossier).join(WorkflowInstance, WorkflowInstance.dossier_id == Dossier.id)
                                .where(Dossier.procedure_version_id.in_(older), Dossier.finished_at.is_(None),
                                       WorkflowInstance.completed.is_(False)).order_by(Dossier.code)))


def _assess(ctx: EngineContext, session: Session, dossier: Dossier, target: PublishedVersion
            ) -> tuple[PlanItem, tuple[WorkflowInstance, BpmnWorkflow] | None]:
    """The plan item for `dossier` and, when movable, its instance and workflow already moved in memory."""
    old = ctx.versions.get(session, dossier.procedure_version_id)
    instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.dossier_id == dossier.id))
    workflow = load_state(instance.state, ctx.specs.get(old.content_hash, old.package), ctx.script_engine)
    waiting = workflow.get_tasks(state=TaskState.READY, manual=True)
    task = waiting[0] if len(waiting) == 1 else None

    def item(reason: str) -> PlanItem:
        return PlanItem(f"{dossier.code}@{target.number}", dossier.code, old.number, target.number,
                        task.task_spec.bpmn_id if task else None, title_of(task.task_spec) if task else None,
                        not reason, reason)

    new_specs = ctx.specs.get(target.content_hash, target.package)
    reason = _blocker(workflow, waiting, old, target, new_specs)
    if reason:
        return item(reason), None
    top_diff, _sub = diff_workflow(_REGISTRY, workflow, new_specs.spec, new_specs.subprocess_specs)
    migrate_workflow(top_diff, workflow, new_specs.spec)
    workflow.subprocess_specs = new_specs.subprocess_specs
    try:  # the moved instance must survive the round trip through the database
        moved = load_state(dump_state(workflow), new_specs, ctx.script_engine)
    except Exception as exc:  # noqa: BLE001 - any failure means "cannot move", reported to the admin
        return item(f"Không dựng lại được hồ sơ trên phiên bản mới: {exc}"), None
    return item(""), (instance, moved)


def _blocker(workflow: BpmnWorkflow, waiting: list[Any], old: PublishedVersion, new: PublishedVersion,
             new_specs: Any) -> str:
    if workflow.subprocesses:
        return "Hồ sơ đang chạy quy trình con; chưa hỗ trợ chuyển."
    if workflow.get_tasks(state=TaskState.STARTED):
        return "Hồ sơ đang chờ kết quả gọi kết nối; chuyển sau khi có kết quả."
    if len(waiting) != 1:
        return "Hồ sơ không chờ đúng một bước xử lý (đang chờ sự kiện hoặc nhiều nhánh song song)."
    task = waiting[0]
    new_spec = new_specs.spec.task_specs.get(task.task_spec.name)
    if new_spec is None:
        return f"Bước «{title_of(task.task_spec)}» ({task.task_spec.bpmn_id}) không còn trong phiên bản {new.number}."
    if type(new_spec).__name__ != type(task.task_spec).__name__:
        return f"Bước {task.task_spec.bpmn_id} đổi loại ở phiên bản {new.number}."
    gone = sorted({t.task_spec.bpmn_id or t.task_spec.name for t in workflow.get_tasks(state=_LIVED)
                   if t.task_spec.name not in new_specs.spec.task_specs})
    if gone:
        return f"Hồ sơ đã đi qua các bước không còn trong phiên bản mới: {', '.join(gone)}."
    return _form_problem(properties_of(task.task_spec), properties_of(new_spec), old, new)


def _form_problem(old_props: dict[str, str], new_props: dict[str, str], old: PublishedVersion,
                  new: PublishedVersion) -> str:
    old_schema = _schema(old, old_props)
    new_schema = _schema(new, new_props)
    old_required = set(old_schema.get("required") or [])
    new_fields = new_schema.get("properties") or {}
    missing_default = sorted(name for name in set(new_schema.get("required") or []) - old_required
                             if "default" not in (new_fields.get(name) or {}))
    if missing_default:
        return f"Biểu mẫu mới có trường bắt buộc không có giá trị mặc định: {', '.join(missing_default)}."
    removed = set(old_schema.get("properties") or {}) - set(new_fields)
    still_read = sorted(removed & names_read(new))
    if still_read:
        return f"Biểu mẫu mới bỏ trường mà quy trình vẫn đọc: {', '.join(still_read)}."
    return ""


def _schema(version: PublishedVersion, props: dict[str, str]) -> dict[str, Any]:
    schema_file = props.get("formJsonSchemaFilename")
    form = version.package["forms"].get(form_name(schema_file)) if schema_file else None
    return (form or {}).get("schema") or {}


def names_read(version: PublishedVersion) -> set[str]:
    """Variable names a version's scripts, gateway conditions and connector parameters read."""
    meta = version.meta
    graph = read_graph(version.package["bpmn"], meta["process_id"])
    sources = [(f.condition, "eval") for f in graph.flows] + [(n.script, "exec") for n in graph.nodes.values()] \
        + [(value, "eval") for n in graph.nodes.values() for value in n.parameters]
    names: set[str] = set()
    for source, mode in sources:
        if not source:
            continue
        try:
            tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
        except SyntaxError:
            continue
        names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return names
