"""Every path of the household-business procedure, through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest

from engine.history import verify_chain
from engine.models import Dossier
from engine.outbox import drain
from engine.services import get_dossier, list_attachments, list_inbox, read_attachment
from tests.conftest import allow_purge
from tests.factories import statuses, submit, work

CODE = re.compile(r"^000\.00\.21\.H99-\d{6}-\d{4}$")



def test_approved_dossier_runs_from_submission_to_returned_result(ctx, actors, smtp):
    dossier = submit(ctx, actors["congdan"])
    assert CODE.match(dossier.code)
    assert dossier.status == "submitted"
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    received = get_dossier(ctx, actors["congdan"], dossier.code)
    assert received.status == "processing" and received.received_at is not None
    assert received.due_at > received.received_at
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "result_ready"
    outcomes = drain(ctx)
    # receipt PDF + its e-mail notice, result PDF + the BPMN's "đã có kết quả" e-mail
    assert [o.state for o in outcomes] == ["done"] * 4
    assert {a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)} == {"giay-tiep-nhan", "ket-qua"}
    receipt = next(a for a in list_attachments(ctx, actors["congdan"], dossier.code) if a.kind == "giay-tiep-nhan")
    _view, pdf = read_attachment(ctx, actors["congdan"], dossier.code, receipt.id)
    assert pdf.startswith(b"%PDF")
    mail = next(m for m in smtp.wait_for(2) if "kết quả" in m["Subject"])
    assert dossier.code in mail["Subject"] and "kết quả" in mail["Subject"]
    work(ctx, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert statuses(ctx, actors["congdan"], dossier.code) == [
        "received", "processing", "result_ready", "returned"]
    assert [m["text"] for m in final.milestones][0] == "Đã nộp hồ sơ"
    assert list_inbox(ctx, actors["tiepnhan"]) == []


def test_supplement_at_reception_goes_to_the_citizen_and_back_to_the_desk(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Văn bản ủy quyền cho chủ hộ"]})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "supplement_requested"
    assert list_inbox(ctx, actors["tiepnhan"]) == []
    task, _ = work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã bổ sung văn bản ủy quyền"})
    assert task.title == "Bổ sung hồ sơ"
    back = list_inbox(ctx, actors["tiepnhan"])
    assert [t.bpmn_id for t in back] == ["tiep_nhan"]


def test_supplement_during_review_returns_to_the_specialist_who_asked(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Thiếu biên bản họp thành viên",
          "giay_to_thieu": ["Biên bản họp thành viên hộ gia đình"]})
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã nộp biên bản"})
    assert [t.bpmn_id for t in list_inbox(ctx, actors["chuyenvien"])] == ["tham_dinh"]
    assert statuses(ctx, actors["congdan"], dossier.code) == [
        "received", "processing", "supplement_requested", "processing"]


def test_refusal_at_reception_ends_the_dossier_as_refused(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không thuộc thẩm quyền"})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None


def test_leader_approving_a_proposed_refusal_refuses_the_dossier(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "tu_choi", "y_kien": "Tên trùng", "ly_do_tu_choi": "Tên hộ kinh doanh đã tồn tại"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "refused"


def test_leader_sending_back_reopens_the_review(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "tra_lai", "y_kien_phe_duyet": "Kiểm tra lại ngành nghề"})
    assert [t.bpmn_id for t in list_inbox(ctx, actors["chuyenvien"])] == ["tham_dinh"]


def test_citizen_withdrawing_during_supplement_ends_as_withdrawn(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["CCCD"]})
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Tôi rút hồ sơ", "rut_ho_so": True})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "withdrawn" and final.portal_status == 7


def test_history_is_hash_chained_and_detects_tampering(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    with ctx.sessions() as session:
        dossier_id = session.query(Dossier.id).filter(Dossier.code == dossier.code).scalar()
        assert verify_chain(session, dossier_id) is None
        from engine.models import Event

        third = session.query(Event).filter(Event.dossier_id == dossier_id, Event.seq == 3).one()
        third.data = {**third.data, "title": "sửa lén"}
        allow_purge(session.connection())  # on PostgreSQL, tampering needs the deliberate purge switch
        session.commit()
        assert verify_chain(session, dossier_id) == 3


def test_desk_reception_of_a_walk_in_applicant_has_no_owner_and_desk_works_supplements(ctx, actors):
    dossier = submit(ctx, actors["tiepnhan"])
    assert dossier.channel == "desk"
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản sao"]})
    inbox = list_inbox(ctx, actors["tiepnhan"])
    assert [t.bpmn_id for t in inbox] == ["bo_sung_ho_so"]
    assert list_inbox(ctx, actors["congdan"]) == []


@pytest.mark.parametrize("who", ["chuyenvien", "lanhdao", "congdan", "phantich"])
def test_only_the_desk_sees_the_reception_task(ctx, actors, who):
    submit(ctx, actors["congdan"])
    assert list_inbox(ctx, actors[who]) == []
    assert len(list_inbox(ctx, actors["tiepnhan"])) == 1


def test_supplement_request_and_refusal_produce_their_documents(ctx, actors):
    asked = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], asked.code, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản sao CCCD"]})
    refused = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], refused.code, {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Trùng tên"})
    assert all(o.state == "done" for o in drain(ctx))
    assert [a.kind for a in list_attachments(ctx, actors["congdan"], asked.code)] == ["phieu-yeu-cau-bo-sung"]
    assert [a.kind for a in list_attachments(ctx, actors["congdan"], refused.code)] == ["phieu-tu-choi"]
    assert list_attachments(ctx, actors["tiepnhan"], refused.code)  # staff of the agency see them too
