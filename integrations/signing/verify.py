"""Checking a signed PDF, for the public verification page and API.

A citizen (or the agency receiving the document) uploads a PDF, or types its verification
code, and wants three answers: who signed, when, and whether the document is still what was
signed. :func:`verify_pdf` asks pyHanko's validator and turns its answer into a
:class:`VerificationReport` with Vietnamese explanations.

"Intact" here is stricter than pyHanko's cryptographic ``intact`` flag: a signature over an
earlier revision stays cryptographically intact when someone appends content in an
incremental update, yet the document the citizen holds is no longer what was signed. So a
signature counts as intact only if it covers the whole file, or if what came after it is
limited to further signatures and form filling (pyHanko's difference analysis decides).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .certs import to_asn1
from .codes import verification_code

__all__ = ["SignatureReport", "VerificationReport", "verify_pdf"]

log = logging.getLogger(__name__)

#: What may follow a signature without the document counting as changed: more signatures,
#: form filling, validation data.
_ACCEPTABLE_LATER = ModificationLevel.FORM_FILLING

_TRUST_PROBLEMS_VI = {
    "REVOKED": "chứng thư số của người ký đã bị thu hồi",
    "REVOKED_NO_POE": "chứng thư số của người ký đã bị thu hồi",
    "REVOKED_CA_NO_POE": "chứng thư số của tổ chức cấp đã bị thu hồi",
    "EXPIRED": "chứng thư số của người ký đã hết hạn",
    "OUT_OF_BOUNDS_NO_POE": "chữ ký được tạo ngoài thời hạn hiệu lực của chứng thư số",
    "OUT_OF_BOUNDS_NOT_REVOKED": "chữ ký được tạo ngoài thời hạn hiệu lực của chứng thư số",
    "NOT_YET_VALID": "chứng thư số của người ký chưa có hiệu lực",
    "NO_CERTIFICATE_CHAIN_FOUND": "chứng thư số của người ký không do tổ chức chứng thực tin cậy cấp",
}
_UNTRUSTED_VI = "chứng thư số của người ký không do tổ chức chứng thực tin cậy cấp"


@dataclass(frozen=True)
class SignatureReport:
    """One signature field of the document and what was found about it."""

    field_name: str
    signer_name: str | None
    signer_organisation: str | None
    signer_title: str | None
    signed_at: dt.datetime | None
    timestamped: bool
    reason: str | None
    location: str | None
    intact: bool
    trusted: bool
    covers_whole_file: bool
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VerificationReport:
    """The answer of the verification page; the top-level values summarise all signatures.

    ``signer_*``, ``signed_at`` and ``reason`` are those of the last signature (the one
    a result PDF gets when it is issued); ``intact`` and ``trusted`` hold only if they hold
    for every signature. ``errors`` are Vietnamese sentences for the citizen.
    """

    signed: bool
    intact: bool
    trusted: bool
    signer_name: str | None
    signer_organisation: str | None
    signed_at: dt.datetime | None
    reason: str | None
    fields: list[SignatureReport]
    errors: list[str]
    sha256: str
    verification_code: str

    @property
    def valid(self) -> bool:
        """Signed, unchanged since, by someone a trusted CA vouches for."""
        return self.signed and self.intact and self.trusted

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form for the REST API (times in ISO 8601)."""
        data = asdict(self)
        data["valid"] = self.valid
        data["signed_at"] = _iso(self.signed_at)
        for item in data["fields"]:
            item["signed_at"] = _iso(item["signed_at"])
        return data


def verify_pdf(
    pdf: bytes,
    trust_roots: Iterable[x509.Certificate | asn1_x509.Certificate | bytes],
    *,
    allow_fetching: bool = False,
) -> VerificationReport:
    """Validate every signature of ``pdf`` against ``trust_roots``; never raises on bad input.

    ``allow_fetching`` lets the validator download revocation data (OCSP/CRL) named in the
    certificates; off by default so that the page answers without outside calls.
    """
    digest = hashlib.sha256(pdf).hexdigest() if isinstance(pdf, bytes | bytearray) else ""
    roots = [to_asn1(cert) for cert in trust_roots]

    def report(fields: list[SignatureReport], errors: list[str]) -> VerificationReport:
        last = fields[-1] if fields else None
        return VerificationReport(
            signed=bool(fields),
            intact=bool(fields) and all(f.intact for f in fields),
            trusted=bool(fields) and all(f.trusted for f in fields),
            signer_name=last.signer_name if last else None,
            signer_organisation=last.signer_organisation if last else None,
            signed_at=last.signed_at if last else None,
            reason=last.reason if last else None,
            fields=fields,
            errors=errors,
            sha256=digest,
            verification_code=verification_code(digest) if digest else "",
        )

    try:
        if not digest or not bytes(pdf[:1024]).lstrip().startswith(b"%PDF-"):
            raise PdfError("no PDF header")
        signatures = PdfFileReader(io.BytesIO(bytes(pdf)), strict=False).embedded_signatures
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        log.info("verification: unreadable PDF (%s)", exc)
        return report([], ["Tệp không phải là tài liệu PDF hợp lệ hoặc đã bị hỏng"])
    if not signatures:
        return report([], ["Tài liệu không có chữ ký số"])

    fields = []
    for embedded in signatures:
        context = ValidationContext(trust_roots=roots, allow_fetching=allow_fetching)
        name = str(embedded.field_name)
        try:
            status = validate_pdf_signature(embedded, context)
        except Exception as exc:  # malformed CMS data raises assorted errors; the page must answer
            log.info("verification: signature %r unreadable: %r", name, exc)
            fields.append(_unreadable(name, embedded.sig_object))
            continue
        fields.append(_field_report(name, embedded.sig_object, status))
    errors = [error for f in fields for error in f.errors]
    return report(fields, errors)


# -- internals ---------------------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(sig_object: Any, key: str) -> str | None:
    value = sig_object.get(key)
    return str(value) if value is not None else None


def _subject(cert: asn1_x509.Certificate) -> dict[str, str]:
    return {k: str(v) for k, v in cert.subject.native.items() if isinstance(v, str)}


def _unreadable(name: str, sig_object: Any) -> SignatureReport:
    return SignatureReport(
        field_name=name,
        signer_name=None,
        signer_organisation=None,
        signer_title=None,
        signed_at=None,
        timestamped=False,
        reason=_text(sig_object, "/Reason"),
        location=_text(sig_object, "/Location"),
        intact=False,
        trusted=False,
        covers_whole_file=False,
        errors=[f"Chữ ký '{name}': không đọc được dữ liệu chữ ký số (dữ liệu bị hỏng hoặc bị sửa)"],
    )


def _field_report(name: str, sig_object: Any, status: PdfSignatureStatus) -> SignatureReport:
    errors: list[str] = []
    crypto_ok = status.intact and status.valid
    if not status.intact:
        errors.append(
            f"Chữ ký '{name}': nội dung tài liệu đã bị thay đổi sau khi ký (mã băm không khớp với chữ ký)"
        )
    elif not status.valid:
        errors.append(f"Chữ ký '{name}': giá trị chữ ký số không hợp lệ")

    whole_file = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    later_ok = whole_file
    if not whole_file:
        level = status.modification_level
        later_ok = (
            status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and bool(status.docmdp_ok)
            and level is not None
            and level <= _ACCEPTABLE_LATER
        )
        if not later_ok and status.coverage == SignatureCoverageLevel.ENTIRE_REVISION:
            errors.append(f"Chữ ký '{name}': tài liệu đã bị sửa đổi (thêm hoặc thay nội dung) sau khi ký")
        elif not later_ok:
            errors.append(f"Chữ ký '{name}' không bao phủ toàn bộ tài liệu")

    trusted = bool(status.trusted)
    if crypto_ok and not trusted:
        problem = status.trust_problem_indic
        text = _TRUST_PROBLEMS_VI.get(getattr(problem, "name", ""), _UNTRUSTED_VI)
        errors.append(f"Chữ ký '{name}': {text}")

    subject = _subject(status.signing_cert)
    timestamp = status.timestamp_validity
    signed_at = timestamp.timestamp if timestamp is not None else status.signer_reported_dt
    return SignatureReport(
        field_name=name,
        signer_name=subject.get("common_name"),
        signer_organisation=subject.get("organization_name"),
        signer_title=subject.get("title"),
        signed_at=signed_at,
        timestamped=timestamp is not None,
        reason=_text(sig_object, "/Reason"),
        location=_text(sig_object, "/Location"),
        intact=crypto_ok and later_ok,
        trusted=trusted and crypto_ok,
        covers_whole_file=whole_file,
        errors=errors,
    )
