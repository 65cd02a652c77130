"""A remote-signing service on loopback, with the official's phone as a web page and a Python API.

It speaks the protocol :mod:`integrations.signing.remote` expects (certificate lookup,
transactions created by hash, polled until approved/rejected/expired) and holds its own key,
issued by the test CA, so what it returns verifies like a real service's signature. Like a
real service it signs only after the official approves. The phone: the page ``/app``
(:mod:`.remote_simulator_app`, standing in for the CA's mobile app: approve with the signer's
PIN, five wrong PINs refuse the request) and, for tests, :meth:`RemoteSigningSimulator.approve_with_pin`,
:meth:`~RemoteSigningSimulator.approve` and :meth:`~RemoteSigningSimulator.reject`; ``auto_approve`` and
:meth:`~RemoteSigningSimulator.approve_after` automate it for demos and drills (the HTTP
routes ``POST /transactions/{id}/approve|reject`` do the same from curl, without a PIN).

Faithful where it matters for retries: ``POST /transactions`` is idempotent per
``Idempotency-Key`` (a repeat returns the first answer, the same transaction; the same key
with another hash is refused with 409), and nothing is signed twice. Faults on demand:
:meth:`~RemoteSigningSimulator.fail_next` and :meth:`~RemoteSigningSimulator.delay_next`
(the request takes effect before the pause, like a reply lost on the way back).

Run stand-alone with :func:`serve` (``python -m integrations.signing.remote_simulator``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import Flask, Response, g, jsonify, request

from .. import simulation
from ..simulation import LoopbackServer
from .certs import Credential
from .pades import sign_hash
from .test_ca import TestCA, create_test_ca

__all__ = [
    "DEFAULT_PIN",
    "MAX_WRONG_PINS",
    "Credential",
    "ReceivedRequest",
    "RemoteSigningSimulator",
    "Transaction",
    "WrongPin",
    "main",
    "serve",
]

_MESSAGES = {
    "pending_approval": "Đang chờ người ký xác nhận trên ứng dụng di động",
    "approved": "Người ký đã đồng ý ký",
    "rejected": "Người ký đã từ chối ký",
    "expired": "Yêu cầu ký đã hết hạn",
}

#: The PIN of a signer the simulator was given none for (the demo signers').
DEFAULT_PIN = "123456"
#: Wrong PINs that refuse a request, as the CAs' apps do.
MAX_WRONG_PINS = 5
_PIN_LOCKED = f"Yêu cầu ký đã bị hủy do nhập sai mã PIN {MAX_WRONG_PINS} lần"


class WrongPin(Exception):
    """The PIN did not match; ``attempts_left`` more are allowed (0: the request was refused)."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(f"wrong PIN, {attempts_left} attempt(s) left")
        self.attempts_left = attempts_left


@dataclass(frozen=True)
class Transaction:
    """One signing request and its fate (a snapshot; the simulator keeps the live one)."""

    transaction_id: str
    idempotency_key: str
    signer_id: str
    hash: bytes
    description: str
    created_at: float  # time.monotonic()
    status: str = "pending_approval"
    signature: bytes | None = None
    signed_at: str | None = None
    wrong_pins: int = 0
    #: why it ended this way, when the status alone does not say (a PIN lock-out)
    reason: str | None = None

    @property
    def message(self) -> str:
        """The status in Vietnamese, as the service reports it."""
        return self.reason or _MESSAGES[self.status]


@dataclass(frozen=True)
class ReceivedRequest:
    """What arrived over HTTP (for tests' assertions)."""

    method: str
    path: str
    idempotency_key: str | None
    json: Any
    status: int


class RemoteSigningSimulator(LoopbackServer):
    """The service; ``with RemoteSigningSimulator({"id": credential}) as sim: sim.url ...``."""

    name = "remote-signing-simulator"

    def __init__(
        self,
        signers: Mapping[str, Credential],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        auto_approve: bool = False,
        transaction_ttl: float = 300.0,
        pins: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(host, port)
        self._signers = dict(signers)
        #: signer id -> the PIN the phone asks for (signers not listed: :data:`DEFAULT_PIN`)
        self.pins = dict(pins or {})
        self.api_key = api_key
        self.auto_approve = auto_approve
        self.transaction_ttl = transaction_ttl
        self._lock = threading.Condition()
        self._transactions: dict[str, Transaction] = {}
        self._by_key: dict[str, tuple[str, int, dict[str, Any]]] = {}  # key -> (hash b64, status, body)
        self._requests: list[ReceivedRequest] = []
        self._failures: list[tuple[int, str]] = []  # (status, path prefix)
        self._delays: list[tuple[float, str]] = []
        self._approve_after: float | None = None
        self._signatures = 0

    @classmethod
    def from_test_ca(
        cls, ca: TestCA, signer_id: str = "lanhdao.demo", **kwargs: Any
    ) -> RemoteSigningSimulator:
        """A simulator holding a key of its own ("Trần Thị Bình", Phó Chủ tịch) issued by ``ca``."""
        path = ca.issue_signer("remote-signer", "Trần Thị Bình", title="Phó Chủ tịch")
        return cls({signer_id: Credential.from_pkcs12(path, ca.passphrase)}, **kwargs)

    # -- the official's phone -------------------------------------------------------------

    def approve(self, transaction_id: str) -> None:
        """The official approves: the hash is signed now (once)."""
        with self._lock:
            self._approve(self._pending(transaction_id))

    def approve_with_pin(self, transaction_id: str, pin: str) -> Transaction:
        """The official approves with their PIN; a wrong one raises :class:`WrongPin` and leaves
        the request pending, except the :data:`MAX_WRONG_PINS`-th, which refuses it."""
        with self._lock:
            tx = self._pending(transaction_id)
            expected = self.pins.get(tx.signer_id, DEFAULT_PIN)
            if hmac.compare_digest(pin.encode(), expected.encode()):
                return self._approve(tx)
            wrong = tx.wrong_pins + 1
            left = max(MAX_WRONG_PINS - wrong, 0)
            locked = {"status": "rejected", "reason": _PIN_LOCKED} if left == 0 else {}
            self._transactions[tx.transaction_id] = replace(tx, wrong_pins=wrong, **locked)
            self._lock.notify_all()
        raise WrongPin(left)

    def reject(self, transaction_id: str) -> None:
        """The official refuses to sign."""
        with self._lock:
            tx = self._pending(transaction_id)
            self._transactions[tx.transaction_id] = replace(tx, status="rejected")
            self._lock.notify_all()

    def approve_after(self, seconds: float | None) -> None:
        """From now on approve each pending transaction ``seconds`` after its creation (None: stop)."""
        with self._lock:
            self._approve_after = seconds

    # -- faults and inspection --------------------------------------------------------------

    def fail_next(self, n: int = 1, *, status: int = 500, path: str = "/") -> None:
        """Answer the next ``n`` requests (to paths starting with ``path``) with ``status``, no effect."""
        with self._lock:
            self._failures.extend([(status, path)] * n)

    def delay_next(self, n: int = 1, seconds: float = 5.0, *, path: str = "/") -> None:
        """Hold back the answer to the next ``n`` requests (to ``path``...) after they took effect."""
        with self._lock:
            self._delays.extend([(seconds, path)] * n)

    @property
    def transactions(self) -> list[Transaction]:
        with self._lock:
            return list(self._transactions.values())

    def transaction(self, transaction_id: str) -> Transaction:
        with self._lock:
            return self._refresh(self._transactions[transaction_id])

    def transactions_of(self, signer_id: str) -> list[Transaction]:
        """The signer's transactions as their phone shows them (expiry applied), newest first."""
        with self._lock:
            mine = [
                self._refresh(tx) for tx in list(self._transactions.values()) if tx.signer_id == signer_id
            ]
        return sorted(mine, key=lambda tx: tx.created_at, reverse=True)

    @property
    def signer_ids(self) -> list[str]:
        return list(self._signers)

    def signer_name(self, signer_id: str) -> str:
        """The common name on the signer's certificate (whom the phone greets)."""
        names = self._signers[signer_id].certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(names[0].value) if names else signer_id

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def signatures_performed(self) -> int:
        """How many times a key was used: what an idempotent client keeps at one per document."""
        with self._lock:
            return self._signatures

    def wait_for_transactions(self, n: int = 1, timeout: float = 5.0) -> list[Transaction]:
        """Block until ``n`` transactions exist (for tests approving from another thread)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._transactions) >= n, timeout):
                raise TimeoutError(
                    f"{len(self._transactions)} transaction(s) after {timeout} s, expected {n}"
                )
            return list(self._transactions.values())

    # -- internals (call with the lock held) ---------------------------------------------

    def _pending(self, transaction_id: str) -> Transaction:
        tx = self._refresh(self._transactions[transaction_id])
        if tx.status != "pending_approval":
            raise ValueError(f"transaction {transaction_id} is {tx.status}, not pending")
        return tx

    def _approve(self, tx: Transaction) -> Transaction:
        credential = self._signers[tx.signer_id]
        signed = replace(
            tx,
            status="approved",
            signature=sign_hash(credential.private_key, tx.hash),
            signed_at=dt.datetime.now(dt.UTC).isoformat(),
        )
        self._signatures += 1
        self._transactions[tx.transaction_id] = signed
        self._lock.notify_all()
        return signed

    def _refresh(self, tx: Transaction) -> Transaction:
        """Apply time-based rules (approve_after, expiry) lazily, when someone looks."""
        if tx.status != "pending_approval":
            return tx
        age = time.monotonic() - tx.created_at
        if self._approve_after is not None and age >= self._approve_after:
            return self._approve(tx)
        if age >= self.transaction_ttl:
            tx = replace(tx, status="expired")
            self._transactions[tx.transaction_id] = tx
        return tx

    def _describe(self, tx: Transaction) -> dict[str, Any]:
        body: dict[str, Any] = {
            "transaction_id": tx.transaction_id,
            "status": tx.status,
            "signer_id": tx.signer_id,
            "message": tx.message,
        }
        if tx.status == "approved" and tx.signature is not None:
            credential = self._signers[tx.signer_id]
            body |= {
                "hash_alg": "sha256",
                "signature": _b64(tx.signature),
                "signature_alg": "rsa_pkcs1v15_sha256",
                "certificate": _der_b64(credential.certificate),
                "chain": [_der_b64(c) for c in credential.chain],
                "signed_at": tx.signed_at,
            }
        return body

    def _create(self, key: str, body: Any) -> tuple[dict[str, Any], int]:
        if not isinstance(body, dict):
            return _error("INVALID_REQUEST", "Nội dung yêu cầu phải là đối tượng JSON", 400)
        try:
            digest = base64.b64decode(body.get("hash") or "", validate=True)
        except (binascii.Error, ValueError, TypeError):
            digest = b""
        if body.get("hash_alg") != "sha256":
            return _error("UNSUPPORTED_HASH_ALG", "Chỉ hỗ trợ thuật toán băm sha256", 422)
        if len(digest) != 32:
            return _error("INVALID_HASH", "Giá trị băm không hợp lệ (cần SHA-256, mã hóa base64)", 422)
        signer_id = body.get("signer_id")
        if signer_id not in self._signers:
            return _error("SIGNER_NOT_FOUND", "Không tìm thấy người ký", 404)
        description = body.get("description") or ""
        if not isinstance(description, str) or len(description) > 500:
            return _error("INVALID_REQUEST", "Mô tả giao dịch không hợp lệ (tối đa 500 ký tự)", 422)
        previous = self._by_key.get(key)
        if previous is not None:
            if previous[0] != body["hash"]:
                return _error(
                    "IDEMPOTENCY_KEY_REUSED", "Khóa Idempotency-Key đã được dùng cho yêu cầu khác", 409
                )
            return previous[2], previous[1]
        tx = Transaction(
            transaction_id=uuid.uuid4().hex,
            idempotency_key=key,
            signer_id=signer_id,
            hash=digest,
            description=description,
            created_at=time.monotonic(),
        )
        self._transactions[tx.transaction_id] = tx
        if self.auto_approve:
            tx = self._approve(tx)
        answer = self._describe(tx)
        self._by_key[key] = (body["hash"], 202, answer)
        self._lock.notify_all()
        return answer, 202

    # -- HTTP ------------------------------------------------------------------------------

    def create_app(self) -> Flask:
        from .remote_simulator_app import is_phone_request, phone_blueprint

        app = Flask(__name__, static_folder=None)  # the phone's blueprint serves its own files
        app.register_blueprint(phone_blueprint(self))

        # The phone is another channel than the service's API (the CA's app talks to the CA, and
        # the official proves who they are with the PIN): no API key, no injected faults, not in
        # the request log the connector's tests assert on.
        @app.before_request
        def faults_and_auth() -> Any:
            if is_phone_request(request.path):
                return None
            with self._lock:
                failure = _take(self._failures, request.path)
                g.delay = _take(self._delays, request.path) or 0.0
            if failure is not None:
                return _error("SIMULATED_FAILURE", "Lỗi mô phỏng của dịch vụ ký số", failure)
            if self.api_key and request.path != "/health":
                if request.headers.get("Authorization") != f"Bearer {self.api_key}":
                    return _error("UNAUTHORIZED", "Thông tin xác thực không hợp lệ", 401)
            return None

        @app.after_request
        def record_and_delay(response: Response) -> Response:
            if is_phone_request(request.path):
                return response
            with self._lock:
                self._requests.append(
                    ReceivedRequest(
                        method=request.method,
                        path=request.path,
                        idempotency_key=request.headers.get("Idempotency-Key"),
                        json=request.get_json(silent=True),
                        status=response.status_code,
                    )
                )
            if getattr(g, "delay", 0.0):
                time.sleep(g.delay)
            return response

        @app.get("/health")
        def health() -> Any:
            return {"status": "ok", "service": "motcua remote-signing simulator"}

        @app.get("/signers/<signer_id>/certificate")
        def certificate(signer_id: str) -> Any:
            credential = self._signers.get(signer_id)
            if credential is None:
                return _error("SIGNER_NOT_FOUND", "Không tìm thấy người ký", 404)
            return {
                "signer_id": signer_id,
                "certificate": _der_b64(credential.certificate),
                "chain": [_der_b64(c) for c in credential.chain],
            }

        @app.post("/transactions")
        def create() -> Any:
            key = request.headers.get("Idempotency-Key", "").strip()
            if not key:
                return _error("MISSING_IDEMPOTENCY_KEY", "Thiếu tiêu đề Idempotency-Key", 400)
            with self._lock:
                return self._create(key, request.get_json(silent=True))

        @app.get("/transactions")
        def listing() -> Any:
            with self._lock:
                txs = [self._refresh(tx) for tx in list(self._transactions.values())]
                return {"transactions": [self._describe(tx) | {"description": tx.description} for tx in txs]}

        @app.get("/transactions/<transaction_id>")
        def status(transaction_id: str) -> Any:
            with self._lock:
                tx = self._transactions.get(transaction_id)
                if tx is None:
                    return _error("TRANSACTION_NOT_FOUND", "Không tìm thấy giao dịch ký", 404)
                return self._describe(self._refresh(tx))

        @app.post("/transactions/<transaction_id>/<decision>")
        def decide(transaction_id: str, decision: str) -> Any:
            if decision not in ("approve", "reject") or transaction_id not in self._transactions:
                return _error("TRANSACTION_NOT_FOUND", "Không tìm thấy giao dịch ký", 404)
            try:
                (self.approve if decision == "approve" else self.reject)(transaction_id)
            except ValueError:
                return _error("TRANSACTION_NOT_PENDING", "Giao dịch không còn chờ xác nhận", 409)
            with self._lock:
                return self._describe(self._transactions[transaction_id])

        return app


def _take(queue: list[tuple[Any, str]], path: str) -> Any:
    """Pop the first injected fault meant for ``path`` (None if there is none)."""
    for index, (value, prefix) in enumerate(queue):
        if path.startswith(prefix):
            del queue[index]
            return value
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _der_b64(cert: x509.Certificate) -> str:
    return _b64(cert.public_bytes(serialization.Encoding.DER))


def _error(code: str, message: str, status: int) -> tuple[Response, int]:
    return jsonify({"error_code": code, "message": message}), status


def serve(host: str = "127.0.0.1", port: int = 8790, *, directory: Path, auto_approve: bool = False) -> None:
    """Run the simulator in the foreground with a signer from the test CA in ``directory``.

    The signer id is ``lanhdao.demo``; approve pending requests on the page ``{url}/app`` (PIN
    :data:`DEFAULT_PIN`), with ``curl -X POST {url}/transactions/<id>/approve``, or start with
    ``--auto-approve``.
    """
    ca = create_test_ca(directory)
    with RemoteSigningSimulator.from_test_ca(ca, host=host, port=port, auto_approve=auto_approve) as sim:
        print(f"remote-signing simulator on {sim.url} (signer id: lanhdao.demo, CA: {ca.ca_cert_path})")
        if not auto_approve:
            print(f"approve on the official's phone: {sim.url}/app (PIN {DEFAULT_PIN})")
        sim.wait_forever()


def main(argv: Sequence[str] | None = None) -> None:
    parser = simulation.cli_parser("motcua remote-signing simulator", 8790)
    parser.add_argument("--directory", type=Path, default=Path("var/test-ca"), help="test CA directory")
    parser.add_argument("--auto-approve", action="store_true")
    args = parser.parse_args(argv)
    serve(args.host, args.port, directory=args.directory, auto_approve=args.auto_approve)


if __name__ == "__main__":
    main()
