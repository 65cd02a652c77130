"""A result is rendered, PAdES-signed through the outbox, stored with a verification code, and
anyone can verify it: by code, by uploading the file; a tampered copy fails."""

from __future__ import annotations

import time

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


def test_a_signed_file_the_store_cannot_keep_is_signed_again_later_not_lost(signing_ctx, actors, monkeypatch):
    """The signature came back but the store is out of reach: the call goes back to waiting (no
    incident, nothing recorded), and a later attempt stores and records the signed copy once."""
    from sqlalchemy import select

    from engine import paperwork
    from engine.documents.errors import StoreUnavailable
    from engine.models import OutboxMessage
    from engine.outbox import drain

    dossier = submit(signing_ctx, actors["congdan"])
    work(signing_ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(signing_ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"})
    work(signing_ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    real_keep = paperwork.keep_signed_file

    def store_down(ctx, result):
        raise StoreUnavailable("the bucket's endpoint stopped answering")

    monkeypatch.setattr(paperwork, "keep_signed_file", store_down)
    for _ in range(3):  # the render first, then the signature
        drain(signing_ctx)
    for _ in range(12):  # an outage longer than the attempts would allow: the call waits, spends none
        time.sleep(0.05)
        drain(signing_ctx)
    with signing_ctx.sessions() as session:
        [call] = session.scalars(select(OutboxMessage).where(OutboxMessage.operation == "sign_pdf")).all()
        assert call.state == "pending" and call.attempts == 0 and "Kho lưu trữ tệp" in call.last_error
    assert not [a for a in list_attachments(signing_ctx, actors["congdan"], dossier.code) if a.kind == "ket-qua-ky-so"]

    monkeypatch.setattr(paperwork, "keep_signed_file", real_keep)
    for _ in range(40):  # past the back-off
        drain(signing_ctx)
        with signing_ctx.sessions() as session:
            if session.scalar(select(OutboxMessage.state).where(OutboxMessage.id == call.id)) == "done":
                break
        time.sleep(0.05)
    [signed] = [a for a in list_attachments(signing_ctx, actors["congdan"], dossier.code) if a.kind == "ket-qua-ky-so"]
    assert read_attachment(signing_ctx, actors["congdan"], dossier.code, signed.id)[1].startswith(b"%PDF")


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


@pytest.fixture
def phone(test_ca):
    from integrations.signing.remote_simulator import RemoteSigningSimulator

    with RemoteSigningSimulator.from_test_ca(test_ca, api_key="bi-mat") as simulator:
        yield simulator


def remote_ctx(ctx, phone, test_ca, tmp_path, **settings):
    import dataclasses

    waiting = with_connectors(ctx, remote_signing={
        "base_url": phone.url, "api_key": "bi-mat", "signer_id": "lanhdao.demo", "cache_dir": str(tmp_path / "rs"),
        "timeout": 2, "wait_seconds": 0.2, "poll_interval": 0.05, "recheck_seconds": 0.1,
        "ca_cert_path": str(test_ca.ca_cert_path)})
    return dataclasses.replace(waiting, settings=dataclasses.replace(waiting.settings, **settings))


def signing_row(ctx):
    from sqlalchemy import select

    from engine.models import OutboxMessage

    with ctx.sessions() as session:
        return session.scalar(select(OutboxMessage).where(OutboxMessage.operation == "sign_pdf"))


def test_a_signature_waiting_for_the_leaders_approval_is_asked_again_without_spending_retries(
        ctx, actors, phone, test_ca, tmp_path):
    import time

    waiting = remote_ctx(ctx, phone, test_ca, tmp_path)
    dossier = submit(waiting, actors["congdan"])
    work(waiting, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(waiting, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(waiting, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    for _ in range(waiting.settings.outbox_max_attempts + 3):  # more rounds than the retry budget
        drain_all(waiting)
        time.sleep(0.15)
    row = signing_row(waiting)
    assert row.state == "pending" and row.attempts == 0 and "Đang chờ người ký xác nhận" in row.last_error
    [transaction] = phone.transactions
    phone.approve(transaction.transaction_id)
    time.sleep(0.15)
    drain_all(waiting)
    assert signing_row(waiting).state == "done"
    assert "ket-qua-ky-so" in {a.kind for a in list_attachments(waiting, actors["congdan"], dossier.code)}


def test_a_signature_never_approved_becomes_an_incident_after_the_pending_limit(ctx, actors, phone, test_ca, tmp_path):
    waiting = remote_ctx(ctx, phone, test_ca, tmp_path, outbox_pending_hours=0.0)
    dossier = submit(waiting, actors["congdan"])
    work(waiting, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(waiting, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(waiting, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    drain_all(waiting)
    row = signing_row(waiting)
    assert row.state == "incident" and "Đang chờ người ký xác nhận" in row.last_error
