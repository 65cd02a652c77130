"""Đăng ký hộ kinh doanh: the lệ phí computed from the fee schedule valid on the submission date, paid
online on the national payment platform before reception where the province connected it, on SQLite
and PostgreSQL; and the diagram that draws the payment step."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from engine.config import PROJECT_ROOT
from engine.errors import Forbidden
from engine.outbox import drain
from engine.scripting import RestrictedEvaluator
from engine.services import complete_task, get_dossier, get_task, list_inbox
from tests.factories import HKD, bpmn_ids, open_task, statuses, submit, work

FOLDER = PROJECT_ROOT / "processes" / HKD
META = json.loads((FOLDER / "procedure.json").read_text(encoding="utf-8"))
VN = timedelta(hours=7)

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"


# -- the fee ----------------------------------------------------------------------------------------

def fee_script(folder: Path, meta: dict[str, Any]) -> str:
    tasks = ElementTree.parse(folder / meta["bpmn"]).iter(f"{BPMN}scriptTask")
    return next(el.findtext(f"{BPMN}script") for el in tasks if el.get("id") == "tinh_le_phi")


def computed_fee(script: str, submitted_at: datetime) -> int:
    data = {"dossier": {"channel": "online", "submitted_at": submitted_at.isoformat()}}
    RestrictedEvaluator().execute(script, data)
    assert data["le_phi"] == data["le_phi_chi_tiet"]["tong"]
    return data["le_phi"]


def scheduled_fee(fees: list[dict[str, Any]], day: date) -> int:
    """The amount procedure.json says applies on `day` (0 when no schedule is in force)."""
    return next((fee["amount"] for fee in fees
                 if date.fromisoformat(fee["valid_from"]) <= day
                 and (fee["valid_to"] is None or day <= date.fromisoformat(fee["valid_to"]))), 0)


def vietnam_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - VN


def assert_script_follows_schedule(folder: Path, meta: dict[str, Any]) -> None:
    """At each edge of each schedule, in Vietnam time, the script charges what procedure.json lists."""
    script, fees = fee_script(folder, meta), meta["fees"]
    assert fees, "procedure.json lists no fee"
    minute = timedelta(minutes=1)
    for fee in fees:
        first = date.fromisoformat(fee["valid_from"])
        assert computed_fee(script, vietnam_midnight(first)) == fee["amount"]
        before = first - timedelta(days=1)
        assert computed_fee(script, vietnam_midnight(first) - minute) == scheduled_fee(fees, before)
        if fee["valid_to"]:
            last = date.fromisoformat(fee["valid_to"])
            after = last + timedelta(days=1)
            assert computed_fee(script, vietnam_midnight(after) - minute) == fee["amount"]
            assert computed_fee(script, vietnam_midnight(after)) == scheduled_fee(fees, after)
    today = (datetime.now(UTC) + VN).date()
    assert computed_fee(script, datetime.now(UTC)) == scheduled_fee(fees, today)


def fee_today(meta: dict[str, Any]) -> int:
    return scheduled_fee(meta["fees"], (datetime.now(UTC) + VN).date())


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
    work(pay, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(pay, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"})
    work(pay, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    drain(pay)
    work(pay, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    final = get_dossier(pay, actors["congdan"], dossier.code, with_data=True)
    assert final.status == "returned" and final.portal_status == 10 and final.finished_at is not None
    assert statuses(pay, actors["congdan"], dossier.code) == [
        "payment_requested", "received", "processing", "result_ready", "returned"]
    assert final.milestones[1]["text"] == "Chờ nộp lệ phí trực tuyến"
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
    from engine.services.payments import payment_of
    from tests.conftest import with_payment

    pay = with_payment(ctx, payment_platform)
    at_desk = submit(pay, actors["tiepnhan"])
    not_connected = submit(ctx, actors["congdan"])
    drain(pay)
    for dossier in (at_desk, not_connected):
        assert payment_of(pay, dossier.code) is None
        assert get_dossier(pay, actors["tiepnhan"], dossier.code).status == "submitted"
        assert open_task(pay, actors["tiepnhan"], dossier.code).bpmn_id == "tiep_nhan"
        # the fee is still computed: the desk collects it at reception
        data = get_dossier(pay, actors["tiepnhan"], dossier.code, with_data=True).data
        assert data["le_phi"] == fee_today(META)
    assert payment_platform.transactions == {}
    assert not [t for t in list_inbox(pay, actors["congdan"]) if t.dossier_code == not_connected.code]


# -- the diagram ------------------------------------------------------------------------------------

def diagram_problems(path: Path) -> list[str]:
    """Every node, lane and flow drawn and nothing else; nodes inside their lanes and apart; edges
    leaving their source and reaching their target."""
    tree = ElementTree.parse(path)
    process = tree.find(f"{BPMN}process")
    flows = {el.get("id"): el for el in process.iter(f"{BPMN}sequenceFlow")}
    lanes = {el.get("id"): el for el in process.iter(f"{BPMN}lane")}
    nodes = {el.get("id"): el for el in process if el.get("id") and el.tag not in (
        f"{BPMN}sequenceFlow", f"{BPMN}laneSet", f"{BPMN}documentation", f"{BPMN}extensionElements")}
    participants = {el.get("id") for el in tree.iter(f"{BPMN}participant")}
    box = ("x", "y", "width", "height")
    shapes = {s.get("bpmnElement"): tuple(float(s.find(f"{DC}Bounds").get(k)) for k in box)
              for s in tree.iter(f"{BPMNDI}BPMNShape")}
    edges = {e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in e.iter(f"{DI}waypoint")]
             for e in tree.iter(f"{BPMNDI}BPMNEdge")}
    problems = [f"{i} is not drawn" for i in [*nodes, *lanes, *participants] if i not in shapes]
    problems += [f"{i} is not drawn" for i in flows if i not in edges]
    problems += [f"{i} is drawn but not modelled" for i in shapes if i not in {*nodes, *lanes, *participants}]
    problems += [f"{i} is drawn but not modelled" for i in edges if i not in flows]

    def inside(inner, outer) -> bool:
        return outer[0] <= inner[0] and inner[0] + inner[2] <= outer[0] + outer[2] \
            and outer[1] <= inner[1] and inner[1] + inner[3] <= outer[1] + outer[3]

    def on_border(point, box) -> bool:
        (px, py), (x, y, w, h) = point, box
        return x - 1 <= px <= x + w + 1 and y - 1 <= py <= y + h + 1 \
            and min(abs(px - x), abs(px - x - w), abs(py - y), abs(py - y - h)) <= 1

    for lane_id, lane in lanes.items():
        members = [ref.text for ref in lane.iter(f"{BPMN}flowNodeRef") if ref.text in shapes]
        if lane_id in shapes:
            problems += [f"{node} is drawn outside its lane {lane_id}" for node in members
                         if not inside(shapes[node], shapes[lane_id])]
    drawn = sorted(i for i in nodes if i in shapes)
    for n, a in enumerate(drawn):
        for b in drawn[n + 1:]:
            if nodes[a].get("attachedToRef") == b or nodes[b].get("attachedToRef") == a:
                continue  # a boundary event sits on its task's border
            (x1, y1, w1, h1), (x2, y2, w2, h2) = shapes[a], shapes[b]
            if x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1:
                problems.append(f"{a} overlaps {b}")
    for flow_id, flow in flows.items():
        points = edges.get(flow_id)
        source, target = shapes.get(flow.get("sourceRef")), shapes.get(flow.get("targetRef"))
        if points and source and not on_border(points[0], source):
            problems.append(f"{flow_id} does not leave {flow.get('sourceRef')}")
        if points and target and not on_border(points[-1], target):
            problems.append(f"{flow_id} does not reach {flow.get('targetRef')}")
    return problems


def test_the_diagram_draws_every_element_with_the_payment_step_in_place():
    assert diagram_problems(FOLDER / META["bpmn"]) == []
