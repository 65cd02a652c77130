"""The local_signing connector: PKCS#12 key, results verified by pyHanko, one signature per key."""

from __future__ import annotations

import base64
import hashlib

import pytest

from integrations import ConnectorRejected
from integrations.registry import ConnectorRegistry
from integrations.signing.codes import verification_code
from integrations.signing.local import LocalSigningConnector
from integrations.signing.pades import sample_pdf, verify_pdf


def payload(pdf_b64: str, /, **overrides):
    data = {
        "pdf_b64": pdf_b64,
        "reason": "Ký kết quả giải quyết hồ sơ 000.00.01.H99-250812-00042",
        "location": "UBND xã Demo",
        "signer_title": "CHỦ TỊCH",
    }
    data.update(overrides)
    return data


def test_sign_pdf_returns_a_signed_pdf_that_verifies_with_pyhanko(local_connector, pdf_b64, ca):
    connector = local_connector()

    result = connector.call("sign_pdf", payload(pdf_b64), idempotency_key="dossier-42/sign")

    signed = base64.b64decode(result["pdf_b64"])
    report = verify_pdf(signed, [ca.ca_certificate()])
    assert report.valid, report.errors
    assert report.reason == "Ký kết quả giải quyết hồ sơ 000.00.01.H99-250812-00042"
    assert result["sha256"] == hashlib.sha256(signed).hexdigest()
    assert result["verification_code"] == verification_code(result["sha256"]) == report.verification_code
    assert result["signer"] == "Nguyễn Văn An"
    assert result["signer_organisation"] == "UBND Tỉnh Demo"
    assert result["signed_at"] == report.signed_at.isoformat()


def test_the_same_idempotency_key_returns_the_same_signed_bytes(local_connector, pdf_b64):
    connector = local_connector()

    first = connector.call("sign_pdf", payload(pdf_b64), idempotency_key="dossier-42/sign")
    again = local_connector().call("sign_pdf", payload(pdf_b64), idempotency_key="dossier-42/sign")
    other = connector.call("sign_pdf", payload(pdf_b64), idempotency_key="dossier-43/sign")

    assert again == first
    assert other["sha256"] != first["sha256"]


def test_an_idempotency_key_cannot_be_reused_for_another_document(local_connector, pdf_b64):
    connector = local_connector()
    connector.call("sign_pdf", payload(pdf_b64), idempotency_key="k")
    other = base64.b64encode(sample_pdf("ANOTHER DOCUMENT")).decode()

    with pytest.raises(ConnectorRejected, match="đã được dùng"):
        connector.call("sign_pdf", payload(other), idempotency_key="k")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pdf_b64": "không phải base64"}, "base64"),
        ({"pdf_b64": base64.b64encode(b"hello").decode()}, "không phải là tệp PDF"),
        ({"pdf_b64": base64.b64encode(b"%PDF-1.7 broken").decode()}, "PDF"),
        ({"reason": ""}, "reason"),
        ({"signer_title": 7}, "signer_title"),
        ({"field_name": "a.b"}, "field_name"),
        ({"colour": "đỏ"}, "colour"),
    ],
)
def test_an_invalid_payload_is_rejected_permanently(local_connector, pdf_b64, overrides, message):
    with pytest.raises(ConnectorRejected, match=message) as info:
        local_connector().call("sign_pdf", payload(pdf_b64, **overrides), idempotency_key="k")
    assert "không" in info.value.message_vi.lower() or "thiếu" in info.value.message_vi.lower()


def test_a_wrong_configuration_is_refused_when_configured(local_connector, ca, tmp_path):
    with pytest.raises(ValueError, match="passphrase"):
        local_connector(passphrase="sai mật khẩu")
    with pytest.raises(ValueError, match="unknown setting"):
        local_connector(timestamp_url="http://tsa")
    with pytest.raises(ValueError, match="ca_cert_path"):
        local_connector(ca_cert_path=str(tmp_path / "missing.pem"))
    registry = ConnectorRegistry()
    registry.register(LocalSigningConnector)
    with pytest.raises(ValueError, match="local_signing"):
        registry.configure({"local_signing": {"pkcs12_path": str(ca.pkcs12_path)}})


def test_the_registry_configures_it_and_resolves_its_operation(ca, tmp_path):
    registry = ConnectorRegistry()
    registry.register(LocalSigningConnector)
    registry.configure({"local_signing": ca.local_signing_config(tmp_path)})

    connector, op = registry.operation("local_signing/sign_pdf")

    assert isinstance(connector, LocalSigningConnector)
    assert (connector.kind, op.name, op.waits_for_result) == ("signing", "sign_pdf", True)


def test_check_config_signs_and_verifies_a_sample_page(local_connector):
    report = local_connector().check_config()

    assert report.ok, report.detail
    assert "Nguyễn Văn An" in report.detail


def test_check_config_reports_a_key_that_the_configured_ca_did_not_issue(local_connector, other_ca):
    report = local_connector(ca_cert_path=str(other_ca.ca_cert_path)).check_config()

    assert not report.ok
    assert "tổ chức chứng thực tin cậy" in report.detail


def test_check_config_reports_a_key_file_that_went_missing(local_connector, ca, tmp_path):
    copy = tmp_path / "copy.p12"
    copy.write_bytes(ca.pkcs12_path.read_bytes())
    connector = local_connector(pkcs12_path=str(copy))
    copy.unlink()

    report = connector.check_config()

    assert not report.ok
    assert "Không mở được" in report.detail
