"""Liên thông over the document axis: our package reaches the other agency's mailbox, their reply
completes the waiting step with its files, status packages reach the history, and a malformed
package is kept with its problems."""

from __future__ import annotations

import base64

import pytest

from engine.bootstrap import load_catalogue
from engine.config import PROJECT_ROOT
from engine.outbox import drain
from engine.services import get_dossier, list_attachments, submit_dossier
from engine.services.exchange import fetch_and_route, received_messages
from integrations.exchange import VdxpConnector
from integrations.exchange.simulator import ExchangeSimulator
from tests.conftest import with_connectors
from tests.factories import APPLICANT

US, THEM = "000.00.21.H99", "000.00.24.H99"


@pytest.fixture
def axis():
    with ExchangeSimulator(agencies={US: "bi-mat-us", THEM: "bi-mat-them"}) as simulator:
        yield simulator


@pytest.fixture
def x_ctx(ctx, axis):
    config = {"base_url": axis.url, "system_id": US, "secret_key": "bi-mat-us", "organ_name": "UBND phường Hòa Bình",
              "timeout": 5}
    x = with_connectors(ctx, vdxp=config)
    load_catalogue(x, PROJECT_ROOT / "tests" / "fixtures" / "procedures")
    return x


@pytest.fixture
def them(axis):
    return VdxpConnector({"base_url": axis.url, "system_id": THEM, "secret_key": "bi-mat-them",
                          "organ_name": "Sở Xây dựng tỉnh Demo", "timeout": 5})


def sent_dossier(ctx, actors):
    dossier = submit_dossier(ctx, actors["congdan"], "lien-thong-vdxp", dict(APPLICANT), {})
    outcomes = drain(ctx)
    assert all(o.state == "done" for o in outcomes), outcomes
    return dossier


def reply(them, dossier):
    """The other agency answers our package for `dossier` with a PDF."""
    inbox = them.call("fetch_received", {}, idempotency_key=f"them-{dossier.code}")
    [package] = inbox["received"]
    assert package["envelope"]["subject"] == f"V/v xin ý kiến về hồ sơ {dossier.code}"
    envelope = package["envelope"]
    them.call("send_edoc", {
        "receivers": [{"organ_id": US, "name": "UBND phường Hòa Bình"}], "code_number": "77",
        "code_notation": "SXD-QLXD", "promulgation_place": "Hòa Bình", "promulgation_date": "2026-11-30",
        "subject": "V/v trả lời ý kiến: thống nhất", "content": "Sở Xây dựng thống nhất với hồ sơ.",
        "signer": {"competence": "KT. Giám đốc", "position": "Phó Giám đốc", "full_name": "Đặng Văn Xây Dựng"},
        "response_for": {"organ_id": US, "code": f"{envelope['code_number']}/{envelope['code_notation']}",
                         "promulgation_date": envelope["promulgation_date"], "document_id": envelope["document_id"]},
        "attachments": [{"name": "tra-loi.pdf", "content_type": "application/pdf",
                         "data_b64": base64.b64encode(b"%PDF-1.4 tra loi").decode()}]},
        idempotency_key=f"them-reply-{dossier.code}")


def test_a_reply_from_the_other_agency_completes_the_waiting_step(x_ctx, actors, them):
    dossier = sent_dossier(x_ctx, actors)
    reply(them, dossier)
    counts = fetch_and_route(x_ctx)
    assert counts["matched"] == 1
    final = get_dossier(x_ctx, actors["congdan"], dossier.code)
    assert final.status == "result_ready" and final.finished_at is not None
    assert [a.kind for a in list_attachments(x_ctx, actors["tiepnhan"], dossier.code)] == ["lien-thong"]
    assert any(e["kind"] == "exchange_received" for e in final.history)


def held_inputs(ctx, code):
    from sqlalchemy import select

    from engine.models import Dossier, WorkflowInstance

    with ctx.sessions() as session:
        return session.scalar(select(WorkflowInstance.held_inputs).join(Dossier, Dossier.id == WorkflowInstance.dossier_id)
                              .where(Dossier.code == code))


def test_a_reply_for_a_suspended_dossier_is_held_and_delivered_on_resume(x_ctx, actors, them):
    from engine.services import operations

    dossier = sent_dossier(x_ctx, actors)
    operations.suspend(x_ctx, actors["quantri"], dossier.code, "Kiểm tra lại hồ sơ")
    reply(them, dossier)
    assert fetch_and_route(x_ctx)["matched"] == 1  # fetched from the axis: it must not be lost
    [held] = held_inputs(x_ctx, dossier.code)
    assert held["marker"] == "exchangeReply" and len(held["data"]["van_ban_tra_loi"]["tep_dinh_kem"]) == 1
    waiting = get_dossier(x_ctx, actors["congdan"], dossier.code)
    assert waiting.finished_at is None and any(e["kind"] == "exchange_received" for e in waiting.history)

    operations.resume(x_ctx, actors["quantri"], dossier.code)
    final = get_dossier(x_ctx, actors["congdan"], dossier.code)
    assert final.status == "result_ready" and final.finished_at is not None
    assert held_inputs(x_ctx, dossier.code) is None


def test_a_malformed_package_is_kept_with_its_problems(x_ctx, axis):
    axis.inject(US, b"<edXML><khong-hop-le/></edXML>", sender=THEM)
    counts = fetch_and_route(x_ctx)
    assert counts["rejected"] == 1
    [kept] = received_messages(x_ctx, "rejected")
    assert kept.detail["problems"] and kept.raw_sha256


def test_with_the_file_store_out_of_reach_nothing_is_fetched_and_a_package_it_fails_on_is_held(
        x_ctx, actors, them, axis, s3_server, monkeypatch):
    """The axis counts a fetched package as delivered: none may be lost to a store that does not answer."""

    from engine.documents.errors import StoreUnavailable
    from engine.documents.object_store import ObjectStore
    from tests.conftest import with_object_store, with_store_down

    bucket = with_object_store(x_ctx, s3_server)
    down = with_store_down(bucket)
    dossier = sent_dossier(bucket, actors)
    reply(them, dossier)
    axis.inject(US, b"<edXML><khong-hop-le/></edXML>", sender=THEM)

    assert fetch_and_route(down) == {"matched": 0, "unmatched": 0, "status": 0, "rejected": 0, "held": 0}
    assert received_messages(bucket) == []  # nothing fetched: the packages wait on the axis

    real_put = ObjectStore.put

    def put_fails(self, data):
        raise StoreUnavailable("the bucket's endpoint stopped answering midway")

    monkeypatch.setattr(ObjectStore, "put", put_fails)
    assert fetch_and_route(bucket)["held"] == 2  # fetched (acknowledged), then the store failed on both
    assert {m.state for m in received_messages(bucket)} == {"held"}
    assert get_dossier(bucket, actors["congdan"], dossier.code).status != "result_ready"
    assert fetch_and_route(down)["held"] == 2  # still out of reach: kept, tried again later

    monkeypatch.setattr(ObjectStore, "put", real_put)
    counts = fetch_and_route(bucket)
    assert (counts["matched"], counts["rejected"], counts["held"]) == (1, 1, 0)
    assert sorted(m.state for m in received_messages(bucket)) == ["matched", "rejected"]
    final = get_dossier(bucket, actors["congdan"], dossier.code)
    assert final.status == "result_ready"
    [attachment] = list_attachments(bucket, actors["tiepnhan"], dossier.code)
    assert bucket.files.open(attachment.sha256) == b"%PDF-1.4 tra loi"
    assert fetch_and_route(bucket)["matched"] == 0  # delivered once


def test_a_package_failing_for_any_reason_is_held_and_the_rest_of_the_fetch_goes_on(x_ctx, actors, them, axis,
                                                                                    monkeypatch):
    from engine.services import exchange

    dossier = sent_dossier(x_ctx, actors)
    reply(them, dossier)
    axis.inject(US, b"<edXML><khong-hop-le/></edXML>", sender=THEM)
    real_route = exchange._route_retrying
    monkeypatch.setattr(exchange, "_route_retrying", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("lỗi lạ")))

    counts = fetch_and_route(x_ctx)

    assert (counts["held"], counts["rejected"]) == (1, 1)  # the reply held, the malformed one kept as before
    [held] = received_messages(x_ctx, "held")
    assert "RuntimeError: lỗi lạ" in held.detail["error"]
    monkeypatch.setattr(exchange, "_route_retrying", real_route)
    assert fetch_and_route(x_ctx)["matched"] == 1
    assert received_messages(x_ctx, "held") == []
    assert get_dossier(x_ctx, actors["congdan"], dossier.code).status == "result_ready"


def test_a_held_package_that_cannot_be_routed_does_not_stop_the_fetching(x_ctx, actors, them):
    from datetime import UTC, datetime

    from engine.db import transaction
    from engine.models import ExchangeMessage
    from engine.services.exchange import HELD

    with transaction(x_ctx.sessions) as session:  # a package routing keeps failing on (no envelope)
        session.add(ExchangeMessage(direction="in", kind="edoc", state=HELD, detail={"item": {"doc_id": "x"}},
                                    created_at=datetime.now(UTC)))
    dossier = sent_dossier(x_ctx, actors)
    reply(them, dossier)

    assert fetch_and_route(x_ctx)["matched"] == 1
    assert len(received_messages(x_ctx, "held")) == 1  # still held, still tried by later sweeps


def test_two_sweeps_routing_the_same_held_package_deliver_it_once(x_ctx, actors, them, monkeypatch):
    from datetime import UTC, datetime

    from engine.services import exchange

    dossier = sent_dossier(x_ctx, actors)
    reply(them, dossier)
    real_route = exchange._route_retrying
    monkeypatch.setattr(exchange, "_route_retrying", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("lỗi lạ")))
    fetch_and_route(x_ctx)
    monkeypatch.setattr(exchange, "_route_retrying", real_route)
    [held_id] = exchange._held_ids(x_ctx)
    item, rejected = exchange._held_item(x_ctx, held_id)  # both sweeps read the held row before either routes

    assert exchange._deliver(x_ctx, item, datetime.now(UTC), rejected=rejected, held_id=held_id) == "matched"
    with pytest.raises(exchange._AlreadyDelivered):
        exchange._deliver(x_ctx, item, datetime.now(UTC), rejected=rejected, held_id=held_id)
    assert [m.state for m in received_messages(x_ctx)] == ["matched"]
    assert len(list_attachments(x_ctx, actors["tiepnhan"], dossier.code)) == 1


# --- received files get the checks of a citizen's upload ------------------------------------------


def reply_with(them, dossier, attachments):
    """The other agency answers our package for `dossier` with these files (name, type, bytes)."""
    envelope = them.call("fetch_received", {}, idempotency_key=f"them-{dossier.code}")["received"][0]["envelope"]
    them.call("send_edoc", {
        "receivers": [{"organ_id": US, "name": "UBND phường Hòa Bình"}], "code_number": "78",
        "code_notation": "SXD-QLXD", "promulgation_place": "Hòa Bình", "promulgation_date": "2026-11-30",
        "subject": "V/v trả lời ý kiến kèm hồ sơ", "content": "Gửi kèm ý kiến và bản vẽ.",
        "signer": {"competence": "KT. Giám đốc", "position": "Phó Giám đốc", "full_name": "Đặng Văn Xây Dựng"},
        "response_for": {"organ_id": US, "code": f"{envelope['code_number']}/{envelope['code_notation']}",
                         "promulgation_date": envelope["promulgation_date"], "document_id": envelope["document_id"]},
        "attachments": [{"name": name, "content_type": kind, "data_b64": base64.b64encode(data).decode()}
                        for name, kind, data in attachments]},
        idempotency_key=f"them-reply-files-{dossier.code}")


SCRIPTED_PDF = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /OpenAction 2 0 R >>\nendobj\n"
                b"2 0 obj\n<< /S /JavaScript /JS (app.alert\\(1\\)) >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
DOCX = b"PK\x03\x04" + b"\0" * 64


def test_a_file_failing_the_upload_checks_is_refused_alone_and_the_reply_goes_on(x_ctx, actors, them):
    dossier = sent_dossier(x_ctx, actors)
    reply_with(them, dossier, [("y-kien.pdf", "application/pdf", b"%PDF-1.4 y kien thong nhat"),
                               ("ban-ve.pdf", "application/pdf", SCRIPTED_PDF),
                               ("bien-ban.docx", "application/octet-stream", DOCX)])

    assert fetch_and_route(x_ctx)["matched"] == 1

    final = get_dossier(x_ctx, actors["tiepnhan"], dossier.code)
    assert final.status == "result_ready", "the reply's text and its good file completed the waiting step"
    [kept] = list_attachments(x_ctx, actors["tiepnhan"], dossier.code)
    assert (kept.filename, kept.content_type, kept.kind) == ("y-kien.pdf", "application/pdf", "lien-thong")
    notes = {e["data"]["name"]: e["data"] for e in final.history if e["kind"] == "exchange_attachment_refused"}
    assert notes.keys() == {"ban-ve.pdf", "bien-ban.docx"} and notes["ban-ve.pdf"]["from"] == THEM
    assert "mã lệnh" in notes["ban-ve.pdf"]["reason"] and "(/JS)" in notes["ban-ve.pdf"]["reason"]
    assert "không phải tệp PDF, PNG, JPEG" in notes["bien-ban.docx"]["reason"]
    [message] = received_messages(x_ctx, "matched")
    refused = {f["name"]: f for f in message.detail["refused"]}
    assert x_ctx.files.open(refused["ban-ve.pdf"]["sha256"]) == SCRIPTED_PDF, "kept for an administrator"


def test_the_waiting_step_is_told_which_files_were_refused_and_why(x_ctx, actors, them):
    from engine.services import operations

    dossier = sent_dossier(x_ctx, actors)
    operations.suspend(x_ctx, actors["quantri"], dossier.code, "Kiểm tra lại hồ sơ")  # holds the reply's data
    reply_with(them, dossier, [("ban-ve.pdf", "application/pdf", SCRIPTED_PDF)])

    assert fetch_and_route(x_ctx)["matched"] == 1

    [held] = held_inputs(x_ctx, dossier.code)
    answer = held["data"]["van_ban_tra_loi"]
    assert answer["tep_dinh_kem"] == [] and answer["trich_yeu"] == "V/v trả lời ý kiến kèm hồ sơ"
    [(name, reason)] = [(f["ten"], f["ly_do"]) for f in answer["tep_bi_tu_choi"]]
    assert name == "ban-ve.pdf" and "(/JS)" in reason
