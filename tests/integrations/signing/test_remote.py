"""The remote_signing connector against the simulator: sign by hash, approval on the phone, retries."""

from __future__ import annotations

import base64
import hashlib
import threading

import pytest

from integrations import ConnectorRejected, ConnectorUnavailable
from integrations.signing.pades import sample_pdf, verify_pdf
from integrations.signing.remote import RemoteSigningConnector

from .conftest import SIGNER_ID


def payload(pdf_b64: str, /, **overrides):
    data = {
        "pdf_b64": pdf_b64,
        "reason": "Ký kết quả giải quyết hồ sơ 000.00.01.H99-250812-00042",
        "location": "UBND xã Demo",
        "description": "Giấy khai sinh của Nguyễn Văn A",
    }
    data.update(overrides)
    return data


def approve_when_asked(simulator, n: int = 1) -> threading.Thread:
    """The official, approving on the phone once the request shows up."""

    def official() -> None:
        for tx in simulator.wait_for_transactions(n, timeout=5):
            if tx.status == "pending_approval":
                simulator.approve(tx.transaction_id)

    thread = threading.Thread(target=official, daemon=True)
    thread.start()
    return thread


def test_a_document_is_signed_after_the_official_approves(simulator, remote_connector, pdf_b64, ca):
    connector = remote_connector(simulator.url)
    approve_when_asked(simulator)

    result = connector.call("sign_pdf", payload(pdf_b64), idempotency_key="dossier-42/sign")

    signed = base64.b64decode(result["pdf_b64"])
    report = verify_pdf(signed, [ca.ca_certificate()])
    assert report.valid, report.errors
    assert report.signer_name == result["signer"] == "Trần Thị Bình"
    assert result["sha256"] == hashlib.sha256(signed).hexdigest()
    [tx] = simulator.transactions
    assert result["transaction_id"] == tx.transaction_id
    assert tx.description == "Giấy khai sinh của Nguyễn Văn A"
    assert simulator.signatures_performed == 1


def test_only_the_hash_travels_with_the_idempotency_key(simulator, remote_connector, pdf, pdf_b64):
    simulator.auto_approve = True
    remote_connector(simulator.url).call("sign_pdf", payload(pdf_b64), idempotency_key="dossier-42/sign")

    [post] = [r for r in simulator.requests if r.method == "POST"]
    assert post.idempotency_key == "dossier-42/sign"
    assert set(post.json) == {"hash", "hash_alg", "signer_id", "description"}
    assert post.json["hash_alg"] == "sha256" and post.json["signer_id"] == SIGNER_ID
    assert len(base64.b64decode(post.json["hash"])) == 32
    assert pdf_b64 not in str([r.json for r in simulator.requests])


def test_still_pending_after_the_wait_is_unavailable_and_the_retry_completes_the_same_transaction(
    simulator, remote_connector, pdf_b64, ca
):
    connector = remote_connector(simulator.url, wait_seconds=0.3)

    with pytest.raises(ConnectorUnavailable, match="Đang chờ người ký xác nhận"):
        connector.call("sign_pdf", payload(pdf_b64), idempotency_key="dossier-42/sign")
    [pending] = simulator.transactions
    assert pending.status == "pending_approval"

    simulator.approve(pending.transaction_id)
    retried = remote_connector(simulator.url).call(
        "sign_pdf", payload(pdf_b64), idempotency_key="dossier-42/sign"
    )

    assert retried["transaction_id"] == pending.transaction_id
    assert len(simulator.transactions) == 1
    assert simulator.signatures_performed == 1
    assert [r.idempotency_key for r in simulator.requests if r.method == "POST"] == ["dossier-42/sign"] * 2
    assert verify_pdf(base64.b64decode(retried["pdf_b64"]), [ca.ca_certificate()]).valid


def test_a_completed_call_repeated_returns_the_same_bytes_without_asking_again(
    simulator, remote_connector, pdf_b64
):
    simulator.auto_approve = True
    connector = remote_connector(simulator.url)
    first = connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")
    asked = len(simulator.requests)

    again = connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")

    assert again == first
    assert len(simulator.requests) == asked
    with pytest.raises(ConnectorRejected, match="đã được dùng"):
        connector.call(
            "sign_pdf", payload(base64.b64encode(sample_pdf("OTHER")).decode()), idempotency_key="k"
        )


def test_a_refusal_on_the_phone_is_a_permanent_rejection(simulator, remote_connector, pdf_b64):
    connector = remote_connector(simulator.url)

    def official() -> None:
        [tx] = simulator.wait_for_transactions(1)
        simulator.reject(tx.transaction_id)

    threading.Thread(target=official, daemon=True).start()

    with pytest.raises(ConnectorRejected) as info:
        connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")
    assert info.value.message_vi == "Người ký đã từ chối ký"
    assert simulator.signatures_performed == 0


def test_an_expired_request_is_a_permanent_rejection(remote_credential, remote_connector, pdf_b64):
    from integrations.signing.remote_simulator import RemoteSigningSimulator

    with RemoteSigningSimulator({SIGNER_ID: remote_credential}, api_key="bi-mat", transaction_ttl=0.1) as sim:
        with pytest.raises(ConnectorRejected, match="hết hạn"):
            remote_connector(sim.url).call("sign_pdf", payload(pdf_b64), idempotency_key="k")


def test_a_server_error_is_unavailable_and_the_retry_succeeds(simulator, remote_connector, pdf_b64):
    simulator.auto_approve = True
    simulator.fail_next(1, status=500)
    connector = remote_connector(simulator.url)

    with pytest.raises(ConnectorUnavailable) as info:
        connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")
    assert info.value.code == 500

    assert connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")["signer"] == "Trần Thị Bình"


def test_a_lost_reply_is_unavailable_and_the_retry_finds_the_same_transaction(
    simulator, remote_connector, pdf_b64
):
    connector = remote_connector(simulator.url, timeout=0.3)
    simulator.delay_next(2, 1.0, path="/transactions")  # created, but the answers come too late

    with pytest.raises(ConnectorUnavailable, match="không trả lời"):
        connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")
    with pytest.raises(ConnectorUnavailable, match="không trả lời"):
        connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")
    [tx] = simulator.transactions
    simulator.approve(tx.transaction_id)

    result = connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")

    assert result["transaction_id"] == tx.transaction_id
    assert simulator.signatures_performed == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"signer_id": "nobody"}, "Không tìm thấy người ký"),
        ({"pdf_b64": "???"}, "base64"),
        ({"reason": " "}, "reason"),
    ],
)
def test_a_request_the_service_or_we_refuse_is_rejected(
    simulator, remote_connector, pdf_b64, overrides, message
):
    with pytest.raises(ConnectorRejected, match=message):
        remote_connector(simulator.url).call("sign_pdf", payload(pdf_b64, **overrides), idempotency_key="k")


def test_a_missing_signer_is_rejected_before_any_request(simulator, remote_connector, pdf_b64):
    connector = remote_connector(simulator.url, signer_id=None)

    with pytest.raises(ConnectorRejected, match="signer_id"):
        connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")
    assert simulator.requests == []


def test_a_wrong_api_key_is_rejected(simulator, remote_connector, pdf_b64):
    with pytest.raises(ConnectorRejected, match="api_key") as info:
        remote_connector(simulator.url, api_key="sai").call("sign_pdf", payload(pdf_b64), idempotency_key="k")
    assert info.value.code == 401


def test_a_service_that_is_down_is_unavailable(remote_connector, closed_port, pdf_b64):
    with pytest.raises(ConnectorUnavailable, match="Không kết nối được"):
        remote_connector(f"http://127.0.0.1:{closed_port}").call(
            "sign_pdf", payload(pdf_b64), idempotency_key="k"
        )


def test_the_configuration_is_checked_when_configured(remote_connector):
    with pytest.raises(ValueError, match="unknown setting"):
        remote_connector("http://127.0.0.1:1", password="x")
    with pytest.raises(ValueError, match="base_url"):
        remote_connector("ftp://signing")
    with pytest.raises(ValueError, match="wait_seconds"):
        remote_connector("http://127.0.0.1:1", wait_seconds=0)
    assert RemoteSigningConnector.operations["sign_pdf"].waits_for_result


def test_check_config_fetches_the_default_signer_certificate(simulator, remote_connector):
    report = remote_connector(simulator.url).check_config()

    assert report.ok, report.detail
    assert "Trần Thị Bình" in report.detail
    assert [r.path for r in simulator.requests] == [f"/signers/{SIGNER_ID}/certificate"]


def test_check_config_reports_a_wrong_key_an_unknown_signer_a_foreign_ca_and_a_dead_service(
    simulator, remote_connector, closed_port, other_ca
):
    checks = {
        "key": remote_connector(simulator.url, api_key="sai").check_config(),
        "signer": remote_connector(simulator.url, signer_id="nobody").check_config(),
        "ca": remote_connector(simulator.url, ca_cert_path=str(other_ca.ca_cert_path)).check_config(),
        "down": remote_connector(f"http://127.0.0.1:{closed_port}").check_config(),
    }

    assert not any(report.ok for report in checks.values())
    assert "api_key" in checks["key"].detail
    assert "Không tìm thấy người ký" in checks["signer"].detail
    assert "không do CA" in checks["ca"].detail
    assert "Không kết nối được" in checks["down"].detail
