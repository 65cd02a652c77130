"""Clock rules per procedure: 'pause' extends the due date by the working time the citizen took."""

from __future__ import annotations

import json
import shutil

import pytest

from engine.bootstrap import load_catalogue
from engine.config import PROJECT_ROOT
from engine.services import get_dossier, submit_dossier
from tests.factories import APPLICANT, household_form, work

HKD = PROJECT_ROOT / "processes" / "dang-ky-ho-kinh-doanh"


@pytest.fixture
def paused_procedure(ctx, tmp_path):
    """A copy of the household-business procedure whose clock pauses during supplements."""
    folder = tmp_path / "processes" / "hkd-tam-dung"
    shutil.copytree(HKD, folder)
    meta = json.loads((folder / "procedure.json").read_text(encoding="utf-8"))
    meta.update(code="0.test.tam-dung", name="Đăng ký hộ kinh doanh (tạm dừng thời hạn khi bổ sung)",
                supplement_clock="pause")
    (folder / "procedure.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    load_catalogue(ctx, folder.parent)
    return "hkd-tam-dung"


def test_pause_keeps_the_due_date_and_extends_it_by_the_wait(ctx, actors, paused_procedure):
    dossier = submit_dossier(ctx, actors["congdan"], paused_procedure, dict(APPLICANT), household_form())
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    due = get_dossier(ctx, actors["congdan"], dossier.code).due_at
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Thiếu", "giay_to_thieu": ["Biên bản họp"]})
    work(ctx, actors["congdan"], dossier.code, {"noi_dung_bo_sung": "Đã nộp"})
    after = get_dossier(ctx, actors["congdan"], dossier.code)
    clock = [e["data"] for e in after.history if e["kind"] == "clock"]
    assert [c["action"] for c in clock] == ["start", "pause", "resume"]
    assert clock[-1]["old_due"] == due.isoformat()
    waited = clock[-1]["waited_working_days"]
    assert waited >= 0
    expected = ctx.calendar().add_working_days(due, waited) if waited > 0 else due
    assert after.due_at == expected


def test_pause_and_restart_arithmetic_on_a_known_week(ctx):
    """Received Mon 30/11/2026 09:00 (3 working days → Thu 12:00); supplement asked Tue 09:00,
    delivered Thu 09:00: pause adds the 2 working days waited, restart counts 3 again from Thu."""
    from datetime import datetime

    from engine.calendar import VN_TZ
    from engine.models import Dossier
    from engine.services import clock

    meta = {"deadline": {"value": 3, "unit": "working_days"}}
    at = lambda d, h: datetime(2026, 11, d, h, tzinfo=VN_TZ) if d > 4 else datetime(2026, 12, d, h, tzinfo=VN_TZ)  # noqa: E731
    calendar = ctx.calendar()
    first_due = at(3, 11).replace(minute=30)
    waited = calendar.working_days_between(at(1, 9), at(3, 9))
    assert waited == 1.5  # Tue afternoon, all of Wednesday; Thursday morning had not ended at 09:00
    for rule, expected in (("pause", calendar.add_working_days(first_due, waited)),
                           ("restart", calendar.add_working_days(at(3, 9), 3))):
        dossier = Dossier(id=1, code="X", status="submitted", event_seq=0, event_hash="")
        with ctx.sessions() as session:
            rules = {**meta, "supplement_clock": rule}
            clock.status_changed(session, dossier, rules, "submitted", "received", calendar, at(30, 9))
            assert dossier.due_at == first_due
            clock.status_changed(session, dossier, rules, "processing", "supplement_requested", calendar, at(1, 9))
            clock.status_changed(session, dossier, rules, "supplement_requested", "processing", calendar, at(3, 9))
            session.info.clear()
        assert dossier.due_at == expected > first_due, rule
