"""What in a BPMN model our engine will not run: element kinds it cannot execute, vendor extensions it ignores.

A model drawn in another modeller can parse and still behave differently here: SpiffWorkflow
parses only what a start event reaches and drops some event definitions without a word (link,
compensation, a signal on an end event), and our runtime delivers no message from outside a
dossier and fires no repeating timer. So this room walks the whole XML, every process and every
element, and names each such thing (its kind, its name, file and line) for the analyst to see
before publishing. The BPMN itself is never changed.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.procedures.bpmn_names import BPMN_NS, SPIFF_NS, describe_element, local, namespace
from engine.procedures.extensions import extension_findings
from engine.procedures.lint import ERROR, WARNING, Finding
from engine.runtime.specs import BpmnSyntaxError, parse_xml

RULE_UNSUPPORTED = "khong-ho-tro"

_CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
_EVENTS = frozenset({"startEvent", "endEvent", "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent"})
_GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
                       "complexGateway"})
_ACTIVITIES = frozenset({"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
                         "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"})
_FLOW_NODES = _EVENTS | _GATEWAYS | _ACTIVITIES
#: Children of a process that carry no behaviour of their own, or whose behaviour the engine reads.
_PASSIVE = frozenset({
    "sequenceFlow", "laneSet", "dataObject", "dataObjectReference", "dataStoreReference", "textAnnotation",
    "association", "group", "documentation", "extensionElements", "ioSpecification", "ioBinding", "property",
    "auditing", "monitoring", "supports", "correlationSubscription", "categoryValue",
    "resourceRole", "performer", "humanPerformer", "potentialOwner",
    # a subprocess's own parts, seen when its children are walked
    "incoming", "outgoing", "dataInputAssociation", "dataOutputAssociation", "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics", "completionCondition"})
_CATCHES = frozenset({"intermediateCatchEvent", "boundaryEvent", "startEvent", "receiveTask"})
_PYTHON_FORMATS = frozenset({"", "python", "python3", "text/x-python", "text/python", "application/x-python"})
_ISO_TIME = re.compile(r"^(R\d*/)?(P(\d|T\d)|\d{4}-\d{2}-\d{2})")
_JUEL_FEEL_LITERALS = {"true", "false", "null"}
#: Names SpiffWorkflow gives its own task specs in every process: an element with one of these ids
#: is silently merged with them (a start event called "Start" never runs).
_RESERVED_IDS = frozenset({"Start", "End", "Root", "StartEventSplit", "StartEventJoin"})


def unsupported_elements(bpmn_files: Mapping[str, str]) -> list[Finding]:
    """Every element the engine cannot run and every vendor extension it ignores, across `bpmn_files`."""
    documents: dict[str, Any] = {}
    findings: list[Finding] = []
    for filename, text in bpmn_files.items():
        try:
            documents[filename] = parse_xml(text, filename)
        except BpmnSyntaxError as exc:
            findings.append(Finding("mo-hinh", ERROR, f"Tệp BPMN không đọc được: {exc}", file=filename))
    process_ids = {p.get("id") for root in documents.values() for p in root.iter(f"{{{BPMN_NS}}}process")}
    for filename, root in documents.items():
        walk = _Walk(filename, process_ids)
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            walk.process(process)
        findings += walk.findings + extension_findings(root, filename)
    return unique(findings)


def unique(findings: list[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    return [f for f in findings if not (f in seen or seen.add(f))]


@dataclass
class _Thrown:
    """The messages and signals a process throws and catches itself (those need no outside sender)."""

    messages_thrown: set[str] = field(default_factory=set)
    messages_caught: set[str] = field(default_factory=set)
    signals_thrown: set[str] = field(default_factory=set)
    signals_caught: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, process: Any) -> _Thrown:
        known = cls()
        for element in process.iter(etree.Element):
            kind = local(element.tag)
            if kind not in _EVENTS and kind not in ("sendTask", "receiveTask"):
                continue
            catching = kind in _CATCHES
            for ref in _message_refs(element):
                (known.messages_caught if catching else known.messages_thrown).add(ref)
            if kind != "endEvent":  # SpiffWorkflow drops a signal on an end event: it is never thrown
                for definition in element.findall(f"{{{BPMN_NS}}}signalEventDefinition"):
                    (known.signals_caught if catching else known.signals_thrown).add(definition.get("signalRef") or "")
        return known


def _message_refs(element: Any) -> list[str]:
    refs = [d.get("messageRef") or "" for d in element.findall(f"{{{BPMN_NS}}}messageEventDefinition")]
    if local(element.tag) in ("sendTask", "receiveTask") and (element.get("messageRef") or not refs):
        refs.append(element.get("messageRef") or "")
    return refs


class _Walk:
    """One file's findings; `process_ids` are the processes of every file (call activities reach across)."""

    def __init__(self, filename: str, process_ids: set[str]) -> None:
        self.filename = filename
        self.process_ids = process_ids
        self.findings: list[Finding] = []

    def report(self, element: Any, severity: str, reason: str, owner: Any = None) -> None:
        owner = owner if owner is not None else element
        self.findings.append(Finding(RULE_UNSUPPORTED, severity, f"{describe_element(owner)}: {reason}", owner.get("id"),
                                     self.filename, element.sourceline))

    # -- elements ----------------------------------------------------------------------------------

    def process(self, process: Any) -> None:
        self.container(process, _Thrown.of(process), event_subprocess=False)

    def container(self, container: Any, thrown: _Thrown, *, event_subprocess: bool) -> None:
        for element in container.iterchildren(etree.Element):
            kind = local(element.tag)
            if namespace(element.tag) != BPMN_NS:
                continue
            element_id = element.get("id") or ""
            if element_id in _RESERVED_IDS or element_id.endswith(".EndJoin"):
                self.report(element, ERROR, f"mã phần tử «{element_id}» trùng tên nội bộ của bộ máy nên bước này bị "
                            "bỏ qua khi chạy; hãy đổi mã (id) của phần tử")
            if kind in _EVENTS:
                self.event(element, thrown, event_subprocess=event_subprocess)
            elif kind in _GATEWAYS:
                self.gateway(element)
            elif kind in _ACTIVITIES:
                self.activity(element, thrown)
            elif kind == "sequenceFlow":
                self.sequence_flow(element)
            elif kind not in _PASSIVE:
                self.report(element, ERROR, "bộ máy không chạy loại phần tử BPMN này")
        self.outgoing_flows(container)
        self.data_references(container)

    def event(self, element: Any, thrown: _Thrown, *, event_subprocess: bool) -> None:
        kind = local(element.tag)
        definitions = [d for d in element.iterchildren(etree.Element)
                       if namespace(d.tag) == BPMN_NS and local(d.tag).endswith("EventDefinition")]
        if element.find(f"{{{BPMN_NS}}}eventDefinitionRef") is not None:
            self.report(element, ERROR, "định nghĩa sự kiện dùng chung (eventDefinitionRef) không được đọc; sự kiện "
                        "sẽ chạy như sự kiện không loại — hãy khai báo định nghĩa ngay trong sự kiện")
        if kind == "boundaryEvent" and not definitions:
            self.report(element, ERROR, "sự kiện biên không có loại (hẹn giờ, lỗi, tín hiệu...) nên không dựng được")
        top_start = kind == "startEvent" and not event_subprocess
        # A multiple catch fires on any of its definitions: one that never happens leaves the others.
        either = len(definitions) > 1 and element.get("parallelMultiple") != "true"
        for definition in definitions:
            self.event_definition(element, local(definition.tag), definition, thrown, top_start, either)

    def event_definition(self, element: Any, what: str, definition: Any, thrown: _Thrown, top_start: bool,
                         either: bool = False) -> None:
        kind = local(element.tag)
        catching = kind in _CATCHES
        never = (WARNING, "một phần của sự kiện nhiều loại không bao giờ xảy ra (các phần khác vẫn kích hoạt được nó): ") \
            if either else (ERROR, "")
        if what == "linkEventDefinition":
            self.report(element, ERROR, "sự kiện liên kết (link) không được bộ máy hỗ trợ: nhánh dừng tại đây; hãy nối "
                        "bằng luồng tuần tự")
        elif what == "compensateEventDefinition":
            self.report(element, ERROR, "bù trừ (compensation) không được bộ máy hỗ trợ: không hoạt động bù trừ nào "
                        "được chạy")
        elif what == "messageEventDefinition":
            self.message(element, definition.get("messageRef") or "", thrown, top_start, never)
        elif what == "signalEventDefinition":
            ref = definition.get("signalRef") or ""
            if kind == "endEvent":
                self.report(element, ERROR, "tín hiệu ở sự kiện kết thúc không được phát (bộ máy bỏ qua nó); hãy dùng "
                            "sự kiện trung gian phát tín hiệu trước sự kiện kết thúc")
            elif top_start:
                self.report(element, never[0], f"{never[1]}hồ sơ bắt đầu khi được nộp; sự kiện bắt đầu bằng tín hiệu "
                            "không bao giờ xảy ra")
            elif catching and ref not in thrown.signals_thrown:
                self.report(element, never[0], f"{never[1]}không bước nào trong quy trình phát tín hiệu này và bộ máy "
                            "không nhận tín hiệu từ bên ngoài: hồ sơ sẽ chờ mãi")
            elif not catching and ref not in thrown.signals_caught:
                self.report(element, WARNING, "tín hiệu chỉ bắt được trong cùng hồ sơ, không truyền sang hồ sơ hay hệ "
                            "thống khác")
        elif what == "timerEventDefinition":
            self.timer(element, definition, top_start)
        elif what in ("errorEventDefinition", "escalationEventDefinition") and kind == "startEvent":
            self.report(element, ERROR, "bộ máy không đọc loại sự kiện bắt đầu này (lỗi, leo thang) nên quy trình con "
                        "sự kiện chạy ngay khi quy trình bắt đầu, không chờ sự kiện; hãy dùng sự kiện biên trên bước "
                        "hoặc quy trình con phát ra nó")
        elif what == "conditionalEventDefinition":
            if kind == "startEvent":
                self.report(element, ERROR, "sự kiện bắt đầu theo điều kiện không được bộ máy hỗ trợ")
            condition = definition.find(f"{{{BPMN_NS}}}condition")
            self.expression(element, condition, "điều kiện")

    def message(self, element: Any, ref: str, thrown: _Thrown, top_start: bool,
                never: tuple[str, str] = (ERROR, "")) -> None:
        if top_start:
            self.report(element, never[0], f"{never[1]}hồ sơ bắt đầu khi được nộp; sự kiện bắt đầu bằng tin nhắn "
                        "không bao giờ xảy ra")
        elif local(element.tag) in _CATCHES:
            if ref not in thrown.messages_thrown:
                self.report(element, never[0], f"{never[1]}bộ máy không nhận tin nhắn từ bên ngoài hồ sơ và không bước "
                            "nào trong quy trình gửi tin nhắn này: hồ sơ sẽ chờ mãi; hãy dùng tác vụ người dùng hoặc tác "
                            "vụ dịch vụ chờ kết quả kết nối")
        elif ref not in thrown.messages_caught:
            self.report(element, WARNING, "tin nhắn không được gửi ra ngoài hồ sơ (bộ máy chỉ chuyển tin nhắn trong "
                        "cùng quy trình); hãy dùng tác vụ dịch vụ với một thao tác kết nối")

    def timer(self, element: Any, definition: Any, top_start: bool) -> None:
        cycle = definition.find(f"{{{BPMN_NS}}}timeCycle")
        if cycle is not None:
            self.report(element, ERROR, "hẹn giờ lặp (timeCycle) không bao giờ được bộ hẹn giờ kích hoạt; hãy dùng "
                        "khoảng thời gian (timeDuration) hoặc thời điểm (timeDate)")
        elif top_start:
            self.report(element, WARNING, "hồ sơ luôn bắt đầu khi được nộp; hẹn giờ ở sự kiện bắt đầu chỉ làm hồ sơ chờ "
                        "đến lúc đó")
        elif local(element.tag) == "startEvent":
            self.report(element, ERROR, "quy trình con sự kiện bắt đầu bằng hẹn giờ giữ hồ sơ chưa kết thúc đến khi hẹn "
                        "giờ kích hoạt, kể cả khi luồng chính đã xong, rồi mới chạy; hãy dùng sự kiện biên hẹn giờ trên "
                        "bước tương ứng")
        for part in ("timeDate", "timeDuration"):
            self.expression(element, definition.find(f"{{{BPMN_NS}}}{part}"), "biểu thức hẹn giờ", timer=True)

    def gateway(self, element: Any) -> None:
        kind = local(element.tag)
        if kind == "complexGateway":
            self.report(element, ERROR, "bộ máy không chạy cổng phức hợp; hãy thay bằng cổng loại trừ, song song hoặc "
                        "bao hàm")
        elif kind == "eventBasedGateway" and (element.get("instantiate") == "true"
                                              or element.get("eventGatewayType") == "Parallel"):
            self.report(element, ERROR, "cổng theo sự kiện dùng để khởi tạo quy trình không được hỗ trợ (hồ sơ bắt đầu "
                        "khi được nộp)")

    def activity(self, element: Any, thrown: _Thrown) -> None:
        kind = local(element.tag)
        if element.get("isForCompensation") == "true":
            self.report(element, ERROR, "hoạt động bù trừ (isForCompensation) không bao giờ được chạy: bộ máy không hỗ "
                        "trợ bù trừ")
        self.loop(element)
        for role in ("potentialOwner", "humanPerformer", "performer", "resourceRole"):
            for assignment in element.findall(f"{{{BPMN_NS}}}{role}"):
                self.report(assignment, WARNING, f"phân công bằng {role} bị bỏ qua; việc được giao theo vai trò của "
                            "lane", owner=element)
        if element.find(f"{{{BPMN_NS}}}rendering") is not None:
            self.report(element, WARNING, "phần hiển thị (rendering) bị bỏ qua")
        if kind == "scriptTask":
            self.script(element)
        elif kind == "serviceTask" and element.find(f".//{{{SPIFF_NS}}}serviceTaskOperator") is None:
            self.report(element, ERROR, "không gọi thao tác kết nối nào (spiffworkflow:serviceTaskOperator) nên bộ máy "
                        "không chạy được; hãy chọn một thao tác kết nối")
        elif kind == "sendTask":
            for ref in _message_refs(element):
                self.message(element, ref, thrown, top_start=False)
        elif kind == "receiveTask":
            for ref in _message_refs(element):
                self.message(element, ref, thrown, top_start=False)
        elif kind == "businessRuleTask":
            self.report(element, ERROR, "bảng quyết định (DMN) không được hỗ trợ trong gói thủ tục; hãy dùng cổng loại "
                        "trừ hoặc tác vụ kịch bản")
        elif kind == "callActivity":
            called = element.get("calledElement")
            if not called or called not in self.process_ids:
                self.report(element, ERROR, f"quy trình được gọi {called or '(chưa chọn)'!s} không có trong gói; hãy "
                            "thêm tệp BPMN chứa quy trình đó hoặc đặt calledElement")
        elif kind == "adHocSubProcess":
            self.report(element, ERROR, "quy trình con tùy ý (ad-hoc) không được bộ máy chạy: không có cách chọn bước "
                        "tiếp theo; hãy vẽ thành quy trình con có luồng")
        if kind in _CONTAINERS:
            self.container(element, thrown, event_subprocess=element.get("triggeredByEvent") == "true")

    def loop(self, element: Any) -> None:
        multi = element.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
        if multi is None:
            return
        if multi.find(f"{{{BPMN_NS}}}loopCardinality") is None and multi.find(f"{{{BPMN_NS}}}loopDataInputRef") is None:
            self.report(multi, ERROR, "tác vụ nhiều phiên bản không khai báo số lần (loopCardinality) hay danh sách đầu "
                        "vào (loopDataInputRef) nên không dựng được", owner=element)
        cardinality = multi.find(f"{{{BPMN_NS}}}loopCardinality")
        self.expression(element, cardinality, "số phiên bản")
        self.expression(element, multi.find(f"{{{BPMN_NS}}}completionCondition"), "điều kiện hoàn thành")

    def script(self, element: Any) -> None:
        script_format = (element.get("scriptFormat") or "").strip().lower()
        body = element.find(f"{{{BPMN_NS}}}script")
        if script_format not in _PYTHON_FORMATS:
            self.report(element, ERROR, f"kịch bản viết bằng {element.get('scriptFormat')}; bộ máy chỉ chạy Python "
                        "(trong môi trường hạn chế)")
        elif body is None or not (body.text or "").strip():
            self.report(element, ERROR, "không có nội dung kịch bản: bước này không làm gì")
        else:
            problems = _evaluator().check(body.text, "exec")
            if problems:
                self.report(body, ERROR, f"kịch bản không chạy được trong môi trường hạn chế: {problems[0]}",
                            owner=element)

    def sequence_flow(self, element: Any) -> None:
        condition = element.find(f"{{{BPMN_NS}}}conditionExpression")
        if condition is None:
            return
        language = (condition.get("language") or "").strip().lower()
        if language and language not in _PYTHON_FORMATS:
            self.report(condition, ERROR, f"điều kiện viết bằng ngôn ngữ {condition.get('language')}; bộ máy chỉ tính "
                        "biểu thức Python", owner=element)
        else:
            self.expression(element, condition, "điều kiện")

    def expression(self, owner: Any, holder: Any, what: str, *, timer: bool = False) -> None:
        if holder is None:
            return
        problem = expression_problem(holder.text or "", timer=timer)
        if problem:
            self.report(holder, ERROR, f"{what} «{(holder.text or '').strip()[:80]}» không chạy được: {problem}",
                        owner=owner)

    def outgoing_flows(self, container: Any) -> None:
        """SpiffWorkflow lets only gateways and start events split; conditional or implicit parallel
        flows out of a task or an event stop the model from being built."""
        counts: dict[str, int] = {}
        for flow in container.iterchildren(f"{{{BPMN_NS}}}sequenceFlow"):
            counts[flow.get("sourceRef") or ""] = counts.get(flow.get("sourceRef") or "", 0) + 1
        for element in container.iterchildren(etree.Element):
            kind = local(element.tag)
            if kind in _FLOW_NODES and kind not in _GATEWAYS and kind != "startEvent" \
                    and counts.get(element.get("id") or "", 0) > 1:
                self.report(element, ERROR, f"có {counts[element.get('id')]} luồng ra không qua cổng (luồng có điều kiện "
                            "hoặc song song ngầm); bộ máy chỉ cho một luồng ra từ bước này — hãy thêm cổng rẽ nhánh")

    def data_references(self, container: Any) -> None:
        """Data stores have no implementation here; data objects travel as task variables named by
        the data object's id, which a writer must set and a reader needs set before it."""
        stores = {e.get("id"): e for e in container.iterchildren(f"{{{BPMN_NS}}}dataStoreReference")}
        objects = {e.get("id"): e for e in container.iterchildren(f"{{{BPMN_NS}}}dataObjectReference")}
        read: set[str] = set()
        written: set[str] = set()
        for activity in container.iterchildren(etree.Element):
            for association in activity.iterchildren(f"{{{BPMN_NS}}}dataInputAssociation"):
                read |= {(ref.text or "").strip() for ref in association.iterchildren(f"{{{BPMN_NS}}}sourceRef")}
            for association in activity.iterchildren(f"{{{BPMN_NS}}}dataOutputAssociation"):
                written |= {(ref.text or "").strip() for ref in association.iterchildren(f"{{{BPMN_NS}}}targetRef")}
        for store_id, store in stores.items():
            if store_id in read | written:
                self.report(store, ERROR, "các bước đọc/ghi kho dữ liệu này nhưng bộ máy không có cài đặt kho dữ liệu "
                            "nào; hãy dùng dữ liệu của hồ sơ hoặc một thao tác kết nối")
        written_objects = {objects[ref].get("dataObjectRef") for ref in written if ref in objects}
        reported: set[str] = set()
        for ref_id, reference in objects.items():
            variable = reference.get("dataObjectRef") or ""
            if ref_id not in read | written or variable in reported:
                continue
            reported.add(variable)
            if ref_id in read and variable not in written_objects:
                self.report(reference, ERROR, f"các bước đọc đối tượng dữ liệu này (biến «{variable}») nhưng không bước "
                            "nào ghi vào nó: hồ sơ sẽ dừng lỗi tại bước đọc")
            else:
                self.report(reference, WARNING, f"bộ máy chuyển đối tượng dữ liệu này như biến «{variable}»: bước ghi "
                            "vào phải đặt biến đó và bước đọc phải chạy sau một bước ghi, nếu không hồ sơ dừng lỗi "
                            "tại bước đó")


def expression_problem(text: str, *, timer: bool = False) -> str | None:
    """Why the engine's restricted Python evaluator cannot use `text`, worded for the analyst; None if it can."""
    source = text.strip()
    if not source:
        return "biểu thức rỗng"
    if source.startswith(("${", "#{")):
        return "đây là biểu thức JUEL của Camunda 7; bộ máy tính biểu thức Python"
    if source.startswith("="):
        return "đây là biểu thức FEEL của Camunda 8; bộ máy tính biểu thức Python"
    if timer and _ISO_TIME.match(source):
        return f'chuỗi thời gian ISO 8601 phải đặt trong dấu nháy để là biểu thức Python: "{source}"'
    problems = _evaluator().check(source, "eval")
    if problems:
        return problems[0]
    try:
        names = {node.id for node in ast.walk(ast.parse(source, mode="eval")) if isinstance(node, ast.Name)}
    except SyntaxError as exc:  # the evaluator's check compiles the same source; kept for safety
        return str(exc)
    literals = sorted(names & _JUEL_FEEL_LITERALS)
    if literals:
        return f"{', '.join(literals)} là cách viết của JUEL/FEEL; trong Python là True, False, None"
    return None


@functools.cache
def _evaluator() -> Any:
    from engine.scripting import RestrictedEvaluator

    return RestrictedEvaluator()
