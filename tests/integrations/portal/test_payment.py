"""The payment connector against the Payment Platform simulator, with a real callback receiver."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

import integrations.portal  # noqa: F401  (registers the portal connectors)
from integrations import ConnectorRejected, ConnectorUnavailable, registry
from integrations.portal.payment import DvcqgPaymentConnector, reference_for
from integrations.portal.payment_signing import INIT_FIELDS, sign_message
from integrations.portal.payment_simulator import PaymentSimulator
from tests.integrations.portal.conftest import PARTNER, SECRET

ORDER = {
    "dossier_code": "000.00.21.H12-261125-0007",
    "amount": 58000,
    "procedure_code": "1.001193.000.00.00.H12",
    "procedure_name": "Đăng ký khai sinh",
    "agency_code": "000.00.21.H12",
    "agency_name": "UBND xã Hòa Bình",
    "payer": {"name": "Nguyễn Văn Ánh", "id_number": "001090000001", "address": "Hòa Bình"},
    "fees": [
        {"kind": "charge", "code": "LP01", "name": "Lệ phí đăng ký", "amount": 8000},
        {"kind": "fee", "code": "P02", "name": "Phí sao lục", "amount": 50000},
    ],
    "description": "Thanh toán lệ phí hồ sơ 000.00.21.H12-261125-0007",
}


def test_init_returns_the_payer_page_and_a_reference_derived_from_the_key(payments, make_payment):
    result = make_payment(payments).call("init_payment", ORDER, idempotency_key="pay-1")

    reference = reference_for("pay-1")
    assert result == {
        "redirect_url": f"{payments.url}/pay/{reference}",
        "reference": reference,
        "amount": 58000,
    }
    init = payments.transactions[reference]["init"]
    assert init["LoaiBanTin"] == "INIT" and init["PhienBan"] == "1.0.6" and init["MaDoiTac"] == PARTNER
    assert init["SoTien"] == "58000" and init["MaTienTe"] == "VND" and init["NgonNgu"] == "vi-VN"
    assert init["MaXacThuc"] == sign_message(init, INIT_FIELDS, SECRET)
    assert init["ThongTinGiaoDich"] == "Thanh toan le phi ho so 000.00.21.H12-261125-0007"
    receipt = init["ThongTinBienLai"]
    assert receipt["MaHoSo"] == "000.00.21.H12-261125-0007" and receipt["MaDichVu"] == "2"
    assert receipt["HoTenNguoiNop"] == "Nguyễn Văn Ánh"
    assert [(f["LoaiPhiLePhi"], f["SoTien"]) for f in receipt["PhiLePhi"]] == [("2", "8000"), ("1", "50000")]
    assert httpx.get(result["redirect_url"]).status_code == 200


def test_a_repeated_init_creates_one_transaction(payments, make_payment):
    connector = make_payment(payments)

    first = connector.call("init_payment", ORDER, idempotency_key="pay-1")
    second = connector.call("init_payment", ORDER, idempotency_key="pay-1")

    assert first == second
    assert len(payments.transactions) == 1
    assert payments.duplicate_inits == 1


def test_an_init_retried_after_a_lost_answer_creates_one_transaction(payments, make_payment):
    connector = make_payment(payments)
    payments.fail_next(1, status=500, after_effect=True)

    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("init_payment", ORDER, idempotency_key="pay-1")
    assert caught.value.code == 500

    connector.call("init_payment", ORDER, idempotency_key="pay-1")
    assert len(payments.transactions) == 1


def test_a_paid_confirm_reaches_the_callback_and_query_says_paid(payments, make_payment, receiver):
    payments.callback_url = receiver.url
    connector = make_payment(payments)
    reference = connector.call("init_payment", ORDER, idempotency_key="pay-1")["reference"]
    assert (
        connector.call("query_payment", {"reference": reference}, idempotency_key="q-1")["state"] == "pending"
    )

    delivery = payments.pay(reference, "paid")

    [result] = receiver.results
    assert result.accepted and result.paid and result.amount == 58000
    assert delivery.status == 200 and delivery.reply["MaLoi"] == "00" and delivery.reply_valid
    query = connector.call("query_payment", {"reference": reference}, idempotency_key="q-2")
    assert query["state"] == "paid" and query["platform_state"] == "1"
    assert query["amount"] == 58000 and query["transaction_id"] == "PP1"


def test_a_failed_payment_is_confirmed_as_failed(payments, make_payment, receiver):
    payments.callback_url = receiver.url
    connector = make_payment(payments)
    reference = connector.call("init_payment", ORDER, idempotency_key="pay-1")["reference"]

    payments.pay(reference, "failed")

    [result] = receiver.results
    assert result.accepted and not result.paid and result.error_code == "99"
    assert connector.call("query_payment", {"reference": reference}, idempotency_key="q")["state"] == "failed"


def test_a_lost_confirm_is_recovered_by_query(payments, make_payment, receiver):
    payments.callback_url = receiver.url
    connector = make_payment(payments)
    reference = connector.call("init_payment", ORDER, idempotency_key="pay-1")["reference"]

    assert payments.pay(reference, "paid", deliver=False) is None

    assert receiver.results == []
    assert connector.call("query_payment", {"reference": reference}, idempotency_key="q")["state"] == "paid"


def test_a_duplicate_confirm_is_refused_as_a_replay_and_acknowledged(payments, make_payment, receiver):
    payments.callback_url = receiver.url
    reference = make_payment(payments).call("init_payment", ORDER, idempotency_key="pay-1")["reference"]
    payments.pay(reference, "paid")

    again = payments.resend_confirm(reference)

    first, second = receiver.results
    assert first.accepted and not second.accepted and second.duplicate
    assert again.reply["MaLoi"] == "00" and again.reply_valid
    assert receiver.confirmed == {reference}


def test_a_tampered_callback_is_refused(payments, make_payment, receiver):
    payments.callback_url = receiver.url
    reference = make_payment(payments).call("init_payment", ORDER, idempotency_key="pay-1")["reference"]
    payments.pay(reference, "failed", deliver=False)
    body = payments.confirm_for(reference)
    body["MaLoi"] = "00"  # an attacker turning a failure into a payment

    reply = httpx.post(receiver.url, json=body).json()

    [result] = receiver.results
    assert not result.valid and not result.accepted and not result.paid
    assert reply["MaLoi"] == "99"
    assert receiver.confirmed == set()


def test_the_receipt_of_a_paid_transaction_is_a_pdf(payments, make_payment, receiver):
    payments.callback_url = receiver.url
    connector = make_payment(payments)
    reference = connector.call("init_payment", ORDER, idempotency_key="pay-1")["reference"]
    with pytest.raises(ConnectorRejected) as caught:
        connector.call("get_receipt", {"reference": reference}, idempotency_key="r-0")
    assert "chưa thanh toán" in caught.value.message_vi

    payments.pay(reference, "paid")
    receipt = connector.call("get_receipt", {"reference": reference}, idempotency_key="r-1")

    pdf = base64.b64decode(receipt["pdf_base64"])
    assert receipt["content_type"] == "application/pdf" and receipt["size"] == len(pdf)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert reference.encode() in pdf


def test_a_query_for_an_unknown_reference_is_rejected(payments, make_payment):
    with pytest.raises(ConnectorRejected) as caught:
        make_payment(payments).call("query_payment", {"reference": "mcnotthere"}, idempotency_key="q")

    assert "Không tìm thấy giao dịch" in caught.value.message_vi


def test_a_wrong_secret_is_a_permanent_rejection(payments, make_payment):
    connector = make_payment(payments, secret="khac")

    with pytest.raises(ConnectorRejected) as init:
        connector.call("init_payment", ORDER, idempotency_key="pay-1")
    with pytest.raises(ConnectorRejected) as query:
        connector.call("query_payment", {"reference": "mcx"}, idempotency_key="q")

    assert "MaXacThuc" in init.value.message_vi
    assert "secret" in query.value.message_vi
    assert payments.transactions == {}


def test_a_forged_query_answer_is_rejected(make_payment):
    with PaymentSimulator(partner_code=PARTNER, secret="platform-thinks-otherwise") as sim:
        # Our request is refused with a signed answer we cannot verify: never taken as "paid".
        with pytest.raises(ConnectorRejected):
            make_payment(sim).call("query_payment", {"reference": "mcx"}, idempotency_key="q")


def test_the_bearer_token_is_sent_when_configured(make_payment):
    with PaymentSimulator(partner_code=PARTNER, secret=SECRET, access_token="tok") as sim:
        with pytest.raises(ConnectorRejected) as caught:
            make_payment(sim).call("init_payment", ORDER, idempotency_key="pay-1")
        assert caught.value.code == 401

        make_payment(sim, access_token="tok").call("init_payment", ORDER, idempotency_key="pay-1")
        assert len(sim.transactions) == 1


def test_a_500_is_transient(payments, make_payment):
    payments.fail_next(1, status=500)

    with pytest.raises(ConnectorUnavailable):
        make_payment(payments).call("query_payment", {"reference": "mcx"}, idempotency_key="q")


def test_a_reply_slower_than_the_timeout_is_transient_and_the_retry_is_not_duplicated(payments, make_payment):
    connector = make_payment(payments, timeout=0.3)
    payments.delay_next(1, seconds=1.0)

    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable):
        connector.call("init_payment", ORDER, idempotency_key="pay-1")
    assert time.monotonic() - started < 0.9

    connector.call("init_payment", ORDER, idempotency_key="pay-1")
    assert len(payments.transactions) == 1


def test_a_platform_that_is_down_is_transient(closed_port, make_payment):
    connector = make_payment(init_url=f"http://127.0.0.1:{closed_port}/init")

    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("init_payment", ORDER, idempotency_key="pay-1")

    assert "Không kết nối được" in caught.value.message_vi


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"amount": 0}, "amount"),
        ({"amount": "58000"}, "amount"),
        ({"dossier_code": ""}, "dossier_code"),
        ({"fees": [{"name": "Lệ phí", "amount": 1000}]}, "tổng các khoản phí"),
        ({"fees": [{"name": "Lệ phí", "amount": 58000, "kind": "tax"}]}, "kind"),
        ({"payer": {"name": "A", "phone": "1"}}, "payer"),
        ({"service_kind": "tip"}, "service_kind"),
        ({"currency": "USD"}, "không được hỗ trợ"),
    ],
)
def test_an_unusable_order_is_rejected_without_contacting_the_platform(
    closed_port, make_payment, change, reason
):
    connector = make_payment(init_url=f"http://127.0.0.1:{closed_port}/init")

    with pytest.raises(ConnectorRejected) as caught:
        connector.call("init_payment", {**ORDER, **change}, idempotency_key="pay-1")

    assert reason in caught.value.message_vi


def test_a_query_needs_exactly_a_reference(make_payment):
    with pytest.raises(ConnectorRejected):
        make_payment().call("query_payment", {"reference": "a|b"}, idempotency_key="q")
    with pytest.raises(ConnectorRejected):
        make_payment().call("query_payment", {"reference": "abc", "extra": 1}, idempotency_key="q")


def test_check_config_is_ok_against_the_simulator(payments, make_payment):
    report = make_payment(payments).check_config()

    assert report.ok is True
    assert PARTNER in report.detail


def test_check_config_is_not_ok_against_a_closed_port(closed_port, make_payment):
    report = make_payment(query_url=f"http://127.0.0.1:{closed_port}/q").check_config()

    assert report.ok is False
    assert "Không kết nối được" in report.detail


def test_check_config_reports_a_wrong_secret(payments, make_payment):
    report = make_payment(payments, secret="khac").check_config()

    assert report.ok is False
    assert "secret" in report.detail


@pytest.mark.parametrize(
    "bad",
    [
        {"init_url": "not a url"},
        {"query_url": None},
        {"bill_url": "ftp://x"},
        {"secret": ""},
        {"partner_code": None},
        {"reference_prefix": "mc-"},
        {"ip": "1.2.3.4|x"},
        {"require_signed_answers": "yes"},
        {"timeout": -1},
        {"merchant": "typo"},
    ],
)
def test_an_invalid_configuration_is_refused_when_the_connector_is_built(bad):
    config = {"init_url": "https://pay.example/init", "query_url": "https://pay.example/query",
              "partner_code": PARTNER, "secret": SECRET, **bad}  # fmt: skip

    with pytest.raises(ValueError):
        DvcqgPaymentConnector(config)


def test_the_connector_is_registered_with_its_operations():
    cls = registry.classes()["dvcqg_payment"]

    assert cls is DvcqgPaymentConnector and cls.kind == "payment"
    assert {name: op.waits_for_result for name, op in cls.operations.items()} == {
        "init_payment": True,
        "query_payment": True,
        "get_receipt": True,
    }
