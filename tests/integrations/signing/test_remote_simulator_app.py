"""The remote-signing simulator's phone page over real HTTP: a leader approves or refuses with a PIN."""

from __future__ import annotations

import base64
import logging
import re

import httpx
import pytest

from engine.config import Settings
from engine.simulators import start_simulators
from integrations import ConnectorRejected, ConnectorUnavailable
from integrations.signing.pades import verify_pdf
from integrations.signing.remote_simulator import DEFAULT_PIN, MAX_WRONG_PINS

from .conftest import SIGNER_ID

DESCRIPTION = "Ký số kết quả giải quyết hồ sơ 000.00.21.H99-261130-0042"


@pytest.fixture
def phone(simulator):
    """The leader's browser: no API key (the phone authenticates with the PIN)."""
    with httpx.Client(base_url=simulator.url, timeout=5, follow_redirects=True) as client:
        yield client


@pytest.fixture
def ask(simulator, remote_connector, pdf_b64):
    """Ask for a signature through the real connector; it gives up waiting, the request stays pending."""

    def ask(description: str = DESCRIPTION, key: str = "dossier-42/sign") -> str:
        connector = remote_connector(simulator.url, wait_seconds=0.1)
        with pytest.raises(ConnectorUnavailable, match="Đang chờ người ký"):
            connector.call("sign_pdf", sign_payload(pdf_b64, description), idempotency_key=key)
        [tx] = [tx for tx in simulator.transactions if tx.idempotency_key == key]
        return tx.transaction_id

    return ask


def sign_payload(pdf_b64: str, description: str) -> dict[str, str]:
    return {
        "pdf_b64": pdf_b64,
        "reason": "Ký kết quả",
        "location": "UBND xã Demo",
        "description": description,
    }


def open_transaction(phone: httpx.Client, transaction_id: str) -> tuple[httpx.Response, str]:
    page = phone.get(f"/app/{SIGNER_ID}/transactions/{transaction_id}")
    assert page.status_code == 200
    return page, csrf(page)


def csrf(page: httpx.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def approve(phone: httpx.Client, transaction_id: str, pin: str, token: str) -> httpx.Response:
    return phone.post(
        f"/app/{SIGNER_ID}/transactions/{transaction_id}/approve", data={"pin": pin, "csrf_token": token}
    )


def test_the_page_lists_a_request_made_through_the_connector_while_it_waits(simulator, phone, ask):
    tid = ask()

    page = phone.get("/app")  # one signer: straight to their requests

    assert page.status_code == 200 and page.url.path == f"/app/{SIGNER_ID}"
    assert "Trần Thị Bình" in page.text
    assert DESCRIPTION in page.text
    assert f"/app/{SIGNER_ID}/transactions/{tid}" in page.text
    digest = simulator.transaction(tid).hash.hex().upper()
    assert f"{digest[:8]}…{digest[-8:]}" in page.text
    assert re.search(r"Thời gian còn lại</dt><dd>[45] phút", page.text)
    assert '<meta http-equiv="refresh" content="5">' in page.text
    assert "<script" not in page.text
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none': no script at all
    assert page.headers["X-Frame-Options"] == "DENY"
    assert phone.get("/app/static/app.css").status_code == 200


def test_a_wrong_pin_is_refused_with_a_message_and_the_request_stays_pending(simulator, phone, ask):
    tid = ask()
    _page, token = open_transaction(phone, tid)

    answer = approve(phone, tid, "000000", token)

    assert answer.status_code == 422
    assert "Mã PIN không đúng. Bạn còn 4 lần thử" in answer.text
    assert simulator.transaction(tid).status == "pending_approval"
    assert simulator.signatures_performed == 0


def test_the_right_pin_approves_and_the_connector_then_gets_a_valid_signature(
    simulator, phone, ask, remote_connector, pdf_b64, ca
):
    tid = ask()
    _page, token = open_transaction(phone, tid)

    answer = approve(phone, tid, DEFAULT_PIN, token)

    assert answer.status_code == 200 and answer.url.path == f"/app/{SIGNER_ID}"
    assert "Người ký đã đồng ý ký" in answer.text
    assert simulator.transaction(tid).status == "approved"
    result = remote_connector(simulator.url).call(
        "sign_pdf", sign_payload(pdf_b64, DESCRIPTION), idempotency_key="dossier-42/sign"
    )
    report = verify_pdf(base64.b64decode(result["pdf_b64"]), [ca.ca_certificate()])
    assert report.valid, report.errors
    assert report.signer_name == "Trần Thị Bình"
    assert result["transaction_id"] == tid
    assert simulator.signatures_performed == 1


def test_the_leader_can_refuse_and_the_connector_is_told(simulator, phone, ask, remote_connector, pdf_b64):
    tid = ask()
    _page, token = open_transaction(phone, tid)

    answer = phone.post(f"/app/{SIGNER_ID}/transactions/{tid}/reject", data={"csrf_token": token})

    assert answer.status_code == 200
    assert "Người ký đã từ chối ký" in answer.text
    with pytest.raises(ConnectorRejected, match="từ chối"):
        remote_connector(simulator.url).call(
            "sign_pdf", sign_payload(pdf_b64, DESCRIPTION), idempotency_key="dossier-42/sign"
        )
    assert approve(phone, tid, DEFAULT_PIN, token).status_code == 409
    assert simulator.signatures_performed == 0


def test_five_wrong_pins_refuse_the_request(simulator, phone, ask):
    tid = ask()
    _page, token = open_transaction(phone, tid)

    answers = [approve(phone, tid, "999999", token) for _ in range(MAX_WRONG_PINS)]

    assert [a.status_code for a in answers] == [422] * (MAX_WRONG_PINS - 1) + [200]
    assert "Bạn còn 1 lần thử" in answers[-2].text
    assert f"nhập sai mã PIN {MAX_WRONG_PINS} lần" in answers[-1].text
    tx = simulator.transaction(tid)
    assert (tx.status, tx.wrong_pins) == ("rejected", MAX_WRONG_PINS)
    assert approve(phone, tid, DEFAULT_PIN, token).status_code == 409  # the right PIN comes too late
    assert simulator.signatures_performed == 0


def test_a_pin_can_be_set_per_signer(simulator, phone, ask):
    simulator.pins[SIGNER_ID] = "246810"
    tid = ask()
    _page, token = open_transaction(phone, tid)

    assert approve(phone, tid, DEFAULT_PIN, token).status_code == 422
    assert approve(phone, tid, "246810", token).status_code == 200
    assert simulator.transaction(tid).status == "approved"


def test_a_description_is_shown_escaped(phone, ask):
    tid = ask(description='<script>alert("x")</script> Giấy khai sinh')

    listing = phone.get(f"/app/{SIGNER_ID}")
    detail, _token = open_transaction(phone, tid)

    for page in (listing, detail):
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Giấy khai sinh" in page.text


@pytest.mark.parametrize("token", [None, "doan-bua"])
def test_a_post_without_the_right_csrf_token_is_refused(simulator, phone, ask, token):
    tid = ask()
    data = {"pin": DEFAULT_PIN} | ({"csrf_token": token} if token else {})

    approved = phone.post(f"/app/{SIGNER_ID}/transactions/{tid}/approve", data=data)
    rejected = phone.post(f"/app/{SIGNER_ID}/transactions/{tid}/reject", data=data)

    assert approved.status_code == rejected.status_code == 403
    assert "mã chống giả mạo" in approved.text
    assert simulator.transaction(tid).status == "pending_approval"


def test_the_phone_shows_only_the_signers_own_requests(simulator, phone, ask):
    tid = ask()

    assert phone.get(f"/app/someone-else/transactions/{tid}").status_code == 404
    assert "Không có người ký" in phone.get("/app/someone-else").text
    assert phone.get(f"/app/{SIGNER_ID}/transactions/unknown").status_code == 404


def test_the_phone_is_neither_logged_nor_hit_by_faults_meant_for_the_service(simulator, phone, ask):
    tid = ask()
    seen = len(simulator.requests)
    simulator.fail_next(1, status=503)

    assert phone.get(f"/app/{SIGNER_ID}").status_code == 200

    assert len(simulator.requests) == seen
    assert httpx.get(f"{simulator.url}/health").status_code == 503  # the fault still waits for the API
    assert simulator.transaction(tid).status == "pending_approval"


def test_with_auto_approve_off_the_embedded_simulator_waits_and_logs_its_page(tmp_path, caplog):
    settings = Settings.from_env(
        {"MOTCUA_DATA_DIR": str(tmp_path), "MOTCUA_REMOTE_SIGNING_AUTO_APPROVE": "0"}
    )
    assert Settings.from_env({"MOTCUA_DATA_DIR": str(tmp_path)}).remote_signing_auto_approve is True

    with caplog.at_level(logging.INFO, logger="engine.simulators"):
        with start_simulators(settings, ports={"remote_signing": 0}, only=["remote_signing"]) as running:
            handle = running["remote_signing"]
            assert handle.server.auto_approve is False
            assert f"{handle.url}/app" in caplog.text
            assert httpx.get(f"{handle.url}/app/lanhdao.demo").status_code == 200


def test_with_several_signers_the_page_asks_who_is_signing(remote_credential):
    from integrations.signing.remote_simulator import RemoteSigningSimulator

    signers = {"lanhdao.a": remote_credential, "lanhdao.b": remote_credential}
    with RemoteSigningSimulator(signers) as sim:
        page = httpx.get(f"{sim.url}/app/")

        assert page.status_code == 200
        assert page.text.count("Trần Thị Bình") == 2
        assert 'href="/app/lanhdao.a"' in page.text and 'href="/app/lanhdao.b"' in page.text
        assert "Không có yêu cầu chờ xác nhận" in page.text
