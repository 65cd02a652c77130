"""Overdue handling: escalation of late steps, the apology before a missed appointment, timeliness."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.models import OutboxMessage
from engine.outbox import drain
from engine.overdue import apologize_for_late_dossiers, escalate_overdue_tasks
from engine.services import get_dossier, list_attachments
from tests.factories import open_task, submit, work


def received(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    return get_dossier(ctx, actors["congdan"], dossier.code)


def test_a_step_past_its_budget_is_escalated_once_to_the_officials_and_their_leader(ctx, actors):
    dossier = received(ctx, actors)
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    assert escalate_overdue_tasks(ctx, now=task.due_at - timedelta(minutes=1)) == []
    assert escalate_overdue_tasks(ctx, now=task.due_at + timedelta(minutes=1)) == [task.id]
    assert escalate_overdue_tasks(ctx, now=task.due_at + timedelta(days=3)) == []
    with ctx.sessions() as session:
        [mail] = [m for m in session.scalars(select(OutboxMessage).where(OutboxMessage.connector == "email"))
                  if "Quá hạn" in m.payload["subject"]]
    assert sorted(mail.payload["to"]) == ["chuyenvien@ubnd.demo.gov.vn", "lanhdao@ubnd.demo.gov.vn"]
    assert "Quá hạn" in mail.payload["subject"]
    history = get_dossier(ctx, actors["chuyenvien"], dossier.code).history
    assert [e["kind"] for e in history].count("task_overdue") == 1


def test_an_at_risk_dossier_gets_one_apology_with_a_new_appointment_before_its_due_date(ctx, actors, smtp):
    dossier = received(ctx, actors)
    assert apologize_for_late_dossiers(ctx, now=dossier.received_at) == []  # three working days left
    shortly_before = dossier.due_at - timedelta(hours=2)
    assert apologize_for_late_dossiers(ctx, now=shortly_before) == [dossier.code]
    assert apologize_for_late_dossiers(ctx, now=shortly_before + timedelta(minutes=5)) == []
    after = get_dossier(ctx, actors["congdan"], dossier.code)
    [apology] = [e for e in after.history if e["kind"] == "apology"]
    assert apology["data"]["old_due"] == dossier.due_at.isoformat()
    assert apology["data"]["new_appointment"] > dossier.due_at.isoformat()
    assert after.due_at == dossier.due_at  # the legal due date stands: the dossier still counts late
    assert all(o.state == "done" for o in drain(ctx))
    assert "phieu-xin-loi" in {a.kind for a in list_attachments(ctx, actors["congdan"], dossier.code)}
    assert any("xin lỗi" in m["Subject"] for m in smtp.wait_for(1)), [m["Subject"] for m in smtp.messages]


def test_no_apology_once_the_due_date_has_passed_or_for_dossiers_awaiting_the_citizen(ctx, actors):
    late = received(ctx, actors)
    assert apologize_for_late_dossiers(ctx, now=late.due_at + timedelta(minutes=1)) == []
    waiting = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], waiting.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], waiting.code,
         {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Thiếu", "giay_to_thieu": ["Biên bản"]})
    due = get_dossier(ctx, actors["congdan"], waiting.code).due_at
    assert waiting.code not in apologize_for_late_dossiers(ctx, now=due - timedelta(hours=1))


def test_finished_dossiers_are_classified_early_on_time_or_late(ctx, actors):
    dossier = received(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    work(ctx, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    with ctx.sessions() as session:
        from engine.models import Dossier

        row = session.scalar(select(Dossier).where(Dossier.code == dossier.code))
        assert row.timeliness in ("early", "on_time")
        assert row.timeliness == ctx.calendar().timeliness(row.finished_at, row.due_at)


def test_supplement_restarts_the_legal_clock_and_records_old_and_new_due_dates(ctx, actors):
    dossier = received(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Thiếu", "giay_to_thieu": ["Biên bản họp"]})
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã nộp biên bản"})
    clock = [e["data"] for e in get_dossier(ctx, actors["congdan"], dossier.code).history if e["kind"] == "clock"]
    assert [c["action"] for c in clock] == ["start", "await_supplement", "restart"]
    assert clock[-1]["old_due"] == dossier.due_at.isoformat()
    assert clock[-1]["new_due"] >= clock[-1]["old_due"]
