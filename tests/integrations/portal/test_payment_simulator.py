"""The Payment Platform simulator, driven with plain httpx (no connector in between)."""

from __future__ import annotations

import io
import json
import threading
import time

import httpx
import pypdfium2 as pdfium
import pytest

from integrations.portal.payment_signing import CONFIRM_FIELDS, INIT_FIELDS, QUERY_FIELDS, sign_message
from integrations.portal.payment_simulator import PaymentSimulator, receipt_pdf, serve
from tests.integrations.portal.conftest import PARTNER, SECRET


def init_message(reference: str = "mcabc123", amount: str = "50000", secret: str = SECRET) -> dict:
    message = {
        "LoaiBanTin": "INIT", "PhienBan": "1.0.6", "MaDoiTac": PARTNER, "MaThamChieu": reference,
        "SoTien": amount, "LoaiHinhThanhToan": "PAY", "MaKenhThanhToan": "1", "MaThietBi": "1",
        "NgonNgu": "vi-VN", "MaTienTe": "VND", "MaNganHang": "PAYMENT", "ThongTinGiaoDich": "Thanh toan ho so",
        "ThoiGianGD": "20261125083000", "Ip": "127.0.0.1", "ThongTinBienLai": {},
    }  # fmt: skip
    message["MaXacThuc"] = sign_message(message, INIT_FIELDS, secret)
    return message


def query_message(reference: str = "mcabc123", kind: str = "QUERY") -> dict:
    message = {"LoaiBanTin": kind, "PhienBan": "1.0.6", "MaDoiTac": PARTNER, "MaThamChieu": reference,
               "ThoiGianGD": "20261125083000"}  # fmt: skip
    message["MaXacThuc"] = sign_message(message, QUERY_FIELDS, SECRET)
    return message


def test_init_answers_a_json_string_with_the_payer_page(payments):
    answer = httpx.post(payments.init_url, json=init_message()).json()

    assert answer["error_code"] == "0"
    inner = json.loads(answer["message"])
    assert inner["UrlThanhToan"] == f"{payments.url}/pay/mcabc123"
    page = httpx.get(inner["UrlThanhToan"])
    assert page.status_code == 200 and "50,000 VND" in page.text and "Thanh toán" in page.text


def test_init_with_a_wrong_hash_is_refused_and_creates_nothing(payments):
    answer = httpx.post(payments.init_url, json=init_message(secret="khac")).json()

    assert answer["error_code"] == "1"
    assert "MaXacThuc" in answer["message"]
    assert payments.transactions == {}


def test_init_is_idempotent_per_reference_and_refuses_a_reused_reference(payments):
    first = httpx.post(payments.init_url, json=init_message()).json()
    second = httpx.post(payments.init_url, json=init_message()).json()
    other = httpx.post(payments.init_url, json=init_message(amount="70000")).json()

    assert first == second
    assert other["error_code"] == "2"
    assert len(payments.transactions) == 1 and payments.duplicate_inits == 1


def test_query_answers_are_signed_and_give_the_transaction_state(payments):
    httpx.post(payments.init_url, json=init_message())

    pending = httpx.post(payments.query_url, json=query_message()).json()
    payments.pay("mcabc123", "paid", deliver=False)
    paid = httpx.post(payments.query_url, json=query_message()).json()
    unknown = httpx.post(payments.query_url, json=query_message("mcnone")).json()

    assert (pending["MaLoi"], pending["TrangThaiGD"]) == ("00", "3")
    assert (paid["MaLoi"], paid["TrangThaiGD"], paid["SoTien"]) == ("00", "1", 50000)
    assert unknown["MaLoi"] == "01"
    for answer in (pending, paid, unknown):
        assert answer["MaXacThuc"] == sign_message(answer, CONFIRM_FIELDS, SECRET)


def test_a_failed_payment_queries_as_four(payments):
    httpx.post(payments.init_url, json=init_message())
    payments.pay("mcabc123", "failed", deliver=False)

    assert httpx.post(payments.query_url, json=query_message()).json()["TrangThaiGD"] == "4"


def test_the_confirm_is_posted_signed_to_the_callback_url(payments):
    received = []

    from flask import Flask, request
    from werkzeug.serving import make_server

    app = Flask("receiver")

    @app.post("/cb")
    def cb():
        received.append(request.get_json())
        return {"MaLoi": "00"}

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        payments.callback_url = f"http://127.0.0.1:{server.server_port}/cb"
        httpx.post(payments.init_url, json=init_message())
        delivery = payments.pay("mcabc123", "paid")
    finally:
        server.shutdown()
        server.server_close()

    [body] = received
    assert body["MaLoi"] == "00" and body["SoTien"] == 50000 and body["MaThamChieu"] == "mcabc123"
    assert body["MaXacThuc"] == sign_message(body, CONFIRM_FIELDS, SECRET)
    assert delivery.status == 200
    assert delivery.reply_valid is False  # the receiver above did not sign its reply


def test_a_confirm_to_a_receiver_that_is_down_is_recorded_as_undelivered(payments, closed_port):
    payments.callback_url = f"http://127.0.0.1:{closed_port}/cb"
    httpx.post(payments.init_url, json=init_message())

    delivery = payments.pay("mcabc123", "paid")

    assert delivery.status is None and delivery.error
    assert payments.transactions["mcabc123"]["state"] == "paid"


def test_a_finished_transaction_cannot_be_paid_again(payments):
    httpx.post(payments.init_url, json=init_message())
    payments.pay("mcabc123", "paid", deliver=False)

    with pytest.raises(RuntimeError):
        payments.pay("mcabc123", "failed", deliver=False)
    assert httpx.get(f"{payments.url}/pay/mcnone").status_code == 404


def test_get_bill_returns_a_pdf_that_a_pdf_reader_opens(payments):
    httpx.post(payments.init_url, json=init_message())
    assert httpx.post(payments.bill_url, json=query_message(kind="GET_BILL")).json()["MaLoi"] == "04"
    payments.pay("mcabc123", "paid", deliver=False)

    response = httpx.post(payments.bill_url, json=query_message(kind="GET_BILL"))

    assert response.headers["content-type"] == "application/pdf"
    text = pdfium.PdfDocument(response.content)[0].get_textpage().get_text_range()
    assert "mcabc123" in text and "50000 VND" in text


def test_the_hand_written_pdf_has_a_correct_cross_reference_table():
    pdf = receipt_pdf(["Lệ phí (đăng ký)", "a\\b"])

    start = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[start:].startswith(b"xref\n0 6\n")
    offsets = [int(line[:10]) for line in pdf[start:].split(b"\n")[3:8]]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert "Le phi (dang ky)" in pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()


def test_messages_without_the_bearer_token_are_refused_when_one_is_required():
    with PaymentSimulator(partner_code=PARTNER, secret=SECRET, access_token="tok") as sim:
        assert httpx.post(sim.init_url, json=init_message()).status_code == 401
        ok = httpx.post(sim.init_url, json=init_message(), headers={"Authorization": "Bearer tok"})
        assert ok.json()["error_code"] == "0"


def test_serve_runs_until_asked_to_stop():
    stop, out = threading.Event(), io.StringIO()
    thread = threading.Thread(target=serve, kwargs={"port": 0, "stop_event": stop, "out": out})
    thread.start()
    deadline = time.monotonic() + 5
    while "init_url=" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)

    assert "init_url=http://127.0.0.1:" in out.getvalue()
    assert "đã dừng" in out.getvalue()
