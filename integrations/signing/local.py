"""Signing with a key held by this installation (connector id ``local_signing``, operation ``sign_pdf``).

Embedded mode signs result PDFs with a PKCS#12 file, by default the one
:func:`~integrations.signing.test_ca.create_test_ca` made at setup; a province may point it
at an agency key issued by a licensed CA instead. No network is involved, so failures are
either a bad payload (permanent) or a broken key file (permanent until an administrator
fixes the configuration), never "try again later".

Idempotency: a signature embeds its time, so the first result is kept in ``cache_dir``
under the idempotency key (see :mod:`integrations.signing.common`) and returned as is on a
retry: the citizen's copy, its hash and its verification code never change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography import x509

from ..base import Connector, ConnectorRejected, HealthReport, operation
from ..registry import register
from .certs import load_certificate
from .common import ResultStore, SignRequest, check_keys, optional_str, required_str, signed_result
from .pades import InvalidPdf, load_signer, sample_pdf, sign_pdf_pades, verify_pdf

__all__ = ["LocalSigningConnector"]

_CONFIG_KEYS = frozenset({"pkcs12_path", "passphrase", "ca_cert_path", "cache_dir", "font_path"})


@register
class LocalSigningConnector(Connector):
    """PAdES signatures with a local PKCS#12 key.

    Config: ``pkcs12_path``, ``passphrase``, ``ca_cert_path`` (the root a verifier must
    trust; also embedded in signatures if the PKCS#12 file lacks it), ``cache_dir`` (results
    by idempotency key), optional ``font_path`` (TrueType font for visible signatures).
    The key is loaded at configuration time, so a wrong passphrase stops the start-up.
    """

    id = "local_signing"
    kind = "signing"
    title = "Ký số bằng khóa lưu trên máy chủ (PKCS#12)"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        check_keys(config, _CONFIG_KEYS)
        self.pkcs12_path = Path(required_str(config, "pkcs12_path"))
        passphrase = config.get("passphrase")
        if not isinstance(passphrase, str):
            raise ValueError("'passphrase' is required (a string, may be empty)")
        self.passphrase: str = passphrase
        self.ca_cert_path = Path(required_str(config, "ca_cert_path"))
        self.store = ResultStore(Path(required_str(config, "cache_dir")), "local")
        font = optional_str(config, "font_path")
        self.font_path = Path(font) if font else None
        try:
            self.ca_cert: x509.Certificate = load_certificate(self.ca_cert_path)
        except (OSError, ValueError) as exc:
            raise ValueError(f"'ca_cert_path': cannot read certificate: {exc}") from exc
        try:
            self.signer = load_signer(self.pkcs12_path, self.passphrase, ca_cert_path=self.ca_cert_path)
        except ValueError as exc:
            raise ValueError(f"'pkcs12_path': cannot open with the passphrase: {exc}") from exc

    @operation(
        waits_for_result=True,
        description=(
            "Ký số PAdES tài liệu PDF bằng khóa của cơ quan (payload: pdf_b64, reason, location, "
            "signer_title; kết quả: pdf_b64, sha256, verification_code, signer, signed_at)"
        ),
    )
    def sign_pdf(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Sign once per idempotency key; a retry returns the stored first result."""
        request = SignRequest.parse(payload)
        stored = self.store.load(idempotency_key)
        if stored is not None:
            if stored.get("input_sha256") != request.sha256:
                raise _key_reused()
            return dict(stored["result"])
        try:
            signed = sign_pdf_pades(
                request.pdf,
                self.signer,
                reason=request.reason,
                location=request.location,
                field_name=request.field_name,
                appearance_text=request.stamp_text,
                font_path=self.font_path,
            )
        except InvalidPdf as exc:
            raise ConnectorRejected(f"Không ký được tài liệu: {exc.message_vi}", detail=exc.detail) from exc
        report = verify_pdf(signed, [self.ca_cert])
        if not report.intact:  # never hand out a document that fails its own verification
            raise ConnectorRejected(
                "Tài liệu vừa ký không vượt qua kiểm tra chữ ký; không trả kết quả",
                detail="; ".join(report.errors),
            )
        result = signed_result(signed, report)
        self.store.save(idempotency_key, {"input_sha256": request.sha256, "result": result})
        return result

    def check_config(self) -> HealthReport:
        """Sign a sample page and verify it against the CA: proves key, chain and cache at once."""
        try:
            signer = load_signer(self.pkcs12_path, self.passphrase, ca_cert_path=self.ca_cert_path)
            ca_cert = load_certificate(self.ca_cert_path)
        except (OSError, ValueError) as exc:
            return HealthReport(ok=False, detail=f"Không mở được khóa hoặc chứng thư số: {exc}")
        cert = x509.load_der_x509_certificate(signer.signing_cert.dump())
        now = dt.datetime.now(dt.UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            until = cert.not_valid_after_utc.strftime("%d/%m/%Y")
            return HealthReport(ok=False, detail=f"Chứng thư số ký không còn hiệu lực (hết hạn {until})")
        try:
            signed = sign_pdf_pades(sample_pdf(), signer, reason="Kiểm tra cấu hình", location="")
        except InvalidPdf as exc:
            return HealthReport(ok=False, detail=f"Không ký thử được: {exc.message_vi}")
        report = verify_pdf(signed, [ca_cert])
        if not report.valid:
            return HealthReport(ok=False, detail="Chữ ký thử không hợp lệ: " + "; ".join(report.errors))
        if not self.store.writable():
            return HealthReport(
                ok=False, detail=f"Không ghi được vào thư mục lưu kết quả {self.store.directory}"
            )
        until = cert.not_valid_after_utc.strftime("%d/%m/%Y")
        return HealthReport(
            ok=True,
            detail=f"Ký thử thành công với chứng thư số của {report.signer_name} (hiệu lực đến {until})",
        )


def _key_reused() -> ConnectorRejected:
    return ConnectorRejected(
        "Khóa chống lặp (idempotency key) đã được dùng để ký một tài liệu khác",
        detail="idempotency key reused with a different PDF",
    )
