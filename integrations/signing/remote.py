"""Remote signing by hash (connector id ``remote_signing``, operation ``sign_pdf``).

The official's key lives with a remote-signing service (the "ký số từ xa" offered by
Vietnamese CAs); the document never leaves the province. The conversation, over HTTPS+JSON:

1. ``GET /signers/{signer_id}/certificate`` -> the official's certificate and chain, which
   the signed attributes must name;
2. we write the PDF with a placeholder and compute the SHA-256 of the CMS signed attributes
   (:func:`~integrations.signing.pades.prepare_external_signature`), and store that state;
3. ``POST /transactions`` with header ``Idempotency-Key`` and ``{"hash", "hash_alg":
   "sha256", "signer_id", "description"}`` -> ``202 {"transaction_id", "status":
   "pending_approval"}``; the official is notified on their phone;
4. ``GET /transactions/{id}`` until ``approved`` (with ``signature``: the raw RSA
   signature, base64), ``rejected`` or ``expired``, for at most ``wait_seconds``; past that
   the call answers :class:`ConnectorPending` and the outbox asks again later with the
   same key (without spending its attempt budget: a leader may approve hours later): step 2 is skipped (the stored state is reused, so the hash is the same) and the
   service answers step 3 with the same transaction;
5. the signature is checked against the certificate and embedded
   (:func:`~integrations.signing.pades.complete_external_signature`).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from cryptography import x509

from ..base import (
    Connector,
    ConnectorPending,
    ConnectorRejected,
    ConnectorUnavailable,
    HealthReport,
    operation,
)
from ..registry import register
from ..tls import httpx_context
from .certs import load_certificate
from .common import (
    ResultStore,
    SignRequest,
    bad_payload,
    check_keys,
    optional_str,
    positive_number,
    required_str,
    signed_result,
)
from .pades import (
    InvalidPdf,
    PreparedSignature,
    complete_external_signature,
    prepare_external_signature,
    verify_pdf,
)

__all__ = ["RemoteSigningConnector"]

_CONFIG_KEYS = frozenset(
    {
        "base_url",
        "api_key",
        "signer_id",
        "cache_dir",
        "timeout",
        "wait_seconds",
        "poll_interval",
        "recheck_seconds",
        "ca_cert_path",
    }
)
_EXTRA_PAYLOAD_KEYS = frozenset({"signer_id", "description"})
_SERVICE = "Dịch vụ ký số từ xa"


@register
class RemoteSigningConnector(Connector):
    """PAdES signatures made by a remote-signing service after the official approves on their phone.

    Config: ``base_url``; ``cache_dir`` (prepared documents and results by idempotency
    key, shared by all workers); optional ``api_key`` (sent as a bearer token),
    ``signer_id`` (default signer when the payload names none), ``timeout`` per HTTP
    request (default 10 s), ``wait_seconds`` to wait for the approval within one call
    (default 30), ``poll_interval`` (default 1 s), ``recheck_seconds`` before the outbox asks
    again about a transaction still waiting for approval (default 60), ``ca_cert_path`` (a root the result must
    verify against; checked by ``check_config`` too).
    """

    id = "remote_signing"
    kind = "signing"
    title = "Ký số từ xa (xác nhận trên điện thoại)"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        check_keys(config, _CONFIG_KEYS)
        base_url = required_str(config, "base_url").rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("'base_url' must start with http:// or https://")
        self.base_url = base_url
        self.api_key = optional_str(config, "api_key")
        self.signer_id = optional_str(config, "signer_id")
        self.store = ResultStore(Path(required_str(config, "cache_dir")), "remote")
        self.timeout = positive_number(config, "timeout", 10)
        self.wait_seconds = positive_number(config, "wait_seconds", 30)
        self.poll_interval = positive_number(config, "poll_interval", 1)
        self.recheck_seconds = positive_number(config, "recheck_seconds", 60)
        ca_path = optional_str(config, "ca_cert_path")
        self.ca_cert: x509.Certificate | None = None
        if ca_path:
            try:
                self.ca_cert = load_certificate(Path(ca_path))
            except (OSError, ValueError) as exc:
                raise ValueError(f"'ca_cert_path': cannot read certificate: {exc}") from exc

    @operation(
        waits_for_result=True,
        description=(
            "Ký số PAdES tài liệu PDF qua dịch vụ ký số từ xa, người ký xác nhận trên điện thoại "
            "(payload: pdf_b64, reason, location, signer_id, description; kết quả: pdf_b64, sha256, "
            "verification_code, signer, signed_at, transaction_id)"
        ),
    )
    def sign_pdf(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Ask for a signature and wait for it; resumable across retries with the same key."""
        request = SignRequest.parse(payload, extra_keys=_EXTRA_PAYLOAD_KEYS)
        signer_id = request.extra.get("signer_id") or self.signer_id
        if not isinstance(signer_id, str) or not signer_id.strip():
            raise bad_payload("thiếu mã người ký 'signer_id'")
        description = request.extra.get("description") or request.reason
        if not isinstance(description, str):
            raise bad_payload("'description' phải là chuỗi ký tự")

        state = self.store.load(idempotency_key)
        if state is not None and (state["input_sha256"], state["signer_id"]) != (request.sha256, signer_id):
            raise ConnectorRejected(
                "Khóa chống lặp (idempotency key) đã được dùng cho một yêu cầu ký khác",
                detail="idempotency key reused with a different PDF or signer",
            )
        if state is not None and "result" in state:
            return dict(state["result"])
        with self._client() as client:
            if state is None:
                prepared = self._prepare(client, request, signer_id)
                state = {
                    "input_sha256": request.sha256,
                    "signer_id": signer_id,
                    "prepared": prepared.to_json(),
                }
                self.store.save(idempotency_key, state)
            else:
                prepared = PreparedSignature.from_json(state["prepared"])
            body = {
                "hash": base64.b64encode(prepared.hash_to_sign).decode("ascii"),
                "hash_alg": "sha256",
                "signer_id": signer_id,
                "description": description,
            }
            created = self._request(
                client, "POST", "/transactions", json=body, headers={"Idempotency-Key": idempotency_key}
            )
            transaction_id = created.get("transaction_id")
            if not isinstance(transaction_id, str) or not transaction_id:
                raise ConnectorRejected(f"{_SERVICE} trả lời thiếu mã giao dịch", detail=repr(created))
            if state.get("transaction_id") != transaction_id:
                state["transaction_id"] = transaction_id
                self.store.save(idempotency_key, state)
            answer = self._await_decision(client, transaction_id)
        result = self._finish(prepared, answer, transaction_id)
        self.store.save(
            idempotency_key, {k: v for k, v in state.items() if k != "prepared"} | {"result": result}
        )
        return result

    def check_config(self) -> HealthReport:
        """Fetch the default signer's certificate (or the health page): URL, credentials, signer."""
        path = f"/signers/{quote(self.signer_id, safe='')}/certificate" if self.signer_id else "/health"
        try:
            with self._client(timeout=min(self.timeout, 5.0)) as client:
                answer = self._request(client, "GET", path)
                if self.signer_id:
                    cert, _chain = _certificates(answer)
        except (ConnectorRejected, ConnectorUnavailable) as exc:
            return HealthReport(ok=False, detail=exc.message_vi)
        if not self.signer_id:
            return HealthReport(ok=True, detail=f"Kết nối được {_SERVICE} {self.base_url}")
        if self.ca_cert is not None:
            try:
                cert.verify_directly_issued_by(self.ca_cert)
            except Exception:  # InvalidSignature, ValueError, TypeError: all mean "not this CA"
                return HealthReport(
                    ok=False,
                    detail=f"Chứng thư số của người ký '{self.signer_id}' không do CA đã cấu hình cấp",
                )
        name = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        who = str(name[0].value) if name else self.signer_id
        return HealthReport(ok=True, detail=f"Kết nối được {_SERVICE}; người ký mặc định: {who}")

    # -- steps -------------------------------------------------------------------------

    def _prepare(self, client: httpx.Client, request: SignRequest, signer_id: str) -> PreparedSignature:
        answer = self._request(client, "GET", f"/signers/{quote(signer_id, safe='')}/certificate")
        cert, chain = _certificates(answer)
        try:
            return prepare_external_signature(
                request.pdf,
                cert,
                chain,
                reason=request.reason,
                location=request.location,
                field_name=request.field_name,
                appearance_text=request.stamp_text,
            )
        except InvalidPdf as exc:
            raise ConnectorRejected(f"Không ký được tài liệu: {exc.message_vi}", detail=exc.detail) from exc
        except ValueError as exc:  # e.g. a non-RSA certificate
            raise ConnectorRejected(
                f"Chứng thư số của người ký không dùng được: {exc}", detail=str(exc)
            ) from exc

    def _await_decision(self, client: httpx.Client, transaction_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            answer = self._request(client, "GET", f"/transactions/{quote(transaction_id, safe='')}")
            status = answer.get("status")
            if status == "approved":
                return answer
            if status == "rejected":
                raise ConnectorRejected(
                    "Người ký đã từ chối ký", detail=f"transaction {transaction_id} rejected"
                )
            if status == "expired":
                raise ConnectorRejected(
                    "Yêu cầu ký đã hết hạn mà người ký chưa xác nhận",
                    detail=f"transaction {transaction_id} expired",
                )
            if status != "pending_approval":
                raise ConnectorRejected(
                    f"{_SERVICE} trả về trạng thái không rõ: {status!r}", detail=repr(answer)
                )
            if time.monotonic() + self.poll_interval > deadline:
                raise ConnectorPending(
                    f"Đang chờ người ký xác nhận trên điện thoại (giao dịch {transaction_id}), sẽ kiểm tra lại",
                    detail=f"still pending after {self.wait_seconds:g} s",
                    retry_after=self.recheck_seconds,
                )
            time.sleep(self.poll_interval)

    def _finish(
        self, prepared: PreparedSignature, answer: dict[str, Any], transaction_id: str
    ) -> dict[str, Any]:
        try:
            signature = base64.b64decode(answer.get("signature") or "", validate=True)
            signed = complete_external_signature(prepared, signature)
        except (binascii.Error, ValueError) as exc:
            raise ConnectorRejected(
                f"Chữ ký do {_SERVICE} trả về không khớp với tài liệu và chứng thư số", detail=str(exc)
            ) from exc
        report = verify_pdf(signed, [self.ca_cert] if self.ca_cert else [])
        if not report.intact or (self.ca_cert is not None and not report.trusted):
            raise ConnectorRejected(
                "Tài liệu vừa ký không vượt qua kiểm tra chữ ký; không trả kết quả",
                detail="; ".join(report.errors),
            )
        return signed_result(signed, report) | {"transaction_id": transaction_id}

    # -- HTTP --------------------------------------------------------------------------

    def _client(self, *, timeout: float | None = None) -> httpx.Client:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return httpx.Client(base_url=self.base_url, timeout=timeout or self.timeout, headers=headers,
                            verify=httpx_context())

    def _request(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One HTTP exchange, with every failure mapped to the outbox contract."""
        where = f"{self.base_url}{path}"
        try:
            response = client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ConnectorUnavailable(
                f"{_SERVICE} không trả lời trong {client.timeout.read or self.timeout:g} giây, sẽ thử lại",
                detail=f"{method} {where}: {exc!r}",
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectorUnavailable(
                f"Không kết nối được {_SERVICE} ({self.base_url}), sẽ thử lại",
                detail=f"{method} {where}: {exc!r}",
            ) from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        message = data.get("message") if isinstance(data, dict) else None
        code = response.status_code
        if code >= 500 or code == 429:
            raise ConnectorUnavailable(
                f"{_SERVICE} đang gặp sự cố (mã {code}{': ' + message if message else ''}), sẽ thử lại",
                detail=f"{method} {where}: {response.text[:300]}",
                code=code,
            )
        if code in (401, 403):
            raise ConnectorRejected(
                f"{_SERVICE} từ chối xác thực (mã {code}); kiểm tra khóa truy cập 'api_key'",
                detail=f"{method} {where}",
                code=code,
            )
        if code >= 400:
            raise ConnectorRejected(
                f"{_SERVICE} từ chối yêu cầu (mã {code}): {message or response.reason_phrase}",
                detail=f"{method} {where}: {response.text[:300]}",
                code=code,
            )
        if not isinstance(data, dict):
            raise ConnectorUnavailable(
                f"{_SERVICE} trả lời không đúng định dạng JSON, sẽ thử lại",
                detail=f"{method} {where}: {response.text[:300]}",
                code=code,
            )
        return data


def _certificates(answer: dict[str, Any]) -> tuple[x509.Certificate, list[x509.Certificate]]:
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(answer["certificate"], validate=True))
        chain = [
            x509.load_der_x509_certificate(base64.b64decode(c, validate=True))
            for c in answer.get("chain", [])
        ]
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise ConnectorRejected(
            f"{_SERVICE} trả về chứng thư số không đọc được", detail=f"{exc!r}: {str(answer)[:300]}"
        ) from exc
    return cert, chain
