"""PAdES signatures on result PDFs, made with pyHanko: in one go, or interrupted for remote signing.

Two ways to sign, one PDF layout, so a citizen's viewer sees the same thing whatever signed:

* :func:`sign_pdf_pades` signs in one go with a key at hand (PKCS#12 in embedded mode);
* :func:`prepare_external_signature` / :func:`complete_external_signature` split the same
  operation around a remote signing service that only ever sees a hash: the PDF is written
  with a placeholder, the CMS *signed attributes* are built here, and their SHA-256 digest is
  what the official approves on their phone. The prepared state is plain data
  (:class:`PreparedSignature`), so it can be stored and the signature embedded later, in
  another process, when the approval arrives.

Signatures are PAdES baseline B-B (``ETSI.CAdES.detached``, SHA-256), B-T when a timestamper
is given. Verification (:func:`verify_pdf`) lives in :mod:`integrations.signing.verify` and
is re-exported here.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .appearance import STAMP_BOX, stamp_style
from .certs import to_asn1
from .verify import SignatureReport, VerificationReport, verify_pdf

__all__ = [
    "DEFAULT_FIELD_NAME",
    "InvalidPdf",
    "PreparedSignature",
    "SignatureReport",
    "VerificationReport",
    "complete_external_signature",
    "load_signer",
    "prepare_external_signature",
    "sample_pdf",
    "sign_hash",
    "sign_pdf_pades",
    "verify_pdf",
]

DEFAULT_FIELD_NAME = "Chu ky so"
_MD = "sha256"


class InvalidPdf(ValueError):
    """The bytes given to sign are not a PDF pyHanko can extend (or the field is taken).

    ``message_vi`` says what went wrong for an administrator; the connectors turn it into a
    permanent failure, since the same bytes will never become signable by retrying.
    """

    def __init__(self, message_vi: str, detail: str = "") -> None:
        super().__init__(f"{message_vi} ({detail})" if detail else message_vi)
        self.message_vi = message_vi
        self.detail = detail


class _PkcsSigner(signers.SimpleSigner):
    """pyHanko's signer, minus a real signature during the size estimate.

    ``SimpleSigner`` signs twice per document (the dry run that sizes the placeholder, then
    the real one), re-parsing and re-checking the RSA key each time; the dry run only
    needs the length of a signature, which a block of zeros has.
    """

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if dry_run:
            return bytes(_signature_size(self.signing_cert))
        return self.sign_raw(data, digest_algorithm)


def load_signer(
    pkcs12_path: Path | str, passphrase: str, *, ca_cert_path: Path | str | None = None
) -> signers.SimpleSigner:
    """The signer held in a PKCS#12 file; ``ValueError`` if the file or passphrase is wrong.

    ``ca_cert_path`` adds a CA certificate missing from the file, so the signature carries
    the whole chain and a verifier needs nothing but the root.
    """
    try:
        data = Path(pkcs12_path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read PKCS#12 file {pkcs12_path}: {exc}") from exc
    others = []
    if ca_cert_path is not None:
        try:
            others.append(to_asn1(Path(ca_cert_path).read_bytes()))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read CA certificate {ca_cert_path}: {exc}") from exc
    loaded = signers.SimpleSigner.load_pkcs12_data(data, others, passphrase=passphrase.encode("utf-8"))
    if loaded.signing_cert.public_key.algorithm != "rsa":
        raise ValueError("only RSA keys are supported")
    return _PkcsSigner(
        signing_cert=loaded.signing_cert, signing_key=loaded.signing_key, cert_registry=loaded.cert_registry
    )


def sign_pdf_pades(
    pdf: bytes,
    signer: signers.Signer,
    *,
    reason: str,
    location: str,
    field_name: str = DEFAULT_FIELD_NAME,
    appearance_text: str | None = None,
    timestamper: TimeStamper | None = None,
    font_path: Path | None = None,
) -> bytes:
    """Sign ``pdf`` (PAdES B-B, or B-T with a ``timestamper``) and return the signed bytes.

    The signature is added as an incremental update, so the original bytes stay untouched
    inside the result. With ``appearance_text`` the signature is visible at the bottom right
    of the last page (the text, then signer and time); without, it is invisible, which is
    what a result PDF that already prints the signer's block wants.
    """
    writer = _open(pdf)
    pdf_signer = _pdf_signer(signer, reason, location, field_name, appearance_text, font_path, timestamper)
    try:
        output = pdf_signer.sign_pdf(writer)
    except (SigningError, PdfError) as exc:
        raise InvalidPdf("Không ký được tài liệu PDF", str(exc)) from exc
    return output.getvalue()


def sample_pdf(text: str = "KET QUA GIAI QUYET THU TUC HANH CHINH") -> bytes:
    """A one-page PDF with ``text`` (ASCII) in an uncompressed content stream.

    What ``check_config`` signs to prove a key works end to end, and what tests and drills
    sign; the uncompressed stream lets a test change one visible byte on purpose.
    """
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
            }
        )
    )
    escaped = text.encode("ascii").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    content = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 14 Tf 72 760 Td (" + escaped + b") Tj ET")
    )
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 595, 842)]),
            pdf_name("/Resources"): generic.DictionaryObject(
                {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
            ),
            pdf_name("/Contents"): content,
        }
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# -- interrupted signing (remote signing by hash) ----------------------------------------------


@dataclass(frozen=True)
class PreparedSignature:
    """A PDF waiting for its signature: everything needed to finish later, as plain data.

    ``hash_to_sign`` is the SHA-256 of the DER signed attributes, the only thing a remote
    service sees; the official's RSA key signs that (PKCS#1 v1.5 over the pre-hashed
    value) and :func:`complete_external_signature` embeds the result.
    """

    pdf: bytes  # the document with an empty /Contents placeholder
    document_digest: bytes
    reserved_region_start: int
    reserved_region_end: int
    signed_attrs: bytes  # DER of the CMS SignedAttributes (SET OF Attribute)
    certificate: bytes  # DER of the signer's certificate
    chain: tuple[bytes, ...]  # DER of the other certificates to embed

    @property
    def hash_to_sign(self) -> bytes:
        return _sha256(self.signed_attrs)

    def to_json(self) -> dict[str, Any]:
        b64 = _b64
        return {
            "pdf": b64(self.pdf),
            "document_digest": b64(self.document_digest),
            "reserved_region": [self.reserved_region_start, self.reserved_region_end],
            "signed_attrs": b64(self.signed_attrs),
            "certificate": b64(self.certificate),
            "chain": [b64(c) for c in self.chain],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreparedSignature:
        unb64 = base64.b64decode
        start, end = data["reserved_region"]
        return cls(
            pdf=unb64(data["pdf"]),
            document_digest=unb64(data["document_digest"]),
            reserved_region_start=int(start),
            reserved_region_end=int(end),
            signed_attrs=unb64(data["signed_attrs"]),
            certificate=unb64(data["certificate"]),
            chain=tuple(unb64(c) for c in data["chain"]),
        )


def prepare_external_signature(
    pdf: bytes,
    certificate: x509.Certificate | bytes,
    chain: Iterable[x509.Certificate | bytes] = (),
    *,
    reason: str,
    location: str,
    field_name: str = DEFAULT_FIELD_NAME,
    appearance_text: str | None = None,
    font_path: Path | None = None,
) -> PreparedSignature:
    """Write ``pdf`` with a signature placeholder and compute the hash the signer must sign."""
    signing_cert = to_asn1(certificate)
    chain_certs = [to_asn1(c) for c in chain]
    ext_signer = _external_signer(signing_cert, chain_certs, None)
    pdf_signer = _pdf_signer(ext_signer, reason, location, field_name, appearance_text, font_path, None)
    writer = _open(pdf)

    async def prepare() -> tuple[PreparedByteRangeDigest, cms.CMSAttributes, bytes]:
        digest, _tbs, output = await pdf_signer.async_digest_doc_for_signing(writer)
        attrs = await ext_signer.signed_attrs(digest.document_digest, _MD, use_pades=True)
        return digest, attrs, output.getvalue()

    try:
        digest, attrs, prepared = asyncio.run(prepare())
    except (SigningError, PdfError) as exc:
        raise InvalidPdf("Không chuẩn bị được tài liệu PDF để ký", str(exc)) from exc
    return PreparedSignature(
        pdf=prepared,
        document_digest=digest.document_digest,
        reserved_region_start=digest.reserved_region_start,
        reserved_region_end=digest.reserved_region_end,
        signed_attrs=attrs.dump(),
        certificate=signing_cert.dump(),
        chain=tuple(c.dump() for c in chain_certs),
    )


def complete_external_signature(prepared: PreparedSignature, signature_value: bytes) -> bytes:
    """Embed a raw signature over ``prepared.hash_to_sign``; returns the signed PDF.

    The value is checked against the certificate's public key first: a wrong signature
    embedded would give the citizen a document that fails verification, which is worse
    than no document (``ValueError`` then).
    """
    cert = x509.load_der_x509_certificate(prepared.certificate)
    _check_raw_signature(cert, signature_value, prepared.hash_to_sign)
    ext_signer = _external_signer(
        to_asn1(prepared.certificate), [to_asn1(c) for c in prepared.chain], signature_value
    )
    signed_attrs = cms.CMSAttributes.load(prepared.signed_attrs)
    signature_cms = asyncio.run(ext_signer.async_sign_prescribed_attributes(_MD, signed_attrs))
    output = io.BytesIO(prepared.pdf)
    digest = PreparedByteRangeDigest(
        document_digest=prepared.document_digest,
        reserved_region_start=prepared.reserved_region_start,
        reserved_region_end=prepared.reserved_region_end,
    )
    digest.fill_with_cms(output, signature_cms)
    return output.getvalue()


def sign_hash(private_key: Any, digest: bytes) -> bytes:
    """What a signing device does with a SHA-256 digest: RSA PKCS#1 v1.5 over the pre-hashed value.

    RSA only, like the certificates Vietnamese CAs issue for document signing; used by the
    remote-signing simulator.
    """
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(f"unsupported key type {type(private_key).__name__} (RSA expected)")
    return private_key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


# -- internals ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sha256(data: bytes) -> bytes:
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize()


def _open(pdf: bytes) -> IncrementalPdfFileWriter:
    if not isinstance(pdf, bytes | bytearray) or not bytes(pdf[:1024]).lstrip().startswith(b"%PDF-"):
        raise InvalidPdf("Dữ liệu không phải là tệp PDF")
    try:
        return IncrementalPdfFileWriter(io.BytesIO(bytes(pdf)), strict=False)
    except (PdfError, ValueError, KeyError, IndexError) as exc:
        raise InvalidPdf("Tệp PDF bị hỏng, không đọc được", str(exc)) from exc


def _external_signer(
    cert: asn1_x509.Certificate, chain: Sequence[asn1_x509.Certificate], value: bytes | None
) -> signers.ExternalSigner:
    registry = SimpleCertificateStore()
    registry.register_multiple(chain)
    # The placeholder must be as long as the real signature for the size estimate.
    size = value if value is not None else _signature_size(cert)
    return signers.ExternalSigner(signing_cert=cert, cert_registry=registry, signature_value=size)


def _signature_size(cert: asn1_x509.Certificate) -> int:
    public_key = x509.load_der_x509_certificate(cert.dump()).public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError(f"unsupported key type {type(public_key).__name__} (RSA expected)")
    return (public_key.key_size + 7) // 8


def _check_raw_signature(cert: x509.Certificate, signature: bytes, digest: bytes) -> None:
    public_key = cert.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError(f"unsupported key type {type(public_key).__name__} (RSA expected)")
    try:
        public_key.verify(signature, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ValueError("the signature does not match the certificate and the hash") from exc


def _pdf_signer(
    signer: signers.Signer,
    reason: str,
    location: str,
    field_name: str,
    appearance_text: str | None,
    font_path: Path | None,
    timestamper: TimeStamper | None,
) -> signers.PdfSigner:
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=_MD,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
    )
    if appearance_text is None:
        return signers.PdfSigner(
            meta,
            signer=signer,
            timestamper=timestamper,
            new_field_spec=fields.SigFieldSpec(sig_field_name=field_name),
        )
    return signers.PdfSigner(
        meta,
        signer=signer,
        timestamper=timestamper,
        stamp_style=stamp_style(appearance_text, font_path),
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name, box=STAMP_BOX, on_page=-1),
    )
