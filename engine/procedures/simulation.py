"""Test-run a procedure draft in memory: the analyst plays every person and external system.

The draft runs on the real runtime (the same BPMN parser, Runner, restricted script engine,
working-day timer helpers and start data as a submitted dossier), but nothing leaves memory: no
dossier, task, event or outbox row is written and no connector is called. Human tasks wait for
the analyst's form data (validated by the task's form, as a real completion is); connector calls
that wait for a result wait for an answer the analyst may edit; timers fire when asked. Every
element entered is reported in order, by BPMN id, so the diagram can mark the path taken.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.util.task import TaskState

import forms
from engine.calendar import VN_TZ
from engine.context import EngineContext
from engine.errors import InvalidInput, WorkflowError
from engine.procedures.bpmn_names import XmlRefused, parse_untrusted
from engine.procedures.graph import read_graph
from engine.procedures.sample_data import (
    SAMPLE_APPLICANT,
    SIMULATED_CODE,
    sample_data,
    sample_result,
    sample_start_data,
    task_sample,
)
from engine.procedures.simulation_path import PathRecorder, SimStep
from engine.procedures.validation import located_message
from engine.procedures.versions import PublishedVersion
from engine.runtime.runner import ConnectorRequest, Runner, StepReport, every_task, timer_due, title_of
from engine.runtime.specs import ProcessSpecs, build_specs
from engine.services import dossiers
from engine.services.instances import lane_assignment, task_form_name
from engine.services.tasks import validate_task_data

__all__ = ["MAX_ANSWERS", "MAX_ENGINE_STEPS", "MAX_STEPS_AT_ONCE", "SimStep", "SimWaiting", "SimulationRun",
           "sample_data", "sample_start_data", "simulate"]

log = logging.getLogger(__name__)

MAX_ANSWERS = 500
#: Tasks run between two waits: a loop of automatic steps stops here, long before SpiffWorkflow's
#: task tree grows too deep for it to see the newest tasks (its iterator stops at depth 1000).
MAX_STEPS_AT_ONCE = 200
#: Tasks run in one whole test run.
MAX_ENGINE_STEPS = 5_000


@dataclass(frozen=True)
class SimWaiting:
    """A point where the run waits for the analyst: a person's form, a connector's result, a timer."""

    element_id: str
    title: str
    kind: str  # "user" | "service" | "timer"
    lane: str | None
    role: str | None
    form: str | None
    operation: str | None
    sample: dict[str, Any]


@dataclass
class SimulationRun:
    path: list[SimStep] = field(default_factory=list)
    waiting: list[SimWaiting] = field(default_factory=list)
    ended: bool = False
    status: str | None = None
    milestones: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    answered: int = 0


class _Refused(Exception):
    """The run stops here with `message` (Vietnamese, located) as its error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def simulate(ctx: EngineContext, package: dict[str, Any], start_data: dict[str, Any],
             answers: list[dict[str, Any]]) -> SimulationRun:
    """Run `package` from `start_data`, replaying `answers` in order ({"task": id, "data": {...}},
    {"service": id, "result": {...}}, {"timer": id}); stop at the first wait without an answer.
    Errors (bad answers, failing scripts, a broken diagram) end the run with `error` set and the
    path up to there kept; nothing is raised for them and nothing is written."""
    run = SimulationRun()
    simulation = _Simulation(ctx, package, run)
    try:
        if not isinstance(answers, list) or len(answers) > MAX_ANSWERS:
            raise _Refused(f"Danh sách câu trả lời phải là một mảng JSON, tối đa {MAX_ANSWERS} câu trả lời.")
        simulation.start(start_data)
        for index, answer in enumerate(answers, start=1):
            simulation.answer(index, answer)
            run.answered = index
        simulation.finish()
    except _Refused as stop:
        run.error = stop.message
        simulation.finish(broken=simulation.broken)
    return run


class _Simulation:
    def __init__(self, ctx: EngineContext, package: dict[str, Any], run: SimulationRun) -> None:
        self.ctx, self.package, self.run = ctx, package, run
        self.meta: dict[str, Any] = package["procedure"]
        self.version = PublishedVersion(0, 0, 0, "", package)  # compiles the draft's forms once each
        self.runner: Runner | None = None
        self.path = PathRecorder(path=run.path, milestones=run.milestones)
        self.pending: dict[str, ConnectorRequest] = {}  # connector calls waiting for the analyst
        self.engine_steps = self.steps_at_once = 0
        #: the task run last: it leads to the workflow when Runner.start itself fails
        self.last_task: Any = None
        self.broken = False

    # -- start and answers ---------------------------------------------------------------

    def start(self, given: dict[str, Any]) -> None:
        specs = self._specs()
        data = self._start_data(given)
        self.ctx.calendar()  # fresh before the run: timer expressions read it
        self._run(lambda: Runner.start(specs, data, self.ctx.script_engine))

    def _specs(self) -> ProcessSpecs:
        process_id = self.meta.get("process_id") or ""
        try:
            for name, text in self.package["bpmn"].items():
                parse_untrusted(text, name)  # its refusals are worded for the analyst
            specs = build_specs(self.package["bpmn"], process_id)  # never the cache: a draft changes
            self.path.graph = read_graph(self.package["bpmn"], process_id)
        except XmlRefused as exc:
            raise _Refused(f"Không đọc được sơ đồ BPMN: {exc}") from exc
        except ValidationException as exc:
            raise _Refused(f"Sơ đồ BPMN không chạy được: {located_message(exc, line_word='dòng')}") from exc
        for spec in [specs.spec, *specs.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                task_spec._run = self._counted(task_spec._run)
        return specs

    def _counted(self, run_task: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Every task run counts against MAX_ENGINE_STEPS, so a loop of automatic steps ends."""

        def counted(task: Any) -> Any:
            self.last_task = task
            self.engine_steps += 1
            self.steps_at_once += 1
            where = f"lần cuối tại bước «{title_of(task.task_spec)}» ({task.task_spec.bpmn_id or task.task_spec.name})"
            if self.steps_at_once > MAX_STEPS_AT_ONCE:
                raise _Refused(f"Quy trình đã chạy liền {MAX_STEPS_AT_ONCE} bước tự động mà chưa dừng chờ ai (có thể "
                               f"là vòng lặp không có điểm dừng), {where}.")
            if self.engine_steps > MAX_ENGINE_STEPS:
                raise _Refused(f"Lần chạy thử đã vượt quá {MAX_ENGINE_STEPS} bước, {where}.")
            return run_task(task)

        return counted

    def _start_data(self, given: Any) -> dict[str, Any]:
        if not isinstance(given, dict):
            raise _Refused("Dữ liệu nộp hồ sơ phải là một đối tượng JSON.")
        data = dict(given)
        applicant = data.pop("applicant", None)
        if applicant is None:
            applicant = dict(SAMPLE_APPLICANT)
        if not isinstance(applicant, dict):
            raise _Refused("Thông tin người nộp hồ sơ («applicant») phải là một đối tượng JSON.")
        try:
            applicant = dossiers.check_applicant(applicant)
        except InvalidInput as exc:
            raise _Refused(f"Thông tin người nộp hồ sơ không hợp lệ: {_messages(exc.errors)}") from exc
        start = self.meta.get("start_form")
        if start:
            form = self._form(start, "Tờ khai nộp hồ sơ")
            try:
                data = forms.validate(form, data)
            except forms.FormInvalid as exc:
                raise _Refused(f"Tờ khai nộp hồ sơ (biểu mẫu «{start}») không hợp lệ: {_messages(exc.errors)}") from exc
        now = datetime.now(UTC)
        return dossiers.start_data(self.ctx, self.meta, data, applicant, code=SIMULATED_CODE,
                                   procedure_code=self.meta.get("code") or self.meta.get("slug") or "",
                                   procedure_name=self.meta.get("name") or "", agency=self.meta.get("agency") or "",
                                   channel="online", now=now)

    def _form(self, name: str, where: str) -> forms.Form:
        try:
            return self.version.form(name)
        except KeyError as exc:
            raise _Refused(f"{where} dùng biểu mẫu «{name}» nhưng thủ tục không có biểu mẫu này.") from exc
        except ValueError as exc:
            raise _Refused(f"Biểu mẫu «{name}» ({where}) không hợp lệ: {exc}") from exc

    def answer(self, index: int, answer: Any) -> None:
        where = f"Câu trả lời thứ {index}"
        kinds = [key for key in ("task", "service", "timer") if isinstance(answer, dict) and key in answer]
        if len(kinds) != 1:
            raise _Refused(f"{where} phải là một đối tượng có đúng một trong các khóa "
                           "«task», «service», «timer».")
        kind = kinds[0]
        element_id = answer[kind]
        if kind == "task":
            self._complete_task(where, element_id, answer.get("data", {}))
        elif kind == "service":
            self._complete_service(where, element_id, answer.get("result"))
        else:
            self._fire_timer(where, element_id)

    def _not_waiting(self, where: str, element_id: Any, what: str) -> _Refused:
        node = self.path.graph.nodes.get(element_id) if isinstance(element_id, str) else None
        if node is None:
            return _Refused(f"{where}: quy trình không có phần tử «{element_id}».")
        return _Refused(f"{where}: bước «{node.label}» ({element_id}) hiện không {what}.")

    def _complete_task(self, where: str, element_id: Any, data: Any) -> None:
        runner = self._runner()
        task = next((t for t in runner.open_human_tasks() if t.bpmn_id == element_id), None)
        if task is None:
            raise self._not_waiting(where, element_id, "chờ người xử lý")
        name = task_form_name(task.properties)
        if name:
            self._form(name, f"Bước «{task.title}»")
        try:
            cleaned = validate_task_data(self.version, name, data)
        except InvalidInput as exc:
            form = f" (biểu mẫu «{name}»)" if name else ""
            raise _Refused(f"{where}: dữ liệu của bước «{task.title}» ({element_id}){form} không hợp lệ: "
                           f"{_messages(exc.errors)}") from exc
        step = self.path.step(task.id)
        self._run(lambda: runner.complete_human_task(task.id, cleaned))
        if step is not None:
            step.add(f"người chạy thử đã điền biểu mẫu «{name}»" if name else "người chạy thử đã hoàn thành bước")

    def _complete_service(self, where: str, element_id: Any, result: Any) -> None:
        runner = self._runner()
        request = next((r for r in self.pending.values() if r.bpmn_id == element_id), None)
        if request is None:
            raise self._not_waiting(where, element_id, "chờ kết quả của kết nối")
        if result is None:
            result = sample_result(request.operation, request.params)
        if not isinstance(result, dict):
            raise _Refused(f"{where}: kết quả của kết nối «{request.operation}» phải là một đối tượng JSON.")
        del self.pending[request.task_id]
        self._run(lambda: runner.complete_service_task(request.task_id, result))
        if step := self.path.step(request.task_id):
            step.add("đã nhận kết quả kết nối (mô phỏng)")

    def _fire_timer(self, where: str, element_id: Any) -> None:
        runner = self._runner()
        timer = next(((task, due) for task, due in self._timers() if task.task_spec.bpmn_id == element_id), None)
        if timer is None:
            raise self._not_waiting(where, element_id, "là hẹn giờ đang chờ")
        # Fired at its own due time: timers due by then fire with it, as they would have.
        due = timer[1]
        fired = [(str(task.id), at) for task, at in self._timers() if at <= due]
        self._run(lambda: runner.fire_timers(due))
        for task_id, at in fired:
            if step := self.path.step(task_id):
                step.add(f"hẹn giờ đến hạn lúc {at.astimezone(VN_TZ):%H:%M %d/%m/%Y} (mô phỏng)")

    def _runner(self) -> Runner:
        if self.runner is None:
            raise _Refused("Quy trình chưa được khởi động.")
        return self.runner

    # -- running and recording -----------------------------------------------------------

    def _run(self, action: Callable[[], Any]) -> None:
        """Run one engine action, record the elements it entered, and answer fire-and-forget calls."""
        before = self._states()
        self.steps_at_once = 0
        try:
            outcome = action()
        except WorkflowError as exc:
            self._fail(before)
            cause = exc.__cause__
            spec = getattr(cause, "task_spec", None)
            where = f" (phần tử {spec.bpmn_id or spec.name})" if spec is not None else ""
            raise _Refused(f"{exc.message_vi}{where}") from exc
        except _Refused:
            self._fail(before)
            raise
        except Exception as exc:
            # A draft is untrusted: whatever it makes the engine raise ends the run, not the request.
            log.warning("test run of %s failed", self.meta.get("slug"), exc_info=True)
            self._fail(before)
            raise _Refused(f"Quy trình gặp lỗi khi chạy thử: {getattr(exc, 'message_vi', None) or exc}") from exc
        if isinstance(outcome, tuple):
            self.runner, report = outcome
        else:
            report = outcome
        self.path.record(self._tasks(), before)
        self._apply(report)

    def _fail(self, before: dict[UUID, TaskState]) -> None:
        """Record what the failed action entered (the failing element too) and mark the run broken."""
        self.broken = True
        if self.runner is None and self.last_task is not None:  # the start failed: path from its workflow
            self.runner = Runner(self.last_task.workflow.top_workflow)
        if self.runner is not None:
            self.path.record(self._tasks(), before, failed=True)

    def _states(self) -> dict[UUID, TaskState]:
        return {task_id: task.state for task_id, task in self._tasks().items()} if self.runner else {}

    def _tasks(self) -> dict[UUID, Any]:
        return {task.id: task for task in every_task(self._runner().workflow)}

    def _apply(self, report: StepReport) -> None:
        """Connector calls: fire-and-forget ones complete at once, as the outbox does for real."""
        for request in report.requests:
            step = self.path.step(request.task_id)
            waits = self._waits(request, step)
            if waits:
                self.pending[request.task_id] = request
                if step is not None:
                    step.add(f"gọi kết nối {request.operation} (mô phỏng), chờ kết quả")
                continue
            if step is not None:
                step.add(f"gửi qua kết nối {request.operation} (mô phỏng, không gọi ra ngoài)")
            self._run(lambda request=request: self._runner().complete_service_task(request.task_id,
                                                                                  {"queued": True}))

    def _waits(self, request: ConnectorRequest, step: SimStep | None) -> bool:
        connector_id, _, name = request.operation.partition("/")
        connector = self.ctx.connectors.classes().get(connector_id)
        operation = connector.operations.get(name) if connector is not None else None
        if operation is None:
            where = f"Bước «{step.title}» ({step.element_id})" if step else f"Bước {request.bpmn_id}"
            raise _Refused(f"{where} gọi thao tác kết nối «{request.operation}» không có trong hệ thống.")
        return operation.waits_for_result

    # -- the result ------------------------------------------------------------------------

    def finish(self, broken: bool = False) -> None:
        run = self.run
        run.status = self.path.status
        if self.runner is None:
            return
        workflow = self.runner.workflow
        run.ended = bool(workflow.completed)
        run.data = _json_safe(self.runner.data)
        if broken:
            return
        run.waiting = self._waiting()
        if not run.ended and not run.waiting and run.error is None:
            run.error = ("Quy trình dừng lại nhưng chưa kết thúc và không còn bước nào chờ xử lý: kiểm tra các sự "
                         "kiện chờ tin nhắn/tín hiệu và các cổng hợp nhất song song.")

    def _waiting(self) -> list[SimWaiting]:
        runner = self._runner()
        agency = SimpleNamespace(agency_code=self.meta.get("agency"))
        waiting = []
        for task in runner.open_human_tasks():
            role = lane_assignment(self.meta, task.lane, agency)[0]  # type: ignore[arg-type]
            name = task_form_name(task.properties)
            waiting.append(SimWaiting(task.bpmn_id, task.title, "user", task.lane, role, name, None,
                                      self._task_sample(name, runner.human_task_data(task.id))))
        for task_id, request in self.pending.items():
            step = self.path.by_task[task_id]
            waiting.append(SimWaiting(request.bpmn_id, step.title, "service", step.lane, None, None,
                                      request.operation, sample_result(request.operation, request.params)))
        for task, due in self._timers():
            waiting.append(SimWaiting(task.task_spec.bpmn_id, title_of(task.task_spec), "timer", task.task_spec.lane,
                                      None, None, None, {"due_at": due.isoformat()}))
        return waiting

    def _timers(self) -> list[tuple[Any, datetime]]:
        tasks = self._runner().workflow.event_manager.tasks.values()
        return [(task, due) for task in list(tasks) if (due := timer_due(task)) is not None]

    def _task_sample(self, name: str | None, data: dict[str, Any]) -> dict[str, Any]:
        try:
            form = self.version.form(name) if name else None
        except (KeyError, ValueError):  # reported when the task is answered; nothing to prefill
            return {}
        return _json_safe(task_sample(form.schema, form.ui_schema, data)) if form else {}


def _messages(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(texts)}" if field else " ".join(texts) for field, texts in errors.items())


def _json_safe(value: Any) -> Any:
    """Workflow data as plain JSON (scripts may leave dates and sets in it)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))
