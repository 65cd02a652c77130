"""What travels on the national document axis, as plain Python values (no XML here).

The edXML package (QCVN 102:2016/BTTTT) and the status message are modelled as dataclasses
so the connector, the simulator and the engine (through JSON) share one vocabulary. The JSON
form (:func:`envelope_to_dict` / :func:`envelope_from_dict`) is what BPMN service tasks send
and receive: dates there are ISO ``YYYY-MM-DD``, the XML formats stay inside :mod:`.edxml`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "BUSINESS_DOC_TYPES",
    "NS",
    "ORGAN_ID_RE",
    "PRIORITIES",
    "STATUS_CODES",
    "VN_TZ",
    "Attachment",
    "EdocEnvelope",
    "Limits",
    "Organ",
    "PackageInvalid",
    "ResponseFor",
    "Signer",
    "Staff",
    "StatusMessage",
    "envelope_from_dict",
    "envelope_to_dict",
    "make_document_id",
    "response_for_from_dict",
    "status_to_dict",
]

#: The edXML namespace; envelope elements must carry it with the ``edXML:`` prefix.
NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
#: Mã định danh cơ quan (QCVN 102 / QĐ 20/2020): ``000.00.01.H99``.
ORGAN_ID_RE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
#: Vietnam has no daylight saving: a fixed offset needs no tz database on the server.
VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

#: StatusCode of a status package -> its Vietnamese meaning.
STATUS_CODES: dict[str, str] = {
    "01": "Đã đến",
    "02": "Từ chối tiếp nhận",
    "03": "Đã tiếp nhận",
    "04": "Phân công",
    "05": "Đang xử lý",
    "06": "Hoàn thành",
    "13": "Lấy lại/thu hồi",
    "15": "Đồng ý thu hồi",
    "16": "Từ chối thu hồi",
}
#: BussinessDocType: 0 new (✔✔); 1 revoke, 2 update, 3 replace (inferred).
BUSINESS_DOC_TYPES: dict[int, str] = {0: "Văn bản mới", 1: "Thu hồi", 2: "Cập nhật", 3: "Thay thế"}
#: OtherInfo/Priority (độ khẩn).
PRIORITIES: dict[int, str] = {0: "Thường", 1: "Khẩn", 2: "Thượng khẩn", 3: "Hỏa tốc", 4: "Hỏa tốc hẹn giờ"}


class PackageInvalid(ValueError):
    """A package (or the data to build one) breaks the rules; ``problems`` says where and why.

    Every problem is a Vietnamese sentence starting with its location (an element path
    such as ``/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId`` or a JSON
    field such as ``receivers[0].organ_id``), so the person inspecting a rejected package
    knows where to look without opening a debugger.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems) or ["Gói tin không hợp lệ"]
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Limits:
    """Size limits for incoming packages; checked before anything is decoded."""

    max_package_bytes: int = 50 * 1024 * 1024
    max_attachment_bytes: int = 20 * 1024 * 1024
    max_attachments: int = 50


@dataclass(frozen=True)
class Organ:
    """An agency (cơ quan) as the envelope names it; ``organ_id`` is its mã định danh."""

    organ_id: str
    name: str
    organization_in_charge: str = ""
    address: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass(frozen=True)
class Signer:
    """SignerInfo: thẩm quyền (e.g. "TM. UBND"), chức vụ and họ tên of the signatory."""

    competence: str = ""
    position: str = ""
    full_name: str = ""


@dataclass(frozen=True)
class Staff:
    """StaffInfo of a status message: who at the agency acted on the document."""

    department: str = ""
    staff: str = ""
    mobile: str = ""
    email: str = ""


@dataclass(frozen=True)
class ResponseFor:
    """The document a reply or status refers to; ``organ_id`` is that document's sender."""

    organ_id: str
    code: str
    promulgation_date: date
    document_id: str


@dataclass(frozen=True)
class Attachment:
    """One attached file (usually a signed PDF), carried base64-encoded in the package."""

    content_id: str
    name: str
    content_type: str
    data: bytes
    description: str = ""


def make_document_id(organ_id: str, promulgation_date: date, code_number: str, code_notation: str) -> str:
    """``{senderOrganId},{yyyy/MM/dd},{number}/{notation}``: the document's identity on the axis."""
    return f"{organ_id},{promulgation_date:%Y/%m/%d},{code_number}/{code_notation}"


@dataclass
class EdocEnvelope:
    """MessageHeader + TraceHeaderList of an edXML package (everything but the files).

    ``document_id`` is derived from sender, date and code when left empty, so a builder
    cannot forget it and a parsed envelope keeps the value the sender actually wrote.
    """

    sender: Organ
    receivers: list[Organ]
    code_number: str
    code_notation: str
    promulgation_place: str
    promulgation_date: date
    subject: str
    document_type: str = "1"
    document_type_name: str = "Công văn"
    content: str = ""
    signer: Signer = field(default_factory=Signer)
    due_date: date | None = None
    priority: int = 0
    to_places: list[str] = field(default_factory=list)
    steering_type: str = ""
    response_for: ResponseFor | None = None
    business_doc_type: int = 0
    business_doc_reason: str = ""
    timestamp: datetime | None = None
    document_id: str = ""

    def __post_init__(self) -> None:
        if not self.document_id:
            self.document_id = make_document_id(
                self.sender.organ_id, self.promulgation_date, self.code_number, self.code_notation
            )

    @property
    def code(self) -> str:
        """Số/ký hiệu as written on the document: ``15/UBND-VP``."""
        return f"{self.code_number}/{self.code_notation}"


@dataclass(frozen=True)
class StatusMessage:
    """A status package: ``sender`` tells the axis what became of ``response_for``."""

    response_for: ResponseFor
    sender: Organ
    status_code: str
    description: str
    timestamp: datetime
    staff: Staff = field(default_factory=Staff)


# -- JSON form (what BPMN service tasks exchange with the connector) ------------------------

_ORGAN_KEYS = {f.name for f in fields(Organ)}
_ENVELOPE_KEYS = {f.name for f in fields(EdocEnvelope)} - {"timestamp"}


def envelope_to_dict(envelope: EdocEnvelope) -> dict[str, Any]:
    """The envelope as JSON-able data (ISO dates), the shape :func:`envelope_from_dict` reads."""
    rf = envelope.response_for
    return {
        "sender": _plain(envelope.sender),
        "receivers": [_plain(r) for r in envelope.receivers],
        "code_number": envelope.code_number,
        "code_notation": envelope.code_notation,
        "promulgation_place": envelope.promulgation_place,
        "promulgation_date": envelope.promulgation_date.isoformat(),
        "subject": envelope.subject,
        "document_type": envelope.document_type,
        "document_type_name": envelope.document_type_name,
        "content": envelope.content,
        "signer": _plain(envelope.signer),
        "due_date": envelope.due_date.isoformat() if envelope.due_date else None,
        "priority": envelope.priority,
        "to_places": list(envelope.to_places),
        "steering_type": envelope.steering_type,
        "response_for": None
        if rf is None
        else {**_plain(rf), "promulgation_date": rf.promulgation_date.isoformat()},
        "business_doc_type": envelope.business_doc_type,
        "business_doc_reason": envelope.business_doc_reason,
        "timestamp": envelope.timestamp.isoformat() if envelope.timestamp else None,
        "document_id": envelope.document_id,
    }


def envelope_from_dict(data: Mapping[str, Any], *, default_sender: Organ | None = None) -> EdocEnvelope:
    """Read the JSON form; every problem is collected and raised as one :class:`PackageInvalid`."""
    problems: list[str] = []
    if not isinstance(data, Mapping):
        raise PackageInvalid(["envelope: phải là một đối tượng JSON"])
    unknown = sorted(set(data) - _ENVELOPE_KEYS - {"timestamp"})
    if unknown:
        problems.append(f"envelope: trường không được hỗ trợ: {', '.join(unknown)}")
    sender = _organ(data["sender"], "sender", problems) if data.get("sender") else default_sender
    if sender is None:
        problems.append("sender: thiếu cơ quan gửi")
    receivers_raw = data.get("receivers")
    if not isinstance(receivers_raw, list) or not receivers_raw:
        problems.append("receivers: cần ít nhất một cơ quan nhận")
        receivers_raw = []
    receivers = [_organ(r, f"receivers[{i}]", problems) for i, r in enumerate(receivers_raw)]
    text: dict[str, Any] = {k: _str(data, k, problems, required=k in _REQUIRED_TEXT) for k in _TEXT_KEYS}
    promulgation_date = _date(data.get("promulgation_date"), "promulgation_date", problems, required=True)
    due_date = _date(data.get("due_date"), "due_date", problems, required=False)
    priority = _int(data.get("priority", 0), "priority", PRIORITIES, problems)
    business = _int(data.get("business_doc_type", 0), "business_doc_type", BUSINESS_DOC_TYPES, problems)
    signer_raw = data.get("signer") or {}
    if not isinstance(signer_raw, Mapping) or set(signer_raw) - {"competence", "position", "full_name"}:
        problems.append("signer: chỉ gồm competence, position, full_name")
        signer_raw = {}
    to_places = data.get("to_places") or []
    if not isinstance(to_places, list) or not all(isinstance(p, str) for p in to_places):
        problems.append("to_places: phải là danh sách chuỗi")
        to_places = []
    response_for = _response_for(data.get("response_for"), problems)
    if problems:
        raise PackageInvalid(problems)
    assert sender is not None and promulgation_date is not None
    return EdocEnvelope(
        sender=sender,
        receivers=[r for r in receivers if r is not None],
        promulgation_date=promulgation_date,
        due_date=due_date,
        priority=priority,
        business_doc_type=business,
        signer=Signer(**{k: str(v) for k, v in signer_raw.items()}),
        to_places=list(to_places),
        response_for=response_for,
        **text,
    )


_REQUIRED_TEXT = {"code_number", "code_notation", "promulgation_place", "subject"}
_TEXT_KEYS = (
    "code_number code_notation promulgation_place subject document_type document_type_name content "
    "steering_type business_doc_reason document_id"
).split()
_TEXT_DEFAULTS = {"document_type": "1", "document_type_name": "Công văn"}


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _str(data: Mapping[str, Any], key: str, problems: list[str], *, required: bool) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            problems.append(f"{key}: thiếu giá trị bắt buộc")
        return _TEXT_DEFAULTS.get(key, "")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        problems.append(f"{key}: phải là chuỗi ký tự")
        return ""
    return value


def _organ(raw: Any, where: str, problems: list[str]) -> Organ | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: phải là một đối tượng cơ quan")
        return None
    unknown = sorted(set(raw) - _ORGAN_KEYS)
    if unknown:
        problems.append(f"{where}: trường không được hỗ trợ: {', '.join(unknown)}")
    organ_id, name = raw.get("organ_id"), raw.get("name")
    if not isinstance(organ_id, str) or not ORGAN_ID_RE.fullmatch(organ_id):
        problems.append(f"{where}.organ_id: mã định danh {organ_id!r} không đúng dạng 000.00.00.A00")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}.name: thiếu tên cơ quan")
    values = {k: v for k, v in raw.items() if k in _ORGAN_KEYS}
    if not all(isinstance(v, str) for v in values.values()):
        problems.append(f"{where}: các trường phải là chuỗi ký tự")
        return None
    return Organ(**values) if isinstance(organ_id, str) and isinstance(name, str) else None


def _date(value: Any, where: str, problems: list[str], *, required: bool) -> date | None:
    if value in (None, ""):
        if required:
            problems.append(f"{where}: thiếu ngày bắt buộc")
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
            try:
                return datetime.strptime(value, fmt).date()
            except ValueError:
                pass
    problems.append(f"{where}: ngày {value!r} không hợp lệ (định dạng YYYY-MM-DD)")
    return None


def _int(value: Any, where: str, allowed: Mapping[int, str], problems: list[str]) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value not in allowed:
        problems.append(f"{where}: giá trị {value!r} không hợp lệ (cho phép: {', '.join(map(str, allowed))})")
        return 0
    return value


def _response_for(raw: Any, problems: list[str]) -> ResponseFor | None:
    if raw in (None, {}):
        return None
    keys = {"organ_id", "code", "promulgation_date", "document_id"}
    if not isinstance(raw, Mapping) or set(raw) != keys:
        problems.append(f"response_for: phải gồm đúng các trường {', '.join(sorted(keys))}")
        return None
    when = _date(raw.get("promulgation_date"), "response_for.promulgation_date", problems, required=True)
    organ_id = raw.get("organ_id")
    if not isinstance(organ_id, str) or not ORGAN_ID_RE.fullmatch(organ_id):
        problems.append(f"response_for.organ_id: mã định danh {organ_id!r} không đúng dạng 000.00.00.A00")
    if not all(isinstance(raw[k], str) and raw[k] for k in ("code", "document_id")):
        problems.append("response_for: code và document_id phải là chuỗi khác rỗng")
    if when is None or not isinstance(organ_id, str):
        return None
    return ResponseFor(str(organ_id), str(raw["code"]), when, str(raw["document_id"]))


def status_to_dict(message: StatusMessage) -> dict[str, Any]:
    """A status message as JSON-able data (ISO dates, the Vietnamese name of the code)."""
    rf = message.response_for
    return {
        "response_for": {**_plain(rf), "promulgation_date": rf.promulgation_date.isoformat()},
        "sender": _plain(message.sender),
        "status_code": message.status_code,
        "status_name": STATUS_CODES.get(message.status_code, ""),
        "description": message.description,
        "timestamp": message.timestamp.isoformat(),
        "staff": _plain(message.staff),
    }


def response_for_from_dict(raw: Any) -> ResponseFor:
    """Read ``{organ_id, code, promulgation_date, document_id}``; :class:`PackageInvalid` if wrong."""
    problems: list[str] = []
    result = _response_for(raw, problems) if raw else None
    if result is None and not problems:
        problems.append("response_for: thiếu văn bản được phản hồi")
    if problems:
        raise PackageInvalid(problems)
    assert result is not None
    return result
