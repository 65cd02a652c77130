"""How the studio speaks of BPMN to the analyst: a Vietnamese label for each element kind, and the
refusals of the safe XML parse worded in Vietnamese with file and line."""

from __future__ import annotations

from typing import Any

from engine.procedures.graph import BPMN_NS, SPIFF_NS
from engine.runtime.specs import MAX_BPMN_BYTES, BpmnSyntaxError, DoctypeRefused, parse_xml

__all__ = ["BPMN_NS", "KIND_LABELS", "SPIFF_NS", "XmlRefused", "describe_element", "local", "namespace", "owner",
           "parse_untrusted"]
KIND_LABELS = {
    "definitions": "Tệp BPMN", "process": "Quy trình", "collaboration": "Cộng tác", "participant": "Bể",
    "lane": "Lane", "subProcess": "Quy trình con", "transaction": "Quy trình con giao dịch",
    "adHocSubProcess": "Quy trình con tùy ý", "callActivity": "Hoạt động gọi quy trình", "task": "Tác vụ",
    "userTask": "Tác vụ người dùng", "manualTask": "Tác vụ thủ công", "serviceTask": "Tác vụ dịch vụ",
    "scriptTask": "Tác vụ kịch bản", "sendTask": "Tác vụ gửi tin", "receiveTask": "Tác vụ nhận tin",
    "businessRuleTask": "Tác vụ quy tắc nghiệp vụ", "startEvent": "Sự kiện bắt đầu", "endEvent": "Sự kiện kết thúc",
    "intermediateThrowEvent": "Sự kiện trung gian phát", "intermediateCatchEvent": "Sự kiện trung gian bắt",
    "boundaryEvent": "Sự kiện biên", "exclusiveGateway": "Cổng loại trừ", "parallelGateway": "Cổng song song",
    "inclusiveGateway": "Cổng bao hàm", "eventBasedGateway": "Cổng theo sự kiện", "complexGateway": "Cổng phức hợp",
    "sequenceFlow": "Luồng tuần tự", "messageFlow": "Luồng tin nhắn", "dataStoreReference": "Kho dữ liệu",
    "dataObjectReference": "Đối tượng dữ liệu", "message": "Tin nhắn", "signal": "Tín hiệu", "error": "Lỗi",
    "escalation": "Leo thang", "multiInstanceLoopCharacteristics": "Vòng lặp nhiều phiên bản",
}


def local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def namespace(tag: Any) -> str:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def describe_element(element: Any) -> str:
    """`Cổng phức hợp «Chọn cách xử lý» (complexGateway)`: how a finding names an element."""
    kind = local(element.tag)
    name = (element.get("name") or "").strip() or element.get("id") or kind
    return f"{KIND_LABELS.get(kind, kind)} «{name}» ({kind})"


def owner(element: Any) -> Any:
    """The nearest enclosing BPMN element with an id (what a finding is located on)."""
    for candidate in (element, *element.iterancestors()):
        if candidate.get("id") and namespace(candidate.tag) == BPMN_NS:
            return candidate
    return element.getroottree().getroot()


class XmlRefused(ValueError):
    """XML the studio will not read; the message is Vietnamese and located (file, line)."""


def parse_untrusted(xml: str | bytes, filename: str) -> Any:
    """The root of `xml` read by the engine's safe parser (no DTD, no entities, bounded size).

    Raises XmlRefused with a located Vietnamese message. A DOCTYPE is refused even where the byte
    check cannot see it (a UTF-16 file): the parser keeps its entity references unexpanded, and
    the stored text would not read back.
    """
    raw = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
    if len(raw) > MAX_BPMN_BYTES:
        raise XmlRefused(f"{filename}: tệp lớn hơn {MAX_BPMN_BYTES // (1024 * 1024)} MiB")
    doctype = f"{filename}: BPMN không được chứa khai báo DOCTYPE/ENTITY"
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise XmlRefused(doctype)
    try:
        root = parse_xml(raw, filename)
    except DoctypeRefused as exc:
        raise XmlRefused(doctype) from exc
    except BpmnSyntaxError as exc:
        cause = exc.__cause__
        line = getattr(cause, "lineno", None)
        detail = getattr(cause, "msg", None) or str(exc)
        raise XmlRefused(f"{filename}{f', dòng {line}' if line else ''}: XML không hợp lệ: {detail}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlRefused(doctype)
    return root
