"""Vendor extensions other modellers write into BPMN, and what ignoring each one does to a procedure.

Camunda 7 (and its ancestors Activiti and Flowable, which share the attribute names) and Camunda 8
(Zeebe) keep a task's implementation, form, assignee and data mappings in their own namespaces.
Our engine reads only BPMN and `spiffworkflow:` extensions, so each of these is dropped when the
model runs here. The catalogue below says how much that matters:

- error: the extension *is* what the step does (a Java class, a job type, a script file, a decision
  table, a multi-instance collection); without it the step cannot do its work here;
- warning: the step still runs but behaves differently (no form, no assignee, no data mapping,
  no listener code);
- info: bookkeeping of the other tool (history time-to-live, version tags, modeller platform).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from engine.procedures.bpmn_names import BPMN_NS, SPIFF_NS, describe_element, local, namespace, owner
from engine.procedures.lint import ERROR, INFO, WARNING, Finding

RULE_EXTENSION = "bo-qua-mo-rong"

CAMUNDA7_NAMESPACES = {
    "http://camunda.org/schema/1.0/bpmn": "Camunda 7",
    "http://activiti.org/bpmn": "Activiti",
    "http://flowable.org/bpmn": "Flowable",
}
ZEEBE_NAMESPACE = "http://camunda.org/schema/zeebe/1.0"
MODELER_NAMESPACE = "http://camunda.org/schema/modeler/1.0"
KNOWN_VENDORS = {
    **CAMUNDA7_NAMESPACES,
    ZEEBE_NAMESPACE: "Camunda 8 (Zeebe)",
    MODELER_NAMESPACE: "Camunda Modeler",
    "http://www.signavio.com": "Signavio",
    "http://www.bizagi.com/bpmn20": "Bizagi",
    "http://www.trisotech.com/2015/triso/modeling": "Trisotech",
}
#: Namespaces we read ourselves, or that only colour the diagram: never reported.
READ_NAMESPACES = frozenset({
    "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "http://www.w3.org/2001/XMLSchema-instance",
    "http://www.w3.org/XML/1998/namespace",
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI",
    "http://bpmn.io/schema/bpmn/biocolor/1.0",
    "http://www.omg.org/spec/BPMN/non-normative/color/1.0",
})


@dataclass(frozen=True)
class Extension:
    severity: str
    meaning: str  # what it does in the other tool (Vietnamese)
    advice: str  # what to do here instead (Vietnamese)


_IMPLEMENTATION = Extension(ERROR, "phần cài đặt của bước (mã chạy, loại công việc)",
                            "bước này không làm gì ở đây; hãy chọn một thao tác kết nối (serviceTaskOperator) "
                            "hoặc viết kịch bản Python")
_FORM = Extension(WARNING, "biểu mẫu của công cụ khác",
                  "tác vụ sẽ không có biểu mẫu; hãy gắn biểu mẫu JSON Schema (formJsonSchemaFilename)")
_ASSIGNMENT = Extension(WARNING, "người hoặc nhóm được giao việc",
                        "việc được giao theo vai trò của lane; hãy gán vai trò cho lane")
_SCHEDULE = Extension(WARNING, "hạn xử lý hoặc độ ưu tiên của tác vụ",
                      "dùng ngân sách thời gian của bước (stepBudget) và sự kiện hẹn giờ")
_MAPPING = Extension(WARNING, "ánh xạ biến vào/ra",
                     "dữ liệu không được ánh xạ; dùng kịch bản trước/sau (preScript/postScript)")
_LISTENER = Extension(WARNING, "bộ lắng nghe sự kiện (mã chạy kèm)", "mã này sẽ không chạy")
_PROPERTIES = Extension(WARNING, "thuộc tính tùy biến",
                        "bộ máy chỉ đọc thuộc tính spiffworkflow:properties")
_JOB = Extension(WARNING, "điểm lưu giao dịch, thử lại hoặc độ ưu tiên công việc nền",
                 "bộ máy tự lưu ở mỗi điểm chờ và thử lại kết nối qua hàng đợi outbox")
_CALL_MAPPING = Extension(WARNING, "truyền biến hoặc chọn phiên bản cho quy trình được gọi",
                          "quy trình con nhận toàn bộ dữ liệu của hồ sơ")
_ERROR_VARIABLE = Extension(WARNING, "biến nhận mã/nội dung lỗi",
                            "bộ máy không ghi các biến này")
_BOOKKEEPING = Extension(INFO, "thông tin quản trị của công cụ khác", "không ảnh hưởng đến việc chạy")
_MULTI_INSTANCE = Extension(ERROR, "danh sách lặp của tác vụ nhiều phiên bản",
                            "hãy khai báo loopCardinality hoặc loopDataInputRef chuẩn BPMN")
_DECISION = Extension(ERROR, "bảng quyết định (DMN) được gọi", "gói thủ tục không chứa bảng quyết định DMN")
_SCRIPT = Extension(ERROR, "nội dung kịch bản đặt ngoài BPMN", "hãy viết kịch bản Python ngay trong tác vụ")
_CALLED_ELEMENT = Extension(ERROR, "quy trình được gọi", "hãy đặt thuộc tính calledElement chuẩn BPMN")

#: Camunda 7 / Activiti / Flowable local names (attributes and extension elements alike).
CAMUNDA7: dict[str, Extension] = {
    **dict.fromkeys(("class", "delegateExpression", "expression", "type", "topic", "connector"), _IMPLEMENTATION),
    "field": Extension(WARNING, "tham số truyền cho lớp Java của bước", "bộ máy bỏ qua"),
    **dict.fromkeys(("formKey", "formRef", "formRefBinding", "formRefVersion", "formData", "formHandlerClass",
                     "formProperty"), _FORM),
    **dict.fromkeys(("assignee", "candidateUsers", "candidateGroups", "initiator"), _ASSIGNMENT),
    **dict.fromkeys(("dueDate", "followUpDate", "priority"), _SCHEDULE),
    **dict.fromkeys(("inputOutput", "resultVariable"), _MAPPING),
    **dict.fromkeys(("executionListener", "taskListener"), _LISTENER),
    "properties": _PROPERTIES,
    **dict.fromkeys(("asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority", "taskPriority",
                     "failedJobRetryTimeCycle"), _JOB),
    **dict.fromkeys(("in", "out", "calledElementBinding", "calledElementVersion", "calledElementVersionTag",
                     "calledElementTenantId", "variableMappingClass", "variableMappingDelegateExpression"),
                    _CALL_MAPPING),
    **dict.fromkeys(("errorCodeVariable", "errorMessageVariable", "escalationCodeVariable", "errorEventDefinition"),
                    _ERROR_VARIABLE),
    **dict.fromkeys(("variableName", "variableEvents"),
                    Extension(WARNING, "biến kích hoạt sự kiện điều kiện",
                              "điều kiện được tính lại mỗi khi hồ sơ chạy tiếp, không theo biến")),
    **dict.fromkeys(("collection", "elementVariable"), _MULTI_INSTANCE),
    **dict.fromkeys(("decisionRef", "decisionRefBinding", "decisionRefVersion", "mapDecisionResult"), _DECISION),
    "resource": _SCRIPT,
    **dict.fromkeys(("historyTimeToLive", "versionTag", "isStartableInTasklist", "candidateStarterGroups",
                     "candidateStarterUsers", "jobPriorityProcess"), _BOOKKEEPING),
}

#: Camunda 8 (Zeebe) local names.
ZEEBE: dict[str, Extension] = {
    "taskDefinition": _IMPLEMENTATION,
    "taskHeaders": Extension(WARNING, "tham số gửi kèm cho bộ xử lý công việc", "bộ máy bỏ qua"),
    **dict.fromkeys(("formDefinition", "userTaskForm", "linkedResources"), _FORM),
    "assignmentDefinition": _ASSIGNMENT,
    **dict.fromkeys(("taskSchedule", "priorityDefinition"), _SCHEDULE),
    "ioMapping": _MAPPING,
    **dict.fromkeys(("executionListeners", "taskListeners"), _LISTENER),
    "properties": _PROPERTIES,
    "subscription": Extension(WARNING, "khóa tương quan của tin nhắn",
                              "bộ máy không nhận tin nhắn từ bên ngoài"),
    "loopCharacteristics": _MULTI_INSTANCE,
    "calledDecision": _DECISION,
    "script": _SCRIPT,
    "calledElement": _CALLED_ELEMENT,
    **dict.fromkeys(("versionTag", "userTask", "adHoc"), _BOOKKEEPING),
}

_UNKNOWN = Extension(WARNING, "mở rộng riêng của công cụ khác", "bộ máy bỏ qua phần này")


def describe(namespace: str, local_name: str) -> tuple[str, Extension] | None:
    """(vendor label, what ignoring it means) for a foreign-namespace name; None for what we read."""
    if namespace in READ_NAMESPACES:
        return None
    if namespace in CAMUNDA7_NAMESPACES:
        return CAMUNDA7_NAMESPACES[namespace], CAMUNDA7.get(local_name, _UNKNOWN)
    if namespace == ZEEBE_NAMESPACE:
        return KNOWN_VENDORS[namespace], ZEEBE.get(local_name, _UNKNOWN)
    if namespace == MODELER_NAMESPACE:
        return KNOWN_VENDORS[namespace], _BOOKKEEPING
    return KNOWN_VENDORS.get(namespace, namespace), _UNKNOWN


def extension_findings(root: Any, filename: str) -> list[Finding]:
    """One finding per foreign attribute of a BPMN element and per foreign child of its extensionElements."""
    findings = []
    for element in _semantic_elements(root):
        for attribute, value in element.attrib.items():
            if namespace(attribute):
                findings += _finding(element, owner(element), attribute, value, filename)
        if local(element.tag) == "extensionElements":
            for child in element.iterchildren(etree.Element):
                findings += _finding(child, owner(element), child.tag, None, filename)
    return findings


def _finding(where: Any, located_on: Any, name: str, value: str | None, filename: str) -> list[Finding]:
    described = describe(namespace(name), local(name))
    if described is None:
        return []
    vendor, extension = described
    severity = extension.severity
    if severity == ERROR and located_on.find(f".//{{{SPIFF_NS}}}serviceTaskOperator") is not None:
        severity = WARNING  # the step also names one of our operations: that is what runs
    prefix = where.prefix if value is None else _prefix(where, namespace(name))
    shown = f"{prefix}:{local(name)}" if prefix else local(name)
    if value is not None:
        shown += f'="{value[:60]}"'
    message = (f"{describe_element(located_on)}: {shown} của {vendor} ({extension.meaning}) bị bỏ qua — "
               f"{extension.advice}")
    return [Finding(RULE_EXTENSION, severity, message, located_on.get("id"), filename, where.sourceline)]


def _semantic_elements(root: Any) -> Iterator[Any]:
    """Every BPMN element: the diagram interchange (shapes, edges, their colours) carries no behaviour."""
    for element in root.iter(etree.Element):
        if namespace(element.tag) == BPMN_NS:
            yield element


def _prefix(element: Any, uri: str) -> str | None:
    return next((prefix for prefix, known in (element.nsmap or {}).items() if known == uri), None)
