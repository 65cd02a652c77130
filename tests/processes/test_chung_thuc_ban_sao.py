"""Every path of «Chứng thực bản sao từ bản chính» (UBND phường), through the service layer, on SQLite and
PostgreSQL: same-day certification with the computed fee, the many-pages deadline rule, the agreed later
date, refusals (automatic for a foreign original that is not legalised, by the desk, the công chức tư pháp
or the signer) and withdrawal. There is no supplement loop (Nghị định 23/2015/NĐ-CP, Điều 22)."""

from __future__ import annotations

import json
from copy import deepcopy
from datetime import datetime
from typing import Any

import pytest

from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput
from engine.outbox import drain
from engine.services import get_dossier, list_attachments, list_inbox, submit_dossier
from tests.factories import bpmn_ids, clock_events, statuses, timeliness, work

SLUG = "chung-thuc-ban-sao"
EXAMPLE = json.loads((PROJECT_ROOT / "processes" / SLUG / "example-submission.json").read_text(encoding="utf-8"))
APPLICANT = {"name": "Phạm Thị Công Dân", "phone": "0912345678", "id_number": "001090000001",
             "email": "congdan@example.vn", "kind": 1}

RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan", "da_thu_phi": True, "so_bien_lai": "0001234"}
WITNESS = {"ket_qua_loi_chung": "trinh_ky", "so_chung_thuc": "1532", "quyen_so": "01/2026-SCT/BS"}
SIGN = {"quyet_dinh_ky": "ky", "nguoi_ky": "pho_chu_tich"}


def submit(ctx, actor, applicant: dict[str, Any] | None = None, **changes: Any):
    data = deepcopy(EXAMPLE)
    data.update(changes)
    return submit_dossier(ctx, actor, SLUG, dict(applicant or APPLICANT), data)




def data_of(ctx, actor, code) -> dict[str, Any]:
    return get_dossier(ctx, actor, code, with_data=True).data




def test_certified_copy_runs_from_request_to_returned_copy_the_same_day(ctx, actors, smtp):
    dossier = submit(ctx, actors["congdan"])
    assert dossier.status == "submitted"
    assert bpmn_ids(ctx, actors["tiepnhan"]) == ["tiep_nhan"]
    assert bpmn_ids(ctx, actors["chuyenvien"]) == [] and bpmn_ids(ctx, actors["lanhdao"]) == []

    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    received = get_dossier(ctx, actors["congdan"], dossier.code)
    assert received.status == "processing"
    # Same working day, or the next one when received after the 15:00 cut-off.
    expected = ctx.calendar().same_day_deadline(received.received_at, datetime.strptime("15:00", "%H:%M").time())
    assert received.due_at == expected
    assert [c["action"] for c in clock_events(ctx, actors["congdan"], dossier.code)] == ["start"]
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["lap_loi_chung"]

    work(ctx, actors["chuyenvien"], dossier.code, WITNESS)
    assert bpmn_ids(ctx, actors["lanhdao"]) == ["ky_chung_thuc"]
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "result_ready"
    assert [o.state for o in drain(ctx)] == ["done"] * 4  # receipt + its notice, certified copy, e-mail
    assert {a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)} == {"giay-tiep-nhan", "ket-qua"}
    mail = next(m for m in smtp.wait_for(2) if "được tiếp nhận" not in m["Subject"])
    assert dossier.code in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "1532" in body and "6.000 đồng" in body

    work(ctx, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert timeliness(ctx, dossier.code) in ("early", "on_time")
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "result_ready", "returned"]
    assert [m["text"] for m in final.milestones] == [
        "Đã nộp yêu cầu chứng thực", "Đã tiếp nhận yêu cầu chứng thực", "Đang chứng thực bản sao",
        "Đang trình ký chứng thực", "Đã có bản sao được chứng thực", "Đã trả kết quả"]
    data = data_of(ctx, actors["tiepnhan"], dossier.code)
    assert data["phi_chung_thuc"] == 6000 and data["nhieu_trang"] is False
    assert data["so_chung_thuc"] == "1532" and data["nguoi_ky"] == "pho_chu_tich"
    for who in ("tiepnhan", "chuyenvien", "lanhdao", "congdan"):
        assert list_inbox(ctx, actors[who]) == []


@pytest.mark.parametrize(("so_trang", "so_ban", "phi"), [
    (1, 1, 2_000),        # trang 1: 2.000 đ
    (2, 1, 4_000),        # trang 1-2: 2 x 2.000 đ
    (5, 2, 14_000),       # (2 x 2.000 + 3 x 1.000) x 2 bản
    (198, 1, 200_000),    # 4.000 + 196 x 1.000 = 200.000 đ: đúng mức trần
    (300, 2, 400_000),    # 302.000 đ bị giới hạn 200.000 đ/bản, x 2 bản
])
def test_the_fee_is_2000_for_pages_one_and_two_then_1000_a_page_capped_at_200000_a_copy(
        ctx, actors, so_trang, so_ban, phi):
    dossier = submit(ctx, actors["congdan"], so_trang=so_trang, so_ban=so_ban)
    data = data_of(ctx, actors["tiepnhan"], dossier.code)
    assert data["phi_moi_ban"] == phi // so_ban
    assert data["phi_chung_thuc"] == phi
    assert data["tong_so_trang"] == so_trang * so_ban


def test_many_pages_extend_the_deadline_to_two_working_days_from_reception(ctx, actors):
    dossier = submit(ctx, actors["congdan"], so_trang=60, so_ban=2)
    assert data_of(ctx, actors["tiepnhan"], dossier.code)["nhieu_trang"] is True
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    view = get_dossier(ctx, actors["congdan"], dossier.code)
    calendar = ctx.calendar()
    assert view.due_at == calendar.add_working_days(view.received_at, 2)
    assert view.due_at > calendar.same_day_deadline(view.received_at)
    clocks = clock_events(ctx, actors["congdan"], dossier.code)
    assert [c["action"] for c in clocks] == ["start", "rule"]
    assert clocks[1]["rule"] == "nhieu_trang" and clocks[1]["old_due"] != clocks[1]["new_due"]
    assert "tối đa 02 ngày làm việc" in " ".join(m["text"] for m in view.milestones)
    assert data_of(ctx, actors["tiepnhan"], dossier.code)["phi_chung_thuc"] == 2 * (4_000 + 58_000)
    work(ctx, actors["chuyenvien"], dossier.code, WITNESS)
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    work(ctx, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "returned"


def test_a_later_date_agreed_in_writing_is_stored_and_shown_to_the_citizen(ctx, actors):
    dossier = submit(ctx, actors["congdan"], so_trang=150, so_ban=5)
    work(ctx, actors["tiepnhan"], dossier.code,
         {**RECEIVE, "ngay_hen_thoa_thuan": "2026-12-10", "van_ban_thoa_thuan": "Văn bản thỏa thuận ngày 30/11/2026"})
    data = data_of(ctx, actors["chuyenvien"], dossier.code)
    assert data["ngay_hen_thoa_thuan"] == "2026-12-10"
    assert data["van_ban_thoa_thuan"].startswith("Văn bản thỏa thuận")
    texts = [m["text"] for m in get_dossier(ctx, actors["congdan"], dossier.code).milestones]
    assert "Thời hạn trả kết quả theo thỏa thuận bằng văn bản với người yêu cầu" in texts
    assert bpmn_ids(ctx, actors["chuyenvien"]) == ["lap_loi_chung"]


def test_an_agreed_date_needs_the_written_agreement(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    with pytest.raises(InvalidInput):
        work(ctx, actors["tiepnhan"], dossier.code, {**RECEIVE, "ngay_hen_thoa_thuan": "2026-12-10"})


def test_the_desk_refuses_an_altered_original_without_asking_for_a_supplement(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    with pytest.raises(InvalidInput):  # a refusal needs its reasons
        work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tu_choi"})
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "tu_choi", "truong_hop_tu_choi": ["tay_xoa_sua_chua"],
          "ly_do_tu_choi": "Năm tốt nghiệp trên bản chính bị tẩy xóa, sửa chữa."})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert statuses(ctx, actors["congdan"], dossier.code) == ["refused"]
    assert final.milestones[-1]["text"] == "Yêu cầu chứng thực bị từ chối (có phiếu nêu rõ lý do)"
    data = data_of(ctx, actors["tiepnhan"], dossier.code)
    assert data["truong_hop_tu_choi"] == ["tay_xoa_sua_chua"] and "tẩy xóa" in data["ly_do_tu_choi"]
    assert all(o.state == "done" for o in drain(ctx))
    assert [a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)] == ["phieu-tu-choi"]
    assert list_inbox(ctx, actors["chuyenvien"]) == [] and list_inbox(ctx, actors["tiepnhan"]) == []


def test_a_foreign_original_that_is_not_legalised_is_refused_at_once(ctx, actors):
    dossier = submit(ctx, actors["congdan"], nuoc_cap="Nhật Bản", co_quan_cap="Đại học Tokyo",
                     hop_phap_hoa=False, mien_hop_phap_hoa=False)
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.portal_status == 3 and final.finished_at is not None
    assert list_inbox(ctx, actors["tiepnhan"]) == []
    data = data_of(ctx, actors["tiepnhan"], dossier.code)
    assert data["chua_hop_phap_hoa"] is True and data["truong_hop_tu_choi"] == ["chua_hop_phap_hoa"]
    assert "Nhật Bản" in data["ly_do_tu_choi"] and "hợp pháp hóa lãnh sự" in data["ly_do_tu_choi"]


@pytest.mark.parametrize("legalisation", [{"hop_phap_hoa": True, "mien_hop_phap_hoa": False},
                                          {"hop_phap_hoa": False, "mien_hop_phap_hoa": True}])
def test_a_foreign_original_legalised_or_exempt_goes_to_the_desk(ctx, actors, legalisation):
    dossier = submit(ctx, actors["congdan"], nuoc_cap="Pháp", co_quan_cap="Université de Lyon", **legalisation)
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "submitted"
    assert bpmn_ids(ctx, actors["tiepnhan"]) == ["tiep_nhan"]


def test_a_foreign_original_must_declare_its_legalisation(ctx, actors):
    with pytest.raises(InvalidInput) as err:
        submit(ctx, actors["congdan"], nuoc_cap="Hàn Quốc")
    assert "hop_phap_hoa" in err.value.errors


def test_the_justice_officer_refuses_when_the_original_turns_out_to_be_forged(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_loi_chung": "tu_choi", "truong_hop_tu_choi": ["cap_sai_tham_quyen_gia_mao"],
          "ly_do_tu_choi": "Cơ quan cấp xác nhận không cấp văn bằng số hiệu này."})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "refused" and final.finished_at is not None
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "refused"]
    assert list_inbox(ctx, actors["lanhdao"]) == []


def test_the_signer_may_refuse_to_sign(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code, WITNESS)
    with pytest.raises(InvalidInput):
        work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh_ky": "tu_choi", "nguoi_ky": "chu_tich"})
    work(ctx, actors["lanhdao"], dossier.code,
         {"quyet_dinh_ky": "tu_choi", "nguoi_ky": "chu_tich",
          "ly_do_tu_choi": "Bản chính đóng dấu mật (khoản 4 Điều 22)."})
    assert statuses(ctx, actors["congdan"], dossier.code) == ["received", "processing", "refused"]


def test_the_requester_withdrawing_before_signature_ends_as_withdrawn(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code,
         {"ket_qua_tiep_nhan": "rut_yeu_cau", "ghi_chu_tiep_nhan": "Người yêu cầu xin rút, đã trả lại bản chính."})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "withdrawn" and final.portal_status == 7 and final.finished_at is not None
    assert final.milestones[-1]["text"] == "Người yêu cầu đã rút yêu cầu chứng thực"
    assert list_inbox(ctx, actors["chuyenvien"]) == []


def test_a_walk_in_requester_without_email_gets_no_notification(ctx, actors, smtp):
    walk_in = {"name": "Lê Văn Khách", "phone": "0987654321", "kind": 1}
    dossier = submit(ctx, actors["tiepnhan"], applicant=walk_in)
    assert dossier.channel == "desk"
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    work(ctx, actors["chuyenvien"], dossier.code, WITNESS)
    work(ctx, actors["lanhdao"], dossier.code, SIGN)
    assert get_dossier(ctx, actors["tiepnhan"], dossier.code).status == "result_ready"
    assert [o.state for o in drain(ctx)] == ["done"] * 2  # receipt and certified copy, no e-mail
    assert smtp.messages == []
    work(ctx, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    assert get_dossier(ctx, actors["tiepnhan"], dossier.code).status == "returned"
