"""Every path of «Cấp giấy phép xây dựng nhà ở riêng lẻ» (UBND phường, from 1/7/2026: 7 working days), through
the service layer, on SQLite and PostgreSQL: the exemption check first, appraisal with a site inspection,
consultation of Sở Xây dựng in its own inbox (silence = consent after 2 working days), one supplement notice
with 2 working days to answer, refusals, the leader's signature, withdrawal."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput, TaskConflict, TaskNotFound
from engine.outbox import drain
from engine.services import complete_task, get_dossier, list_attachments, list_inbox, submit_dossier
from engine.timers import fire_due_timers
from tests.factories import bpmn_ids, open_task, statuses, timeliness, work

SLUG = "cap-giay-phep-xay-dung"
EXAMPLE = json.loads((PROJECT_ROOT / "processes" / SLUG / "example-submission.json").read_text(encoding="utf-8"))
APPLICANT = {"name": "Phạm Thị Công Dân", "phone": "0912345678", "id_number": "001090000001",
             "email": "congdan@example.vn", "kind": 1}

RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan"}
APPRAISE_OK = {"ket_qua_tham_dinh": "dat", "y_kien": "Phù hợp quy hoạch chi tiết, chỉ giới xây dựng, mật độ.",
               "can_kiem_tra_hien_truong": True, "ngay_kiem_tra": "2026-12-01",
               "bien_ban_kiem_tra": "Lô đất đúng vị trí, ranh giới; hai công trình liền kề hiện trạng ổn định."}
ASK_SXD = {"ket_qua_tham_dinh": "lay_y_kien", "y_kien": "Chỉ giới đường đỏ trên bản vẽ không khớp bản đồ quy hoạch.",
           "can_kiem_tra_hien_truong": False,
           "noi_dung_lay_y_kien": "Đề nghị cho ý kiến về chỉ giới đường đỏ tuyến đường Lý Thường Kiệt."}
ASK_SUPPLEMENT = {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Thiếu bản vẽ mặt bằng móng.",
                  "can_kiem_tra_hien_truong": False,
                  "giay_to_thieu": ["Bản vẽ mặt bằng móng và mặt cắt móng", "Sơ đồ đấu nối thoát nước"]}
DRAFT = {"de_xuat": "cap_phep", "so_giay_phep": "125/GPXD",
         "yeu_cau_giay_phep": "Thông báo khởi công cho UBND phường trước 03 ngày làm việc."}
SIGN = {"quyet_dinh_phe_duyet": "dong_y"}
LATER = timedelta(days=30)  # far beyond 2 working days, even across Tết


def submit(ctx, actor, applicant: dict[str, Any] | None = None, **changes: Any):
    data = deepcopy(EXAMPLE)
    data.update(changes)
    return submit_dossier(ctx, actor, SLUG, dict(applicant or APPLICANT), data)



def clock_actions(ctx, actor, code):
    return [e["data"]["action"] for e in get_dossier(ctx, actor, code).history if e["kind"] == "clock"]


def data_of(ctx, actor, code) -> dict[str, Any]:
    return get_dossier(ctx, actor, code, with_data=True).data




def received_and_appraising(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    return dossier


def sign_and_return(ctx, actors, code):
    work(ctx, actors["chuyenvien"], code, DRAFT)
    work(ctx, actors["lanhdao"], code, SIGN)
    assert get_dossier(ctx, actors["congdan"], code).status == "result_ready"
    work(ctx, actors["tiepnhan"], code, {"hinh_thuc_tra": "truc_tuyen"})
    final = get_dossier(ctx, actors["congdan"], code)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    return final


def test_permit_without_consultation_runs_from_submission_to_returned_permit(ctx, actors, smtp):
    dossier = submit(ctx, actors["congdan"])
    assert dossier.status == "submitted"
    assert bpmn_ids(ctx, actors["tiepnhan"]) == ["tiep_nhan"]
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    received = get_dossier(ctx, actors["congdan"], dossier.code)
    assert received.status == "processing"
    assert received.due_at == ctx.calendar().add_working_days(received.received_at, 7)
    [appraisal] = list_inbox(ctx, actors["chuyenvien"])
    assert appraisal.bpmn_id == "tham_dinh"
    assert appraisal.due_at == ctx.calendar().add_working_days(appraisal.created_at, 3)

    work(ctx, actors["chuyenvien"], dossier.code, APPRAISE_OK)
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["du_thao"]
    assert list_inbox(ctx, actors["chuyenvien_xd"]) == []
    work(ctx, actors["chuyenvien"], dossier.code, DRAFT)
    assert bpmn_ids(ctx, actors["lanhdao"]) == ["phe_duyet"]
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "result_ready"
    assert [o.state for o in drain(ctx)] == ["done"] * 4  # receipt + its notice, permit, e-mail
    assert {a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)} == {"giay-tiep-nhan", "ket-qua"}
    mail = next(m for m in smtp.wait_for(2) if "giấy phép xây dựng" in m["Subject"])
    assert dossier.code in mail["Subject"]
    assert "125/GPXD" in mail.get_body(("plain",)).get_content()

    work(ctx, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert timeliness(ctx, dossier.code) == "early"
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "result_ready", "returned"]
    assert [m["text"] for m in final.milestones] == [
        "Đã nộp hồ sơ đề nghị cấp giấy phép xây dựng", "Hồ sơ đã được tiếp nhận",
        "Đang thẩm định hồ sơ, kiểm tra hiện trường", "Đang dự thảo giấy phép xây dựng",
        "Đang trình lãnh đạo phê duyệt, ký", "Đã có giấy phép xây dựng", "Đã trả kết quả"]
    data = data_of(ctx, actors["tiepnhan"], dossier.code)
    assert data["y_kien_lien_thong"] == "khong_lay_y_kien" and data["so_lan_bo_sung"] == 0
    assert data["bien_ban_kiem_tra"].startswith("Lô đất") and data["chu_dau_tu_tu_thiet_ke"] is False


def test_consultation_is_answered_by_so_xay_dung_in_its_own_inbox(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code, ASK_SXD)
    [question] = list_inbox(ctx, actors["chuyenvien_xd"])
    assert question.bpmn_id == "lay_y_kien" and question.title == "Cho ý kiến về hồ sơ cấp phép"
    assert question.agency_code == "000.00.24.H99"
    # The commune's own officials neither see nor can work Sở Xây dựng's task.
    for who in ("chuyenvien", "tiepnhan", "lanhdao"):
        assert list_inbox(ctx, actors[who]) == []
    with pytest.raises(TaskNotFound):
        complete_task(ctx, actors["chuyenvien"], question.id, {"y_kien_lien_thong": "dong_y"})
    assert get_dossier(ctx, actors["congdan"], dossier.code).milestones[-1]["text"] == \
        "Đang lấy ý kiến cơ quan có liên quan"

    with pytest.raises(InvalidInput):  # a conditional answer needs its content
        complete_task(ctx, actors["chuyenvien_xd"], question.id, {"y_kien_lien_thong": "dong_y_co_dieu_kien"})
    complete_task(ctx, actors["chuyenvien_xd"], question.id,
                  {"y_kien_lien_thong": "dong_y_co_dieu_kien", "so_van_ban_y_kien": "123/SXD-QHKT",
                   "noi_dung_y_kien": "Lùi tường rào 1,5 m theo chỉ giới đường đỏ mới."})
    assert list_inbox(ctx, actors["chuyenvien_xd"]) == []
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["du_thao"]
    data = data_of(ctx, actors["chuyenvien"], dossier.code)
    assert data["y_kien_lien_thong"] == "dong_y_co_dieu_kien" and data["so_van_ban_y_kien"] == "123/SXD-QHKT"
    sign_and_return(ctx, actors, dossier.code)
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "result_ready", "returned"]


def test_silence_of_the_consulted_agency_for_two_working_days_counts_as_consent(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code, ASK_SXD)
    question = open_task(ctx, actors["chuyenvien_xd"], dossier.code)
    now = datetime.now(UTC)
    assert fire_due_timers(ctx, now=now + timedelta(hours=1)) == []  # not yet due
    assert bpmn_ids(ctx, actors["chuyenvien_xd"]) == ["lay_y_kien"]

    assert fire_due_timers(ctx, now=now + LATER) == [dossier.code]
    assert list_inbox(ctx, actors["chuyenvien_xd"]) == []
    with pytest.raises(TaskConflict):  # the window is closed (task cancelled): a late answer is not taken
        complete_task(ctx, actors["chuyenvien_xd"], question.id, {"y_kien_lien_thong": "khong_dong_y",
                                                                  "noi_dung_y_kien": "Muộn"})
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["du_thao"]
    data = data_of(ctx, actors["chuyenvien"], dossier.code)
    assert data["y_kien_lien_thong"] == "dong_y_mac_nhien" and "coi như đồng ý" in data["noi_dung_y_kien"]
    view = get_dossier(ctx, actors["congdan"], dossier.code)
    assert view.status == "processing"
    assert view.milestones[-2]["text"] == "Hết thời hạn lấy ý kiến: cơ quan được hỏi coi như đồng ý"
    sign_and_return(ctx, actors, dossier.code)


def test_one_supplement_notice_goes_to_the_owner_and_back_to_the_specialist_with_the_clock_restarted(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    first_due = get_dossier(ctx, actors["congdan"], dossier.code).due_at
    work(ctx, actors["chuyenvien"], dossier.code, ASK_SUPPLEMENT)
    asked = get_dossier(ctx, actors["congdan"], dossier.code)
    assert asked.status == "supplement_requested" and asked.portal_status == 5
    assert bpmn_ids(ctx, actors["congdan"]) == ["bo_sung_ho_so"]
    assert list_inbox(ctx, actors["chuyenvien"]) == []
    task, _ = work(ctx, actors["congdan"], dossier.code,
                   {"noi_dung_bo_sung": "Đã nộp bản vẽ mặt bằng móng, mặt cắt móng và sơ đồ đấu nối thoát nước."})
    assert task.title == "Bổ sung, hoàn thiện hồ sơ"
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["tham_dinh"]
    assert clock_actions(ctx, actors["congdan"], dossier.code) == ["start", "await_supplement", "restart"]
    restarted = get_dossier(ctx, actors["congdan"], dossier.code)
    assert restarted.due_at >= first_due
    assert data_of(ctx, actors["chuyenvien"], dossier.code)["so_lan_bo_sung"] == 1
    work(ctx, actors["chuyenvien"], dossier.code, APPRAISE_OK)
    sign_and_return(ctx, actors, dossier.code)
    assert statuses(ctx, actors["congdan"], dossier.code) == [
        "received", "processing", "supplement_requested", "processing", "result_ready", "returned"]
    assert all(o.state == "done" for o in drain(ctx))
    kinds = [a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)]
    assert "phieu-yeu-cau-bo-sung" in kinds and "ket-qua" in kinds


def test_a_supplement_not_delivered_within_two_working_days_ends_in_refusal(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code, ASK_SUPPLEMENT)
    now = datetime.now(UTC)
    assert fire_due_timers(ctx, now=now + timedelta(hours=1)) == []
    assert bpmn_ids(ctx, actors["congdan"]) == ["bo_sung_ho_so"]
    assert fire_due_timers(ctx, now=now + LATER) == [dossier.code]
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert final.milestones[-1]["text"] == "Không cấp giấy phép: hồ sơ không được bổ sung trong 02 ngày làm việc"
    assert statuses(ctx, actors["congdan"], dossier.code) == [
        "received", "processing", "supplement_requested", "refused"]
    assert list_inbox(ctx, actors["congdan"]) == []
    assert "02 ngày làm việc" in data_of(ctx, actors["tiepnhan"], dossier.code)["ly_do_tu_choi"]
    assert all(o.state == "done" for o in drain(ctx))
    assert "phieu-tu-choi" in [a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)]


def test_a_supplement_that_still_falls_short_is_refused_without_a_second_notice(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code, ASK_SUPPLEMENT)
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã nộp sơ đồ đấu nối thoát nước."})
    work(ctx, actors["chuyenvien"], dossier.code,
         {**ASK_SUPPLEMENT, "giay_to_thieu": ["Bản vẽ mặt bằng móng và mặt cắt móng (vẫn chưa nộp)"]})
    # No second notice: the owner gets no task, the leader signs the refusal with the reasons.
    assert list_inbox(ctx, actors["congdan"]) == []
    assert bpmn_ids(ctx, actors["lanhdao"]) == ["phe_duyet"]
    data = data_of(ctx, actors["lanhdao"], dossier.code)
    assert data["de_xuat"] == "tu_choi" and "vẫn chưa nộp" in data["ly_do_tu_choi"]
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.finished_at is not None
    assert final.milestones[-1]["text"] == "Không cấp giấy phép xây dựng (có văn bản nêu rõ lý do)"
    assert statuses(ctx, actors["congdan"], dossier.code) == [
        "received", "processing", "supplement_requested", "processing", "refused"]


def test_an_exempt_house_gets_no_permit(ctx, actors):
    dossier = submit(ctx, actors["congdan"], khu_vuc="nong_thon_khong_quy_hoach")
    with pytest.raises(InvalidInput):  # the exemption case and the answer are required
        work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "mien_giay_phep"})
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "mien_giay_phep", "truong_hop_mien": "nong_thon_duoi_7_tang",
          "ly_do_tu_choi": "Nhà ở riêng lẻ 4 tầng ở nông thôn, không thuộc khu vực có quy hoạch được duyệt: "
                           "được miễn giấy phép xây dựng."})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert final.received_at is None
    assert final.milestones[-1]["text"] == \
        "Công trình thuộc diện được miễn giấy phép xây dựng: không cần cấp giấy phép"
    assert statuses(ctx, actors["congdan"], dossier.code) == ["refused"]
    assert list_inbox(ctx, actors["chuyenvien"]) == []


def test_the_owner_withdrawing_while_a_supplement_is_awaited_ends_as_withdrawn(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code, ASK_SUPPLEMENT)
    work(ctx, actors["congdan"], dossier.code, {"rut_ho_so": True})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "withdrawn" and final.portal_status == 7 and final.finished_at is not None
    assert list_inbox(ctx, actors["chuyenvien"]) == []
    # The supplement timer went with the task: nothing fires later.
    assert fire_due_timers(ctx, now=datetime.now(UTC) + LATER) == []


def test_the_desk_may_ask_for_a_supplement_only_once(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản cam kết bảo đảm an toàn công trình liền kề"]})
    assert bpmn_ids(ctx, actors["congdan"]) == ["bo_sung_ho_so"]
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã nộp bản cam kết"})
    assert bpmn_ids(ctx, actors["tiepnhan"]) == ["tiep_nhan"]
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản cam kết chưa có chữ ký"]})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and list_inbox(ctx, actors["congdan"]) == []
    assert statuses(ctx, actors["congdan"], dossier.code) == ["supplement_requested", "refused"]


def test_a_desk_supplement_returns_to_the_desk_and_the_clock_starts_at_reception(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản vẽ"]})
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã nộp bản vẽ"})
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    assert clock_actions(ctx, actors["congdan"], dossier.code) == ["start"]
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["tham_dinh"]
    # The one notice is used: the specialist can no longer ask for another supplement.
    work(ctx, actors["chuyenvien"], dossier.code, ASK_SUPPLEMENT)
    assert list_inbox(ctx, actors["congdan"]) == [] and bpmn_ids(ctx, actors["lanhdao"]) == ["phe_duyet"]


def test_the_leader_signs_a_refusal_proposed_by_the_specialist(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "khong_dat", "y_kien": "Vượt chiều cao tối đa của quy hoạch.",
          "can_kiem_tra_hien_truong": False, "ly_do_khong_dat": "Chiều cao 15,6 m vượt mức tối đa 12 m của khu vực."})
    assert data_of(ctx, actors["lanhdao"], dossier.code)["ly_do_tu_choi"].startswith("Chiều cao 15,6 m")
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "refused"]


def test_the_leader_sending_back_reopens_the_appraisal(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code, APPRAISE_OK)
    work(ctx, actors["chuyenvien"], dossier.code, DRAFT)
    with pytest.raises(InvalidInput):
        work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh_phe_duyet": "tra_lai"})
    work(ctx, actors["lanhdao"], dossier.code,
         {"quyet_dinh_phe_duyet": "tra_lai", "y_kien_lanh_dao": "Kiểm tra lại khoảng lùi công trình."})
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["tham_dinh"]
    assert list_inbox(ctx, actors["lanhdao"]) == []


def test_a_site_inspection_needs_its_report(ctx, actors):
    dossier = received_and_appraising(ctx, actors)
    with pytest.raises(InvalidInput):
        work(ctx, actors["chuyenvien"], dossier.code, {**APPRAISE_OK, "bien_ban_kiem_tra": ""})


def test_a_designer_is_required_unless_the_owner_may_design_the_house(ctx, actors):
    without_designer = deepcopy(EXAMPLE)
    del without_designer["thiet_ke"]
    with pytest.raises(InvalidInput) as err:  # 4 floors, 320 m², 15.6 m: a qualified designer is needed
        submit_dossier(ctx, actors["congdan"], SLUG, dict(APPLICANT), without_designer)
    assert "thiet_ke" in err.value.errors
    small = {**without_designer, "so_tang": 2, "dien_tich_xay_dung": 60, "tong_dien_tich_san": 120,
             "chieu_cao": 8.5}
    dossier = submit_dossier(ctx, actors["congdan"], SLUG, dict(APPLICANT), small)
    assert data_of(ctx, actors["tiepnhan"], dossier.code)["chu_dau_tu_tu_thiet_ke"] is True
    with pytest.raises(InvalidInput):  # a basement takes the owner-design option away
        submit_dossier(ctx, actors["congdan"], SLUG, dict(APPLICANT), {**small, "so_tang_ham": 1})
    with pytest.raises(InvalidInput) as err:  # 7 floors need the fire-safety design approval
        submit(ctx, actors["congdan"], so_tang=7, chieu_cao=26.0, tong_dien_tich_san=560)
    assert "van_ban_tham_duyet_pccc" in err.value.errors


# -- lệ phí: computed from the schedule in force, paid online before reception where connected ---------

FOLDER = PROJECT_ROOT / "processes" / SLUG
META = json.loads((FOLDER / "procedure.json").read_text(encoding="utf-8"))


def test_the_fee_script_agrees_with_the_fee_schedule_in_procedure_json():
    from tests.processes.fees import assert_script_follows_schedule, fee_today

    assert_script_follows_schedule(FOLDER, META)
    assert fee_today(META) == 75000


def test_an_online_application_pays_the_fee_on_the_national_platform_before_reception(ctx, actors,
                                                                                      payment_platform):
    from engine.errors import Forbidden
    from engine.services.payments import confirm, payment_of
    from tests.conftest import with_payment
    from tests.processes.fees import fee_today

    pay = with_payment(ctx, payment_platform)
    dossier = submit(pay, actors["congdan"])
    assert bpmn_ids(pay, actors["tiepnhan"]) == []  # not before the fee is paid
    assert all(o.state == "done" for o in drain(pay))
    fee = data_of(pay, actors["congdan"], dossier.code)["le_phi"]
    payment = payment_of(pay, dossier.code)
    assert fee == fee_today(META) and payment.state == "pending" and payment.amount == fee
    assert payment_platform.transactions[payment.reference]["amount"] == fee
    assert get_dossier(pay, actors["congdan"], dossier.code).status == "payment_requested"
    task = open_task(pay, actors["congdan"], dossier.code)
    assert task.bpmn_id == "thanh_toan_le_phi"
    with pytest.raises(Forbidden):  # only the platform's confirmation completes it
        complete_task(pay, actors["congdan"], task.id, {"da_thanh_toan": True})

    payment_platform.pay(payment.reference, "paid", deliver=False)
    assert confirm(pay, payment_platform.confirm_for(payment.reference))["MaLoi"] == "00"
    assert bpmn_ids(pay, actors["tiepnhan"]) == ["tiep_nhan"]
    assert get_dossier(pay, actors["congdan"], dossier.code).milestones[-1]["text"] == "Đã nộp lệ phí"
    work(pay, actors["tiepnhan"], dossier.code, RECEIVE)
    work(pay, actors["chuyenvien"], dossier.code, APPRAISE_OK)
    sign_and_return(pay, actors, dossier.code)
    assert statuses(pay, actors["congdan"], dossier.code) == [
        "payment_requested", "submitted", "received", "processing", "result_ready", "returned"]
    data = data_of(pay, actors["tiepnhan"], dossier.code)
    assert data["da_thanh_toan"] is True and data["so_tien_da_nop"] == fee


def test_a_desk_application_and_a_province_without_the_platform_skip_the_online_payment(ctx, actors,
                                                                                        payment_platform):
    from tests.processes.fees import skipping_the_platform

    skipping_the_platform(ctx, actors, payment_platform, submit)
