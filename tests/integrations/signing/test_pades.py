"""PAdES signing and verification with pyHanko's validator, including tampered files."""

from __future__ import annotations

import datetime as dt
import io

import pypdfium2
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter

from integrations.signing.appearance import STAMP_BOX
from integrations.signing.pades import (
    InvalidPdf,
    PreparedSignature,
    complete_external_signature,
    load_signer,
    prepare_external_signature,
    sign_hash,
    sign_pdf_pades,
    verify_pdf,
)

from .conftest import DOCUMENT_TEXT


@pytest.fixture(scope="module")
def signer(ca):
    return load_signer(ca.pkcs12_path, ca.passphrase, ca_cert_path=ca.ca_cert_path)


@pytest.fixture(scope="module")
def signed(pdf, signer):
    return sign_pdf_pades(pdf, signer, reason="Cấp giấy khai sinh", location="UBND xã Demo")


def _append_content(signed_pdf: bytes, text: bytes) -> bytes:
    """An incremental update drawing more text on the page, as a forger would."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    extra = writer.add_object(
        generic.StreamObject(stream_data=b"BT /F1 30 Tf 72 500 Td (" + text + b") Tj ET")
    )
    page["/Contents"] = generic.ArrayObject([page.raw_get("/Contents"), extra])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_signed_pdf_is_a_pades_signature_that_verifies_as_intact_and_trusted(signed, ca):
    embedded = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert [s.field_name for s in embedded] == ["Chu ky so"]
    assert embedded[0].sig_object["/SubFilter"] == SigSeedSubFilter.PADES.value

    report = verify_pdf(signed, [ca.ca_certificate()])

    assert (report.signed, report.intact, report.trusted, report.valid) == (True, True, True, True)
    assert report.errors == []
    assert report.signer_name == "Nguyễn Văn An"
    assert report.signer_organisation == "UBND Tỉnh Demo"
    assert report.reason == "Cấp giấy khai sinh"
    assert report.fields[0].location == "UBND xã Demo"
    assert report.fields[0].signer_title == "Chủ tịch"
    assert report.fields[0].covers_whole_file
    assert abs(report.signed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)


def test_the_original_bytes_stay_untouched_inside_the_signed_file(pdf, signed):
    assert signed.startswith(pdf)


def test_a_byte_changed_in_the_content_stream_fails_as_not_intact(signed, ca):
    assert DOCUMENT_TEXT.encode() in signed
    tampered = signed.replace(b"SO 123/2025", b"SO 723/2025")
    assert len(tampered) == len(signed) and tampered != signed

    report = verify_pdf(tampered, [ca.ca_certificate()])

    assert report.signed and not report.intact and not report.valid
    assert report.errors == [
        "Chữ ký 'Chu ky so': nội dung tài liệu đã bị thay đổi sau khi ký (mã băm không khớp với chữ ký)"
    ]


def test_content_added_in_an_incremental_update_fails_as_not_intact(signed, ca):
    forged = _append_content(signed, b"DA DUOC DUYET LAI")

    report = verify_pdf(forged, [ca.ca_certificate()])

    assert report.signed and not report.intact and not report.valid
    assert not report.fields[0].covers_whole_file
    assert report.errors == [
        "Chữ ký 'Chu ky so': tài liệu đã bị sửa đổi (thêm hoặc thay nội dung) sau khi ký"
    ]


def test_a_second_signature_after_the_first_keeps_both_intact(signed, ca):
    path = ca.issue_signer("remote-signer", "Trần Thị Bình", title="Phó Chủ tịch")
    second_signer = load_signer(path, ca.passphrase)

    twice = sign_pdf_pades(signed, second_signer, reason="Đóng dấu", location="", field_name="Chu ky 2")
    report = verify_pdf(twice, [ca.ca_certificate()])

    assert report.valid, report.errors
    assert [f.field_name for f in report.fields] == ["Chu ky so", "Chu ky 2"]
    assert report.signer_name == "Trần Thị Bình"
    assert not report.fields[0].covers_whole_file and report.fields[0].intact


def test_a_signer_from_an_untrusted_ca_is_reported_as_not_trusted(pdf, ca, other_ca):
    stranger = load_signer(other_ca.pkcs12_path, other_ca.passphrase)
    signed = sign_pdf_pades(pdf, stranger, reason="Giả mạo", location="")

    report = verify_pdf(signed, [ca.ca_certificate()])

    assert report.signed and report.intact and not report.trusted and not report.valid
    assert report.signer_name == "Kẻ Mạo Danh"
    assert report.errors == [
        "Chữ ký 'Chu ky so': chứng thư số của người ký không do tổ chức chứng thực tin cậy cấp"
    ]
    assert verify_pdf(signed, [other_ca.ca_certificate()]).valid


def test_an_unsigned_pdf_and_garbage_are_reported_not_raised(pdf, ca):
    unsigned = verify_pdf(pdf, [ca.ca_certificate()])
    garbage = verify_pdf(b"not a pdf at all", [ca.ca_certificate()])

    assert (unsigned.signed, unsigned.intact, unsigned.errors) == (
        False,
        False,
        ["Tài liệu không có chữ ký số"],
    )
    assert not garbage.signed
    assert garbage.errors == ["Tệp không phải là tài liệu PDF hợp lệ hoặc đã bị hỏng"]


def test_the_report_serialises_to_json_friendly_values(signed, ca):
    data = verify_pdf(signed, [ca.ca_certificate()]).to_dict()

    assert data["valid"] is True
    assert dt.datetime.fromisoformat(data["signed_at"])
    assert data["fields"][0]["signer_name"] == "Nguyễn Văn An"
    assert len(data["sha256"]) == 64 and len(data["verification_code"]) == 14


def test_a_visible_signature_draws_its_text_box_on_the_last_page(pdf, signer, ca):
    signed = sign_pdf_pades(
        pdf, signer, reason="Ký", location="", appearance_text="TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH"
    )
    assert verify_pdf(signed, [ca.ca_certificate()]).valid

    def stamp_pixels(data: bytes) -> int:
        document = pypdfium2.PdfDocument(data)
        document.init_forms()
        image = document[0].render(scale=1, may_draw_forms=True).to_pil().convert("L")
        height = image.height
        x1, y1, x2, y2 = STAMP_BOX
        box = image.crop((x1 + 3, height - y2 + 3, x2 - 3, height - y1 - 3))
        return sum(box.histogram()[:128])  # dark pixels

    assert stamp_pixels(pdf) == 0
    assert stamp_pixels(signed) > 200


def test_signing_something_that_is_not_a_pdf_raises_invalid_pdf(signer, signed):
    with pytest.raises(InvalidPdf):
        sign_pdf_pades(b"hello", signer, reason="Ký", location="")
    with pytest.raises(InvalidPdf):  # the field is already signed
        sign_pdf_pades(signed, signer, reason="Ký", location="")


def test_interrupted_signing_by_hash_gives_a_valid_signature(pdf, ca, remote_credential):
    prepared = prepare_external_signature(
        pdf, remote_credential.certificate, remote_credential.chain, reason="Ký từ xa", location="Demo"
    )
    stored = PreparedSignature.from_json(prepared.to_json())  # as if resumed in another process

    signature = sign_hash(remote_credential.private_key, stored.hash_to_sign)
    signed = complete_external_signature(stored, signature)

    report = verify_pdf(signed, [ca.ca_certificate()])
    assert report.valid, report.errors
    assert report.signer_name == "Trần Thị Bình"
    assert report.reason == "Ký từ xa"


def test_a_signature_over_another_hash_is_refused_before_embedding(pdf, remote_credential, ca):
    prepared = prepare_external_signature(pdf, remote_credential.certificate, reason="Ký", location="")
    other_key, _cert, _extra = pkcs12.load_key_and_certificates(
        ca.pkcs12_path.read_bytes(), ca.passphrase.encode()
    )

    with pytest.raises(ValueError):
        complete_external_signature(prepared, sign_hash(remote_credential.private_key, b"\0" * 32))
    with pytest.raises(ValueError):
        complete_external_signature(prepared, sign_hash(other_key, prepared.hash_to_sign))
