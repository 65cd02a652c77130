"""The vdxp connector in real HTTP exchanges with the document axis simulator on loopback."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest

from integrations import ConnectorRejected, ConnectorUnavailable
from integrations.exchange.edxml import build_package
from integrations.exchange.model import Organ
from integrations.exchange.vdxp import VdxpConnector
from integrations.registry import registry

from .conftest import HUYEN, SUBJECT, XA, envelope

RESULT_PDF = b"%PDF-1.7 giay khai sinh " + bytes(range(256))


def edoc(**overrides):
    payload = {
        "receivers": [{"organ_id": HUYEN, "name": "UBND huyện Bắc Từ Liêm"}],
        "code_number": "15",
        "code_notation": "UBND-VP",
        "promulgation_place": "Xuân Phương",
        "promulgation_date": "2025-08-12",
        "subject": SUBJECT,
        "signer": {"competence": "TM. UBND", "position": "Chủ tịch", "full_name": "Lê Thị Hồng Đào"},
        "attachments": [
            {
                "name": "Giấy khai sinh.pdf",
                "content_type": "application/pdf",
                "data_b64": base64.b64encode(RESULT_PDF).decode(),
            }
        ],
    }
    payload.update(overrides)
    return payload


def status_about(document: dict, code: str, **extra):
    return {
        "response_for": {
            "organ_id": document["sender"]["organ_id"],
            "code": f"{document['code_number']}/{document['code_notation']}",
            "promulgation_date": document["promulgation_date"],
            "document_id": document["document_id"],
        },
        "status_code": code,
        "staff": {"department": "Văn thư", "staff": "Đỗ Thị Thu Hà"},
        **extra,
    }


@pytest.fixture
def xa(simulator, make_connector) -> VdxpConnector:
    return make_connector(simulator.url, XA)


@pytest.fixture
def huyen(simulator, make_connector) -> VdxpConnector:
    return make_connector(simulator.url, HUYEN)


# -- sending and receiving ----------------------------------------------------------------


def test_a_document_sent_by_one_agency_is_received_intact_by_the_other(simulator, xa, huyen):
    sent = xa.call("send_edoc", edoc(), idempotency_key="dossier-1/transfer")

    fetched = huyen.call("fetch_received", {}, idempotency_key="poll-1")

    assert sent["status"] == "OK" and sent["document_id"] == f"{XA},2025/08/12,15/UBND-VP"
    [item] = fetched["received"]
    assert item["doc_id"] == sent["doc_id"] and item["from"] == XA
    assert item["envelope"]["subject"] == SUBJECT
    assert item["envelope"]["sender"]["name"] == "UBND xã Xuân Phương"
    assert item["envelope"]["signer"]["full_name"] == "Lê Thị Hồng Đào"
    [file] = item["attachments"]
    assert file["name"] == "Giấy khai sinh.pdf"
    assert base64.b64decode(file["data_b64"]) == RESULT_PDF
    assert file["sha256"] == hashlib.sha256(RESULT_PDF).hexdigest() and file["size"] == len(RESULT_PDF)
    assert fetched["rejected"] == [] and fetched["errors"] == [] and fetched["remaining"] == 0


def test_a_received_document_is_acknowledged_done_and_not_listed_again(simulator, xa, huyen):
    xa.call("send_edoc", edoc(), idempotency_key="k1")

    huyen.call("fetch_received", {}, idempotency_key="poll-1")
    again = huyen.call("fetch_received", {}, idempotency_key="poll-2")

    assert [m.state for m in simulator.mailbox(HUYEN)] == ["done"]
    assert again["received"] == []


def test_a_repeated_fetch_with_the_same_key_returns_the_same_documents_again(xa, huyen):
    """The answer of a fetch can be lost after the acknowledgements: the outbox retry must not lose documents."""
    xa.call("send_edoc", edoc(), idempotency_key="k1")

    first = huyen.call("fetch_received", {}, idempotency_key="poll-1")
    retry = huyen.call("fetch_received", {}, idempotency_key="poll-1")

    assert len(first["received"]) == 1
    assert retry == first


def test_fetch_takes_at_most_the_limit_and_reports_the_remainder(simulator, xa, huyen):
    for i in range(3):
        xa.call("send_edoc", edoc(code_number=str(20 + i)), idempotency_key=f"k{i}")

    fetched = huyen.call("fetch_received", {"limit": 2}, idempotency_key="poll-1")

    assert [r["envelope"]["code_number"] for r in fetched["received"]] == ["20", "21"]
    assert fetched["remaining"] == 1
    assert [m.state for m in simulator.mailbox(HUYEN)] == ["done", "done", "pending"]


def test_a_malformed_package_comes_back_rejected_and_is_acknowledged_fail_not_done(simulator, xa, huyen):
    xa.call("send_edoc", edoc(), idempotency_key="good")
    bad = (
        build_package(envelope(sender=Organ("000.00.00.G22", "Văn phòng Chính phủ")), [])
        .replace(b"<edXML:Subject>", b"<edXML:Subjet>")
        .replace(b"</edXML:Subject>", b"</edXML:Subjet>")
    )
    bad_id = simulator.inject(HUYEN, bad)

    fetched = huyen.call("fetch_received", {}, idempotency_key="poll-1")

    assert [r["from"] for r in fetched["received"]] == [XA]
    [rejected] = fetched["rejected"]
    assert rejected["doc_id"] == bad_id and rejected["from"] == "000.00.00.G22"
    assert rejected["problems"] == [
        "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject: thiếu phần tử bắt buộc"
    ]
    assert base64.b64decode(rejected["raw_b64"]) == bad
    states = {m.doc_id: (m.state, m.error_desc) for m in simulator.mailbox(HUYEN)}
    assert states[bad_id][0] == "fail"
    assert "MessageHeader/Subject: thiếu phần tử bắt buộc" in states[bad_id][1]
    assert states[fetched["received"][0]["doc_id"]] == ("done", "")


def test_bytes_that_are_not_xml_at_all_are_rejected_and_kept(simulator, huyen):
    bad_id = simulator.inject(HUYEN, b"\x89PNG not an edXML")

    [rejected] = huyen.call("fetch_received", {}, idempotency_key="poll-1")["rejected"]

    assert rejected["doc_id"] == bad_id
    assert rejected["problems"][0].startswith("/: gói tin không phải XML hợp lệ")
    assert base64.b64decode(rejected["raw_b64"]) == b"\x89PNG not an edXML"


def test_a_package_addressed_to_another_agency_is_rejected(simulator, huyen):
    simulator.inject(HUYEN, build_package(envelope(receivers=[Organ("000.00.05.H99", "Xã khác")]), []))

    [rejected] = huyen.call("fetch_received", {}, idempotency_key="poll-1")["rejected"]

    assert rejected["problems"] == [
        f"/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To: gói tin không gửi tới đơn vị {HUYEN}"
    ]


# -- status acknowledgements --------------------------------------------------------------


def test_status_acknowledgements_reach_the_sender(simulator, xa, huyen):
    sent = xa.call("send_edoc", edoc(), idempotency_key="k1")
    [item] = huyen.call("fetch_received", {}, idempotency_key="poll-1")["received"]

    huyen.call("send_status", status_about(item["envelope"], "01"), idempotency_key="s-01")
    huyen.call(
        "send_status",
        status_about(item["envelope"], "06", description="Đã giải quyết xong"),
        idempotency_key="s-06",
    )
    statuses = xa.call("fetch_received", {"messagetype": "status"}, idempotency_key="poll-2")["received"]

    assert [s["status"]["status_code"] for s in statuses] == ["01", "06"]
    first, last = statuses[0]["status"], statuses[1]["status"]
    assert first["status_name"] == "Đã đến" and first["description"] == "Đã đến"
    assert first["sender"]["organ_id"] == HUYEN and first["staff"]["staff"] == "Đỗ Thị Thu Hà"
    assert first["response_for"]["document_id"] == sent["document_id"]
    assert last["description"] == "Đã giải quyết xong"
    assert simulator.document(sent["document_id"]).statuses == [(HUYEN, "01"), (HUYEN, "06")]
    assert simulator.mailbox(HUYEN, messagetype="status") == []


def test_a_recall_request_goes_to_the_receiver_who_can_agree(simulator, xa, huyen):
    xa.call("send_edoc", edoc(), idempotency_key="k1")
    [item] = huyen.call("fetch_received", {}, idempotency_key="poll-1")["received"]
    document = item["envelope"]

    xa.call(
        "send_status",
        status_about(document, "13", to=[HUYEN], description="Xin thu hồi do sai sót"),
        idempotency_key="r",
    )
    [request] = huyen.call("fetch_received", {"messagetype": "status"}, idempotency_key="poll-2")["received"]
    huyen.call("send_status", status_about(document, "15"), idempotency_key="agree")

    assert request["status"]["status_code"] == "13" and request["from"] == XA
    assert simulator.document(document["document_id"]).recall == "accepted"
    [answer] = xa.call("fetch_received", {"messagetype": "status"}, idempotency_key="poll-3")["received"]
    assert answer["status"]["status_name"] == "Đồng ý thu hồi"


def test_agreeing_to_a_recall_nobody_asked_for_is_rejected_by_the_axis(xa, huyen):
    xa.call("send_edoc", edoc(), idempotency_key="k1")
    [item] = huyen.call("fetch_received", {}, idempotency_key="poll-1")["received"]

    with pytest.raises(ConnectorRejected) as caught:
        huyen.call("send_status", status_about(item["envelope"], "16"), idempotency_key="refuse")

    assert "không có yêu cầu thu hồi" in caught.value.message_vi


def test_a_recall_without_its_receivers_is_refused_before_sending(closed_port, make_connector):
    document = {"sender": {"organ_id": XA}, "code_number": "15", "code_notation": "UBND-VP",
                "promulgation_date": "2025-08-12", "document_id": f"{XA},2025/08/12,15/UBND-VP"}  # fmt: skip

    with pytest.raises(ConnectorRejected) as caught:
        make_connector(f"http://127.0.0.1:{closed_port}").call(
            "send_status", status_about(document, "13"), idempotency_key="r"
        )

    assert "thu hồi cần ghi rõ nơi nhận" in caught.value.message_vi


# -- idempotency and failures ---------------------------------------------------------------


def test_the_same_idempotency_key_twice_delivers_one_document(simulator, xa):
    first = xa.call("send_edoc", edoc(), idempotency_key="dossier-1/transfer")
    second = xa.call("send_edoc", edoc(), idempotency_key="dossier-1/transfer")

    assert first == second
    assert len(simulator.mailbox(HUYEN)) == 1


def test_different_idempotency_keys_deliver_different_documents(simulator, xa):
    a = xa.call("send_edoc", edoc(), idempotency_key="a")
    b = xa.call("send_edoc", edoc(), idempotency_key="b")

    assert a["doc_id"] != b["doc_id"]
    assert len(simulator.mailbox(HUYEN)) == 2


def test_a_timeout_is_transient_and_the_resend_does_not_deliver_twice(simulator, make_connector):
    connector = make_connector(simulator.url, XA, timeout=0.3)
    simulator.delay_next(1, seconds=1.0)

    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("send_edoc", edoc(), idempotency_key="k")
    assert time.monotonic() - started < 0.9
    assert "không trả lời" in caught.value.message_vi

    result = connector.call("send_edoc", edoc(), idempotency_key="k")
    [item] = simulator.mailbox(HUYEN)
    assert result["doc_id"] == item.doc_id


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_server_error_is_transient_and_the_retry_succeeds(simulator, xa, status):
    simulator.fail_next(1, status=status)

    with pytest.raises(ConnectorUnavailable) as caught:
        xa.call("send_edoc", edoc(), idempotency_key="k")

    assert caught.value.code == status and "sẽ thử lại" in caught.value.message_vi
    assert simulator.mailbox(HUYEN) == []
    xa.call("send_edoc", edoc(), idempotency_key="k")
    assert len(simulator.mailbox(HUYEN)) == 1


def test_a_server_error_during_a_fetch_leaves_the_documents_for_the_retry(simulator, xa, huyen):
    xa.call("send_edoc", edoc(), idempotency_key="k")
    simulator.fail_next(1, status=502)

    with pytest.raises(ConnectorUnavailable):
        huyen.call("fetch_received", {}, idempotency_key="poll-1")

    assert len(huyen.call("fetch_received", {}, idempotency_key="poll-1")["received"]) == 1


def test_an_axis_that_is_down_is_transient(closed_port, make_connector):
    with pytest.raises(ConnectorUnavailable) as caught:
        make_connector(f"http://127.0.0.1:{closed_port}").call("send_edoc", edoc(), idempotency_key="k")

    assert "Không kết nối được trục liên thông" in caught.value.message_vi


def test_a_fail_answer_is_a_permanent_rejection_with_the_axis_description(simulator, xa):
    with pytest.raises(ConnectorRejected) as caught:
        xa.call(
            "send_edoc",
            edoc(receivers=[{"organ_id": "000.00.09.H99", "name": "Xã chưa kết nối"}]),
            idempotency_key="k",
        )

    assert caught.value.message_vi == (
        "Trục liên thông từ chối văn bản: Đơn vị nhận 000.00.09.H99 chưa đăng ký trên trục liên thông"
    )
    simulator.reject_next(1, "Gói tin vượt quá hạn mức trong ngày")
    with pytest.raises(ConnectorRejected) as injected:
        xa.call("send_edoc", edoc(), idempotency_key="k2")
    assert injected.value.detail == "Gói tin vượt quá hạn mức trong ngày"


def test_a_wrong_secret_key_is_a_permanent_rejection(simulator, make_connector):
    with pytest.raises(ConnectorRejected) as caught:
        make_connector(simulator.url, XA, secret_key="sai").call("send_edoc", edoc(), idempotency_key="k")

    assert caught.value.code == 401 and "secret_key" in caught.value.message_vi


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"receivers": [{"organ_id": "H99", "name": "Huyện"}]}, "receivers[0].organ_id"),
        ({"subject": ""}, "subject: thiếu giá trị bắt buộc"),
        ({"promulgation_date": "12/08/2025"}, "promulgation_date"),
        ({"sender": {"organ_id": HUYEN, "name": "Giả danh huyện"}}, "không phải đơn vị hệ thống này gửi thay"),
        (
            {"attachments": [{"name": "a.pdf", "content_type": "application/pdf", "data_b64": "@@@"}]},
            "data_b64",
        ),
        ({"attachments": [{"name": "a.pdf", "data_b64": ""}]}, "content_type"),
        ({"subject": "Trích yếu\x00"}, "ký tự điều khiển"),
        ({"colour": "đỏ"}, "không được hỗ trợ: colour"),
    ],
)
def test_an_unusable_payload_is_rejected_without_contacting_the_axis(
    closed_port, make_connector, bad, reason
):
    with pytest.raises(ConnectorRejected) as caught:
        make_connector(f"http://127.0.0.1:{closed_port}").call("send_edoc", edoc(**bad), idempotency_key="k")

    assert reason in caught.value.message_vi


def test_an_oversized_attachment_is_rejected_before_sending(closed_port, make_connector):
    connector = make_connector(f"http://127.0.0.1:{closed_port}", max_attachment_bytes=100)

    with pytest.raises(ConnectorRejected) as caught:
        connector.call("send_edoc", edoc(), idempotency_key="k")

    assert "vượt quá dung lượng cho phép (100 byte)" in caught.value.message_vi


# -- health and configuration -------------------------------------------------------------


def test_check_config_is_ok_against_the_simulator(simulator, xa):
    report = xa.check_config()

    assert report.ok is True and XA in report.detail and simulator.url in report.detail


def test_check_config_is_not_ok_when_the_axis_is_down(closed_port, make_connector):
    report = make_connector(f"http://127.0.0.1:{closed_port}").check_config()

    assert report.ok is False and "Không kết nối được" in report.detail


def test_check_config_reports_a_wrong_secret_key(simulator, make_connector):
    report = make_connector(simulator.url, XA, secret_key="sai").check_config()

    assert report.ok is False and "secret_key" in report.detail


def test_check_config_reports_an_agency_the_axis_does_not_know(simulator, make_connector):
    simulator.register_agency("000.00.07.H99", "k")
    report = make_connector(simulator.url, "000.00.07.H99", secret_key="k").check_config()
    assert report.ok is True

    report = make_connector(simulator.url, "000.00.08.H99", secret_key="k").check_config()
    assert report.ok is False


def test_check_config_is_not_ok_when_the_axis_is_too_slow(simulator, make_connector):
    simulator.delay_next(1, seconds=1.0)

    report = make_connector(simulator.url, XA, check_timeout=0.2).check_config()

    assert report.ok is False and "không trả lời" in report.detail


@pytest.mark.parametrize(
    "override, message",
    [
        ({"colour": "đỏ"}, "unknown setting"),
        ({"base_url": "ftp://truc.gov.vn"}, "base_url"),
        ({"system_id": "H99"}, "system_id"),
        ({"secret_key": ""}, "secret_key"),
        ({"timeout": 0}, "timeout"),
        ({"verify_tls": "yes"}, "verify_tls"),
    ],
)
def test_an_invalid_configuration_is_refused_at_start_up(make_connector, override, message):
    config = {"base_url": "http://127.0.0.1:1", **override}

    with pytest.raises(ValueError, match=message):
        make_connector(**config)


def test_the_connector_is_registered_with_its_operations():
    cls = registry.classes()["vdxp"]

    assert cls is VdxpConnector and cls.kind == "exchange"
    assert {name: op.waits_for_result for name, op in cls.operations.items()} == {
        "send_edoc": True,
        "send_status": False,
        "fetch_received": True,
    }


# -- one installation, several agencies ---------------------------------------------------------

TINH = "000.00.02.H99"  # a third agency served by the same provincial installation as the xã


@pytest.fixture
def province(simulator, make_connector) -> VdxpConnector:
    simulator.register_agency(TINH, "bi-mat-cua-tinh", "Công an tỉnh Demo")
    return make_connector(simulator.url, XA,
                          identities={TINH: {"secret_key": "bi-mat-cua-tinh", "organ_name": "Công an tỉnh Demo"}})


def test_a_package_goes_out_under_the_agency_that_sends_it_and_replies_come_back_to_its_mailbox(
        province, huyen):
    sent = province.call("send_edoc", edoc(sender={"organ_id": TINH}), idempotency_key="lltp-1/xac-minh")
    [item] = huyen.call("fetch_received", {}, idempotency_key="huyen-1")["received"]
    sender = item["envelope"]["sender"]
    assert item["from"] == TINH and (sender["organ_id"], sender["name"]) == (TINH, "Công an tỉnh Demo")
    assert sent["document_id"].startswith(f"{TINH},")

    envelope = item["envelope"]
    huyen.call("send_edoc", edoc(receivers=[{"organ_id": TINH, "name": "Công an tỉnh Demo"}], code_number="16",
                                 response_for={"organ_id": TINH, "code": "15/UBND-VP", "promulgation_date": "2025-08-12",
                                               "document_id": envelope["document_id"]}),
               idempotency_key="huyen-reply")
    huyen.call("send_status", status_about(envelope, "03"), idempotency_key="huyen-status")
    fetched = province.call("fetch_received", {}, idempotency_key="tinh-1")
    [reply] = fetched["received"]
    assert reply["mailbox"] == TINH and reply["envelope"]["response_for"]["document_id"] == envelope["document_id"]
    statuses = province.call("fetch_received", {"messagetype": "status"}, idempotency_key="tinh-2")["received"]
    assert [s["mailbox"] for s in statuses] == [TINH] and statuses[0]["status"]["status_code"] == "03"


def test_a_sender_the_installation_does_not_act_for_is_refused_before_the_axis_is_called(simulator, province):
    before = len(simulator.requests) if hasattr(simulator, "requests") else None
    with pytest.raises(ConnectorRejected, match="không phải đơn vị hệ thống này gửi thay"):
        province.call("send_edoc", edoc(sender={"organ_id": HUYEN, "name": "Giả danh huyện"}), idempotency_key="x")
    with pytest.raises(ConnectorRejected, match="sender_id"):
        province.call("send_status", {**status_about({"sender": {"organ_id": HUYEN}, "code_number": "1",
                                                      "code_notation": "A", "promulgation_date": "2025-08-12",
                                                      "document_id": f"{HUYEN},2025/08/12,1/A"}, "03"),
                                      "sender_id": HUYEN}, idempotency_key="y")
    if before is not None:
        assert len(simulator.requests) == before


def test_identities_are_checked_when_the_connector_is_configured(simulator, make_connector):
    with pytest.raises(ValueError, match="OrganId"):
        make_connector(simulator.url, XA, identities={"cong-an": {"secret_key": "a", "organ_name": "b"}})
    with pytest.raises(ValueError, match="secret_key and organ_name"):
        make_connector(simulator.url, XA, identities={TINH: {"secret_key": "a"}})


def test_the_health_check_names_an_identity_the_axis_does_not_know(simulator, make_connector):
    connector = make_connector(simulator.url, XA,
                               identities={TINH: {"secret_key": "s", "organ_name": "Công an tỉnh Demo"}})
    report = connector.check_config()
    assert not report.ok and TINH in report.detail


def test_operation_paths_are_configuration_for_a_relay_that_renames_them(simulator, make_connector):
    relay = make_connector(simulator.url + "/relay", XA, paths={"getAgenciesList": "danh-sach-don-vi"})
    assert relay.paths["getAgenciesList"] == "/danh-sach-don-vi" and relay.paths["sendEdoc"] == "/sendEdoc"
    report = relay.check_config()  # the simulator does not serve /relay/danh-sach-don-vi
    assert not report.ok and "HTTP 404" in report.detail
    with pytest.raises(ValueError, match="paths"):
        make_connector(simulator.url, XA, paths={"sendDocument": "x"})
