"""Every path of «Đăng ký khai sinh» (UBND phường Hòa Bình), through the service layer, on SQLite and
PostgreSQL: on-time registration, the 15:00 cut-off of the same-day deadline, the late-registration fee,
the liên thông bundle for children under 6 (Công an phường and BHXH in their own inboxes, and the
2-working-day timer when one of them stays silent), supplements at reception and during processing (once
per stage), refusals and withdrawal."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.calendar import VN_TZ
from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput, TaskNotFound
from engine.services import complete_task, get_dossier, get_procedure, get_task, list_inbox, submit_dossier
from engine.services.clock import legal_due
from engine.timers import fire_due_timers
from tests.factories import bpmn_emails, bpmn_ids, milestones, open_task, statuses, timeliness, work

SLUG = "dang-ky-khai-sinh"
EXAMPLE = json.loads((PROJECT_ROOT / "processes" / SLUG / "example-submission.json").read_text(encoding="utf-8"))
APPLICANT = {"name": "Lê Thị Mai", "phone": "0987654321", "id_number": "001195000321",
             "email": "le.mai@example.vn", "kind": 1}
BUNDLE = {"noi_dang_ky_thuong_tru": "Số 7, ngõ 12, đường Hòa Bình, phường Hòa Bình, tỉnh Demo",
          "noi_kcb_ban_dau": "Trạm Y tế phường Hòa Bình", "hinh_thuc_nhan": "vneid"}

RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan", "da_tra_cuu_dan_cu": True}
RECORD = {"ket_qua_kiem_tra": "dat", "y_kien": "Thông tin khớp CSDL dân cư và CSDL hộ tịch",
          "so_dang_ky": "215", "quyen_so": "01/2026"}
SIGN = {"quyet_dinh": "dong_y"}
RETURN = {"nguoi_yeu_cau_da_ky_so": True, "hinh_thuc_tra": "truc_tiep", "so_ban_sao_da_cap": 2}
PAY = {"so_tien": 8000, "hinh_thuc_nop": "tien_mat", "so_bien_lai": "BL-000123", "da_thu_le_phi": True}
RESIDENCE = {"ket_qua_thuong_tru": "da_dang_ky", "so_thong_bao_thuong_tru": "CT08-2026-0456"}
INSURANCE = {"ket_qua_bhyt": "da_cap", "ma_so_bhxh": "0126543210", "the_co_gia_tri_tu": "2026-12-01"}

CA_PHUONG, BHXH = "000.00.25.H99", "000.00.26.H99"


def today_vn() -> date:
    return datetime.now(UTC).astimezone(VN_TZ).date()


def birth_form(days_old: int = 10, **changes: Any) -> dict[str, Any]:
    data = deepcopy(EXAMPLE)
    data["tre"]["ngay_sinh"] = (today_vn() - timedelta(days=days_old)).isoformat()
    data["ngay_khai"] = today_vn().isoformat()
    data.update(changes)
    return data


def submit(ctx, actor, days_old: int = 10, **changes: Any):
    return submit_dossier(ctx, actor, SLUG, dict(APPLICANT), birth_form(days_old, **changes))


def submit_bundle(ctx, actor, days_old: int = 10):
    return submit(ctx, actor, days_old, lien_thong_thuong_tru_bhyt=True, lien_thong=dict(BUNDLE))



def clock_actions(ctx, actor, code) -> list[str]:
    return [e["data"]["action"] for e in get_dossier(ctx, actor, code).history if e["kind"] == "clock"]






def signed(ctx, actors, code) -> None:
    """Reception, record in the Sổ and signature, as on every approved path."""
    work(ctx, actors["tiepnhan"], code, RECEIVE)
    work(ctx, actors["chuyenvien"], code, RECORD)
    work(ctx, actors["lanhdao"], code, SIGN)


# ------------------------------------------------------------------ approval


def test_birth_registered_within_sixty_days_runs_to_the_returned_birth_certificate_without_fee_or_bundle(
        ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen, days_old=10)
    assert dossier.status == "submitted"
    reception = open_task(ctx, actors["tiepnhan"], dossier.code)
    shown = get_task(ctx, actors["tiepnhan"], reception.id).data
    assert shown["dang_ky_qua_han"] is False and shown["so_ngay_tu_ngay_sinh"] == 10
    assert shown["lien_thong"] is False

    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    received = get_dossier(ctx, citizen, dossier.code)
    assert received.status == "processing" and received.received_at <= received.due_at
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["kiem_tra"]
    assert bpmn_ids(ctx, actors["tiepnhan"]) == []

    work(ctx, actors["chuyenvien"], dossier.code, RECORD)
    assert bpmn_ids(ctx, actors["lanhdao"]) == ["ky_giay_khai_sinh"]
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, citizen, dossier.code).status == "result_ready"
    assert bpmn_ids(ctx, actors["chuyenvien_cap"]) == [] and bpmn_ids(ctx, actors["chuyenvien_bhxh"]) == []
    [mail] = bpmn_emails(ctx, dossier.code)
    assert mail["to"] == APPLICANT["email"] and dossier.code in mail["subject"]
    assert "Nguyễn Minh An" in mail["text"]

    work(ctx, actors["tiepnhan"], dossier.code, RETURN)
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert timeliness(ctx, dossier.code) in ("early", "on_time")
    assert statuses(ctx, citizen, dossier.code) == ["received", "processing", "result_ready", "returned"]
    assert clock_actions(ctx, citizen, dossier.code) == ["start"]
    texts = milestones(ctx, citizen, dossier.code)
    assert texts[0] == "Đã nộp hồ sơ" and texts[-1] == "Đã trả kết quả"
    assert not any("liên thông" in text for text in texts)
    assert list_inbox(ctx, actors["tiepnhan"]) == []


def test_the_requester_must_confirm_signing_the_register_before_the_result_is_returned(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    signed(ctx, actors, dossier.code)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    with pytest.raises(InvalidInput):
        complete_task(ctx, actors["tiepnhan"], task.id, {**RETURN, "nguoi_yeu_cau_da_ky_so": False})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "result_ready"


def test_an_applicant_without_email_still_gets_the_result(ctx, actors):
    dossier = submit_dossier(ctx, actors["tiepnhan"], SLUG, {**APPLICANT, "email": None}, birth_form())
    signed(ctx, actors, dossier.code)
    assert [m["to"] for m in bpmn_emails(ctx, dossier.code)] == [""]
    work(ctx, actors["tiepnhan"], dossier.code, RETURN)
    assert get_dossier(ctx, actors["tiepnhan"], dossier.code).status == "returned"


# ------------------------------------------------------------------ the 15:00 rule


def test_the_same_day_appointment_ends_a_working_day_and_follows_the_fifteen_hundred_cutoff(ctx, actors):
    procedure = get_procedure(ctx, SLUG)
    assert procedure.deadline == {"value": 0, "unit": "same_day", "cutoff": "15:00"}
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    view = get_dossier(ctx, actors["congdan"], dossier.code)
    calendar = ctx.calendar()
    due = view.due_at.astimezone(VN_TZ)
    assert view.received_at <= view.due_at
    assert due.time() == time(17, 0) and calendar.is_working_day(due.date())
    assert view.due_at == calendar.same_day_deadline(view.received_at, time(15, 0))
    received = view.received_at.astimezone(VN_TZ)
    same_day = calendar.is_working_day(received.date()) and received.time() < time(15, 0)
    assert (due.date() == received.date()) is same_day

    # The rule itself, with this procedure's configuration, on a fixed Tuesday (1/12/2026).
    meta = {"deadline": procedure.deadline}
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    before = legal_due(meta, datetime(2026, 12, 1, 14, 59, tzinfo=tz), calendar)
    after = legal_due(meta, datetime(2026, 12, 1, 15, 0, tzinfo=tz), calendar)
    assert before.astimezone(tz) == datetime(2026, 12, 1, 17, 0, tzinfo=tz)
    assert after.astimezone(tz) == datetime(2026, 12, 2, 17, 0, tzinfo=tz)


# ------------------------------------------------------------------ late registration fee


@pytest.mark.parametrize(("days_old", "late"), [(60, False), (61, True)])
def test_registration_after_sixty_days_from_birth_is_late(ctx, actors, days_old, late):
    dossier = submit(ctx, actors["congdan"], days_old=days_old)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    view = get_dossier(ctx, actors["congdan"], dossier.code)
    assert view.status == ("payment_requested" if late else "processing")
    assert bpmn_ids(ctx, actors["tiepnhan"]) == (["thu_le_phi"] if late else [])
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ([] if late else ["kiem_tra"])


def test_late_registration_waits_for_the_desk_to_confirm_the_fee_then_is_processed(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen, days_old=90)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    fee = open_task(ctx, actors["tiepnhan"], dossier.code)
    assert fee.bpmn_id == "thu_le_phi" and fee.dossier_status == "payment_requested"
    assert get_task(ctx, actors["tiepnhan"], fee.id).data["so_ngay_tu_ngay_sinh"] == 90
    assert "Đăng ký khai sinh quá hạn: mời nộp lệ phí" in milestones(ctx, citizen, dossier.code)
    with pytest.raises(InvalidInput):
        complete_task(ctx, actors["tiepnhan"], fee.id, {**PAY, "da_thu_le_phi": False})

    complete_task(ctx, actors["tiepnhan"], fee.id, PAY)
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["kiem_tra"]
    work(ctx, actors["chuyenvien"], dossier.code, RECORD)
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    work(ctx, actors["tiepnhan"], dossier.code, RETURN)
    assert statuses(ctx, citizen, dossier.code) == [
        "received", "payment_requested", "processing", "result_ready", "returned"]
    data = get_dossier(ctx, actors["tiepnhan"], dossier.code, with_data=True).data
    assert data["so_tien"] == 8000 and data["thoi_han_dang_ky"]["qua_han"] is True


# ------------------------------------------------------------------ liên thông bundle


def test_bundle_for_a_child_under_six_is_worked_by_police_and_social_insurance_in_their_own_inboxes(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit_bundle(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    view = get_dossier(ctx, citizen, dossier.code)
    assert clock_actions(ctx, citizen, dossier.code) == ["start", "rule"]
    rule = [e["data"] for e in view.history if e["kind"] == "clock"][-1]
    assert rule["rule"] == "lien_thong"
    assert view.due_at == ctx.calendar().add_working_days(view.received_at, 3)

    work(ctx, actors["chuyenvien"], dossier.code, RECORD)
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, citizen, dossier.code).status == "processing"
    police = list_inbox(ctx, actors["chuyenvien_cap"])
    insurance = list_inbox(ctx, actors["chuyenvien_bhxh"])
    assert [(t.bpmn_id, t.agency_code) for t in police] == [("dang_ky_thuong_tru", CA_PHUONG)]
    assert [(t.bpmn_id, t.agency_code) for t in insurance] == [("cap_the_bhyt", BHXH)]
    for outsider in ("chuyenvien", "chuyenvien_ca", "lanhdao", "tiepnhan"):
        assert list_inbox(ctx, actors[outsider]) == [], outsider
    with pytest.raises(TaskNotFound):
        complete_task(ctx, actors["chuyenvien"], police[0].id, RESIDENCE)
    with pytest.raises(TaskNotFound):
        complete_task(ctx, actors["chuyenvien_cap"], insurance[0].id, INSURANCE)

    complete_task(ctx, actors["chuyenvien_cap"], police[0].id, RESIDENCE)
    assert get_dossier(ctx, citizen, dossier.code).status == "processing"
    assert list_inbox(ctx, actors["tiepnhan"]) == []  # joined: waits for the other agency
    complete_task(ctx, actors["chuyenvien_bhxh"], insurance[0].id, INSURANCE)
    assert get_dossier(ctx, citizen, dossier.code).status == "result_ready"
    back = open_task(ctx, actors["tiepnhan"], dossier.code)
    shown = get_task(ctx, actors["tiepnhan"], back.id).data
    assert shown["ket_qua_thuong_tru"] == "da_dang_ky" and shown["ket_qua_bhyt"] == "da_cap"
    assert shown["ma_so_bhxh"] == "0126543210"

    complete_task(ctx, actors["tiepnhan"], back.id, RETURN)
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "returned" and final.portal_status == 10
    texts = milestones(ctx, citizen, dossier.code)
    assert "Công an phường đang đăng ký thường trú cho trẻ" in texts
    assert "Bảo hiểm xã hội đang cấp thẻ bảo hiểm y tế cho trẻ" in texts
    assert not any(text.startswith("Quá hạn liên thông") for text in texts)
    assert fire_due_timers(ctx, now=datetime.now(UTC) + timedelta(days=30)) == []


def test_bundle_where_social_insurance_stays_silent_is_closed_by_the_two_working_day_timer(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit_bundle(ctx, citizen)
    signed(ctx, actors, dossier.code)
    work(ctx, actors["chuyenvien_cap"], dossier.code, RESIDENCE)
    [insurance] = list_inbox(ctx, actors["chuyenvien_bhxh"])
    assert insurance.due_at is not None

    assert fire_due_timers(ctx, now=datetime.now(UTC)) == []  # not due yet
    assert bpmn_ids(ctx, actors["chuyenvien_bhxh"]) == ["cap_the_bhyt"]
    assert fire_due_timers(ctx, now=datetime.now(UTC) + timedelta(days=30)) == [dossier.code]

    assert list_inbox(ctx, actors["chuyenvien_bhxh"]) == []
    view = get_dossier(ctx, citizen, dossier.code)
    assert view.status == "result_ready"
    assert "Quá hạn liên thông: Bảo hiểm xã hội chưa có kết quả cấp thẻ bảo hiểm y tế cho trẻ" in milestones(
        ctx, citizen, dossier.code)
    back = open_task(ctx, actors["tiepnhan"], dossier.code)
    shown = get_task(ctx, actors["tiepnhan"], back.id).data
    assert shown["ket_qua_bhyt"] == "qua_han" and shown["ket_qua_thuong_tru"] == "da_dang_ky"
    assert shown["ghi_chu_bhyt"].startswith("Quá hạn liên thông")
    complete_task(ctx, actors["tiepnhan"], back.id, {**RETURN, "ghi_chu_tra_ket_qua": "Đã hướng dẫn về thẻ BHYT"})
    assert get_dossier(ctx, citizen, dossier.code).status == "returned"
    cancelled = [e for e in get_dossier(ctx, citizen, dossier.code).history
                 if e["kind"] == "task_completed" and e["data"]["element"] == "cap_the_bhyt"]
    assert cancelled == []


def test_the_bundle_is_ignored_for_a_child_aged_six_or_more(ctx, actors):
    dossier = submit_bundle(ctx, actors["congdan"], days_old=6 * 366)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    assert clock_actions(ctx, actors["congdan"], dossier.code) == ["start"]
    work(ctx, actors["tiepnhan"], dossier.code, PAY)  # born years ago: late registration as well
    work(ctx, actors["chuyenvien"], dossier.code, RECORD)
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "result_ready"
    assert list_inbox(ctx, actors["chuyenvien_cap"]) == [] and list_inbox(ctx, actors["chuyenvien_bhxh"]) == []


# ------------------------------------------------------------------ supplements


def test_supplement_at_reception_goes_to_the_citizen_and_back_to_the_desk(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Văn bản của người làm chứng xác nhận việc sinh"]})
    assert get_dossier(ctx, citizen, dossier.code).status == "supplement_requested"
    assert bpmn_ids(ctx, actors["tiepnhan"]) == []
    task, _ = work(ctx, citizen, dossier.code, {"noi_dung_bo_sung": "Đã nộp văn bản của người làm chứng"})
    assert task.bpmn_id == "bo_sung_ho_so"
    assert bpmn_ids(ctx, actors["tiepnhan"]) == ["tiep_nhan"]
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    assert statuses(ctx, citizen, dossier.code) == ["supplement_requested", "received", "processing"]


def test_a_second_supplement_request_at_reception_becomes_a_refusal_with_reasons(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    missing = {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Giấy chứng sinh"]}
    work(ctx, actors["tiepnhan"], dossier.code, missing)
    work(ctx, citizen, dossier.code, {"noi_dung_bo_sung": "Đã bổ sung"})
    work(ctx, actors["tiepnhan"], dossier.code, missing)
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "refused" and final.portal_status == 3
    data = get_dossier(ctx, actors["tiepnhan"], dossier.code, with_data=True).data
    assert "Giấy chứng sinh" in data["ly_do_tu_choi"]


def test_supplement_during_processing_returns_to_the_civil_status_officer_and_restarts_the_clock(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_kiem_tra": "bo_sung", "y_kien": "Quê quán chưa thống nhất",
          "giay_to_thieu": ["Văn bản thỏa thuận của cha mẹ về quê quán của con"]})
    assert get_dossier(ctx, citizen, dossier.code).status == "supplement_requested"
    assert bpmn_ids(ctx, citizen) == ["bo_sung_ho_so"] and bpmn_ids(ctx, actors["chuyenvien"]) == []
    work(ctx, citizen, dossier.code, {"noi_dung_bo_sung": "Đã nộp văn bản thỏa thuận"})
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["kiem_tra"] and bpmn_ids(ctx, actors["tiepnhan"]) == []
    assert statuses(ctx, citizen, dossier.code) == ["received", "processing", "supplement_requested", "processing"]
    assert clock_actions(ctx, citizen, dossier.code) == ["start", "await_supplement", "restart"]
    restart = [e["data"] for e in get_dossier(ctx, citizen, dossier.code).history if e["kind"] == "clock"][-1]
    assert restart["rule"] == "restart" and restart["old_due"] and restart["new_due"]


def test_a_second_supplement_request_during_processing_goes_to_the_leader_as_a_refusal(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    missing = {"ket_qua_kiem_tra": "bo_sung", "y_kien": "Thiếu", "giay_to_thieu": ["Giấy chứng sinh bản chính"]}
    work(ctx, actors["chuyenvien"], dossier.code, missing)
    work(ctx, citizen, dossier.code, {"noi_dung_bo_sung": "Đã bổ sung"})
    work(ctx, actors["chuyenvien"], dossier.code, missing)
    assert bpmn_ids(ctx, citizen) == [] and bpmn_ids(ctx, actors["lanhdao"]) == ["ky_giay_khai_sinh"]
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, citizen, dossier.code).status == "refused"


# ------------------------------------------------------------------ refusals, return, withdrawal


def test_refusal_at_reception_ends_the_dossier_as_refused(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Cha, mẹ không cư trú tại phường Hòa Bình"})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert final.received_at is None


def test_refusal_proposed_by_the_officer_and_signed_by_the_leader_refuses_the_dossier(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    with pytest.raises(InvalidInput):  # reasons are required when refusing
        complete_task(ctx, actors["chuyenvien"], task.id, {"ket_qua_kiem_tra": "tu_choi", "y_kien": "Không đủ"})
    complete_task(ctx, actors["chuyenvien"], task.id,
                  {"ket_qua_kiem_tra": "tu_choi", "y_kien": "Trẻ đã được đăng ký khai sinh",
                   "ly_do_tu_choi": "Trẻ đã được đăng ký khai sinh tại nơi khác (CSDL hộ tịch)"})
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "refused" and final.finished_at is not None
    assert statuses(ctx, citizen, dossier.code) == ["received", "processing", "refused"]
    assert milestones(ctx, citizen, dossier.code)[-1] == "Hồ sơ không được giải quyết"


def test_leader_sending_back_reopens_the_officers_check(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code, RECORD)
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "tra_lai", "y_kien_lanh_dao": "Kiểm tra lại quê quán"})
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["kiem_tra"] and bpmn_ids(ctx, actors["lanhdao"]) == []


def test_citizen_withdrawing_while_a_supplement_is_awaited_ends_as_withdrawn(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_kiem_tra": "bo_sung", "y_kien": "Thiếu", "giay_to_thieu": ["Giấy chứng sinh"]})
    work(ctx, citizen, dossier.code, {"rut_ho_so": True})
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "withdrawn" and final.portal_status == 7 and final.finished_at is not None
    assert list_inbox(ctx, actors["chuyenvien"]) == [] and list_inbox(ctx, citizen) == []
