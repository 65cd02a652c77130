"""The peer agency desk: a person (or a timer) plays the court answering the provincial police
over the simulated axis, and the police's real connector receives the answer."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from integrations.exchange.peer_desk import DeskError, DeskNotFound
from integrations.exchange.simulator import ExchangeSimulator
from integrations.exchange.vdxp import VdxpConnector

from .conftest import PDF

POLICE, COURT = "000.00.22.H99", "000.00.23.H99"
NAMES = {POLICE: "Công an tỉnh Demo", COURT: "Tòa án nhân dân tỉnh Demo"}
SECRETS = {POLICE: "bi-mat-cong-an", COURT: "bi-mat-toa-an"}
SUBJECT = "V/v xác minh án tích của công dân Nguyễn Văn Ánh"


@pytest.fixture
def axis() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator() as sim:
        for code, name in NAMES.items():
            sim.register_agency(code, SECRETS[code], name)
        yield sim


@pytest.fixture
def police(axis: ExchangeSimulator) -> VdxpConnector:
    return VdxpConnector(
        {"base_url": axis.url, "system_id": POLICE, "secret_key": SECRETS[POLICE],
         "organ_name": NAMES[POLICE], "timeout": 5}
    )  # fmt: skip


@pytest.fixture
def desk(axis: ExchangeSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=axis.url, timeout=5) as client:
        yield client


def ask_court(
    police: VdxpConnector, number: int = 15, subject: str = SUBJECT, **extra: Any
) -> dict[str, Any]:
    """The police's verification request to the court, sent through the real connector."""
    payload = {
        "receivers": [{"organ_id": COURT, "name": NAMES[COURT]}],
        "code_number": str(number),
        "code_notation": "CAT-PV06",
        "promulgation_place": "Thành phố Demo",
        "promulgation_date": "2026-11-30",
        "subject": subject,
        "content": "Đề nghị Tòa án cung cấp thông tin về án tích của công dân.",
        "signer": {"competence": "KT. GIÁM ĐỐC", "position": "Phó Giám đốc", "full_name": "Trần Văn Công"},
        "attachments": [{"name": "Phiếu yêu cầu.pdf", "content_type": "application/pdf",
                         "data_b64": base64.b64encode(PDF).decode()}],
        **extra,
    }  # fmt: skip
    return police.call("send_edoc", payload, idempotency_key=f"ask-{number}-{time.monotonic()}")


def received(police: VdxpConnector, messagetype: str = "edoc") -> list[dict[str, Any]]:
    answer = police.call(
        "fetch_received", {"messagetype": messagetype}, idempotency_key=f"f-{time.monotonic()}"
    )
    assert answer["rejected"] == [] and answer["errors"] == []
    return answer["received"]


def csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def document_page(desk: httpx.Client, doc_id: str) -> httpx.Response:
    page = desk.get(f"/desk/{COURT}/documents/{doc_id}")
    assert page.status_code == 200
    return page


def reply_form(**overrides: str) -> dict[str, str]:
    return {
        "code_number": "42",
        "code_notation": "TA-VP",
        "subject": "V/v trả lời xác minh án tích",
        "content": "Công dân Nguyễn Văn Ánh không có án tích.",
        "signer_name": "Phạm Thị Thẩm",
        "signer_position": "Chánh Văn phòng",
        **overrides,
    }


def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_a_package_sent_through_the_connector_appears_on_the_courts_desk(axis, police, desk):
    first = ask_court(police, 15)
    second = ask_court(police, 16, subject="V/v xác minh nơi cư trú")

    page = desk.get(f"/desk/{COURT}")
    attachment = desk.get(f"/desk/{COURT}/documents/{first['doc_id']}/attachments/1")

    assert page.status_code == 200 and "Tòa án nhân dân tỉnh Demo" in page.text
    assert NAMES[POLICE] in page.text and "15/CAT-PV06" in page.text and "30/11/2026" in page.text
    assert page.text.index("V/v xác minh nơi cư trú") < page.text.index(SUBJECT)  # newest first
    assert f"/desk/{COURT}/documents/{second['doc_id']}/attachments/1" in page.text
    assert "Phiếu yêu cầu.pdf" in page.text and 'class="tag' not in page.text  # nothing sent back yet
    assert attachment.status_code == 200 and attachment.content == PDF
    assert attachment.headers["content-type"] == "application/pdf"
    assert attachment.headers["content-disposition"].startswith("attachment;")
    assert "script-src" not in page.headers["content-security-policy"]


def test_a_reply_through_the_form_reaches_the_sender_and_answers_the_original(axis, police, desk):
    sent = ask_court(police)
    token = csrf(document_page(desk, sent["doc_id"]))
    result = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF"

    answer = desk.post(
        f"/desk/{COURT}/documents/{sent['doc_id']}/reply",
        data={**reply_form(), "csrf_token": token},
        files={"file": ("Kết quả xác minh.pdf", result, "application/pdf")},
    )
    shown = desk.get(answer.headers["location"])
    [reply] = received(police)

    assert answer.status_code == 303
    assert "Đã gửi văn bản trả lời tới Công an tỉnh Demo" in shown.text
    envelope = reply["envelope"]
    assert envelope["response_for"]["document_id"] == sent["document_id"]
    assert (
        envelope["response_for"]["code"] == "15/CAT-PV06" and envelope["response_for"]["organ_id"] == POLICE
    )
    assert envelope["sender"]["organ_id"] == COURT and envelope["sender"]["name"] == NAMES[COURT]
    assert envelope["code_number"] == "42" and envelope["code_notation"] == "TA-VP"
    assert envelope["subject"] == "V/v trả lời xác minh án tích"
    assert envelope["signer"]["full_name"] == "Phạm Thị Thẩm"
    [file] = reply["attachments"]
    assert file["name"] == "Kết quả xác minh.pdf" and file["content_type"] == "application/pdf"
    assert base64.b64decode(file["data_b64"]) == result
    [court_item] = axis.mailbox(COURT)
    assert court_item.state == "done"  # the original is acknowledged
    assert "Đã trả lời" in desk.get(f"/desk/{COURT}").text


def test_status_buttons_send_status_packages_back_to_the_sender(axis, police, desk):
    sent = ask_court(police)
    token = csrf(document_page(desk, sent["doc_id"]))
    url = f"/desk/{COURT}/documents/{sent['doc_id']}/status"

    answers = [desk.post(url, data={"csrf_token": token, "status_code": code}) for code in ("03", "05")]
    after_processing = axis.mailbox(COURT)[0].state
    desk.post(url, data={"csrf_token": token, "status_code": "06"})
    statuses = [item["status"] for item in received(police, "status")]
    page = document_page(desk, sent["doc_id"])

    assert [a.status_code for a in answers] == [303, 303]
    assert [s["status_code"] for s in statuses] == ["03", "05", "06"]
    assert {s["response_for"]["document_id"] for s in statuses} == {sent["document_id"]}
    assert {s["sender"]["organ_id"] for s in statuses} == {COURT}
    assert after_processing == "processing" and axis.mailbox(COURT)[0].state == "done"
    assert "Trạng thái 03 — Đã tiếp nhận" in page.text and "Trạng thái 06 — Hoàn thành" in page.text


def test_a_post_without_the_csrf_token_is_refused_and_sends_nothing(axis, police, desk):
    sent = ask_court(police)
    base = f"/desk/{COURT}/documents/{sent['doc_id']}"

    no_token = desk.post(f"{base}/reply", data=reply_form())
    wrong_token = desk.post(f"{base}/status", data={"csrf_token": "gia-mao", "status_code": "06"})

    assert no_token.status_code == 403 and wrong_token.status_code == 403
    assert "mã chống giả mạo" in no_token.text
    assert axis.mailbox(POLICE) == [] and axis.mailbox(COURT)[0].state == "pending"


def test_a_script_in_the_subject_is_shown_as_text(axis, police, desk):
    sent = ask_court(police, subject='V/v <script>alert("x")</script> xác minh')

    pages = [desk.get(f"/desk/{COURT}"), document_page(desk, sent["doc_id"])]

    for page in pages:
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_a_file_that_is_not_a_pdf_or_is_too_large_is_refused_and_the_form_kept(axis, police, desk):
    sent = ask_court(police)
    token = csrf(document_page(desk, sent["doc_id"]))
    url = f"/desk/{COURT}/documents/{sent['doc_id']}/reply"
    axis.desk_max_upload_bytes = 1000

    not_pdf = desk.post(url, data={**reply_form(), "csrf_token": token},
                        files={"file": ("ket-qua.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")})  # fmt: skip
    too_large = desk.post(url, data={**reply_form(), "csrf_token": token},
                          files={"file": ("ket-qua.pdf", b"%PDF-1.7" + b"0" * 2000, "application/pdf")})  # fmt: skip
    empty = desk.post(url, data={**reply_form(subject="  "), "csrf_token": token})
    huge = desk.post(url, data={**reply_form(), "csrf_token": token},
                     files={"file": ("ket-qua.pdf", b"%PDF-1.7" + b"0" * 400_000, "application/pdf")})  # fmt: skip

    assert not_pdf.status_code == 422 and "phải là tệp PDF" in not_pdf.text
    assert too_large.status_code == 422 and "không được lớn hơn 1000 byte" in too_large.text
    assert empty.status_code == 422 and "Trích yếu: không được để trống" in empty.text
    assert huge.status_code == 413 and "Tệp quá lớn" in huge.text  # refused before it is read
    assert 'value="Phạm Thị Thẩm"' in not_pdf.text  # what was typed is kept
    assert axis.mailbox(POLICE) == []


def test_the_python_api_replies_by_document_id_with_defaults(axis, police):
    sent = ask_court(police)

    first = axis.reply(COURT, sent["document_id"], content="Không có án tích.",
                       attachments=[("ket-qua.pdf", "application/pdf", PDF)])  # fmt: skip
    second = axis.reply(COURT, sent["doc_id"], code_number="7", code_notation="TA-VP",
                        subject="V/v bổ sung", content="Bổ sung thông tin.")  # fmt: skip
    replies = received(police)

    assert [r["envelope"]["response_for"]["document_id"] for r in replies] == [sent["document_id"]] * 2
    assert [r["envelope"]["document_id"] for r in replies] == [first.document_id, second.document_id]
    assert replies[0]["envelope"]["code_number"] == "1" and replies[0]["envelope"]["code_notation"] == "VP"
    assert replies[0]["envelope"]["subject"] == "V/v trả lời Văn bản số 15/CAT-PV06 ngày 30/11/2026"
    assert base64.b64decode(replies[0]["attachments"][0]["data_b64"]) == PDF
    assert replies[1]["envelope"]["code_number"] == "7" and replies[1]["envelope"]["code_notation"] == "TA-VP"
    assert replies[1]["envelope"]["subject"] == "V/v bổ sung" and replies[1]["attachments"] == []
    with pytest.raises(DeskError, match="đã được dùng"):
        axis.reply(COURT, sent["doc_id"], code_number="7", code_notation="TA-VP", subject="Lần nữa")


def test_the_python_api_sends_statuses_and_refuses_what_the_axis_refuses(axis, police):
    sent = ask_court(police)

    axis.send_status(COURT, sent["document_id"], "01")
    with pytest.raises(DeskError, match="thu hồi"):
        axis.send_status(COURT, sent["document_id"], "15")  # no recall was requested
    with pytest.raises(DeskError, match="không hợp lệ"):
        axis.send_status(COURT, sent["document_id"], "99")
    with pytest.raises(DeskNotFound):
        axis.reply(COURT, "000.00.22.H99,2026/11/30,999/CAT-PV06", content="?")
    with pytest.raises(DeskNotFound):
        axis.desk_documents("000.00.99.H99")

    assert [s["status"]["status_code"] for s in received(police, "status")] == ["01"]


def test_a_recall_request_lets_the_court_agree(axis, police, desk):
    sent = ask_court(police)
    response_for = {"organ_id": POLICE, "code": "15/CAT-PV06", "promulgation_date": "2026-11-30",
                    "document_id": sent["document_id"]}  # fmt: skip
    police.call("send_status", {"response_for": response_for, "status_code": "13", "to": [COURT]},
                idempotency_key="recall")  # fmt: skip

    page = document_page(desk, sent["doc_id"])
    mailbox = desk.get(f"/desk/{COURT}")
    axis.send_status(COURT, sent["doc_id"], "15")

    assert "Đồng ý thu hồi (15)" in page.text and "Từ chối thu hồi (16)" in page.text
    assert "13 Lấy lại/thu hồi" in mailbox.text  # the recall request itself is listed
    assert axis.document(sent["document_id"]).recall == "accepted"


def test_unknown_agencies_documents_and_attachments_are_not_found(axis, police, desk):
    sent = ask_court(police)

    answers = [
        desk.get("/desk/000.00.99.H99"),
        desk.get(f"/desk/{COURT}/documents/khong-co"),
        desk.get(f"/desk/{COURT}/documents/{sent['doc_id']}/attachments/2"),
        desk.get(f"/desk/{POLICE}/documents/{sent['doc_id']}"),  # not in the police's mailbox
    ]

    assert [a.status_code for a in answers] == [404] * 4
    assert "chưa đăng ký trên trục liên thông" in answers[0].text


def test_a_malformed_package_is_listed_with_its_problems_and_cannot_be_answered(axis, desk):
    doc_id = axis.inject(COURT, b"<edXML><khong-hop-le/></edXML>", sender=POLICE)

    page = desk.get(f"/desk/{COURT}")
    detail = desk.get(f"/desk/{COURT}/documents/{doc_id}")

    assert "Gói tin không hợp lệ" in page.text and doc_id in page.text
    assert detail.status_code == 200 and "Gửi văn bản trả lời" not in detail.text
    with pytest.raises(DeskError, match="không hợp lệ"):
        axis.reply(COURT, doc_id, content="?")


def test_auto_reply_is_off_by_default_then_answers_every_document_after_the_delay(axis, police):
    first = ask_court(police, 15)
    time.sleep(0.3)
    assert axis.mailbox(POLICE) == []  # nobody answers unless asked to

    axis.auto_reply(COURT, 0.2, content="Đã xác minh: không có án tích.")
    second = ask_court(police, 16)
    eventually(lambda: len(axis.mailbox(POLICE)) == 2)
    axis.auto_reply(COURT, None)
    ask_court(police, 17)
    time.sleep(0.5)
    replies = received(police)

    answered = {r["envelope"]["response_for"]["document_id"] for r in replies}
    assert answered == {first["document_id"], second["document_id"]}
    assert {r["envelope"]["content"] for r in replies} == {"Đã xác minh: không có án tích."}
    assert {r["envelope"]["sender"]["organ_id"] for r in replies} == {COURT}
    assert [m.state for m in axis.mailbox(COURT)] == ["done", "done", "pending"]


def test_two_auto_responders_do_not_answer_each_other_forever(axis, police):
    axis.auto_reply(COURT, 0)
    axis.auto_reply(POLICE, 0)

    ask_court(police)
    eventually(lambda: len(axis.mailbox(COURT)) == 2)  # the police answered the court's answer
    time.sleep(0.5)

    assert len(axis.mailbox(POLICE)) == 1 and len(axis.mailbox(COURT)) == 2
