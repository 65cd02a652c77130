"""Certificates in the two shapes our libraries want (``cryptography``, asn1crypto for pyHanko), and keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

__all__ = ["Credential", "load_certificate", "to_asn1"]


def load_certificate(path: Path | str) -> x509.Certificate:
    """Read a PEM or DER certificate file."""
    data = Path(path).read_bytes()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def to_asn1(cert: x509.Certificate | asn1_x509.Certificate | bytes) -> asn1_x509.Certificate:
    """pyHanko speaks asn1crypto, the rest of us ``cryptography``: accept either (or DER/PEM bytes)."""
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if isinstance(cert, bytes):
        if b"-----BEGIN" in cert:
            cert = x509.load_pem_x509_certificate(cert).public_bytes(serialization.Encoding.DER)
        return asn1_x509.Certificate.load(cert)
    raise TypeError(f"not a certificate: {type(cert).__name__}")


@dataclass(frozen=True)
class Credential:
    """An official's RSA key with its certificate and chain, as a signing service or device holds them."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_pkcs12(cls, path: Path, passphrase: str) -> Credential:
        key, cert, extra = pkcs12.load_key_and_certificates(
            Path(path).read_bytes(), passphrase.encode("utf-8")
        )
        if not isinstance(key, rsa.RSAPrivateKey) or cert is None:
            raise ValueError(f"{path}: an RSA key with its certificate is required")
        return cls(private_key=key, certificate=cert, chain=tuple(extra))
