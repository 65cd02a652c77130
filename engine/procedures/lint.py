"""One-stop-shop lint rules for a procedure package: named, severe or not, located on the diagram.

`validation.py` is the gate for publishing (the engine cannot run a package that fails it); lint is
what the analyst studio shows while a procedure is drawn: the same checks, plus the one-stop rules
(every path ends in a result, refusal or withdrawal; step budgets fit the legal deadline), each
finding with a Vietnamese message and the BPMN element id, file and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

import forms
from engine.calendar import CalendarConfig
from engine.documents.render import KINDS
from engine.procedures.graph import FlowGraph, Location, read_graph
from engine.procedures.package import form_name
from engine.procedures.validation import REQUIRED_KEYS, ROLES, missing_templates, script_problems
from engine.runtime.specs import BpmnSyntaxError, ProcessSpecs, build_specs
from engine.statuses import STATUSES

ERROR, WARNING, INFO = "error", "warning", "info"
#: The statuses a path may end in: a result (returned or ready), a refusal, a withdrawal, a stop.
END_STATUSES = ("returned", "result_ready", "refused", "withdrawn", "stopped")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # "error" | "warning" | "info"
    message: str  # Vietnamese, for the analyst
    element_id: str | None = None
    file: str | None = None
    line: int | None = None

    def located(self) -> str:
        where = ", ".join(str(p) for p in (self.file, f"dòng {self.line}" if self.line else None,
                                           self.element_id) if p)
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Subject:
    """What the rules look at: the package, its parsed specs and its flow graph."""

    package: dict[str, Any]
    specs: ProcessSpecs
    graph: FlowGraph
    operations: set[str] | None
    check_script: Callable[[str, str], list[str]] | None
    calendar: CalendarConfig

    @property
    def procedure(self) -> dict[str, Any]:
        return self.package["procedure"]

    def task_specs(self) -> Iterator[Any]:
        for process in (self.specs.spec, *self.specs.subprocess_specs.values()):
            for spec in process.task_specs.values():
                if getattr(spec, "bpmn_id", None):
                    yield spec

    def at(self, rule: str, severity: str, message: str, element_id: str | None = None,
           location: Location | None = None) -> Finding:
        where = location or self.graph.location(element_id)
        return Finding(rule, severity, message, element_id, where.file, where.line)


Rule = Callable[[Subject], Iterable[Finding]]
RULES: dict[str, tuple[str, Rule]] = {}


def rule(code: str, title: str) -> Callable[[Rule], Rule]:
    """Register a lint rule under a unique code (the studio filters and explains by it)."""
    def register(function: Rule) -> Rule:
        if code in RULES:
            raise ValueError(f"lint rule {code!r} registered twice")
        RULES[code] = (title, function)
        return function
    return register


def lint_package(package: dict[str, Any], *, operations: Iterable[str] | None = None,
                 check_script: Callable[[str, str], list[str]] | None = None,
                 calendar: CalendarConfig | None = None) -> list[Finding]:
    """Every finding for `package` (the dict `read_package` returns / a version stores), errors first.

    Operations default to every registered connector operation, scripts to the restricted
    evaluator's static check.
    """
    if operations is None:
        from integrations import registry

        operations = registry.operations()
    if check_script is None:
        from engine.scripting import RestrictedEvaluator

        check_script = RestrictedEvaluator().check
    findings = list(_structure(package))
    procedure = package["procedure"]
    if not procedure.get("process_id"):
        return findings
    try:
        specs = build_specs(package["bpmn"], procedure["process_id"])
        graph = read_graph(package["bpmn"], procedure["process_id"])
    except BpmnSyntaxError as exc:
        return [*findings, Finding("mo-hinh", ERROR, f"Tệp BPMN không đọc được: {exc}")]
    except ValidationException as exc:
        return [*findings, Finding("mo-hinh", ERROR, f"Mô hình BPMN không hợp lệ: {str(exc).splitlines()[0]}",
                                   getattr(exc, "id", None) or None, getattr(exc, "file_name", None) or None,
                                   getattr(exc, "line_number", None) or None)]
    subject = Subject(package, specs, graph, set(operations), check_script, calendar or CalendarConfig())
    for _title, check in RULES.values():
        findings += check(subject)
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    return sorted(findings, key=lambda f: (order[f.severity], f.file or "", f.line or 0))


def _structure(package: dict[str, Any]) -> Iterator[Finding]:
    procedure = package["procedure"]
    for key in REQUIRED_KEYS:
        if not procedure.get(key):
            yield Finding("mo-hinh", ERROR, f"procedure.json thiếu khóa {key!r}", file="procedure.json")
    for lane, target in (procedure.get("lanes") or {}).items():
        role = target.get("role") if isinstance(target, dict) else target
        if role not in ROLES:
            yield Finding("lan-vai-tro", ERROR, f"Lane {lane!r} được gán cho vai trò không tồn tại {role!r} "
                          f"(vai trò hợp lệ: {', '.join(sorted(ROLES))})", file="procedure.json")
    for name, form in package["forms"].items():
        try:
            forms.load_form(form["schema"], form.get("ui_schema"))
        except ValueError as exc:
            yield Finding("bieu-mau", ERROR, f"Biểu mẫu {name!r} không nạp được: {exc}",
                          file=f"forms/{name}-schema.json")
    start_form = procedure.get("start_form")
    if start_form and start_form not in package["forms"]:
        yield Finding("bieu-mau", ERROR, f"Biểu mẫu nộp hồ sơ {start_form!r} không có tệp "
                      f"forms/{start_form}-schema.json", file="procedure.json")


# -- (a) lanes → roles ------------------------------------------------------------------------------

@rule("lan-vai-tro", "Mỗi tác vụ người dùng nằm trong một lane đã gán vai trò (procedure.json lanes)")
def user_tasks_in_mapped_lanes(subject: Subject) -> Iterator[Finding]:
    lanes = subject.procedure.get("lanes") or {}
    for spec in subject.task_specs():
        if not getattr(spec, "manual", False):
            continue
        if spec.lane is None:
            yield subject.at("lan-vai-tro", ERROR, f"Tác vụ «{_title(spec)}» không nằm trong lane nào; hãy đặt "
                             "nó vào một lane đã gán vai trò", spec.bpmn_id)
        elif spec.lane not in lanes:
            yield subject.at("lan-vai-tro", ERROR, f"Lane «{spec.lane}» của tác vụ «{_title(spec)}» chưa được gán "
                             "vai trò trong procedure.json (lanes)", spec.bpmn_id)


# -- (b) every path ends in a result, refusal, withdrawal or stop -----------------------------------

@rule("trang-thai", "Trạng thái hồ sơ (dossierStatus) là trạng thái đã biết")
def known_statuses(subject: Subject) -> Iterator[Finding]:
    for node in subject.graph.nodes.values():
        status = node.properties.get("dossierStatus")
        if status and status not in STATUSES:
            yield subject.at("trang-thai", ERROR, f"Trạng thái hồ sơ {status!r} không tồn tại (các trạng thái: "
                             f"{', '.join(STATUSES)})", node.id)


@rule("ket-thuc", "Mọi nhánh kết thúc bằng kết quả, từ chối, rút hoặc dừng xử lý")
def paths_end_in_an_outcome(subject: Subject) -> Iterator[Finding]:
    graph = subject.graph
    reachable = graph.reachable()
    if not graph.starts():
        yield subject.at("ket-thuc", ERROR, "Quy trình không có sự kiện bắt đầu")
    for node in graph.nodes.values():
        if node.id not in reachable:
            yield subject.at("ket-thuc", WARNING, f"«{node.label}» không thể tới được từ sự kiện bắt đầu", node.id)
        elif node.kind == "endEvent":
            status = node.properties.get("dossierStatus")
            if status not in END_STATUSES:
                yield subject.at("ket-thuc", ERROR, f"Sự kiện kết thúc «{node.label}» phải đặt dossierStatus là một "
                                 f"trong {', '.join(END_STATUSES)} (hiện: {status or 'không có'})", node.id)
        elif node.kind != "boundaryEvent" and not graph.outgoing(node.id):
            yield subject.at("ket-thuc", ERROR, f"«{node.label}» là ngõ cụt: không có luồng đi ra và không phải "
                             "sự kiện kết thúc", node.id)
        elif node.kind == "boundaryEvent" and not graph.outgoing(node.id):
            yield subject.at("ket-thuc", ERROR, f"Sự kiện biên «{node.label}» không có luồng đi ra", node.id)


@rule("nhan-luong", "Các luồng ra của cổng rẽ nhánh có nhãn")
def gateway_flows_are_labelled(subject: Subject) -> Iterator[Finding]:
    graph = subject.graph
    for node in graph.nodes.values():
        outgoing = graph.outgoing(node.id)
        if node.kind in ("exclusiveGateway", "inclusiveGateway") and len(outgoing) > 1:
            for flow in outgoing:
                if not flow.name.strip() and flow.id not in graph.default_flows:  # default: "otherwise"
                    yield subject.at("nhan-luong", WARNING, f"Luồng {flow.id} ra từ cổng «{node.label}» chưa có nhãn "
                                     "(người xem sơ đồ không biết khi nào đi nhánh này)", flow.id, flow.location)


# -- (d) connectors ---------------------------------------------------------------------------------

@rule("ket-noi", "Tác vụ dịch vụ gọi một thao tác kết nối đã đăng ký")
def service_tasks_name_registered_operations(subject: Subject) -> Iterator[Finding]:
    for spec in subject.task_specs():
        operation = getattr(spec, "operation_name", None)
        if operation is not None and subject.operations is not None and operation not in subject.operations:
            yield subject.at("ket-noi", ERROR, f"Tác vụ «{_title(spec)}» gọi {operation!r}, không phải thao tác của "
                             "kết nối nào đã đăng ký", spec.bpmn_id)


# -- (e) forms and document templates --------------------------------------------------------------

@rule("bieu-mau", "Biểu mẫu được tham chiếu có tồn tại; loại giấy tờ sinh ra có mẫu")
def forms_and_templates_exist(subject: Subject) -> Iterator[Finding]:
    for node in subject.graph.nodes.values():
        schema_file = node.properties.get("formJsonSchemaFilename")
        if schema_file and form_name(schema_file) not in subject.package["forms"]:
            yield subject.at("bieu-mau", ERROR, f"Không tìm thấy tệp biểu mẫu {schema_file!r} của «{node.label}»",
                             node.id)
        for kind in missing_templates(node.properties, subject.package):
            yield subject.at("bieu-mau", ERROR, f"Loại giấy tờ {kind!r} của «{node.label}» chưa có mẫu (mẫu có sẵn: "
                             f"{', '.join(KINDS)}; hoặc thêm documents/{kind}.html)", node.id)


# -- (f) scripts and conditions ---------------------------------------------------------------------

@rule("kich-ban", "Kịch bản và điều kiện qua được kiểm tra tĩnh của bộ thực thi hạn chế")
def scripts_pass_the_static_check(subject: Subject) -> Iterator[Finding]:
    if subject.check_script is None:
        return
    for spec in subject.task_specs():
        for problem in script_problems(spec, subject.check_script):
            yield subject.at("kich-ban", ERROR, f"Biểu thức/kịch bản của «{_title(spec)}» bị từ chối: {problem}",
                             spec.bpmn_id)


def _title(spec: Any) -> str:
    return getattr(spec, "bpmn_name", None) or spec.bpmn_id


def rule_titles() -> dict[str, str]:
    return {code: title for code, (title, _check) in RULES.items()}


# (c) lives in its own module; importing it registers the rule.
from engine.procedures import budgets as _budgets  # noqa: E402,F401  (registration side effect)

__all__ = ["END_STATUSES", "ERROR", "INFO", "RULES", "WARNING", "Finding", "Subject", "lint_package", "rule",
           "rule_titles"]
