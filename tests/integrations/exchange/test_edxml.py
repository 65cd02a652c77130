"""edXML packages: build -> parse round trips and strict, located rejection of malformed input."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from datetime import date, datetime

import pytest
from lxml import etree

from integrations.exchange.edxml import build_package, build_status, parse_package, parse_status
from integrations.exchange.model import (
    NS,
    VN_TZ,
    Attachment,
    Limits,
    Organ,
    PackageInvalid,
    ResponseFor,
    Staff,
    envelope_from_dict,
    envelope_to_dict,
)

from .conftest import HUYEN, PDF, SUBJECT, XA, attachments, envelope

MH = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
MANIFEST = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest"
P = {"e": NS}


def package(**overrides) -> bytes:
    return build_package(envelope(**overrides), attachments())


def mutate(data: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(data)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def first(root: etree._Element, path: str) -> etree._Element:
    return root.xpath(path, namespaces=P)[0]


def remove(path: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        element = first(root, path)
        element.getparent().remove(element)

    return change


def set_text(path: str, text: str) -> Callable[[etree._Element], None]:
    def change(root: etree._Element) -> None:
        first(root, path).text = text

    return change


def problems_of(data: bytes, limits: Limits | None = None) -> list[str]:
    with pytest.raises(PackageInvalid) as caught:
        parse_package(data, limits=limits)
    return caught.value.problems


# -- round trip ---------------------------------------------------------------------------


def test_a_built_package_parses_back_with_vietnamese_text_and_identical_files():
    sent = envelope(
        receivers=[Organ(HUYEN, "UBND huyện Bắc Từ Liêm"), Organ("000.00.02.H99", "Phòng Tư pháp")]
    )

    received, files = parse_package(build_package(sent, attachments()))

    assert received.subject == SUBJECT
    assert received.signer == sent.signer
    assert received.signer.full_name == "Lê Thị Hồng Đào"
    assert received.sender == sent.sender
    assert received.receivers == sent.receivers
    assert (received.code_number, received.code_notation, received.due_date) == (
        "15",
        "UBND-VP",
        date(2025, 8, 20),
    )
    assert received.priority == 1 and received.business_doc_type == 0
    assert received.document_id == f"{XA},2025/08/12,15/UBND-VP"
    assert [(f.content_id, f.name, f.content_type) for f in files] == [
        ("a1", "Kết quả giải quyết.pdf", "application/pdf"),
        ("a2", "tờ khai.xml", "application/xml"),
    ]
    assert files[0].data == PDF
    assert files[1].data == "<tokhai>Bé Ngọc Hân</tokhai>".encode()


def test_the_package_uses_the_edxml_prefix_and_the_standard_date_formats():
    data = build_package(envelope(timestamp=datetime(2025, 8, 12, 8, 30, 5, tzinfo=VN_TZ)), attachments())

    root = etree.fromstring(data)
    assert root.tag == f"{{{NS}}}edXML" and root.prefix == "edXML"
    assert all(el.prefix == "edXML" for el in root.iter())
    assert first(root, "//e:PromulgationDate").text == "2025/08/12"
    assert first(root, "//e:DueDate").text == "2025/08/20"
    assert first(root, "//e:TraceHeader/e:Timestamp").text == "2025/08/12 08:30:05"
    assert first(root, "//e:MessageHeader/e:DocumentId").text == f"{XA},2025/08/12,15/UBND-VP"
    assert [r.text for r in root.xpath("//e:Reference/e:ContentId", namespaces=P)] == ["cid:a1", "cid:a2"]
    assert first(root, "//e:edXMLManifest").get("version") == "1.0"


def test_a_reply_keeps_the_document_it_responds_to():
    original = ResponseFor(HUYEN, "7/UBND", date(2025, 8, 1), f"{HUYEN},2025/08/01,7/UBND")

    received, _ = parse_package(package(response_for=original))

    assert received.response_for == original


def test_a_package_written_the_way_the_vxp_sdk_writes_it_is_accepted():
    """Default-namespace root, unprefixed attachment fields, an XML-DSig Signature, wrapped base64."""
    data = package()
    root = etree.fromstring(data)
    signature = etree.SubElement(first(root, "//e:edXMLHeader"), "Signature")
    etree.SubElement(signature, "SignatureValue").text = "R2JWYjhuOStxRnh6NDY2"
    text = etree.tostring(root, encoding="unicode")
    for name in ("ContentId", "AttachmentName", "Description", "ContentType"):
        text = re.sub(
            rf"(<Attachment>.*?)<edXML:{name}>(.*?)</edXML:{name}>", rf"\1<{name}>\2</{name}>", text
        )
    text = text.replace("edXML:AttachmentEncoded", "AttachmentEncoded").replace(
        "edXML:Attachment>", "Attachment>"
    )
    text = text.replace("<edXML:edXML xmlns:edXML", f'<edXML xmlns="{NS}" xmlns:edXML').replace(
        "</edXML:edXML>", "</edXML>"
    )
    b64 = base64.b64encode(PDF).decode()
    wrapped = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    text = text.replace(b64, wrapped)

    received, files = parse_package(text.encode("utf-8"))

    assert received.subject == SUBJECT
    assert files[0].data == PDF


# -- strict validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, location, message",
    [
        (remove("//e:MessageHeader/e:From"), f"{MH}/From", "thiếu phần tử bắt buộc"),
        (set_text("//e:From/e:OrganId", "000.00.01.h99"), f"{MH}/From/OrganId", "không đúng dạng"),
        (set_text("//e:To/e:OrganId", "28.22.H17"), f"{MH}/To/OrganId", "mã định danh '28.22.H17'"),
        (remove("//e:MessageHeader/e:To"), f"{MH}/To", "ít nhất một cơ quan nhận"),
        (remove("//e:MessageHeader/e:Subject"), f"{MH}/Subject", "thiếu phần tử bắt buộc"),
        (set_text("//e:Subject", "  "), f"{MH}/Subject", "không được để trống"),
        (set_text("//e:PromulgationDate", "2025/02/30"), f"{MH}/PromulgationInfo/PromulgationDate", "2025/02/30"),
        (set_text("//e:DueDate", "20/08/2025"), f"{MH}/DueDate", "yyyy/MM/dd"),
        (
            set_text("//e:TraceHeader/e:Timestamp", "12/08/2025 08:30:00"),
            "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader/Timestamp",
            "yyyy/MM/dd HH:mm:ss",
        ),
        (set_text("//e:MessageHeader/e:DocumentId", "15/UBND-VP"), f"{MH}/DocumentId", "không đúng dạng"),
        (set_text("//e:Priority", "9"), f"{MH}/OtherInfo/Priority", "không hợp lệ"),
        (
            remove("//e:Bussiness/e:BussinessDocType"),
            "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/BussinessDocType",
            "thiếu",
        ),
        (remove("//e:edXMLManifest"), "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest", "thiếu phần tử bắt buộc"),
        (remove("//e:AttachmentEncoded/e:Attachment[2]"), f"{MANIFEST}/Reference[2]", "không có tệp đính kèm nào với ContentId 'a2'"),
        (remove("//e:edXMLManifest/e:Reference[2]"), "/edXML/AttachmentEncoded/Attachment[2]", "không có Reference"),
        (set_text("//e:Attachment[2]/e:ContentId", "cid:a1"), f"{MANIFEST}/Reference[1]", "có 2 tệp đính kèm"),
        (set_text("//e:Reference[2]/e:ContentId", "cid:a1"), f"{MANIFEST}/Reference[2]", "bị trùng"),
        (
            set_text("//e:Attachment[1]/e:ContentTransferEncoded", "không phải base64!!"),
            "/edXML/AttachmentEncoded/Attachment[1]/ContentTransferEncoded",
            "không phải base64 hợp lệ",
        ),
        (
            set_text("//e:Attachment[1]/e:ContentTransferEncoded", "QUJ"),
            "/edXML/AttachmentEncoded/Attachment[1]/ContentTransferEncoded",
            "không phải base64 hợp lệ",
        ),
    ],
    ids=[
        "missing-from", "lowercase-organ-id", "short-organ-id", "no-receiver", "missing-subject", "blank-subject",
        "impossible-date", "day-first-date", "day-first-timestamp", "bad-document-id", "unknown-priority",
        "missing-business-type", "missing-manifest", "reference-without-attachment", "attachment-without-reference",
        "two-attachments-one-id", "duplicate-reference", "bad-base64", "truncated-base64",
    ],
)  # fmt: skip
def test_a_malformed_package_is_rejected_with_a_located_message(change, location, message):
    problems = problems_of(mutate(package(), change))

    assert any(p.startswith(f"{location}: ") and message in p for p in problems), problems


def test_every_problem_of_a_package_is_reported_at_once():
    data = mutate(
        mutate(package(), set_text("//e:From/e:OrganId", "UBND-XA")), remove("//e:MessageHeader/e:Subject")
    )

    problems = problems_of(data)

    assert len(problems) == 2
    assert problems[0].startswith(f"{MH}/From/OrganId: ")
    assert problems[1].startswith(f"{MH}/Subject: ")


def test_a_package_in_another_namespace_is_rejected():
    data = package().replace(NS.encode(), b"http://www.mic.gov.vn/TBT/QCVN_102_2015")

    [problem] = problems_of(data)

    assert problem.startswith("/: phần tử gốc phải là edXML thuộc không gian tên")


def test_envelope_elements_without_the_edxml_prefix_are_rejected():
    data = package().replace(b"edXML:", b"").replace(b"xmlns:edXML=", b"xmlns=")

    problems = problems_of(data)

    assert problems[0] == f"/edXML/edXMLEnvelope: phần tử phải có tiền tố edXML: thuộc không gian tên {NS}"
    assert re.fullmatch(
        r"/edXML/edXMLEnvelope: còn \d+ phần tử khác sai tiền tố hoặc không gian tên", problems[5]
    )


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>',
        '<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/edxml.dtd">',
    ],
    ids=["entity-bomb", "external-entity", "external-dtd"],
)
def test_a_doctype_or_entity_declaration_is_refused_before_parsing(doctype):
    data = package().replace(b"?>", b"?>" + doctype.encode(), 1).replace(SUBJECT.encode(), b"&lol3;&xxe;")

    started = time.monotonic()
    [problem] = problems_of(data)

    assert problem.startswith("/: gói tin không được chứa khai báo DOCTYPE")
    assert time.monotonic() - started < 0.5


def test_an_oversized_package_is_refused_before_parsing():
    [problem] = problems_of(package(), Limits(max_package_bytes=2000))

    assert problem.startswith("/: gói tin") and "vượt quá dung lượng cho phép (2000 byte)" in problem


def test_an_oversized_attachment_is_refused_with_its_location():
    problems = problems_of(package(), Limits(max_attachment_bytes=1000))

    assert problems == [
        "/edXML/AttachmentEncoded/Attachment[1]/ContentTransferEncoded: "
        "tệp đính kèm vượt quá dung lượng cho phép (1000 byte)"
    ]


def test_too_many_attachments_are_refused():
    [problem] = problems_of(package(), Limits(max_attachments=1))

    assert problem == "/edXML/AttachmentEncoded: có 2 tệp đính kèm, vượt quá giới hạn 1"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "gói tin rỗng"),
        (b"day khong phai XML", "không phải XML hợp lệ (dòng 1"),
        (b"<edXML:edXML xmlns:edXML='x'><unclosed></edXML:edXML>", "không phải XML hợp lệ"),
        ("<?xml version='1.0' encoding='UTF-16'?><a/>".encode("utf-16"), "UTF-8"),
    ],
)
def test_bytes_that_are_not_a_utf8_xml_document_are_rejected(data, message):
    [problem] = problems_of(data)

    assert problem.startswith("/: ") and message in problem


# -- building refuses what parsing would refuse --------------------------------------------


def test_building_a_package_with_an_invalid_receiver_code_fails_with_its_location():
    with pytest.raises(PackageInvalid) as caught:
        build_package(envelope(receivers=[Organ("H99", "Huyện")]), [])

    assert caught.value.problems == [f"{MH}/To/OrganId: mã định danh 'H99' không đúng dạng 000.00.00.A00"]


def test_building_a_package_with_control_characters_names_the_field():
    with pytest.raises(PackageInvalid) as caught:
        build_package(envelope(subject="Trích yếu\x07có chuông"), [])

    assert caught.value.problems == ["subject: chứa ký tự không hợp lệ trong XML (ký tự điều khiển)"]


def test_building_a_package_with_duplicate_content_ids_fails():
    twice = [
        Attachment("a1", "a.pdf", "application/pdf", b"1"),
        Attachment("a1", "b.pdf", "application/pdf", b"2"),
    ]

    with pytest.raises(PackageInvalid) as caught:
        build_package(envelope(), twice)

    assert any("bị trùng" in p for p in caught.value.problems)


# -- status packages ----------------------------------------------------------------------


def response_for() -> ResponseFor:
    return ResponseFor(XA, "15/UBND-VP", date(2025, 8, 12), f"{XA},2025/08/12,15/UBND-VP")


def test_a_status_package_round_trips():
    when = datetime(2025, 8, 13, 9, 0, tzinfo=VN_TZ)
    data = build_status(
        response_for(), Organ(HUYEN, "UBND huyện Bắc Từ Liêm"), "03", "Văn thư đã tiếp nhận",
        Staff("Văn phòng HĐND-UBND", "Đỗ Thị Thu Hà", "0912000001", "ha@bactuliem.gov.vn"), timestamp=when,
    )  # fmt: skip

    status = parse_status(data)

    assert status.response_for == response_for()
    assert status.sender.organ_id == HUYEN and status.sender.name == "UBND huyện Bắc Từ Liêm"
    assert (status.status_code, status.description, status.timestamp) == ("03", "Văn thư đã tiếp nhận", when)
    assert status.staff.staff == "Đỗ Thị Thu Hà"
    assert b"<edXML:Timestamp>2025/08/13 09:00:00</edXML:Timestamp>" in data


def test_a_status_package_with_an_unknown_code_is_rejected():
    data = build_status(response_for(), Organ(HUYEN, "Huyện"), "01", "Đã đến")
    data = data.replace(b"<edXML:StatusCode>01<", b"<edXML:StatusCode>07<")

    with pytest.raises(PackageInvalid) as caught:
        parse_status(data)

    assert caught.value.problems[0].startswith(
        "/edXML/edXMLEnvelope/edXMLHeader/Status/StatusCode: mã trạng thái '07'"
    )


def test_a_document_package_is_not_a_status_package_and_vice_versa():
    with pytest.raises(PackageInvalid) as as_status:
        parse_status(package())
    with pytest.raises(PackageInvalid) as as_document:
        parse_package(build_status(response_for(), Organ(HUYEN, "Huyện"), "01", "Đã đến"))

    assert as_status.value.problems == ["/edXML/edXMLEnvelope/edXMLHeader/Status: thiếu phần tử bắt buộc"]
    assert as_document.value.problems[0] == f"{MH}: thiếu phần tử bắt buộc"


# -- JSON form ----------------------------------------------------------------------------


def test_the_json_form_of_an_envelope_reads_back_to_the_same_envelope():
    original = envelope(response_for=response_for(), to_places=["Lưu: VT"])

    assert envelope_from_dict(envelope_to_dict(original)) == original


def test_the_json_form_reports_every_problem_with_its_field():
    with pytest.raises(PackageInvalid) as caught:
        envelope_from_dict(
            {
                "receivers": [{"organ_id": "x", "name": ""}],
                "promulgation_date": "12/08/2025",
                "priority": 7,
                "foo": 1,
            }
        )

    problems = caught.value.problems
    for expected in (
        "envelope: trường không được hỗ trợ: foo",
        "sender: thiếu cơ quan gửi",
        "receivers[0].organ_id: mã định danh 'x' không đúng dạng 000.00.00.A00",
        "receivers[0].name: thiếu tên cơ quan",
        "subject: thiếu giá trị bắt buộc",
        "promulgation_date: ngày '12/08/2025' không hợp lệ (định dạng YYYY-MM-DD)",
    ):
        assert expected in problems
    assert any(p.startswith("priority: giá trị 7") for p in problems)
