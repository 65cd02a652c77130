"""The visible signature box: Vietnamese text with a Unicode font, readable text without one."""

from __future__ import annotations

import datetime as dt

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fontTools.ttLib import TTFont
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from integrations.signing.appearance import _usable_font, _without_marks, stamp_style
from integrations.signing.certs import to_asn1
from integrations.signing.pades import load_signer, sign_pdf_pades, verify_pdf


def test_the_stamp_font_is_rescaled_to_the_thousand_units_pyhanko_assumes():
    font = _usable_font(None)

    assert font is not None, "DejaVu Sans (fonts-dejavu-core) is expected on this machine"
    loaded = TTFont(str(font))
    assert loaded["head"].unitsPerEm == 1000
    assert ord("ữ") in loaded.getBestCmap()


def test_without_a_usable_font_the_text_loses_its_marks_but_not_its_words(tmp_path):
    style = stamp_style("Chủ tịch UBND Đà Nẵng", font_path=tmp_path / "missing.ttf")

    assert _without_marks("Chủ tịch UBND Đà Nẵng 100%") == "Chu tich UBND Da Nang 100%"
    assert style.stamp_text.splitlines() == [
        "Chu tich UBND Da Nang",
        "Ky boi: %(signer)s",
        "Thoi gian ky: %(ts)s",
    ]


def test_percent_signs_in_the_text_are_not_taken_for_placeholders(pdf, ca, tmp_path):
    signer = load_signer(ca.pkcs12_path, ca.passphrase)

    signed = sign_pdf_pades(pdf, signer, reason="Ký", location="", appearance_text="Giảm 50% lệ phí")

    assert verify_pdf(signed, [ca.ca_certificate()]).valid


def test_a_timestamped_signature_reports_the_time_of_the_timestamp_authority(pdf, ca):
    """PAdES B-T: with a timestamper the signing time is the TSA's, not the signer's clock."""
    ca_key = serialization.load_pem_private_key(ca.ca_key_path.read_bytes(), password=None)
    tsa_key = ca_key  # a test TSA may share the CA's key; only its certificate's purpose matters
    now = dt.datetime.now(dt.UTC)
    tsa_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TSA thử nghiệm")]))
        .issuer_name(ca.ca_certificate().subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    fixed = (now - dt.timedelta(minutes=1)).replace(microsecond=0)
    key_info = asn1_keys.PrivateKeyInfo.load(
        tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    timestamper = DummyTimeStamper(tsa_cert=to_asn1(tsa_cert), tsa_key=key_info, fixed_dt=fixed)
    signer = load_signer(ca.pkcs12_path, ca.passphrase)

    signed = sign_pdf_pades(pdf, signer, reason="Ký", location="", timestamper=timestamper)

    report = verify_pdf(signed, [ca.ca_certificate()])
    assert report.valid, report.errors
    assert report.fields[0].timestamped
    assert report.signed_at == fixed
