"""Đăng ký hộ kinh doanh: the lệ phí computed from the fee schedule valid on the submission date, paid
online on the national payment platform before reception where the province connected it, on SQLite
and PostgreSQL; and the diagram that draws the payment step."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from engine.config import PROJECT_ROOT
from engine.errors import Forbidden
from engine.outbox import drain
from engine.services import complete_task, get_dossier, get_task, list_inbox
from tests.factories import HKD, bpmn_ids, open_task, statuses, submit, work
from tests.processes.fees import (
    assert_script_follows_schedule,
    computed_fee,
    fee_script,
    fee_today,
    skipping_the_platform,
)

FOLDER = PROJECT_ROOT / "processes" / HKD
META = json.loads((FOLDER / "procedure.json").read_text(encoding="utf-8"))
VN = timedelta(hours=7)



# -- the fee ----------------------------------------------------------------------------------------

def test_the_fee_script_agrees_with_the_fee_schedule_in_procedure_json():
    assert_script_follows_schedule(FOLDER, META)
    assert fee_today(META) == 100000


def test_the_fee_date_is_the_vietnam_date_of_submission():
    script = fee_script(FOLDER, META)
    assert computed_fee(script, datetime(2025, 6, 30, 16, 59, tzinfo=UTC)) == 0  # 23:59 on 30/6 in Vietnam
    assert computed_fee(script, datetime(2025, 6, 30, 17, 0, tzinfo=UTC)) == 100000  # already 1/7/2025


# -- online payment ---------------------------------------------------------------------------------

def test_an_online_dossier_pays_the_fee_on_the_national_platform_before_reception(ctx, actors,
                                                                                  payment_platform):
    from engine.services.payments import confirm, payment_of
    from tests.conftest import with_payment

    pay = with_payment(ctx, payment_platform)
    dossier = submit(pay, actors["congdan"])
    assert bpmn_ids(pay, actors["tiepnhan"]) == []  # not before the fee is paid
    assert all(o.state == "done" for o in drain(pay))
    data = get_dossier(pay, actors["congdan"], dossier.code, with_data=True).data
    assert data["le_phi"] == fee_today(META) and data["le_phi_chi_tiet"]["ngay_ap_dung"]
    payment = payment_of(pay, dossier.code)
    assert payment.state == "pending" and payment.amount == data["le_phi"]
    assert payment_platform.transactions[payment.reference]["amount"] == data["le_phi"]
    assert get_dossier(pay, actors["congdan"], dossier.code).status == "payment_requested"
    task = open_task(pay, actors["congdan"], dossier.code)
    assert task.bpmn_id == "thanh_toan_le_phi"
    # the task page's "Thanh toán" button leads to the platform's page; nobody completes it by hand
    view = get_task(pay, actors["congdan"], task.id)
    assert view.payment == {"redirect_url": payment.redirect_url, "amount": payment.amount}
    assert view.completed_by_system and "cổng thanh toán" in view.completed_by_system
    with pytest.raises(Forbidden):  # only the platform's confirmation completes it
        complete_task(pay, actors["congdan"], task.id, {"da_thanh_toan": True})

    payment_platform.pay(payment.reference, "paid", deliver=False)
    assert confirm(pay, payment_platform.confirm_for(payment.reference))["MaLoi"] == "00"
    assert bpmn_ids(pay, actors["tiepnhan"]) == ["tiep_nhan"]
    paid = get_dossier(pay, actors["congdan"], dossier.code)  # paid: waiting for reception again
    assert (paid.status, paid.portal_status, paid.milestones[-1]["text"]) == ("submitted", 1, "Đã nộp lệ phí")
    work(pay, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(pay, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"})
    work(pay, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    drain(pay)
    work(pay, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    final = get_dossier(pay, actors["congdan"], dossier.code, with_data=True)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert statuses(pay, actors["congdan"], dossier.code) == [
        "payment_requested", "submitted", "received", "processing", "result_ready", "returned"]
    assert [m["text"] for m in final.milestones[1:3]] == ["Chờ nộp lệ phí trực tuyến", "Đã nộp lệ phí"]
    assert final.data["da_thanh_toan"] is True and final.data["so_tien_da_nop"] == data["le_phi"]


def test_the_citizen_task_page_offers_the_platform_payment_page(ctx, actors, payment_platform):
    from engine.services.payments import payment_of
    from tests.conftest import with_payment
    from tests.web.conftest import csrf_of
    from web import create_app

    pay = with_payment(ctx, payment_platform)
    dossier = submit(pay, actors["congdan"])
    drain(pay)
    task = open_task(pay, actors["congdan"], dossier.code)
    client = create_app(ctx=pay, start_worker=False).test_client()
    form_token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    assert client.post("/dang-nhap", data={"username": "congdan", "password": "demo",
                                          "csrf_token": form_token}).status_code == 302
    page = client.get(f"/cong-viec/{task.id}").get_data(as_text=True)
    assert f'href="{payment_of(pay, dossier.code).redirect_url}"' in page
    assert "Thanh toán 100.000 đ trên Nền tảng thanh toán quốc gia" in page


def test_a_desk_dossier_and_a_province_without_the_platform_skip_the_online_payment(ctx, actors,
                                                                                   payment_platform):
    pay, (at_desk, not_connected) = skipping_the_platform(ctx, actors, payment_platform, submit)
    for dossier in (at_desk, not_connected):
        # the fee is still computed: the desk collects it at reception
        data = get_dossier(pay, actors["tiepnhan"], dossier.code, with_data=True).data
        assert data["le_phi"] == fee_today(META)
    assert not [t for t in list_inbox(pay, actors["congdan"]) if t.dossier_code == not_connected.code]


# -- the diagram ------------------------------------------------------------------------------------
