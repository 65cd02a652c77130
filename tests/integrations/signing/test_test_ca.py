"""The throw-away CA of embedded mode: what it writes, how it protects it, and that it reuses it."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from integrations.signing.test_ca import DEFAULT_SIGNER_NAME, create_test_ca


def _name(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    return str(cert.subject.get_attributes_for_oid(oid)[0].value)


def test_the_signer_certificate_names_the_official_and_the_agency(tmp_path):
    ca = create_test_ca(tmp_path, organisation="UBND Tỉnh Demo")

    _key, cert, extra = pkcs12.load_key_and_certificates(ca.pkcs12_path.read_bytes(), ca.passphrase.encode())

    assert _name(cert, NameOID.COMMON_NAME) == DEFAULT_SIGNER_NAME == "Nguyễn Văn An"
    assert _name(cert, NameOID.ORGANIZATION_NAME) == "UBND Tỉnh Demo"
    assert cert.issuer == ca.ca_certificate().subject
    cert.verify_directly_issued_by(ca.ca_certificate())
    assert [c.subject for c in extra] == [ca.ca_certificate().subject]
    assert ca.ca_certificate().extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_pkcs12_file_cannot_be_opened_without_the_passphrase(tmp_path):
    ca = create_test_ca(tmp_path)

    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(ca.pkcs12_path.read_bytes(), b"wrong")
    with pytest.raises((ValueError, TypeError)):
        pkcs12.load_key_and_certificates(ca.pkcs12_path.read_bytes(), None)


def test_every_file_is_readable_by_its_owner_only(tmp_path):
    ca = create_test_ca(tmp_path / "ca")
    ca.issue_signer("other", "Lê Văn Cường")

    files = sorted(p for p in ca.directory.iterdir())
    assert {p.name for p in files} == {"ca.pem", "ca-key.pem", "passphrase.txt", "signer.p12", "other.p12"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(ca.directory.stat().st_mode) == 0o700


def test_a_second_call_reuses_the_files_it_finds(tmp_path):
    first = create_test_ca(tmp_path)
    contents = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    second = create_test_ca(tmp_path)

    assert second == first
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == contents


def test_a_lost_signer_file_is_issued_again_by_the_same_ca(tmp_path):
    ca = create_test_ca(tmp_path)
    ca_pem = ca.ca_cert_path.read_bytes()
    ca.pkcs12_path.unlink()

    again = create_test_ca(tmp_path)

    assert again.ca_cert_path.read_bytes() == ca_pem
    _key, cert, _extra = pkcs12.load_key_and_certificates(
        again.pkcs12_path.read_bytes(), again.passphrase.encode()
    )
    cert.verify_directly_issued_by(again.ca_certificate())


def test_a_lost_ca_key_replaces_the_ca_and_its_signers(tmp_path):
    ca = create_test_ca(tmp_path)
    old_signer = ca.pkcs12_path.read_bytes()
    ca.ca_key_path.unlink()

    again = create_test_ca(tmp_path)

    assert again.ca_key_path.exists()
    assert again.pkcs12_path.read_bytes() != old_signer
    _key, cert, _extra = pkcs12.load_key_and_certificates(
        again.pkcs12_path.read_bytes(), again.passphrase.encode()
    )
    cert.verify_directly_issued_by(again.ca_certificate())


def test_signer_slugs_cannot_escape_the_directory(tmp_path):
    ca = create_test_ca(tmp_path)

    with pytest.raises(ValueError):
        ca.issue_signer("../outside", "Ai Đó")
