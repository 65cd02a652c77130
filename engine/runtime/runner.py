"""Drive one SpiffWorkflow instance between wait states and report what happened.

This is the only place that touches SpiffWorkflow task objects; callers get plain dataclasses:
which human tasks are open, which elements were entered (status and milestone properties), and
which connector calls the workflow asked for (to become outbox rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import TaskConflict, TaskNotFound, WorkflowError
from engine.runtime.specs import OUTBOX_REQUEST, ProcessSpecs

#: A catching event (boundary timer, message) waits without having happened: it counts as entered
#: only once it fires, so WAITING is not "entered".
_ENTERED = TaskState.READY | TaskState.STARTED | TaskState.COMPLETED


@dataclass(frozen=True)
class HumanTask:
    id: str
    bpmn_id: str
    title: str
    lane: str | None
    properties: dict[str, str]


@dataclass(frozen=True)
class EnteredElement:
    bpmn_id: str
    title: str
    status: str | None
    milestone: str | None
    deadline_rule: str | None = None
    document: str | None = None


@dataclass(frozen=True)
class ConnectorRequest:
    task_id: str
    bpmn_id: str
    operation: str
    params: dict[str, Any]
    #: document kinds of the dossier the call carries (BPMN property `attachDocuments`)
    attach: tuple[str, ...] = ()


@dataclass
class StepReport:
    """What one run between wait states changed."""

    entered: list[EnteredElement] = field(default_factory=list)
    requests: list[ConnectorRequest] = field(default_factory=list)
    open_tasks: list[HumanTask] = field(default_factory=list)
    completed: bool = False


def properties_of(task_spec: Any) -> dict[str, str]:
    extensions = getattr(task_spec, "extensions", None) or {}
    return extensions.get("properties", {}) or {}


def title_of(task_spec: Any) -> str:
    return getattr(task_spec, "bpmn_name", None) or task_spec.name


class Runner:
    """One workflow instance in memory, for one transaction."""

    def __init__(self, workflow: BpmnWorkflow) -> None:
        self.workflow = workflow
        self._before = self._states()
        #: human tasks that were waiting when this runner was loaded (to tell opened from closed ones)
        self.initially_open = {str(task.id) for task in every_task(workflow)
                               if task.state == TaskState.READY and task.task_spec.manual}
        #: the tasks waiting (READY or STARTED) after the last run, in tree order; None until one ran
        self._waiting: list[Any] | None = None

    @classmethod
    def start(cls, specs: ProcessSpecs, data: dict[str, Any], script_engine: Any) -> tuple[Runner, StepReport]:
        workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=script_engine)
        runner = cls(workflow)
        runner._before = {}
        runner.initially_open = set()
        workflow.data.update(data)
        # Start events copy workflow data into the first task's data.
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(data)
        return runner, runner._advance()

    def _states(self) -> dict[UUID, TaskState]:
        return {task_id: task.state for task_id, task in self.workflow.tasks.items()}

    def _task(self, task_id: str) -> Any:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except (ValueError, KeyError, SpiffWorkflowException):
            task = None
        if task is None:
            raise TaskNotFound(f"task {task_id} is not part of this workflow")
        return task

    def human_task_data(self, task_id: str) -> dict[str, Any]:
        return self._task(task_id).data

    def complete_human_task(self, task_id: str, data: dict[str, Any]) -> StepReport:
        task = self._task(task_id)
        if not task.task_spec.manual or task.state != TaskState.READY:
            raise TaskConflict(f"task {task_id} is not waiting for a person")
        task.data.update(data)
        self._guard(task.run)
        return self._advance()

    def complete_service_task(self, task_id: str, result: dict[str, Any] | None) -> StepReport:
        task = self._task(task_id)
        if task.state != TaskState.STARTED:
            raise TaskConflict(f"service task {task_id} is not waiting for a result")
        variable = getattr(task.task_spec, "result_variable", None)
        if variable:
            task.data[variable] = result or {}
        self._guard(task.complete)
        return self._advance()

    def fire_timers(self, now: datetime) -> StepReport:
        """Fire every waiting timer due at `now` (our clock, so time can be tested), then run on."""
        for task in list(self.workflow.event_manager.tasks.values()):
            due = timer_due(task)
            if due is not None and due <= now:
                task._set_internal_data(event_fired=True)
        self._guard(self.workflow.refresh_timers)
        return self._advance()

    def next_timer(self) -> datetime | None:
        """When the earliest waiting timer is due (stored on the instance row for the sweep)."""
        dues = [due for task in self.workflow.event_manager.tasks.values() if (due := timer_due(task))]
        return min(dues) if dues else None

    def _guard(self, action: Any) -> Any:
        self._waiting = None  # the action moves the workflow: the waiting tasks are known again after the run
        try:
            return action()
        except SpiffWorkflowException as exc:
            raise WorkflowError(_describe(exc), message_vi=_describe_vi(exc)) from exc

    def _advance(self) -> StepReport:
        self._guard(self.workflow.do_engine_steps)
        report = StepReport(completed=self.workflow.completed)
        entered = [
            task
            for task_id, task in self.workflow.tasks.items()
            if task.state & _ENTERED and not (self._before.get(task_id, TaskState.FUTURE) & _ENTERED)
        ]
        entered.sort(key=lambda task: task.last_state_change)
        for task in entered:
            props = properties_of(task.task_spec)
            if "dossierStatus" in props or "milestone" in props or "deadlineRule" in props or "document" in props:
                report.entered.append(
                    EnteredElement(task.task_spec.bpmn_id or task.task_spec.name, title_of(task.task_spec),
                                   props.get("dossierStatus"), props.get("milestone"), props.get("deadlineRule"),
                                   props.get("document"))
                )
        # one walk of the task tree for both: the service tasks started and the human tasks now waiting
        waiting = self.workflow.get_tasks(state=TaskState.READY | TaskState.STARTED)
        for task in waiting:
            if task.state != TaskState.STARTED:
                continue
            request = task.internal_data.pop(OUTBOX_REQUEST, None)
            if request is not None:
                attach = properties_of(task.task_spec).get("attachDocuments") or ""
                report.requests.append(
                    ConnectorRequest(str(task.id), task.task_spec.bpmn_id, request["operation"], request["params"],
                                     tuple(kind.strip() for kind in attach.split(",") if kind.strip()))
                )
        report.open_tasks = _human_tasks(task for task in waiting if task.state == TaskState.READY)
        self._before = self._states()
        self._waiting = waiting
        return report

    def open_human_tasks(self) -> list[HumanTask]:
        return _human_tasks(self.workflow.get_tasks(state=TaskState.READY))

    @property
    def data(self) -> dict[str, Any]:
        """What the dossier knows now: the data flowing into the newest waiting step (after an
        interrupting boundary event SpiffWorkflow's `last_task` may be an internal join holding
        older data), or the last completed task's once the workflow has ended."""
        # every change of the workflow goes through a run, which found the waiting tasks already
        waiting = self._waiting
        if waiting is None:
            waiting = self.workflow.get_tasks(state=TaskState.READY | TaskState.STARTED)
        if waiting:
            return dict(max(waiting, key=lambda task: task.last_state_change).data)
        last = self.workflow.last_task
        return dict(last.data) if last is not None else dict(self.workflow.data)


def every_task(workflow: BpmnWorkflow) -> Iterator[Any]:
    """The tasks of the workflow and of every subprocess it has started, in no particular order: what
    a walk of the task tree finds, without the walk (SpiffWorkflow keeps each workflow's tasks in a
    dict by id, and the top workflow keeps every subprocess, nested ones included)."""
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def _human_tasks(tasks: Iterable[Any]) -> list[HumanTask]:
    """The human (manual) tasks among `tasks`, in their order."""
    return [HumanTask(str(task.id), task.task_spec.bpmn_id, title_of(task.task_spec), task.task_spec.lane,
                      properties_of(task.task_spec))
            for task in tasks if task.task_spec.manual]


def timer_due(task: Any) -> datetime | None:
    """The fire time SpiffWorkflow computed for a waiting timer task (None for other events)."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition) or isinstance(definition, CycleTimerEventDefinition):
        return None
    if task._get_internal_data("event_value") is None:
        definition.has_fired(task)  # evaluates and stores the fire time
    value = task._get_internal_data("event_value")
    if isinstance(value, datetime):
        due = value
    else:
        try:
            due = TimerEventDefinition.parse_time_or_duration(str(value))
        except (ValueError, TypeError):
            return None
    return due if due.tzinfo else due.replace(tzinfo=UTC)


def _describe(exc: SpiffWorkflowException) -> str:
    location = getattr(exc, "task_spec", None)
    # a task's spec names its BPMN element; SpiffWorkflow may also blame a whole (sub)process spec
    where = f" at {getattr(location, 'bpmn_id', None) or location.name}" if location is not None else ""
    return f"{exc}{where}"


def _describe_vi(exc: SpiffWorkflowException) -> str:
    cause = exc.__cause__ or getattr(exc, "error", None) or getattr(exc, "exception", None)
    detail = getattr(cause, "message_vi", None)
    location = getattr(exc, "task_spec", None)
    where = f" tại bước «{title_of(location)}»" if location is not None else ""
    return f"Quy trình gặp lỗi{where}: {detail or exc}"
