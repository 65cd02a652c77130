"""edXML packages (QCVN 102:2016/BTTTT): build what we send, strictly check what we receive.

A document package (gói tin văn bản) is ``edXML > edXMLEnvelope > edXMLHeader{MessageHeader,
TraceHeaderList} + edXMLBody{edXMLManifest}`` followed by ``AttachmentEncoded`` with the
files in base64; a status package (gói tin trạng thái) carries a ``Status`` in the header.
Dates are ``yyyy/MM/dd`` and timestamps ``yyyy/MM/dd HH:mm:ss``, Vietnam local time.

Why strict: an incoming package becomes an administrative record in another agency's
workflow. A package we half-understand is worse than one we refuse, so :func:`parse_package`
refuses anything off-standard with every problem located (:class:`PackageInvalid`), and
:func:`build_package` re-reads what it built so we never send what we would refuse.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime

from lxml import etree

from ._xml import (
    OPTIONAL_ORGAN,
    ORGAN_FIELDS,
    Builder,
    Reader,
    check_prefixes,
    fmt_date,
    fmt_timestamp,
    local,
    new_root,
    parse_xml,
    q,
    serialize,
)
from .model import (
    BUSINESS_DOC_TYPES,
    NS,
    PRIORITIES,
    STATUS_CODES,
    Attachment,
    EdocEnvelope,
    Limits,
    Organ,
    PackageInvalid,
    ResponseFor,
    Signer,
    Staff,
    StatusMessage,
)

__all__ = ["build_package", "build_status", "parse_package", "parse_status"]

_ROOT = "/edXML"
_ENV = f"{_ROOT}/edXMLEnvelope"
_HEADER = f"{_ENV}/edXMLHeader"
_MH = f"{_HEADER}/MessageHeader"

# -- building -----------------------------------------------------------------------------


def build_package(
    envelope: EdocEnvelope, attachments: Sequence[Attachment], *, limits: Limits | None = None
) -> bytes:
    """The edXML bytes of a document package; :class:`PackageInvalid` if it would not pass parsing."""
    b = Builder()
    root, env_el, header = new_root()
    mh = b.el(header, "MessageHeader")
    b.organ(mh, "From", envelope.sender, "sender")
    for i, receiver in enumerate(envelope.receivers):
        b.organ(mh, "To", receiver, f"receivers[{i}]")
    code = b.el(mh, "Code")
    b.el(code, "CodeNumber", envelope.code_number, "code_number")
    b.el(code, "CodeNotation", envelope.code_notation, "code_notation")
    info = b.el(mh, "PromulgationInfo")
    b.el(info, "Place", envelope.promulgation_place, "promulgation_place")
    b.el(info, "PromulgationDate", fmt_date(envelope.promulgation_date))
    doc_type = b.el(mh, "DocumentType")
    b.el(doc_type, "Type", envelope.document_type, "document_type")
    b.el(doc_type, "TypeName", envelope.document_type_name, "document_type_name")
    b.el(mh, "Subject", envelope.subject, "subject")
    b.el(mh, "Content", envelope.content, "content")
    signer = b.el(mh, "SignerInfo")
    b.el(signer, "Competence", envelope.signer.competence, "signer.competence")
    b.el(signer, "Position", envelope.signer.position, "signer.position")
    b.el(signer, "FullName", envelope.signer.full_name, "signer.full_name")
    if envelope.due_date:
        b.el(mh, "DueDate", fmt_date(envelope.due_date))
    if envelope.to_places:
        places = b.el(mh, "ToPlaces")
        for i, place in enumerate(envelope.to_places):
            b.el(places, "Place", place, f"to_places[{i}]")
    b.el(b.el(mh, "OtherInfo"), "Priority", str(envelope.priority))
    if envelope.steering_type:
        b.el(mh, "SteeringType", envelope.steering_type, "steering_type")
    b.el(mh, "DocumentId", envelope.document_id, "document_id")
    if envelope.response_for:
        b.response_for(mh, envelope.response_for)
    traces = b.el(header, "TraceHeaderList")
    trace = b.el(traces, "TraceHeader")
    b.el(trace, "OrganId", envelope.sender.organ_id)
    b.el(trace, "Timestamp", fmt_timestamp(envelope.timestamp))
    business = b.el(traces, "Bussiness")
    b.el(business, "BussinessDocType", str(envelope.business_doc_type))
    reason = envelope.business_doc_reason or BUSINESS_DOC_TYPES.get(envelope.business_doc_type, "")
    b.el(business, "BussinessDocReason", reason, "business_doc_reason")
    b.el(business, "Paper", "0")
    manifest = b.el(b.el(env_el, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    encoded = b.el(root, "AttachmentEncoded")
    for i, att in enumerate(attachments):
        where = f"attachments[{i}]"
        if not att.content_id or any(c.isspace() for c in att.content_id):
            b.problems.append(f"{where}.content_id: phải khác rỗng và không chứa khoảng trắng")
        if not isinstance(att.data, bytes | bytearray):
            b.problems.append(f"{where}.data: phải là dữ liệu nhị phân (bytes)")
            continue
        ref = b.el(manifest, "Reference")
        b.el(ref, "ContentId", f"cid:{att.content_id}", f"{where}.content_id")
        b.el(ref, "ContentType", att.content_type, f"{where}.content_type")
        b.el(ref, "Description", att.description or att.name, f"{where}.description")
        b.el(ref, "AttachmentName", att.name, f"{where}.name")
        node = b.el(encoded, "Attachment")
        b.el(node, "ContentId", f"cid:{att.content_id}", f"{where}.content_id")
        b.el(node, "AttachmentName", att.name, f"{where}.name")
        b.el(node, "Description", att.description or att.name, f"{where}.description")
        b.el(node, "ContentType", att.content_type, f"{where}.content_type")
        b.el(node, "ContentTransferEncoded", base64.b64encode(bytes(att.data)).decode("ascii"))
    if b.problems:
        raise PackageInvalid(b.problems)
    data = serialize(root)
    parse_package(data, limits=limits)  # never send what we would refuse to receive
    return data


def build_status(
    response_for: ResponseFor,
    from_organ: Organ,
    status_code: str,
    description: str,
    staff: Staff | None = None,
    *,
    timestamp: datetime | None = None,
) -> bytes:
    """The edXML bytes of a status package (đã đến, đã tiếp nhận, hoàn thành, thu hồi...)."""
    b = Builder()
    root, _env, header = new_root()
    status = b.el(header, "Status")
    b.response_for(status, response_for)
    b.organ(status, "From", from_organ, "from_organ")
    b.el(status, "StatusCode", status_code, "status_code")
    b.el(status, "Description", description, "description")
    b.el(status, "Timestamp", fmt_timestamp(timestamp))
    staff = staff or Staff()
    info = b.el(status, "StaffInfo")
    for attr, name in (
        ("department", "Department"),
        ("staff", "Staff"),
        ("mobile", "Mobile"),
        ("email", "Email"),
    ):
        b.el(info, name, getattr(staff, attr), f"staff.{attr}")
    if b.problems:
        raise PackageInvalid(b.problems)
    data = serialize(root)
    parse_status(data)
    return data


# -- parsing ------------------------------------------------------------------------------


def _envelope_root(data: bytes, limits: Limits) -> tuple[etree._Element, etree._Element, Reader]:
    """Common intake: safe parse, root and envelope names, prefixes; stops early if hopeless."""
    root = parse_xml(data, limits)
    if etree.QName(root).namespace != NS or local(root.tag) != "edXML":
        raise PackageInvalid(
            [f"/: phần tử gốc phải là edXML thuộc không gian tên {NS} (gặp {etree.QName(root).text})"]
        )
    reader = Reader()
    envelope, where = reader.one(root, "edXMLEnvelope", _ROOT)
    if envelope is None:
        reader.raise_if_any()
    assert envelope is not None
    check_prefixes(envelope, where, reader.problems)
    return root, envelope, reader


def _organ(reader: Reader, element: etree._Element | None, path: str) -> Organ:
    values = {"organ_id": reader.organ_id(element, path), "name": reader.text(element, "OrganName", path)}
    for attr, name in ORGAN_FIELDS:
        if attr in OPTIONAL_ORGAN:
            values[attr] = reader.text(element, name, path, required=False)
    return Organ(**values)


def _response_for(reader: Reader, element: etree._Element | None, path: str) -> ResponseFor | None:
    organ_id = reader.organ_id(element, path)
    code = reader.text(element, "Code", path)
    when = reader.date(element, "PromulgationDate", path)
    document_id = reader.document_id(element, path)
    if element is None or when is None:
        return None
    return ResponseFor(organ_id, code, when, document_id)


def parse_package(data: bytes, *, limits: Limits | None = None) -> tuple[EdocEnvelope, list[Attachment]]:
    """Read a document package; :class:`PackageInvalid` listing every located problem."""
    limits = limits or Limits()
    root, envelope, r = _envelope_root(data, limits)
    header, header_path = r.one(envelope, "edXMLHeader", _ENV)
    mh, _ = r.one(header, "MessageHeader", _HEADER)
    from_el, from_path = r.one(mh, "From", _MH)
    sender = _organ(r, from_el, from_path)
    to_list = r.many(mh, "To", _MH)
    if mh is not None and not to_list:
        r.problem(f"{_MH}/To", "cần ít nhất một cơ quan nhận")
    receivers = [_organ(r, el, where) for el, where in to_list]
    code, code_path = r.one(mh, "Code", _MH)
    info, info_path = r.one(mh, "PromulgationInfo", _MH)
    doc_type, type_path = r.one(mh, "DocumentType", _MH)
    signer_el, signer_path = r.one(mh, "SignerInfo", _MH)
    other, other_path = r.one(mh, "OtherInfo", _MH, required=False)
    places, places_path = r.one(mh, "ToPlaces", _MH, required=False)
    rf_el, rf_path = r.one(mh, "ResponseFor", _MH, required=False)
    traces, traces_path = r.one(header, "TraceHeaderList", header_path)
    trace_list = r.many(traces, "TraceHeader", traces_path)
    if traces is not None and not trace_list:
        r.problem(f"{traces_path}/TraceHeader", "thiếu phần tử bắt buộc")
    stamps = []
    for el, where in trace_list:
        r.organ_id(el, where)
        stamps.append(r.timestamp(el, "Timestamp", where))
    business, business_path = r.one(traces, "Bussiness", traces_path)
    values = dict(
        code_number=r.text(code, "CodeNumber", code_path),
        code_notation=r.text(code, "CodeNotation", code_path),
        promulgation_place=r.text(info, "Place", info_path),
        promulgation_date=r.date(info, "PromulgationDate", info_path),
        document_type=r.text(doc_type, "Type", type_path),
        document_type_name=r.text(doc_type, "TypeName", type_path, required=False),
        subject=r.text(mh, "Subject", _MH),
        content=r.text(mh, "Content", _MH, required=False),
        signer=Signer(
            competence=r.text(signer_el, "Competence", signer_path, required=False),
            position=r.text(signer_el, "Position", signer_path, required=False),
            full_name=r.text(signer_el, "FullName", signer_path),
        ),
        due_date=r.date(mh, "DueDate", _MH, required=False),
        priority=r.integer(other, "Priority", other_path, PRIORITIES, 0),
        to_places=[(el.text or "").strip() for el, _ in r.many(places, "Place", places_path)],
        steering_type=r.text(mh, "SteeringType", _MH, required=False),
        document_id=r.document_id(mh, _MH),
        response_for=_response_for(r, rf_el, rf_path) if rf_el is not None else None,
        business_doc_type=_business_type(r, business, business_path),
        business_doc_reason=r.text(business, "BussinessDocReason", business_path, required=False),
        timestamp=stamps[0] if stamps else None,
    )
    attachments = _attachments(r, root, envelope, limits)
    r.raise_if_any()
    return EdocEnvelope(sender=sender, receivers=receivers, **values), attachments  # type: ignore[arg-type]


def _business_type(r: Reader, business: etree._Element | None, path: str) -> int:
    if business is not None and business.find(q("BussinessDocType")) is None:
        r.problem(f"{path}/BussinessDocType", "thiếu phần tử bắt buộc")
    return r.integer(business, "BussinessDocType", path, BUSINESS_DOC_TYPES, 0)


def _cid(value: str) -> str:
    return value[4:] if value.lower().startswith("cid:") else value


def _attachments(
    r: Reader, root: etree._Element, envelope: etree._Element, limits: Limits
) -> list[Attachment]:
    """Match manifest References with Attachments one-to-one by ContentId, then decode."""
    body, body_path = r.one(envelope, "edXMLBody", _ENV)
    manifest, manifest_path = r.one(body, "edXMLManifest", body_path)
    refs: dict[str, tuple[etree._Element, str]] = {}
    for el, where in r.many(manifest, "Reference", manifest_path):
        cid = _cid(r.text(el, "ContentId", where))
        if cid and cid in refs:
            r.problem(where, f"ContentId '{cid}' bị trùng trong edXMLManifest")
        elif cid:
            refs[cid] = (el, where)
    encoded, encoded_path = r.one(root, "AttachmentEncoded", _ROOT, required=bool(refs))
    by_cid: dict[str, list[tuple[etree._Element, str]]] = {}
    found = r.many(encoded, "Attachment", encoded_path)
    if len(found) > limits.max_attachments:
        r.problem(encoded_path, f"có {len(found)} tệp đính kèm, vượt quá giới hạn {limits.max_attachments}")
        return []
    for el, where in found:
        cid = _cid(r.text(el, "ContentId", where))
        by_cid.setdefault(cid, []).append((el, where))
        if cid and cid not in refs:
            r.problem(
                where, f"tệp đính kèm ContentId '{cid}' không có Reference tương ứng trong edXMLManifest"
            )
    result: list[Attachment] = []
    for cid, (ref, ref_path) in refs.items():
        matches = by_cid.get(cid, [])
        if len(matches) != 1:
            what = "không có tệp đính kèm nào" if not matches else f"có {len(matches)} tệp đính kèm"
            r.problem(ref_path, f"{what} với ContentId '{cid}' (cần đúng một)")
            continue
        el, where = matches[0]
        name = r.text(el, "AttachmentName", where, required=False) or r.text(ref, "AttachmentName", ref_path)
        ctype = r.text(el, "ContentType", where, required=False) or r.text(ref, "ContentType", ref_path)
        description = r.text(el, "Description", where, required=False)
        payload, payload_path = r.one(el, "ContentTransferEncoded", where)
        data = r.base64(payload, payload_path, limits.max_attachment_bytes) if payload is not None else None
        if data is not None:
            result.append(Attachment(cid, name, ctype, data, description))
    return result


def parse_status(data: bytes, *, limits: Limits | None = None) -> StatusMessage:
    """Read a status package; :class:`PackageInvalid` listing every located problem."""
    _root_el, envelope, r = _envelope_root(data, limits or Limits())
    header, header_path = r.one(envelope, "edXMLHeader", _ENV)
    status, path = r.one(header, "Status", header_path)
    rf_el, rf_path = r.one(status, "ResponseFor", path)
    response_for = _response_for(r, rf_el, rf_path)
    from_el, from_path = r.one(status, "From", path)
    sender = _organ(r, from_el, from_path)
    code = r.text(status, "StatusCode", path)
    if code and code not in STATUS_CODES:
        r.problem(
            f"{path}/StatusCode", f"mã trạng thái '{code}' không hợp lệ (cho phép: {', '.join(STATUS_CODES)})"
        )
    description = r.text(status, "Description", path, required=False)
    timestamp = r.timestamp(status, "Timestamp", path)
    staff_el, staff_path = r.one(status, "StaffInfo", path, required=False)
    staff = Staff(
        *(r.text(staff_el, n, staff_path, required=False) for n in ("Department", "Staff", "Mobile", "Email"))
    )
    r.raise_if_any()
    assert response_for is not None and timestamp is not None
    return StatusMessage(response_for, sender, code, description, timestamp, staff)
