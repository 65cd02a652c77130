"""The document axis simulator, driven with plain HTTP (no connector in between)."""

from __future__ import annotations

import base64
import socket
import threading
import time
from datetime import date

import httpx
import pytest

from integrations.exchange.edxml import build_package, build_status
from integrations.exchange.model import Organ, ResponseFor
from integrations.exchange.simulator import ExchangeSimulator, serve

from .conftest import HUYEN, SECRETS, XA, attachments, envelope

HTTP = httpx.Client()  # one client for the module: creating one costs ~0.1 s (TLS context)


def call(sim: ExchangeSimulator, op: str, system_id: str = XA, *, key: str = "", **kwargs) -> httpx.Response:
    headers = {"systemId": system_id, "secretKey": SECRETS[system_id], **kwargs.pop("headers", {})}
    if key:
        headers["Idempotency-Key"] = key
    return HTTP.post(f"{sim.url}/{op}", headers=headers, timeout=kwargs.pop("timeout", 5), **kwargs)


def send(
    sim: ExchangeSimulator,
    data: bytes,
    *,
    system_id: str = XA,
    to: str = HUYEN,
    messagetype: str = "edoc",
    key: str = "",
):
    headers = {"from": system_id, "to": to, "servicetype": "eDoc", "messagetype": messagetype}
    return call(sim, "sendEdoc", system_id, key=key, content=data, headers=headers).json()


def listing(sim: ExchangeSimulator, system_id: str = HUYEN, messagetype: str = "edoc") -> list[dict]:
    return call(
        sim, "getReceivedEdocList", system_id, json={"servicetype": "eDoc", "messagetype": messagetype}
    ).json()["data"]


def test_port_zero_binds_a_free_port_and_stop_closes_it():
    with ExchangeSimulator() as first, ExchangeSimulator() as second:
        assert first.port > 0 and first.port != second.port
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", first.port), timeout=1).close()


def test_a_call_without_the_right_secret_key_is_refused(simulator):
    answer = httpx.post(
        f"{simulator.url}/getAgenciesList", headers={"systemId": XA, "secretKey": "sai"}, json={}
    )

    assert answer.status_code == 401
    assert answer.json() == {
        "status": "FAIL",
        "ErrorDesc": "Sai mã hệ thống (systemId) hoặc khóa bí mật (secretKey)",
    }


def test_a_document_is_listed_until_acknowledged_done(simulator):
    answer = send(simulator, build_package(envelope(), attachments()))
    doc_id = answer["DocId"]

    [item] = listing(simulator)
    fetched = call(simulator, "getEdoc", HUYEN, json={"docId": doc_id}).json()
    call(simulator, "updateStatus", HUYEN, json={"docId": doc_id, "status": "processing"})
    still_listed = listing(simulator)
    call(simulator, "updateStatus", HUYEN, json={"docId": doc_id, "status": "done"})

    assert answer["status"] == "OK" and item["DocId"] == doc_id and item["from"] == XA
    assert item["messagetype"] == "edoc" and len(item["created_time"]) == 19
    assert base64.b64decode(fetched["data"]) == simulator.mailbox(HUYEN)[0].data
    assert [i["DocId"] for i in still_listed] == [doc_id]
    assert listing(simulator) == []
    assert listing(simulator, XA) == []


def test_a_package_without_the_edxml_prefix_gets_a_fail_answer_in_vietnamese(simulator):
    data = build_package(envelope(), []).replace(b"edXML:", b"").replace(b"xmlns:edXML=", b"xmlns=")

    answer = send(simulator, data)

    assert answer["status"] == "FAIL"
    assert answer["ErrorDesc"].startswith(
        "Gói tin edXML không hợp lệ: /edXML/edXMLEnvelope: phần tử phải có tiền tố edXML:"
    )
    assert simulator.mailbox(HUYEN) == []


@pytest.mark.parametrize(
    "headers_from, to, message",
    [
        (HUYEN, HUYEN, "Mã đơn vị gửi (from) phải là systemId"),
        (XA, "000.00.02.H99", "không khớp với các phần tử To"),
    ],
)
def test_a_package_whose_routing_headers_disagree_with_it_is_refused(simulator, headers_from, to, message):
    headers = {"from": headers_from, "to": to, "servicetype": "eDoc", "messagetype": "edoc"}

    answer = call(simulator, "sendEdoc", XA, content=build_package(envelope(), []), headers=headers).json()

    assert answer["status"] == "FAIL" and message in answer["ErrorDesc"]


def test_a_package_claiming_another_sender_is_refused(simulator):
    data = build_package(envelope(sender=Organ(HUYEN, "Huyện")), [])

    answer = send(simulator, data)

    assert answer["status"] == "FAIL" and "khác systemId" in answer["ErrorDesc"]


def test_a_repeated_idempotency_key_returns_the_first_answer_without_a_second_delivery(simulator):
    data = build_package(envelope(), [])

    first = send(simulator, data, key="k")
    second = send(simulator, data, key="k")

    assert first == second
    assert len(simulator.mailbox(HUYEN)) == 1


def test_fail_next_answers_with_the_status_and_has_no_effect(simulator):
    simulator.fail_next(2, status=503)
    data = build_package(envelope(), [])

    codes = [
        call(simulator, "sendEdoc", XA, content=data, headers={"from": XA, "to": HUYEN}).status_code
        for _ in range(2)
    ]

    assert codes == [503, 503]
    assert simulator.mailbox(HUYEN) == []
    assert send(simulator, data)["status"] == "OK"


def test_delay_next_delivers_at_once_but_answers_late(simulator):
    simulator.delay_next(1, seconds=0.6)
    data = build_package(envelope(), [])

    with pytest.raises(httpx.ReadTimeout):
        headers = {"from": XA, "to": HUYEN, "servicetype": "eDoc", "messagetype": "edoc"}
        call(simulator, "sendEdoc", XA, key="k", content=data, headers=headers, timeout=0.2)

    assert len(simulator.mailbox(HUYEN)) == 1
    time.sleep(0.5)
    assert send(simulator, data, key="k")["DocId"] == simulator.mailbox(HUYEN)[0].doc_id


def test_status_packages_are_routed_back_to_the_document_sender(simulator):
    env = envelope()
    send(simulator, build_package(env, []))
    about = ResponseFor(XA, env.code, env.promulgation_date, env.document_id)

    answer = send(
        simulator,
        build_status(about, Organ(HUYEN, "Huyện"), "03", "Đã tiếp nhận"),
        system_id=HUYEN,
        to=XA,
        messagetype="status",
    )

    assert answer["status"] == "OK"
    [item] = listing(simulator, XA, "status")
    assert item["from"] == HUYEN
    assert simulator.document(env.document_id).statuses == [(HUYEN, "03")]


@pytest.mark.parametrize(
    "sender, code, to, message",
    [
        (HUYEN, "13", XA, "Chỉ cơ quan đã gửi văn bản mới được yêu cầu thu hồi"),
        (XA, "03", HUYEN, "không phải nơi nhận văn bản"),
        (HUYEN, "15", XA, "không có yêu cầu thu hồi đang chờ trả lời"),
        (HUYEN, "03", "000.00.05.H99", f"Nơi nhận gói tin trạng thái phải là: {XA}"),
    ],
)
def test_status_packages_that_break_the_exchange_rules_are_refused(simulator, sender, code, to, message):
    env = envelope()
    send(simulator, build_package(env, []))
    about = ResponseFor(XA, env.code, env.promulgation_date, env.document_id)

    answer = send(
        simulator,
        build_status(about, Organ(sender, "Cơ quan"), code, "x"),
        system_id=sender,
        to=to,
        messagetype="status",
    )

    assert answer["status"] == "FAIL" and message in answer["ErrorDesc"]


def test_a_status_about_an_unknown_document_is_refused(simulator):
    about = ResponseFor(XA, "99/UBND", date(2025, 1, 2), f"{XA},2025/01/02,99/UBND")

    answer = send(
        simulator,
        build_status(about, Organ(HUYEN, "Huyện"), "01", "x"),
        system_id=HUYEN,
        to=XA,
        messagetype="status",
    )

    assert answer["status"] == "FAIL" and "Không tìm thấy văn bản" in answer["ErrorDesc"]


def test_the_listing_filters_by_date_and_rejects_a_malformed_date(simulator):
    simulator.inject(HUYEN, b"<x/>")
    body = {"servicetype": "eDoc", "messagetype": "edoc"}

    future = call(
        simulator, "getReceivedEdocList", HUYEN, json={**body, "fromDate": "01/01/2999 00:00:00"}
    ).json()
    past = call(
        simulator, "getReceivedEdocList", HUYEN, json={**body, "toDate": "01/01/2000 00:00:00"}
    ).json()
    bad = call(simulator, "getReceivedEdocList", HUYEN, json={**body, "fromDate": "2025-01-01"}).json()

    assert future["data"] == [] and past["data"] == [] and len(listing(simulator)) == 1
    assert bad["status"] == "FAIL" and "dd/MM/yyyy HH:mm:ss" in bad["ErrorDesc"]


def test_getting_a_document_of_another_mailbox_fails(simulator):
    doc_id = simulator.inject(HUYEN, b"<x/>")

    answer = call(simulator, "getEdoc", XA, json={"docId": doc_id}).json()

    assert answer["status"] == "FAIL" and "Không tìm thấy văn bản" in answer["ErrorDesc"]


def test_the_agencies_list_names_the_registered_agencies(simulator):
    answer = call(simulator, "getAgenciesList", XA, json={}).json()

    assert {a["code"]: a["name"] for a in answer["data"]} == {
        XA: "UBND xã Xuân Phương",
        HUYEN: "UBND huyện Bắc Từ Liêm",
    }


def test_serve_runs_until_its_stop_event_is_set(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(
        target=serve, args=("127.0.0.1", port), kwargs={"agencies": {XA: "k"}, "stop_event": stop}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                answer = HTTP.post(
                    f"http://127.0.0.1:{port}/getAgenciesList",
                    headers={"systemId": XA, "secretKey": "k"},
                    json={},
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)

    assert answer.json()["data"][0]["code"] == XA
    assert "listening" in capsys.readouterr().out
