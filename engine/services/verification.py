"""Public verification of signed results: anyone holding a PDF (or just its verification code)
learns who signed it, when, and whether it is intact. No account needed; nothing personal shown
beyond what the signed document itself says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from sqlalchemy import select

from engine.context import EngineContext
from engine.errors import InvalidInput, NotFound
from engine.models import Attachment, Dossier

MAX_PDF_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class VerificationView:
    signed: bool
    intact: bool
    trusted: bool
    valid: bool
    signer_name: str | None
    signer_organisation: str | None
    signed_at: datetime | None
    reason: str | None
    errors: list[str]
    verification_code: str
    dossier_code: str | None = None


def trust_roots(ctx: EngineContext) -> list[x509.Certificate]:
    """The roots we vouch for: the CA files configured for the signing connectors (the provincial
    or national CA in production, the test CA in embedded mode)."""
    roots = []
    for name in ("local_signing", "remote_signing"):
        path = (ctx.settings.connectors.get(name) or {}).get("ca_cert_path")
        if path and Path(path).exists():
            data = Path(path).read_bytes()
            roots.append(x509.load_pem_x509_certificate(data) if b"BEGIN" in data else x509.load_der_x509_certificate(data))
    return roots


def _view(report: Any, dossier_code: str | None = None) -> VerificationView:
    return VerificationView(report.signed, report.intact, report.trusted, report.valid, report.signer_name,
                            report.signer_organisation, report.signed_at, report.reason, list(report.errors),
                            report.verification_code, dossier_code)


def verify_upload(ctx: EngineContext, pdf: bytes) -> VerificationView:
    from integrations.signing import verify_pdf

    if not pdf:
        raise InvalidInput({"file": ["Vui lòng chọn tệp PDF cần kiểm tra."]})
    if len(pdf) > MAX_PDF_BYTES:
        raise InvalidInput({"file": ["Tệp quá lớn (tối đa 20 MB)."]})
    return _view(verify_pdf(pdf, trust_roots(ctx)))


def verify_code(ctx: EngineContext, code: str) -> VerificationView:
    """Look the signed file up by the code printed on it, and verify what we stored."""
    from integrations.signing import normalise_verification_code, verify_pdf

    normalised = normalise_verification_code(code or "")
    if normalised is None:
        raise InvalidInput({"code": ["Mã xác thực gồm 12 ký tự, ví dụ 04HM-ASW9-NF6Y."]})
    with ctx.sessions() as session:
        row = session.execute(select(Attachment, Dossier.code).join(Dossier, Dossier.id == Attachment.dossier_id)
                              .where(Attachment.verification_code == normalised)).first()
    if row is None:
        raise NotFound(f"verification code {normalised}", message_vi="Không tìm thấy văn bản có mã xác thực này.")
    attachment, dossier_code = row
    pdf = ctx.files.open(attachment.sha256)
    return _view(verify_pdf(pdf, trust_roots(ctx)), dossier_code)
