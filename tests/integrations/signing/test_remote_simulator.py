"""The remote-signing simulator over real HTTP: protocol, idempotency, the approval step, faults."""

from __future__ import annotations

import base64
import hashlib
import time

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from integrations.signing.remote_simulator import RemoteSigningSimulator

from .conftest import SIGNER_ID

HASH = base64.b64encode(hashlib.sha256(b"signed attributes").digest()).decode()


@pytest.fixture
def http(simulator):
    with httpx.Client(
        base_url=simulator.url, headers={"Authorization": "Bearer bi-mat"}, timeout=5
    ) as client:
        yield client


def create(http, key="k1", **overrides):
    body = {"hash": HASH, "hash_alg": "sha256", "signer_id": SIGNER_ID, "description": "Ký kết quả hồ sơ"}
    body.update(overrides)
    return http.post("/transactions", json=body, headers={"Idempotency-Key": key})


def test_a_transaction_waits_for_approval_then_carries_a_signature_over_the_hash(simulator, http):
    created = create(http)
    assert created.status_code == 202
    tid = created.json()["transaction_id"]
    assert created.json()["status"] == "pending_approval"
    assert (
        http.get(f"/transactions/{tid}").json()["message"]
        == "Đang chờ người ký xác nhận trên ứng dụng di động"
    )
    assert simulator.signatures_performed == 0

    simulator.approve(tid)

    body = http.get(f"/transactions/{tid}").json()
    assert body["status"] == "approved"
    cert = simulator._signers[SIGNER_ID].certificate
    cert.public_key().verify(
        base64.b64decode(body["signature"]),
        base64.b64decode(HASH),
        padding.PKCS1v15(),
        Prehashed(hashes.SHA256()),
    )
    assert body["certificate"] == http.get(f"/signers/{SIGNER_ID}/certificate").json()["certificate"]
    assert simulator.signatures_performed == 1


def test_a_repeated_request_returns_the_first_answer_and_creates_nothing(simulator, http):
    first = create(http)
    again = create(http)

    assert again.status_code == 202 and again.json() == first.json()
    assert len(simulator.transactions) == 1
    assert [r.idempotency_key for r in simulator.requests if r.method == "POST"] == ["k1", "k1"]


def test_the_same_key_with_another_hash_is_refused(http):
    create(http)
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()

    answer = create(http, hash=other)

    assert answer.status_code == 409
    assert answer.json()["error_code"] == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"hash": "not base64!"}, 422, "INVALID_HASH"),
        ({"hash": base64.b64encode(b"short").decode()}, 422, "INVALID_HASH"),
        ({"hash_alg": "md5"}, 422, "UNSUPPORTED_HASH_ALG"),
        ({"signer_id": "nobody"}, 404, "SIGNER_NOT_FOUND"),
    ],
)
def test_invalid_requests_get_an_error_code_and_a_vietnamese_message(http, overrides, status, code):
    answer = create(http, **overrides)

    assert answer.status_code == status
    assert answer.json()["error_code"] == code
    assert answer.json()["message"]


def test_requests_need_an_idempotency_key_and_the_api_key(simulator, http):
    no_key = http.post("/transactions", json={"hash": HASH, "hash_alg": "sha256", "signer_id": SIGNER_ID})
    anonymous = httpx.get(f"{simulator.url}/signers/{SIGNER_ID}/certificate")

    assert (no_key.status_code, no_key.json()["error_code"]) == (400, "MISSING_IDEMPOTENCY_KEY")
    assert anonymous.status_code == 401
    assert httpx.get(f"{simulator.url}/health").status_code == 200


def test_the_phone_routes_approve_and_reject_once(simulator, http):
    first = create(http, key="a").json()["transaction_id"]
    second = create(http, key="b").json()["transaction_id"]

    assert http.post(f"/transactions/{first}/approve").json()["status"] == "approved"
    rejected = http.post(f"/transactions/{second}/reject").json()
    assert (rejected["status"], rejected["message"]) == ("rejected", "Người ký đã từ chối ký")
    assert http.post(f"/transactions/{second}/approve").status_code == 409
    assert simulator.signatures_performed == 1


def test_auto_approve_and_approve_after_sign_without_the_phone(simulator, http):
    simulator.auto_approve = True
    assert create(http, key="a").json()["status"] == "approved"

    simulator.auto_approve = False
    simulator.approve_after(0.2)
    tid = create(http, key="b").json()["transaction_id"]
    assert http.get(f"/transactions/{tid}").json()["status"] == "pending_approval"
    time.sleep(0.25)
    assert http.get(f"/transactions/{tid}").json()["status"] == "approved"
    assert simulator.signatures_performed == 2


def test_a_transaction_left_pending_expires(remote_credential):
    with RemoteSigningSimulator({SIGNER_ID: remote_credential}, transaction_ttl=0.1) as sim:
        tid = httpx.post(
            f"{sim.url}/transactions",
            json={"hash": HASH, "hash_alg": "sha256", "signer_id": SIGNER_ID},
            headers={"Idempotency-Key": "k"},
        ).json()["transaction_id"]
        time.sleep(0.15)

        assert httpx.get(f"{sim.url}/transactions/{tid}").json()["status"] == "expired"
        with pytest.raises(ValueError):
            sim.approve(tid)


def test_injected_failures_have_no_effect_and_delays_happen_after_the_effect(simulator, http):
    simulator.fail_next(1, status=503)
    failed = create(http, key="a")
    assert (failed.status_code, failed.json()["error_code"]) == (503, "SIMULATED_FAILURE")
    assert simulator.transactions == []

    simulator.delay_next(1, 0.5)
    with pytest.raises(httpx.ReadTimeout):
        http.post(
            "/transactions",
            json={"hash": HASH, "hash_alg": "sha256", "signer_id": SIGNER_ID},
            headers={"Idempotency-Key": "b"},
            timeout=0.1,
        )
    assert len(simulator.transactions) == 1
