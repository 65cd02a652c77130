"""Operations on workflow instances (engine/services/operations.py): the admin's search with each
filter, the detail with the diagram's marks, and suspension, which holds task work, timers and
connector calls until the instance is resumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from engine.calendar import VN_TZ
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.models import Dossier, OutboxMessage, Procedure, WorkflowInstance
from engine.outbox import due_ids
from engine.services import claim_task, complete_task, get_dossier
from engine.services.instances import InstanceSuspended
from engine.services.operations import instance_detail, resume, search_instances, suspend, version_bpmn
from engine.timers import due_instances, fire_due_timers
from tests.engine.reports.conftest import empty_reports
from tests.factories import HKD, drain_all, open_task, submit, work

AGENCY = "000.00.21.H99"
RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan"}


def codes(ctx, actors, **args) -> list[str]:
    return [row.code for row in search_instances(ctx, actors["quantri"], args).rows]


def procedure_id(ctx, slug: str) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(Procedure.id).where(Procedure.slug == slug))


def today_vn() -> str:
    return datetime.now(UTC).astimezone(VN_TZ).date().isoformat()


def outbox_rows(ctx, code: str) -> list[OutboxMessage]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxMessage).join(Dossier, Dossier.id == OutboxMessage.dossier_id)
                                    .where(Dossier.code == code).order_by(OutboxMessage.id)))


def history_kinds(ctx, actors, code: str) -> list[dict]:
    return [e for e in get_dossier(ctx, actors["quantri"], code).history if e["kind"] in ("suspended", "resumed")]


# --- search -------------------------------------------------------------------------------------


def test_the_search_narrows_by_each_filter(ctx, actors):
    received = submit(ctx, actors["congdan"]).code
    waiting = submit(ctx, actors["congdan"]).code
    work(ctx, actors["tiepnhan"], received, RECEIVE)
    admin = actors["quantri"]

    assert codes(ctx, actors) == [waiting, received]  # newest first
    assert codes(ctx, actors, ma=received) == [received]
    assert codes(ctx, actors, ma=received[:-2].lower()) == [waiting, received]  # a prefix, any case
    assert codes(ctx, actors, ma=received[:-4] + "9") == []
    assert codes(ctx, actors, trang_thai="processing") == [received]
    assert codes(ctx, actors, trang_thai="submitted") == [waiting]
    assert codes(ctx, actors, thu_tuc=str(procedure_id(ctx, HKD))) == [waiting, received]
    assert codes(ctx, actors, thu_tuc=str(procedure_id(ctx, "chung-thuc-ban-sao"))) == []
    assert codes(ctx, actors, co_quan=AGENCY) == [waiting, received]
    assert codes(ctx, actors, co_quan="000.00.22.H99") == []
    today = datetime.now(UTC).astimezone(VN_TZ).date()
    assert codes(ctx, actors, co_quan=AGENCY, tu_ngay=today.isoformat(), den_ngay=today.isoformat()) == [
        waiting, received]
    assert codes(ctx, actors, tu_ngay=today.isoformat()) == [waiting, received]
    assert codes(ctx, actors, den_ngay=(today - timedelta(days=1)).isoformat()) == []
    assert codes(ctx, actors, co_quan=AGENCY, tu_ngay=(today + timedelta(days=1)).isoformat()) == []

    suspend(ctx, admin, waiting, "Chờ xác minh chữ ký")
    assert codes(ctx, actors, tam_dung="1") == [waiting]
    assert codes(ctx, actors, tam_dung="1", trang_thai="processing") == []
    assert codes(ctx, actors, su_co="1") == []
    failing = outbox_rows(ctx, received)[0].id
    with ctx.db.begin() as conn:  # as a connector's last failed attempt leaves it
        conn.execute(update(OutboxMessage).where(OutboxMessage.id == failing)
                     .values(state="incident", last_error="550 mailbox unavailable"))
    assert codes(ctx, actors, su_co="1") == [received]
    with ctx.db.begin() as conn:  # as a script error while a timer fired leaves it
        conn.execute(update(WorkflowInstance).where(WorkflowInstance.dossier_id == select(Dossier.id).where(
            Dossier.code == waiting).scalar_subquery()).values(error="NameError: x", error_at=datetime.now(UTC)))
    assert codes(ctx, actors, su_co="1") == [waiting, received]

    rows = {row.code: row for row in search_instances(ctx, admin, {}).rows}
    assert rows[waiting].suspended and rows[waiting].incident and rows[waiting].has_instance
    assert not rows[received].suspended and rows[received].incident and rows[received].status == "processing"
    assert rows[received].procedure_name == "Đăng ký thành lập hộ kinh doanh" and rows[received].version_number >= 1
    assert rows[received].agency_name.startswith("UBND phường Hòa Bình")


def test_the_search_pages_and_counts(ctx, actors):
    made = [submit(ctx, actors["congdan"]).code for _ in range(3)]
    page = search_instances(ctx, actors["quantri"], {}, page=2, per_page=2)
    assert [row.code for row in page.rows] == [made[0]]
    assert (page.total, page.capped, page.pages, page.has_next) == (3, False, 2, False)


def test_invalid_search_values_are_refused_field_by_field(ctx, actors):
    with pytest.raises(InvalidInput) as refused:
        search_instances(ctx, actors["quantri"], {"ma": "abc%", "thu_tuc": "x", "trang_thai": "nope",
                                                   "co_quan": "000.99.99.H99", "tu_ngay": "2026-13-01",
                                                   "tam_dung": "yes", "su_co": "2"})
    assert set(refused.value.errors) == {"ma", "thu_tuc", "trang_thai", "co_quan", "tu_ngay", "tam_dung", "su_co"}
    assert refused.value.errors["tu_ngay"] == ["Ngày không hợp lệ, cần dạng YYYY-MM-DD."]
    with pytest.raises(InvalidInput) as backwards:
        search_instances(ctx, actors["quantri"], {"tu_ngay": "2026-03-10", "den_ngay": "2026-03-01"})
    assert backwards.value.errors == {"den_ngay": ["Ngày kết thúc phải sau hoặc trùng ngày bắt đầu."]}


@pytest.mark.parametrize("username", ["lanhdao", "phantich", "congdan"])
def test_only_admins_operate_instances(ctx, actors, username):
    code = submit(ctx, actors["congdan"]).code
    for call in (lambda a: search_instances(ctx, a, {}), lambda a: instance_detail(ctx, a, code),
                 lambda a: suspend(ctx, a, code, "lý do"), lambda a: resume(ctx, a, code)):
        with pytest.raises(Forbidden):
            call(actors[username])


# --- detail -------------------------------------------------------------------------------------


def test_the_detail_marks_the_path_and_the_waiting_task(ctx, actors):
    code = submit(ctx, actors["congdan"]).code
    work(ctx, actors["tiepnhan"], code, RECEIVE)
    task = open_task(ctx, actors["chuyenvien"], code)
    detail = instance_detail(ctx, actors["quantri"], code)
    assert detail.has_instance and not detail.completed and detail.can_suspend
    assert detail.marks["tham_dinh"] == "studio-current" and detail.marks["tiep_nhan"] == "studio-path"
    assert "phe_duyet" not in detail.marks
    assert [(w.element_id, w.kind) for w in detail.waiting] == [("tham_dinh", "user")]
    assert [step.element_id for step in detail.path][:1] == ["nop_ho_so"] and detail.path[-1].element_id == "tham_dinh"
    assert [(t.id, t.role, t.assignee_name) for t in detail.tasks] == [(task.id, "specialist", None)]
    assert {c.connector for c in detail.calls} and all(c.state == "pending" for c in detail.calls)
    xml, content_hash = version_bpmn(ctx, actors["quantri"], detail.version_id)
    assert 'id="tham_dinh"' in xml and len(content_hash) == 64


def test_a_seeded_dossier_has_a_detail_without_instance(ctx, actors):
    from engine.seeding import seed_dossiers

    empty_reports(ctx)
    seed_dossiers(ctx, 4, seed=11, days=5, workers=1)
    with ctx.sessions() as session:
        code = session.scalar(select(Dossier.code).order_by(Dossier.id.desc()))
    detail = instance_detail(ctx, actors["quantri"], code)
    assert not detail.has_instance and detail.marks == {} and detail.path == [] and detail.waiting == []
    assert not detail.can_suspend and detail.suspension is None
    assert [row.has_instance for row in search_instances(ctx, actors["quantri"], {"ma": code}).rows] == [False]
    with pytest.raises(Conflict) as refused:
        suspend(ctx, actors["quantri"], code, "thử")
    assert "không có phiên quy trình" in refused.value.message_vi
    empty_reports(ctx)


# --- suspension ---------------------------------------------------------------------------------


def test_a_suspended_dossier_refuses_claims_and_completion_until_resumed(ctx, actors):
    code = submit(ctx, actors["congdan"]).code
    task = open_task(ctx, actors["tiepnhan"], code)
    held = suspend(ctx, actors["quantri"], code, "  Nghi giả mạo giấy tờ  ")
    assert held.reason == "Nghi giả mạo giấy tờ" and held.by == actors["quantri"].full_name
    with pytest.raises(InstanceSuspended) as refused:
        complete_task(ctx, actors["tiepnhan"], task.id, RECEIVE)
    assert "tạm dừng" in refused.value.message_vi
    with pytest.raises(InstanceSuspended):
        claim_task(ctx, actors["tiepnhan"], task.id)
    detail = instance_detail(ctx, actors["quantri"], code)
    assert detail.suspension.reason == "Nghi giả mạo giấy tờ" and detail.suspension.by == actors["quantri"].full_name
    assert detail.can_resume and not detail.can_suspend
    assert open_task(ctx, actors["tiepnhan"], code).state == "open"  # nothing moved

    resume(ctx, actors["quantri"], code, "Đã xác minh")
    claim_task(ctx, actors["tiepnhan"], task.id)
    complete_task(ctx, actors["tiepnhan"], task.id, RECEIVE)
    assert get_dossier(ctx, actors["quantri"], code).status == "processing"
    events = history_kinds(ctx, actors, code)
    assert [(e["kind"], e["data"], e["actor"]) for e in events] == [
        ("suspended", {"reason": "Nghi giả mạo giấy tờ"}, actors["quantri"].full_name),
        ("resumed", {"reason": "Đã xác minh"}, actors["quantri"].full_name)]


def test_suspending_twice_a_finished_one_or_without_reason_is_refused(ctx, actors):
    code = submit(ctx, actors["congdan"]).code
    admin = actors["quantri"]
    with pytest.raises(InvalidInput) as missing:
        suspend(ctx, admin, code, "   ")
    assert missing.value.errors == {"ly_do": ["Vui lòng nêu lý do tạm dừng."]}
    with pytest.raises(InvalidInput):
        suspend(ctx, admin, code, "x" * 501)
    with pytest.raises(Conflict) as not_suspended:
        resume(ctx, admin, code)
    assert not_suspended.value.message_vi == "Quy trình của hồ sơ này không bị tạm dừng."
    suspend(ctx, admin, code, "x" * 500)
    with pytest.raises(Conflict) as again:
        suspend(ctx, admin, code, "lần nữa")
    assert again.value.message_vi == "Quy trình của hồ sơ này đang tạm dừng rồi."
    resume(ctx, admin, code)
    work(ctx, actors["tiepnhan"], code, {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không thuộc thẩm quyền"})
    with pytest.raises(Conflict) as finished:
        suspend(ctx, admin, code, "muộn")
    assert "đã kết thúc" in finished.value.message_vi
    assert len(history_kinds(ctx, actors, code)) == 2  # the refusals wrote nothing


def test_connector_calls_of_a_suspended_dossier_wait_with_their_attempts_and_go_after_resume(ctx, actors):
    code = submit(ctx, actors["congdan"]).code
    work(ctx, actors["tiepnhan"], code, RECEIVE)
    other = submit(ctx, actors["congdan"]).code
    work(ctx, actors["tiepnhan"], other, RECEIVE)
    calls = outbox_rows(ctx, code)
    assert calls and all(c.state == "pending" for c in calls)
    suspend(ctx, actors["quantri"], code, "Tạm giữ")
    due = set(due_ids(ctx, limit=1000))
    assert not due & {c.id for c in calls} and due & {c.id for c in outbox_rows(ctx, other)}
    drain_all(ctx)
    assert [(c.state, c.attempts) for c in outbox_rows(ctx, code)] == [("pending", 0)] * len(calls)
    assert all(c.state == "done" for c in outbox_rows(ctx, other))

    resume(ctx, actors["quantri"], code)
    drain_all(ctx)
    assert all(c.state == "done" and c.attempts == 1 for c in outbox_rows(ctx, code)[:len(calls)])


def test_timers_of_a_suspended_dossier_wait_until_resume(ctx, actors):
    from tests.processes.test_dang_ky_ket_hon import APPROVE, SIGN
    from tests.processes.test_dang_ky_ket_hon import RECEIVE as RECEIVE_MARRIAGE
    from tests.processes.test_dang_ky_ket_hon import submit as submit_marriage

    code = submit_marriage(ctx, actors["congdan"]).code
    work(ctx, actors["tiepnhan"], code, RECEIVE_MARRIAGE)
    work(ctx, actors["chuyenvien"], code, APPROVE)
    work(ctx, actors["lanhdao"], code, SIGN)
    later = datetime.now(UTC) + timedelta(days=75)  # the certificate was never collected
    assert "timer" in {w.kind for w in instance_detail(ctx, actors["quantri"], code).waiting}
    suspend(ctx, actors["quantri"], code, "Đang giải quyết khiếu nại")
    assert due_instances(ctx, later) == []
    assert fire_due_timers(ctx, now=later) == []
    assert get_dossier(ctx, actors["quantri"], code).status != "stopped"

    resume(ctx, actors["quantri"], code)
    assert fire_due_timers(ctx, now=later) == [code]
    assert get_dossier(ctx, actors["quantri"], code).status == "stopped"
