"""Cấp Phiếu lý lịch tư pháp (mã TTHC 3.000333) at Công an tỉnh — Phòng Hồ sơ nghiệp vụ (PV06):
every path through the service layer, on SQLite and PostgreSQL, plus the fee computation."""

from __future__ import annotations

import base64
import json
import re
from copy import deepcopy
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest

from engine.calendar import deadline
from engine.config import PROJECT_ROOT
from engine.errors import Forbidden, InvalidInput, TaskNotFound
from engine.outbox import drain
from engine.scripting import RestrictedEvaluator
from engine.services import complete_task, get_dossier, list_attachments, list_inbox, submit_dossier
from engine.timers import fire_due_timers
from tests.factories import clock_events, drain_all, statuses, timeliness, work

SLUG = "cap-phieu-ly-lich-tu-phap"
FOLDER = PROJECT_ROOT / "processes" / SLUG
META = json.loads((FOLDER / "procedure.json").read_text(encoding="utf-8"))
EXAMPLE = json.loads((FOLDER / "example-submission.json").read_text(encoding="utf-8"))
CODE = re.compile(r"^000\.00\.22\.H99-\d{6}-\d{4}$")
COURT = "000.00.23.H99"
POLICE = "000.00.22.H99"
VN = timedelta(hours=7)

APPLICANT = {"name": "Nguyễn Thị Minh Anh", "phone": "0987123456", "id_number": "099198000321",
             "email": "minhanh.nguyen@example.vn", "kind": 1}
PROXY = {"ho_ten": "NGUYỄN VĂN HÙNG", "so_dinh_danh": "099068000111", "quan_he": "cha_me"}

SEARCH_CLEAR = {"ket_qua_tra_cuu": "khong_co_an_tich", "can_xac_minh": False,
                "y_kien_tra_cuu": "Không có dữ liệu án tích trong CSDL lý lịch tư pháp và hồ sơ nghiệp vụ."}
SEARCH_VERIFY = {"ket_qua_tra_cuu": "co_an_tich", "can_xac_minh": True,
                 "noi_dung_xac_minh": "Đề nghị cung cấp Bản án số 45/2015/HS-ST và tình trạng xóa án tích.",
                 "y_kien_tra_cuu": "CSDL có bản án năm 2015, chưa rõ việc xóa án tích."}
COURT_ANSWER = {"ket_qua_cung_cap": "da_xoa_an_tich", "so_van_ban_tra_loi": "125/TANDT-HCTP",
                "thong_tin_ban_an": [{"so_ban_an": "45/2015/HS-ST", "ngay_tuyen_an": "2015-03-10",
                                      "toi_danh": "Trộm cắp tài sản (Điều 138 BLHS 1999)",
                                      "hinh_phat": "06 tháng tù cho hưởng án treo",
                                      "ngay_xoa_an_tich": "2017-09-10"}],
                "noi_dung_tra_loi": "Người này đã được đương nhiên xóa án tích."}
DRAFT = {"de_xuat": "cap_phieu", "noi_dung_an_tich": "khong_co_an_tich"}
APPROVE = {"quyet_dinh_phe_duyet": "dong_y"}
RETURN = {"hinh_thuc_tra": "truc_tiep", "da_thu_phi": True}


def to_khai(**changes: Any) -> dict[str, Any]:
    data = deepcopy(EXAMPLE)
    data.update(changes)
    return data


def submit(ctx, actor, *, channel: str | None = None, **changes: Any):
    return submit_dossier(ctx, actor, SLUG, dict(APPLICANT), to_khai(**changes), channel=channel)




def inbox(ctx, actor, code):
    return [t.bpmn_id for t in list_inbox(ctx, actor, limit=200) if t.dossier_code == code]


def legal_due(ctx, start, days):
    return deadline(start, days, "days", ctx.calendar())



def received(ctx, actors, **changes: Any):
    dossier = submit(ctx, actors["congdan"], **changes)
    work(ctx, actors["tiepnhan_ca"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    return dossier


def sign_and_return(ctx, actors, code, draft=DRAFT):
    work(ctx, actors["chuyenvien_ca"], code, draft)
    work(ctx, actors["lanhdao_ca"], code, APPROVE)
    assert get_dossier(ctx, actors["congdan"], code).status == "result_ready"
    work(ctx, actors["tiepnhan_ca"], code, RETURN)
    final = get_dossier(ctx, actors["congdan"], code)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert timeliness(ctx, code) is not None
    return final


# -- paths ----------------------------------------------------------------------------------------


def test_a_clean_record_is_issued_within_ten_days_and_returned_by_the_police_desk(ctx, actors, smtp):
    dossier = submit(ctx, actors["congdan"])
    assert CODE.match(dossier.code) and dossier.agency_code == "000.00.22.H99"
    assert dossier.status == "submitted"
    assert inbox(ctx, actors["tiepnhan"], dossier.code) == []  # UBND phường is not competent
    work(ctx, actors["tiepnhan_ca"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    after = get_dossier(ctx, actors["congdan"], dossier.code)
    assert after.status == "processing"
    assert after.due_at == legal_due(ctx, after.received_at, 10)
    assert inbox(ctx, actors["chuyenvien"], dossier.code) == []
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["tra_cuu"]
    work(ctx, actors["chuyenvien_ca"], dossier.code, SEARCH_CLEAR)
    assert inbox(ctx, actors["chuyenvien_ta"], dossier.code) == []  # no consultation
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["lap_phieu"]
    work(ctx, actors["chuyenvien_ca"], dossier.code, DRAFT)
    assert inbox(ctx, actors["lanhdao"], dossier.code) == []
    work(ctx, actors["lanhdao_ca"], dossier.code, APPROVE)
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "result_ready"
    outcomes = drain(ctx)
    assert outcomes and all(o.state == "done" for o in outcomes), outcomes
    assert {"giay-tiep-nhan", "ket-qua"} <= {a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)}
    mail = [m for m in smtp.wait_for(2) if dossier.code in m["Subject"] and "kết quả" in m["Subject"]]
    assert mail and "kết quả" in mail[0]["Subject"] and mail[0]["To"] == APPLICANT["email"]
    work(ctx, actors["tiepnhan_ca"], dossier.code, RETURN)
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert final.due_at == after.due_at
    assert timeliness(ctx, dossier.code) is not None
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "result_ready", "returned"]
    assert [c["action"] for c in clock_events(ctx, actors["congdan"], dossier.code)] == ["start"]
    texts = [m["text"] for m in final.milestones]
    assert texts[0] == "Đã nộp hồ sơ" and texts[-1] == "Đã trả Phiếu lý lịch tư pháp"
    assert not any("xác minh" in t for t in texts)


def test_records_found_are_verified_by_the_court_in_its_own_inbox_and_the_deadline_becomes_fifteen_days(
        ctx, actors):
    dossier = received(ctx, actors)
    ten_days = get_dossier(ctx, actors["congdan"], dossier.code).due_at
    work(ctx, actors["chuyenvien_ca"], dossier.code, SEARCH_VERIFY)

    court_tasks = [t for t in list_inbox(ctx, actors["chuyenvien_ta"]) if t.dossier_code == dossier.code]
    assert [t.bpmn_id for t in court_tasks] == ["cung_cap_thong_tin"]
    assert court_tasks[0].title == "Cung cấp thông tin về án tích" and court_tasks[0].agency_code == COURT
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == []  # Công an's specialist waits
    with pytest.raises(TaskNotFound):
        complete_task(ctx, actors["chuyenvien_ca"], court_tasks[0].id, COURT_ANSWER)

    waiting = get_dossier(ctx, actors["congdan"], dossier.code)
    assert waiting.due_at == legal_due(ctx, waiting.received_at, 15) and waiting.due_at > ten_days
    rule = clock_events(ctx, actors["congdan"], dossier.code)[-1]
    assert rule["action"] == "rule" and rule["rule"] == "xac_minh"
    assert rule["old_due"] == ten_days.isoformat() and rule["new_due"] == waiting.due_at.isoformat()
    assert any("xác minh" in m["text"] for m in waiting.milestones)

    complete_task(ctx, actors["chuyenvien_ta"], court_tasks[0].id, COURT_ANSWER)
    assert inbox(ctx, actors["chuyenvien_ta"], dossier.code) == []
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["lap_phieu"]
    final = sign_and_return(ctx, actors, dossier.code)
    assert final.due_at == waiting.due_at
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "result_ready", "returned"]
    assert [c["action"] for c in clock_events(ctx, actors["congdan"], dossier.code)] == ["start", "rule"]


@pytest.fixture
def axis():
    from integrations.exchange.simulator import ExchangeSimulator

    with ExchangeSimulator(agencies={POLICE: "bi-mat-ca", COURT: "bi-mat-ta"}) as simulator:
        yield simulator


@pytest.fixture
def axis_ctx(ctx, axis, test_ca, tmp_path):
    """Công an tỉnh connected to the national document axis, signing with a local key."""
    from tests.conftest import with_connectors

    return with_connectors(ctx, vdxp={"base_url": axis.url, "system_id": POLICE, "secret_key": "bi-mat-ca",
                                      "organ_name": "Công an tỉnh Demo", "timeout": 5},
                           local_signing=test_ca.local_signing_config(tmp_path / "sign-cache"))


@pytest.fixture
def court(axis):
    from integrations.exchange import VdxpConnector

    return VdxpConnector({"base_url": axis.url, "system_id": COURT, "secret_key": "bi-mat-ta",
                          "organ_name": "Tòa án nhân dân tỉnh Demo", "timeout": 5})


def court_reply(court, envelope, key="reply"):
    return court.call("send_edoc", {
        "receivers": [{"organ_id": POLICE, "name": "Công an tỉnh Demo"}], "code_number": "125",
        "code_notation": "TANDT-HCTP", "promulgation_place": "Hòa Bình", "promulgation_date": "2026-11-30",
        "subject": "V/v cung cấp thông tin về án tích", "content": COURT_ANSWER["noi_dung_tra_loi"],
        "signer": {"competence": "TL. Chánh án", "position": "Chánh Văn phòng", "full_name": "Lý Thị Thẩm Phán"},
        "response_for": {"organ_id": POLICE, "code": f"{envelope['code_number']}/{envelope['code_notation']}",
                         "promulgation_date": envelope["promulgation_date"], "document_id": envelope["document_id"]},
        "attachments": [{"name": "cong-van-tra-loi.pdf", "content_type": "application/pdf",
                         "data_b64": base64.b64encode(b"%PDF-1.4 tra loi cua Toa an").decode()}]},
        idempotency_key=key)


def test_with_the_axis_connected_the_court_gets_a_signed_letter_and_its_reply_resumes_the_dossier(
        axis_ctx, actors, court):
    from engine.services.exchange import fetch_and_route
    from engine.services.verification import verify_upload
    from integrations.signing import verify_pdf  # noqa: F401  (the report below comes from it)

    dossier = received(axis_ctx, actors)
    work(axis_ctx, actors["chuyenvien_ca"], dossier.code, SEARCH_VERIFY)
    assert inbox(axis_ctx, actors["chuyenvien_ca"], dossier.code) == []  # letter being drafted, signed, sent
    drain_all(axis_ctx)
    assert inbox(axis_ctx, actors["chuyenvien_ta"], dossier.code) == []  # the court is not on our system
    assert inbox(axis_ctx, actors["chuyenvien_ca"], dossier.code) == ["cho_toa_an_tra_loi"]
    waiting = next(t for t in list_inbox(axis_ctx, actors["chuyenvien_ca"]) if t.dossier_code == dossier.code)
    with pytest.raises(Forbidden):  # only the court's reply completes it
        complete_task(axis_ctx, actors["chuyenvien_ca"], waiting.id, {})

    [package] = court.call("fetch_received", {}, idempotency_key="court-1")["received"]
    envelope = package["envelope"]
    assert envelope["subject"] == f"V/v đề nghị cung cấp thông tin về án tích (hồ sơ {dossier.code})"
    assert "Bản án số 45/2015/HS-ST" in envelope["content"]
    [letter] = package["attachments"]
    pdf = base64.b64decode(letter["data_b64"])
    report = verify_upload(axis_ctx, pdf)
    assert report.valid and report.intact and report.trusted and report.dossier_code in (None, dossier.code)
    assert "TÒA ÁN" not in letter["name"] and letter["name"].endswith("-da-ky-so.pdf")
    kinds = [a.kind for a in list_attachments(axis_ctx, actors["chuyenvien_ca"], dossier.code)]
    assert {"cong-van", "cong-van-ky-so"} <= set(kinds)

    court_reply(court, envelope)
    assert fetch_and_route(axis_ctx)["matched"] == 1
    assert inbox(axis_ctx, actors["chuyenvien_ca"], dossier.code) == ["lap_phieu"]
    assert "lien-thong" in {a.kind for a in list_attachments(axis_ctx, actors["chuyenvien_ca"], dossier.code)}
    data = get_dossier(axis_ctx, actors["chuyenvien_ca"], dossier.code, with_data=True).data
    assert data["van_ban_tra_loi"]["so"] == "125" and data["van_ban_tra_loi"]["ky_hieu"] == "TANDT-HCTP"
    final = sign_and_return(axis_ctx, actors, dossier.code)
    assert final.due_at == legal_due(axis_ctx, final.received_at, 15)


def test_a_court_silent_on_the_axis_is_chased_and_the_dossier_waits_for_its_reply_again(axis_ctx, actors, court):
    from engine.services.exchange import fetch_and_route

    dossier = received(axis_ctx, actors)
    work(axis_ctx, actors["chuyenvien_ca"], dossier.code, SEARCH_VERIFY)
    drain_all(axis_ctx)
    now = datetime.now(UTC)
    assert fire_due_timers(axis_ctx, now=now + timedelta(days=30)) == [dossier.code]
    assert inbox(axis_ctx, actors["chuyenvien_ca"], dossier.code) == ["don_doc"]
    work(axis_ctx, actors["chuyenvien_ca"], dossier.code,
         {"tinh_trang_phoi_hop": "tiep_tuc_cho", "so_van_ban_don_doc": "215/PV06-LLTP",
          "ngay_don_doc": (now + VN).date().isoformat()})
    assert inbox(axis_ctx, actors["chuyenvien_ca"], dossier.code) == ["cho_toa_an_tra_loi"]
    assert inbox(axis_ctx, actors["chuyenvien_ta"], dossier.code) == []
    [package] = court.call("fetch_received", {}, idempotency_key="court-1")["received"]
    court_reply(court, package["envelope"])
    assert fetch_and_route(axis_ctx)["matched"] == 1
    assert inbox(axis_ctx, actors["chuyenvien_ca"], dossier.code) == ["lap_phieu"]


def test_a_court_silent_for_five_working_days_is_chased_by_the_specialist_and_then_answers(ctx, actors):
    dossier = received(ctx, actors)
    work(ctx, actors["chuyenvien_ca"], dossier.code, SEARCH_VERIFY)
    now = datetime.now(UTC)

    assert fire_due_timers(ctx, now=now + timedelta(days=1)) == []  # five working days not yet over
    assert inbox(ctx, actors["chuyenvien_ta"], dossier.code) == ["cung_cap_thong_tin"]

    assert fire_due_timers(ctx, now=now + timedelta(days=30)) == [dossier.code]
    assert inbox(ctx, actors["chuyenvien_ta"], dossier.code) == []  # the request is withdrawn meanwhile
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["don_doc"]
    opened = [e["data"]["element"] for e in get_dossier(ctx, actors["congdan"], dossier.code).history
              if e["kind"] == "task_opened"]
    assert opened[-1] == "don_doc"

    work(ctx, actors["chuyenvien_ca"], dossier.code,
         {"tinh_trang_phoi_hop": "tiep_tuc_cho", "so_van_ban_don_doc": "215/PV06-LLTP",
          "ngay_don_doc": (now + VN).date().isoformat()})
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == []
    assert inbox(ctx, actors["chuyenvien_ta"], dossier.code) == ["cung_cap_thong_tin"]  # waiting again

    work(ctx, actors["chuyenvien_ta"], dossier.code, COURT_ANSWER)
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["lap_phieu"]
    assert fire_due_timers(ctx, now=now + timedelta(days=60)) == []  # the answered request has no timer left
    sign_and_return(ctx, actors, dossier.code)
    assert opened.count("cung_cap_thong_tin") == 1
    history = get_dossier(ctx, actors["congdan"], dossier.code).history
    assert [e["data"]["element"] for e in history if e["kind"] == "task_opened"].count("cung_cap_thong_tin") == 2


def test_a_written_court_answer_recorded_by_the_specialist_during_the_chase_goes_to_drafting(ctx, actors):
    dossier = received(ctx, actors)
    work(ctx, actors["chuyenvien_ca"], dossier.code, SEARCH_VERIFY)
    fire_due_timers(ctx, now=datetime.now(UTC) + timedelta(days=30))
    work(ctx, actors["chuyenvien_ca"], dossier.code,
         {"tinh_trang_phoi_hop": "da_nhan_van_ban",
          "noi_dung_tra_loi_ngoai_he_thong": "Công văn 130/TANDT-HCTP: đã được đương nhiên xóa án tích."})
    assert inbox(ctx, actors["chuyenvien_ta"], dossier.code) == []
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["lap_phieu"]


def test_phieu_so_2_requested_through_an_authorised_person_can_only_be_refused_at_reception(ctx, actors):
    dossier = submit(ctx, actors["congdan"], loai_phieu="2", uy_quyen=True, nguoi_duoc_uy_quyen=PROXY)
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "submitted"
    # the reception gateway routes past the normal check: the desk can only issue the refusal
    assert inbox(ctx, actors["tiepnhan_ca"], dossier.code) == ["lap_phieu_tu_choi_uy_quyen"]
    with pytest.raises(InvalidInput):
        work(ctx, actors["tiepnhan_ca"], dossier.code, {"xac_nhan_tu_choi": False})
    work(ctx, actors["tiepnhan_ca"], dossier.code, {"xac_nhan_tu_choi": True})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert final.received_at is None and final.due_at is None
    assert inbox(ctx, actors["tiepnhan_ca"], dossier.code) == []
    assert statuses(ctx, actors["congdan"], dossier.code) == ["refused"]
    assert "số 2" in final.milestones[-1]["text"]
    data = get_dossier(ctx, actors["tiepnhan_ca"], dossier.code, with_data=True).data
    assert data["can_cu_tu_choi"] == "phieu_2_uy_quyen" and "Điều 49" in data["ly_do_tu_choi"]
    assert all(o.state == "done" for o in drain(ctx))
    assert [a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)] == ["phieu-tu-choi"]


def test_phieu_so_1_requested_through_an_authorised_person_reaches_the_desk(ctx, actors):
    dossier = submit(ctx, actors["congdan"], loai_phieu="1", uy_quyen=True, nguoi_duoc_uy_quyen=PROXY)
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "submitted"
    assert inbox(ctx, actors["tiepnhan_ca"], dossier.code) == ["tiep_nhan"]


def test_the_desk_refuses_a_request_outside_its_competence(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan_ca"], dossier.code,
         {"ket_qua_tiep_nhan": "tu_choi", "can_cu_tu_choi": "khong_thuoc_tham_quyen",
          "ly_do_tu_choi": "Người yêu cầu không cư trú tại tỉnh; đề nghị nộp tại Công an tỉnh nơi cư trú."})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert statuses(ctx, actors["congdan"], dossier.code) == ["refused"]
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == []


def test_a_refusal_without_reason_is_rejected_by_the_reception_form(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    with pytest.raises(InvalidInput):
        work(ctx, actors["tiepnhan_ca"], dossier.code, {"ket_qua_tiep_nhan": "tu_choi"})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "submitted"


def test_the_leader_approving_a_refusal_for_false_declarations_refuses_the_phieu(ctx, actors):
    dossier = received(ctx, actors)
    work(ctx, actors["chuyenvien_ca"], dossier.code,
         {"ket_qua_tra_cuu": "co_an_tich", "can_xac_minh": False,
          "y_kien_tra_cuu": "CSDL có bản án chưa được xóa án tích; Tờ khai ghi chưa từng bị kết án."})
    work(ctx, actors["chuyenvien_ca"], dossier.code,
         {"de_xuat": "tu_choi", "can_cu_tu_choi": "khai_bao_khong_trung_thuc",
          "ly_do_tu_choi": "Tờ khai không kê khai bản án số 12/2022/HS-ST đã có hiệu lực pháp luật."})
    work(ctx, actors["lanhdao_ca"], dossier.code, APPROVE)
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "refused"]
    assert inbox(ctx, actors["tiepnhan_ca"], dossier.code) == []


def test_the_leader_sending_the_draft_back_reopens_it_for_the_specialist(ctx, actors):
    dossier = received(ctx, actors)
    work(ctx, actors["chuyenvien_ca"], dossier.code, SEARCH_CLEAR)
    work(ctx, actors["chuyenvien_ca"], dossier.code, DRAFT)
    work(ctx, actors["lanhdao_ca"], dossier.code,
         {"quyet_dinh_phe_duyet": "tra_lai", "y_kien_phe_duyet": "Ghi rõ thông tin cấm đảm nhiệm chức vụ."})
    assert inbox(ctx, actors["lanhdao_ca"], dossier.code) == []
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["lap_phieu"]
    sign_and_return(ctx, actors, dossier.code,
                    {**DRAFT, "thong_tin_cam_dam_nhiem": "Không bị cấm đảm nhiệm chức vụ."})


def test_a_supplement_asked_by_the_specialist_restarts_the_clock_and_the_phieu_is_then_issued(ctx, actors):
    dossier = received(ctx, actors)
    first_due = get_dossier(ctx, actors["congdan"], dossier.code).due_at
    work(ctx, actors["chuyenvien_ca"], dossier.code,
         {"ket_qua_tra_cuu": "can_bo_sung", "can_xac_minh": False,
          "giay_to_thieu": ["Khai bổ sung quá trình cư trú từ 07/2020 đến nay"],
          "y_kien_tra_cuu": "Quá trình cư trú chưa liên tục."})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "supplement_requested"
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == []
    assert inbox(ctx, actors["congdan"], dossier.code) == ["bo_sung_ho_so"]
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã khai bổ sung quá trình cư trú."})
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["tra_cuu"]  # back to who asked
    clock = clock_events(ctx, actors["congdan"], dossier.code)
    assert [c["action"] for c in clock] == ["start", "await_supplement", "restart"]
    restart = clock[-1]
    assert restart["rule"] == "restart" and restart["old_due"] == first_due.isoformat()
    restarted = get_dossier(ctx, actors["congdan"], dossier.code).due_at
    assert restart["new_due"] == restarted.isoformat() and restarted >= first_due
    work(ctx, actors["chuyenvien_ca"], dossier.code, SEARCH_CLEAR)
    sign_and_return(ctx, actors, dossier.code)
    assert statuses(ctx, actors["congdan"], dossier.code) == [
        "received", "processing", "supplement_requested", "processing", "result_ready", "returned"]


def test_a_supplement_asked_at_reception_goes_back_to_the_police_desk(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan_ca"], dossier.code,
         {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Giấy tờ chứng minh là sinh viên"]})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "supplement_requested"
    assert inbox(ctx, actors["tiepnhan_ca"], dossier.code) == []
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã nộp thẻ sinh viên."})
    assert inbox(ctx, actors["tiepnhan_ca"], dossier.code) == ["tiep_nhan"]
    assert clock_events(ctx, actors["congdan"], dossier.code) == []  # not yet received: no clock


def test_the_citizen_withdrawing_during_a_supplement_ends_the_dossier_as_withdrawn(ctx, actors):
    dossier = received(ctx, actors)
    work(ctx, actors["chuyenvien_ca"], dossier.code,
         {"ket_qua_tra_cuu": "can_bo_sung", "can_xac_minh": False,
          "giay_to_thieu": ["Bản chụp hộ chiếu"], "y_kien_tra_cuu": "Cần đối chiếu nhân thân."})
    work(ctx, actors["congdan"], dossier.code, {"rut_ho_so": True})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "withdrawn" and final.portal_status == 7 and final.finished_at is not None
    assert statuses(ctx, actors["congdan"], dossier.code) == [
        "received", "processing", "supplement_requested", "withdrawn"]
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == []


def test_the_declaration_form_refuses_the_position_ban_question_for_phieu_so_2(ctx, actors):
    with pytest.raises(InvalidInput) as refused:
        submit(ctx, actors["congdan"], loai_phieu="2", xac_nhan_cam_dam_nhiem_chuc_vu=True)
    assert "xac_nhan_cam_dam_nhiem_chuc_vu" in refused.value.errors


def test_a_search_with_doubts_cannot_skip_verification(ctx, actors):
    dossier = received(ctx, actors)
    with pytest.raises(InvalidInput):
        work(ctx, actors["chuyenvien_ca"], dossier.code,
             {"ket_qua_tra_cuu": "chua_ro", "can_xac_minh": False, "y_kien_tra_cuu": "Trùng nhân thân."})
    assert inbox(ctx, actors["chuyenvien_ca"], dossier.code) == ["tra_cuu"]


# -- fees -----------------------------------------------------------------------------------------

FEE_SCRIPT = next(
    el.findtext("{http://www.omg.org/spec/BPMN/20100524/MODEL}script")
    for el in ElementTree.parse(FOLDER / META["bpmn"]).iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}scriptTask")
    if el.get("id") == "tinh_le_phi")
FEES = {fee["code"]: fee for fee in META["fees"]}


def fee(doi_tuong: str, so_luong: int, channel: str, submitted_at: str) -> dict[str, Any]:
    data = {"doi_tuong_uu_tien": doi_tuong, "so_luong": so_luong,
            "dossier": {"channel": channel, "submitted_at": submitted_at}}
    RestrictedEvaluator().execute(FEE_SCRIPT, data)
    assert data["le_phi"] == data["le_phi_chi_tiet"]["tong"]
    return data


NOV_2026 = "2026-11-30T03:00:00+00:00"


@pytest.mark.parametrize(("doi_tuong", "so_luong", "channel", "submitted_at", "amount"), [
    ("khong", 1, "desk", NOV_2026, 200000),
    ("khong", 2, "desk", NOV_2026, 200000),
    ("khong", 4, "desk", NOV_2026, 210000),  # two copies beyond the second: 2 × 5,000
    ("sinh_vien", 1, "desk", NOV_2026, 100000),
    ("than_nhan_liet_si", 3, "desk", NOV_2026, 105000),
    ("nguoi_cao_tuoi", 5, "desk", NOV_2026, 0),
    ("khong", 1, "online", NOV_2026, 100000),  # TT 64/2025: half while valid
    ("sinh_vien", 3, "online", NOV_2026, 52500),
    ("tre_em", 3, "online", NOV_2026, 0),
    ("khong", 1, "online", "2026-12-31T16:59:00+00:00", 100000),  # 23:59 on 31/12/2026 in Vietnam
    ("khong", 1, "online", "2026-12-31T17:00:00+00:00", 200000),  # already 1/1/2027 in Vietnam
    ("khong", 1, "online", "2025-06-30T09:00:00+00:00", 200000),  # before the reduction started
])
def test_the_fee_depends_on_the_group_the_number_of_copies_and_the_online_channel(
        doi_tuong, so_luong, channel, submitted_at, amount):
    assert fee(doi_tuong, so_luong, channel, submitted_at)["le_phi"] == amount


def test_the_fee_script_agrees_with_the_fee_schedule_in_procedure_json():
    standard, reduced, free, extra, online = (FEES[c] for c in (
        "phi_lltp", "phi_lltp_giam", "phi_lltp_mien", "phi_phieu_thu_ba", "giam_truc_tuyen"))
    assert fee("khong", 1, "desk", NOV_2026)["le_phi"] == standard["amount"]
    for group in reduced["applies_to"]:
        assert fee(group, 1, "desk", NOV_2026)["le_phi"] == reduced["amount"]
    for group in free["applies_to"]:
        assert fee(group, 1, "desk", NOV_2026)["le_phi"] == free["amount"]
    assert fee("khong", 3, "desk", NOV_2026)["le_phi"] - standard["amount"] == extra["amount"]
    last_day = date.fromisoformat(online["valid_to"])
    at_noon = f"{last_day.isoformat()}T05:00:00+00:00"
    assert fee("khong", 1, "online", at_noon)["le_phi"] == standard["amount"] * online["rate"]
    next_day = f"{(last_day + timedelta(days=1)).isoformat()}T05:00:00+00:00"
    assert fee("khong", 1, "online", next_day)["le_phi"] == standard["amount"]
    # the catalogue shows the standard fee, the first schedule valid today
    assert META["fees"][0] is standard


def test_the_dossier_carries_the_fee_computed_for_its_channel(ctx, actors):
    online = submit(ctx, actors["congdan"], doi_tuong_uu_tien="sinh_vien", so_luong=3)
    at_desk = submit(ctx, actors["tiepnhan_ca"], doi_tuong_uu_tien="sinh_vien", so_luong=3)
    assert online.channel == "online" and at_desk.channel == "desk"
    halved = (datetime.now(UTC) + VN).date() <= date(2026, 12, 31)
    online_data = get_dossier(ctx, actors["congdan"], online.code, with_data=True).data
    assert online_data["le_phi"] == (52500 if halved else 105000)
    assert online_data["le_phi_chi_tiet"]["so_phieu_thu_them"] == 1
    desk_data = get_dossier(ctx, actors["tiepnhan_ca"], at_desk.code, with_data=True).data
    assert desk_data["le_phi"] == 105000 and desk_data["le_phi_chi_tiet"]["giam_truc_tuyen"] is False


def test_an_online_request_pays_the_fee_on_the_national_platform_before_reception(ctx, actors, payment_platform):
    from engine.services.payments import confirm, payment_of
    from tests.conftest import with_payment

    pay = with_payment(ctx, payment_platform)
    dossier = submit(pay, actors["congdan"])
    assert inbox(pay, actors["tiepnhan_ca"], dossier.code) == []  # not before the fee is paid
    assert all(o.state == "done" for o in drain(pay))
    fee = get_dossier(pay, actors["congdan"], dossier.code, with_data=True).data["le_phi"]
    payment = payment_of(pay, dossier.code)
    assert fee > 0 and payment.state == "pending" and payment.amount == fee
    assert payment_platform.transactions[payment.reference]["amount"] == fee
    assert get_dossier(pay, actors["congdan"], dossier.code).status == "payment_requested"
    assert inbox(pay, actors["congdan"], dossier.code) == ["thanh_toan_le_phi"]
    task = next(t for t in list_inbox(pay, actors["congdan"]) if t.dossier_code == dossier.code)
    with pytest.raises(Forbidden):  # only the platform's confirmation completes it
        complete_task(pay, actors["congdan"], task.id, {"da_thanh_toan": True})

    payment_platform.pay(payment.reference, "paid", deliver=False)
    assert confirm(pay, payment_platform.confirm_for(payment.reference))["MaLoi"] == "00"
    assert inbox(pay, actors["tiepnhan_ca"], dossier.code) == ["tiep_nhan"]
    assert get_dossier(pay, actors["congdan"], dossier.code).milestones[-1]["text"] == "Đã nộp phí"
    work(pay, actors["tiepnhan_ca"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(pay, actors["chuyenvien_ca"], dossier.code, SEARCH_CLEAR)
    final = sign_and_return(pay, actors, dossier.code)
    assert statuses(pay, actors["congdan"], dossier.code)[:3] == ["payment_requested", "submitted", "received"]
    data = get_dossier(pay, actors["congdan"], dossier.code, with_data=True).data
    assert data["da_thanh_toan"] is True and data["so_tien_da_nop"] == fee
    assert final.status == "returned"


def test_requests_at_the_desk_or_exempt_from_the_fee_skip_the_online_payment(ctx, actors, payment_platform):
    from engine.services.payments import payment_of
    from tests.conftest import with_payment

    pay = with_payment(ctx, payment_platform)
    at_desk = submit(pay, actors["tiepnhan_ca"])
    exempt = submit(pay, actors["congdan"], doi_tuong_uu_tien="nguoi_cao_tuoi")
    drain(pay)
    for dossier in (at_desk, exempt):
        assert payment_of(pay, dossier.code) is None
        assert inbox(pay, actors["tiepnhan_ca"], dossier.code) == ["tiep_nhan"]
    assert payment_platform.transactions == {}
