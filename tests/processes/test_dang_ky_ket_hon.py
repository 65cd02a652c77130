"""Every path of «Đăng ký kết hôn» (UBND phường Hòa Bình), through the service layer, on SQLite and
PostgreSQL: same-day approval and the ceremony where both parties sign the Sổ, the 5-working-day
verification (deadlineRule), refusal of an under-age couple (ages computed from the Tờ khai), supplements
(once per stage), the leader sending back, withdrawal, and cancellation of a certificate nobody collects."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from engine.calendar import VN_TZ
from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput
from engine.services import complete_task, get_dossier, get_procedure, get_task, list_inbox, submit_dossier
from engine.timers import fire_due_timers
from tests.factories import (
    bpmn_emails,
    bpmn_ids,
    clock_events,
    milestones,
    open_task,
    statuses,
    timeliness,
    work,
)

SLUG = "dang-ky-ket-hon"
EXAMPLE = json.loads((PROJECT_ROOT / "processes" / SLUG / "example-submission.json").read_text(encoding="utf-8"))
APPLICANT = {"name": "Trần Thị Hạnh", "phone": "0911222333", "id_number": "001198000777",
             "email": "hanh.tran@example.vn", "kind": 1}

RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan", "da_tra_cuu_hon_nhan": True}
APPROVE = {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện kết hôn; tình trạng hôn nhân khớp CSDL hộ tịch",
           "so_dang_ky": "87", "quyen_so": "01/2026"}
SIGN = {"quyet_dinh": "dong_y"}
CEREMONY = {"ben_nu_da_ky_so": True, "ben_nam_da_ky_so": True, "so_ban_chinh_da_trao": 2, "so_ban_sao_da_cap": 1}


def today_vn() -> date:
    return datetime.now(UTC).astimezone(VN_TZ).date()


def born(years: int, days_later: int = 0) -> str:
    """The birth date of someone who turns `years` today (or `days_later` days from now)."""
    today = today_vn()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - years, day=28)
    return (birthday + timedelta(days=days_later)).isoformat()


def couple(woman: str | None = None, man: str | None = None, **changes: Any) -> dict[str, Any]:
    data = deepcopy(EXAMPLE)
    if woman:
        data["ben_nu"]["ngay_sinh"] = woman
    if man:
        data["ben_nam"]["ngay_sinh"] = man
    data["ngay_khai"] = today_vn().isoformat()
    data.update(changes)
    return data


def submit(ctx, actor, **kwargs: Any):
    return submit_dossier(ctx, actor, SLUG, dict(APPLICANT), couple(**kwargs))








def specialist_view(ctx, actors, code) -> dict[str, Any]:
    task = open_task(ctx, actors["chuyenvien"], code)
    assert task.bpmn_id == "tham_dinh"
    return get_task(ctx, actors["chuyenvien"], task.id).data


# ------------------------------------------------------------------ approval and ceremony


def test_marriage_registered_the_same_day_ends_with_both_parties_signing_the_register(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    assert dossier.status == "submitted" and bpmn_ids(ctx, actors["tiepnhan"]) == ["tiep_nhan"]
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    received = get_dossier(ctx, citizen, dossier.code)
    assert received.status == "processing" and received.received_at <= received.due_at
    due = received.due_at.astimezone(VN_TZ)
    assert due.time() == time(17, 0) and ctx.calendar().is_working_day(due.date())
    assert received.due_at == ctx.calendar().same_day_deadline(received.received_at, time(15, 0))
    assert get_procedure(ctx, SLUG).deadline == {"value": 0, "unit": "same_day", "cutoff": "15:00"}

    shown = specialist_view(ctx, actors, dossier.code)
    assert shown["du_tuoi"] is True
    assert shown["tuoi_ben_nu"] >= 18 and shown["tuoi_ben_nam"] >= 20
    work(ctx, actors["chuyenvien"], dossier.code, APPROVE)
    assert bpmn_ids(ctx, actors["lanhdao"]) == ["ky_gcn"]
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, citizen, dossier.code).status == "result_ready"
    [mail] = bpmn_emails(ctx, dossier.code)
    assert mail["to"] == APPLICANT["email"] and "Phạm Quốc Bảo" in mail["text"] and "Trần Thị Hạnh" in mail["text"]

    ceremony = open_task(ctx, actors["chuyenvien"], dossier.code)
    assert ceremony.bpmn_id == "trao_gcn" and bpmn_ids(ctx, actors["tiepnhan"]) == []
    with pytest.raises(InvalidInput):  # both parties must be present and sign
        complete_task(ctx, actors["chuyenvien"], ceremony.id, {**CEREMONY, "ben_nam_da_ky_so": False})
    complete_task(ctx, actors["chuyenvien"], ceremony.id, CEREMONY)
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert timeliness(ctx, dossier.code) in ("early", "on_time")
    assert statuses(ctx, citizen, dossier.code) == ["received", "processing", "result_ready", "returned"]
    assert [c["action"] for c in clock_events(ctx, citizen, dossier.code)] == ["start"]
    texts = milestones(ctx, citizen, dossier.code)
    assert texts[0] == "Đã nộp hồ sơ" and texts[-1] == "Đã trao Giấy chứng nhận kết hôn"
    assert list_inbox(ctx, actors["chuyenvien"]) == []


def test_verification_extends_the_deadline_to_five_working_days_from_reception(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    before = get_dossier(ctx, citizen, dossier.code)
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    with pytest.raises(InvalidInput):  # what to verify is required
        complete_task(ctx, actors["chuyenvien"], task.id, {"ket_qua_tham_dinh": "xac_minh", "y_kien": "Nghi vấn"})
    complete_task(ctx, actors["chuyenvien"], task.id,
                  {"ket_qua_tham_dinh": "xac_minh", "y_kien": "Bên nam từng cư trú ở tỉnh khác",
                   "noi_dung_xac_minh": "Tình trạng hôn nhân của bên nam tại nơi cư trú trước đây"})
    after = get_dossier(ctx, citizen, dossier.code)
    assert after.status == "processing"
    assert after.due_at > before.due_at
    assert after.due_at == ctx.calendar().add_working_days(after.received_at, 5)
    rule = clock_events(ctx, citizen, dossier.code)[-1]
    assert rule["action"] == "rule" and rule["rule"] == "xac_minh"
    assert rule["old_due"] == before.due_at.isoformat() and rule["new_due"] == after.due_at.isoformat()
    verification = open_task(ctx, actors["chuyenvien"], dossier.code)
    assert verification.bpmn_id == "xac_minh"
    assert "Đang xác minh điều kiện kết hôn; hẹn trả kết quả trong 5 ngày làm việc" in milestones(
        ctx, citizen, dossier.code)

    complete_task(ctx, actors["chuyenvien"], verification.id,
                  {"ket_qua_xac_minh": "phu_hop", "co_quan_xac_minh": "UBND xã nơi cư trú trước đây",
                   "noi_dung_ket_qua_xac_minh": "Chưa đăng ký kết hôn với ai"})
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["tham_dinh"]
    work(ctx, actors["chuyenvien"], dossier.code, APPROVE)
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    work(ctx, actors["chuyenvien"], dossier.code, CEREMONY)
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "returned" and final.due_at == after.due_at
    assert [c["action"] for c in clock_events(ctx, citizen, dossier.code)] == ["start", "rule"]


# ------------------------------------------------------------------ age condition


@pytest.mark.parametrize(("woman", "man", "eligible"), [
    (born(18), born(20), True),                 # both reach the legal age today
    (born(18, days_later=1), born(25), False),  # the bride turns 18 tomorrow
    (born(25), born(20, days_later=1), False),  # the groom turns 20 tomorrow
])
def test_the_age_condition_is_computed_from_the_birth_dates_and_shown_to_the_officer(
        ctx, actors, woman, man, eligible):
    dossier = submit(ctx, actors["congdan"], woman=woman, man=man)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    shown = specialist_view(ctx, actors, dossier.code)
    assert shown["du_tuoi"] is eligible
    assert shown["dieu_kien_ket_hon"]["du_tuoi"] is eligible


def test_under_age_groom_is_refused_on_the_officers_proposal(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen, man=born(19))
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    shown = specialist_view(ctx, actors, dossier.code)
    assert shown["du_tuoi"] is False and shown["tuoi_ben_nam"] == 19
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "tu_choi", "y_kien": "Bên nam chưa đủ 20 tuổi",
          "ly_do_tu_choi": "Bên nam chưa đủ tuổi kết hôn (Luật Hôn nhân và gia đình Điều 8)"})
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert statuses(ctx, citizen, dossier.code) == ["received", "processing", "refused"]
    assert milestones(ctx, citizen, dossier.code)[-1] == "Hồ sơ không được giải quyết"
    assert bpmn_emails(ctx, dossier.code) == []


def test_an_under_age_couple_cannot_be_approved_even_if_the_officer_chooses_approval(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen, woman=born(17))
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    complete_task(ctx, actors["chuyenvien"], task.id, {**APPROVE, "du_tuoi": True})  # a forged display field
    assert bpmn_ids(ctx, actors["lanhdao"]) == ["ky_gcn"]
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, citizen, dossier.code).status == "refused"
    data = get_dossier(ctx, actors["chuyenvien"], dossier.code, with_data=True).data
    assert data["ly_do_tu_choi"].startswith("Chưa đủ tuổi kết hôn") and "bên nữ 17 tuổi" in data["ly_do_tu_choi"]


def test_refusal_at_reception_ends_the_dossier_as_refused(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không bên nào cư trú tại phường Hòa Bình"})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.received_at is None and final.finished_at is not None


# ------------------------------------------------------------------ supplements, return, withdrawal


def test_supplement_during_the_check_returns_to_the_officer_and_restarts_the_clock(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Bên nữ đã ly hôn ở nước ngoài",
          "giay_to_thieu": ["Trích lục ghi chú ly hôn của bên nữ"]})
    assert get_dossier(ctx, citizen, dossier.code).status == "supplement_requested"
    assert bpmn_ids(ctx, citizen) == ["bo_sung_ho_so"] and bpmn_ids(ctx, actors["chuyenvien"]) == []
    task, _ = work(ctx, citizen, dossier.code, {"noi_dung_bo_sung": "Đã nộp trích lục ghi chú ly hôn"})
    assert task.title == "Bổ sung hồ sơ"
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["tham_dinh"] and bpmn_ids(ctx, actors["tiepnhan"]) == []
    assert statuses(ctx, citizen, dossier.code) == ["received", "processing", "supplement_requested", "processing"]
    assert [c["action"] for c in clock_events(ctx, citizen, dossier.code)] == ["start", "await_supplement", "restart"]
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Vẫn thiếu", "giay_to_thieu": ["Bản dịch trích lục"]})
    assert bpmn_ids(ctx, citizen) == []  # only one supplement request: the second becomes a refusal proposal
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, citizen, dossier.code).status == "refused"


def test_supplement_at_reception_goes_back_to_the_desk(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Tờ khai có chữ ký của cả hai bên"]})
    work(ctx, citizen, dossier.code, {"noi_dung_bo_sung": "Đã ký đủ"})
    assert bpmn_ids(ctx, actors["tiepnhan"]) == ["tiep_nhan"]


def test_leader_sending_back_reopens_the_officers_check(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code, APPROVE)
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "tra_lai", "y_kien_lanh_dao": "Làm rõ sự tự nguyện"})
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["tham_dinh"] and bpmn_ids(ctx, actors["lanhdao"]) == []


def test_citizen_withdrawing_while_a_supplement_is_awaited_ends_as_withdrawn(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["CCCD bên nam"]})
    work(ctx, citizen, dossier.code, {"noi_dung_bo_sung": "Chúng tôi rút hồ sơ", "rut_ho_so": True})
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "withdrawn" and final.portal_status == 7 and final.finished_at is not None
    assert list_inbox(ctx, actors["tiepnhan"]) == []


def test_a_certificate_not_collected_within_sixty_days_is_cancelled(ctx, actors):
    citizen = actors["congdan"]
    dossier = submit(ctx, citizen)
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code, APPROVE)
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    now = datetime.now(UTC)
    assert fire_due_timers(ctx, now=now + timedelta(days=30)) == []
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["trao_gcn"]
    assert fire_due_timers(ctx, now=now + timedelta(days=75)) == [dossier.code]
    final = get_dossier(ctx, citizen, dossier.code)
    assert final.status == "stopped" and final.portal_status == 8 and final.finished_at is not None
    assert list_inbox(ctx, actors["chuyenvien"]) == []
    assert milestones(ctx, citizen, dossier.code)[-1].startswith("Giấy chứng nhận kết hôn đã bị hủy")
