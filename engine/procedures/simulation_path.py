"""The path of a test run: each BPMN element the run entered, in order, and what happened there.

engine/procedures/simulation.py runs the draft; after each engine action it hands the tasks
SpiffWorkflow holds to `PathRecorder.record`, which adds the elements entered since (by BPMN id, so
the diagram can mark them) with a note in the analyst's words: the status set, the milestone
reached, the branch a gateway took, who the run waits for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.util.task import TaskState

from engine.procedures.graph import FlowGraph
from engine.runtime.runner import properties_of, title_of
from engine.services.instances import task_form_name
from engine.statuses import label

__all__ = ["ENTERED", "PathRecorder", "SimStep"]

#: The states of a task whose element the run has entered.
ENTERED = TaskState.READY | TaskState.STARTED | TaskState.COMPLETED
_GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway")


@dataclass
class SimStep:
    """One element entered, in order; `note` says what happened there."""

    element_id: str
    title: str
    kind: str
    lane: str | None
    note: str = ""

    def add(self, note: str) -> None:
        self.note = f"{self.note}; {note}" if self.note else note


@dataclass
class PathRecorder:
    """The steps of one run so far, the latest dossier status and the milestones reached."""

    graph: FlowGraph = field(default_factory=lambda: FlowGraph(""))
    path: list[SimStep] = field(default_factory=list)
    by_task: dict[str, SimStep] = field(default_factory=dict)  # SpiffWorkflow task id → its step
    status: str | None = None
    milestones: list[str] = field(default_factory=list)

    def step(self, task_id: Any) -> SimStep | None:
        """The step of SpiffWorkflow task `task_id`, if the run entered it."""
        return self.by_task.get(str(task_id))

    def record(self, tasks: dict[UUID, Any], before: dict[UUID, TaskState], failed: bool = False) -> None:
        """Add the elements of `tasks` entered since the states `before` (with the failing one when `failed`)."""
        entered_mask = ENTERED | TaskState.ERROR if failed else ENTERED
        entered = [task for task_id, task in tasks.items()
                   if task.state & entered_mask and not (before.get(task_id, TaskState.FUTURE) & ENTERED)]
        entered.sort(key=lambda task: task.last_state_change)
        for task in entered:
            spec = task.task_spec
            if not spec.bpmn_id or str(task.id) in self.by_task:
                continue
            node = self.graph.nodes.get(spec.bpmn_id)
            kind = node.kind if node else type(spec).__name__[:1].lower() + type(spec).__name__[1:]
            step = SimStep(spec.bpmn_id, title_of(spec), kind, spec.lane)
            self.by_task[str(task.id)] = step
            self.path.append(step)
            self._describe(step, task)

    def _describe(self, step: SimStep, task: Any) -> None:
        props = properties_of(task.task_spec)
        if task.state == TaskState.ERROR:
            step.add("lỗi khi chạy bước này")
        if status := props.get("dossierStatus"):
            step.add(f"trạng thái hồ sơ: {label(status)}")
            self.status = status
        if milestone := props.get("milestone"):
            step.add(f"mốc tiến độ: «{milestone}»")
            self.milestones.append(milestone)
        if rule := props.get("deadlineRule"):
            step.add(f"áp dụng thời hạn «{rule}»")
        if document := props.get("document"):
            step.add(f"lập văn bản {document} (mô phỏng, không tạo tệp)")
        if task.task_spec.manual and task.state == TaskState.READY:
            form = task_form_name(props)
            step.add(f"chờ «{step.lane or 'người xử lý'}» xử lý" + (f" biểu mẫu «{form}»" if form else ""))
        if step.kind in _GATEWAYS and task.state == TaskState.COMPLETED:
            self._branch(step, task)

    def _branch(self, step: SimStep, task: Any) -> None:
        if len(self.graph.outgoing(step.element_id)) < 2:
            return
        names = {flow.target: flow.name for flow in self.graph.outgoing(step.element_id)}
        taken = [spec for spec in _next_elements(task) if spec.bpmn_id in names]
        if not taken:
            return
        if step.kind == "parallelGateway":
            step.add("tách song song: " + ", ".join(f"«{title_of(spec)}»" for spec in taken))
        else:
            step.add("rẽ nhánh " + ", ".join(f"«{names[spec.bpmn_id]}»" if names[spec.bpmn_id]
                                             else f"sang «{title_of(spec)}»" for spec in taken))


def _next_elements(task: Any) -> list[Any]:
    """The BPMN elements a completed gateway sent tokens to, looking through SpiffWorkflow's own
    helper tasks (a task with boundary events sits behind a hidden split)."""
    found, queue = [], list(task.children)
    while queue:
        child = queue.pop(0)
        if child.state & (TaskState.PREDICTED_MASK | TaskState.CANCELLED):
            continue
        if child.task_spec.bpmn_id:
            found.append(child.task_spec)
        else:
            queue.extend(child.children)
    return found
