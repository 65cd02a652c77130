"""A result is rendered, PAdES-signed through the outbox, stored with a verification code, and
anyone can verify it: by code, by uploading the file; a tampered copy fails."""

from __future__ import annotations

import pytest

from engine.services import list_attachments, read_attachment
from engine.services.verification import verify_code, verify_upload
from tests.conftest import with_connectors
from tests.factories import drain_all, submit, work


@pytest.fixture
def signing_ctx(ctx, test_ca, tmp_path):
    return with_connectors(ctx, local_signing=test_ca.local_signing_config(tmp_path / "sign-cache"))


def to_signed_result(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    drain_all(ctx)
    signed = [a for a in list_attachments(ctx, actors["congdan"], dossier.code) if a.kind == "ket-qua-ky-so"]
    assert len(signed) == 1
    return dossier, signed[0]


def test_the_result_is_signed_and_verifies_by_its_code(signing_ctx, actors):
    dossier, signed = to_signed_result(signing_ctx, actors)
    with signing_ctx.sessions() as session:
        from sqlalchemy import select

        from engine.models import Attachment

        code = session.scalar(select(Attachment.verification_code).where(Attachment.id == signed.id))
    report = verify_code(signing_ctx, code.lower().replace("-", ""))
    assert report.valid and report.intact and report.trusted
    assert report.dossier_code == dossier.code and report.signer_name


def test_an_uploaded_copy_verifies_and_a_tampered_one_does_not(signing_ctx, actors):
    dossier, signed = to_signed_result(signing_ctx, actors)
    _view, pdf = read_attachment(signing_ctx, actors["congdan"], dossier.code, signed.id)
    assert verify_upload(signing_ctx, pdf).valid
    tampered = bytearray(pdf)
    index = pdf.index(b"stream\n") + 20
    tampered[index] = (tampered[index] + 1) % 256
    report = verify_upload(signing_ctx, bytes(tampered))
    assert not report.valid and not report.intact and report.errors


def test_an_unsigned_result_without_a_signing_connector_stays_unsigned(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    drain_all(ctx)
    kinds = {a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)}
    assert "ket-qua" in kinds and "ket-qua-ky-so" not in kinds
