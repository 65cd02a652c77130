"""A throw-away certification authority for embedded mode, demos and tests.

Production signs with keys issued by a licensed CA (or a remote-signing service); an
embedded installation still needs *some* key to sign result PDFs with, and the test suite
needs certificates it can trust or distrust at will. This module makes both with
``cryptography``: a root CA and, per official, a PKCS#12 file protected by a passphrase.

Nothing here is ever committed: the engine calls :func:`create_test_ca` at setup into its
data directory. The call is idempotent (files that exist and are still valid are reused, so
signatures made yesterday still verify against today's CA) and every file is written with
mode 0600, because a private key readable by other local users is a key anyone can sign with.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .certs import load_certificate

__all__ = ["DEFAULT_SIGNER_NAME", "DEFAULT_SIGNER_TITLE", "TestCA", "create_test_ca", "load_certificate"]

DEFAULT_SIGNER_NAME = "Nguyễn Văn An"
DEFAULT_SIGNER_TITLE = "Chủ tịch"

_CA_CERT, _CA_KEY, _PASSPHRASE = "ca.pem", "ca-key.pem", "passphrase.txt"
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
#: A signer certificate expiring sooner than this is re-issued instead of reused.
_MIN_REMAINING = dt.timedelta(days=7)


@dataclass(frozen=True)
class TestCA:
    """Where the files of a test CA are, and what the default signer is called."""

    __test__ = False  # not a pytest test class, whatever its name says

    directory: Path
    ca_cert_path: Path
    ca_key_path: Path
    pkcs12_path: Path
    passphrase: str
    organisation: str
    signer_name: str

    def ca_certificate(self) -> x509.Certificate:
        """The root certificate (what a verifier must trust)."""
        return load_certificate(self.ca_cert_path)

    def issue_signer(self, slug: str, common_name: str, *, title: str | None = None) -> Path:
        """PKCS#12 file ``<slug>.p12`` for another official, issued by this CA (reused if present).

        Protected by the same passphrase as the default signer's file; the remote-signing
        simulator uses this to hold a key of its own.
        """
        if not _SLUG.fullmatch(slug):
            raise ValueError(f"signer slug must match {_SLUG.pattern}, got {slug!r}")
        path = self.directory / f"{slug}.p12"
        ca_cert = self.ca_certificate()
        if not _pkcs12_usable(path, self.passphrase, ca_cert):
            ca_key = serialization.load_pem_private_key(
                self.ca_key_path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
            )
            if not isinstance(ca_key, rsa.RSAPrivateKey):
                raise ValueError(f"{self.ca_key_path} does not hold an RSA key")
            _write_signer(path, self.passphrase, ca_cert, ca_key, common_name, self.organisation, title)
        return path

    def local_signing_config(self, cache_dir: Path) -> dict[str, str]:
        """Settings of the ``local_signing`` connector for the default signer."""
        return {
            "pkcs12_path": str(self.pkcs12_path),
            "passphrase": self.passphrase,
            "ca_cert_path": str(self.ca_cert_path),
            "cache_dir": str(cache_dir),
        }


def create_test_ca(
    directory: Path,
    *,
    organisation: str = "Tỉnh Demo",
    signer_name: str = DEFAULT_SIGNER_NAME,
    signer_title: str = DEFAULT_SIGNER_TITLE,
) -> TestCA:
    """Create (or reuse) a root CA and a PKCS#12 signer certificate in ``directory``.

    The signer's certificate names the official (CN, Vietnamese) and the agency (O); the
    PKCS#12 file carries the CA certificate too, so a signer loaded from it can embed the
    whole chain in its signatures.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    ca_cert_path, ca_key_path = directory / _CA_CERT, directory / _CA_KEY
    passphrase_path, pkcs12_path = directory / _PASSPHRASE, directory / "signer.p12"

    if not passphrase_path.exists():
        _write_private(passphrase_path, secrets.token_urlsafe(18).encode("ascii"))
    passphrase = passphrase_path.read_text("ascii").strip()

    ca_cert = _existing_ca(ca_cert_path, ca_key_path)
    if ca_cert is None:
        ca_cert = _write_ca(ca_cert_path, ca_key_path, organisation)
        pkcs12_path.unlink(missing_ok=True)  # issued by a CA that no longer exists
    ca = TestCA(
        directory=directory,
        ca_cert_path=ca_cert_path,
        ca_key_path=ca_key_path,
        pkcs12_path=pkcs12_path,
        passphrase=passphrase,
        organisation=_name_value(ca_cert.subject, NameOID.ORGANIZATION_NAME) or organisation,
        signer_name=signer_name,
    )
    ca.issue_signer("signer", signer_name, title=signer_title)
    return ca


# -- internals -----------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only, atomically (never half a key)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    os.chmod(path, 0o600)


def _name_value(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    return str(attrs[0].value) if attrs else None


def _existing_ca(cert_path: Path, key_path: Path) -> x509.Certificate | None:
    """The CA certificate if both files exist, match and remain valid for a while."""
    if not (cert_path.exists() and key_path.exists()):
        return None
    try:
        cert = load_certificate(cert_path)
        # Our own key file (0600): the expensive RSA consistency check buys nothing here.
        key = serialization.load_pem_private_key(
            key_path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except ValueError:
        return None
    if key.public_key() != cert.public_key() or cert.not_valid_after_utc - _now() < _MIN_REMAINING:
        return None
    return cert


def _write_ca(cert_path: Path, key_path: Path, organisation: str) -> x509.Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, f"CA thử nghiệm motcua - {organisation}"),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert


def _pkcs12_usable(path: Path, passphrase: str, ca_cert: x509.Certificate) -> bool:
    """Whether ``path`` opens with the passphrase, was issued by ``ca_cert`` and is still valid."""
    if not path.exists():
        return False
    try:
        _key, cert, _extra = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase.encode("utf-8"))
    except ValueError:
        return False
    if cert is None or cert.issuer != ca_cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return cert.not_valid_after_utc - _now() >= _MIN_REMAINING


def _write_signer(
    path: Path,
    passphrase: str,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    common_name: str,
    organisation: str,
    title: str | None,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        common_name.encode("utf-8"),
        key,
        cert,
        [ca_cert],
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
    _write_private(path, data)
