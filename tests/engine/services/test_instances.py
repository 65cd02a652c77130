"""Writing a run back (engine/services/instances.py): a task's due date from its step budget, counted
from its own opening or, with `since`, from when an earlier task opened on the same pass."""

from __future__ import annotations

import uuid

from engine.db import transaction
from engine.procedures.catalogue import publish
from engine.services import submit_dossier
from tests.clock import MovingClock
from tests.engine.procedures.models import event, flow, lanes, package, user_task
from tests.factories import APPLICANT, open_task, work


def _publish_with_supplement(ctx) -> str:
    """tham_dinh (1 day) → [bổ sung: the applicant's task, the clock restarts] → du_thao (2 days since tham_dinh)."""
    pid = f"ngan_sach_{uuid.uuid4().hex[:8]}"
    body = (lanes({"Chuyên viên": ["s", "tham_dinh", "gw", "yeu_cau", "nhan", "du_thao", "e"],
                   "Công dân": ["bo_sung"]})
            + event("startEvent", "s", dossierStatus="submitted") + user_task("tham_dinh", "Thẩm định", "tham-dinh")
            + '<bpmn:exclusiveGateway id="gw" />'
            + event("intermediateThrowEvent", "yeu_cau", "Yêu cầu bổ sung", dossierStatus="supplement_requested")
            + user_task("bo_sung", "Bổ sung hồ sơ", "tham-dinh")
            + event("intermediateThrowEvent", "nhan", "Đã bổ sung", dossierStatus="processing")
            + user_task("du_thao", "Dự thảo", "tham-dinh") + event("endEvent", "e", dossierStatus="returned")
            + flow("s", "tham_dinh") + flow("tham_dinh", "gw") + flow("gw", "yeu_cau", "Bổ sung", 'y_kien == "bo_sung"')
            + flow("gw", "du_thao", "Đủ", 'y_kien != "bo_sung"') + flow("yeu_cau", "bo_sung") + flow("bo_sung", "nhan")
            + flow("nhan", "du_thao") + flow("du_thao", "e"))
    pkg = package(body, pid=pid, step_budgets={
        "tham_dinh": {"value": 1, "unit": "working_days"},
        "du_thao": {"value": 2, "unit": "working_days", "since": "tham_dinh"}})
    with transaction(ctx.sessions) as session:
        publish(session, pkg, published_by="test")
    return pkg["procedure"]["slug"]


def test_a_budget_since_an_earlier_task_counts_from_that_tasks_opening(ctx, actors, monkeypatch):
    clock, calendar = MovingClock(monkeypatch), ctx.calendar()
    slug = _publish_with_supplement(ctx)
    code = submit_dossier(ctx, actors["congdan"], slug, dict(APPLICANT), {"noi_dung": "Đề nghị"}).code
    appraisal = open_task(ctx, actors["chuyenvien"], code)
    assert appraisal.due_at == calendar.add_working_days(appraisal.created_at, 1)
    clock.move_to(calendar.add_working_days(appraisal.created_at, 1))
    work(ctx, actors["chuyenvien"], code, {"y_kien": "Đủ điều kiện"})
    draft = open_task(ctx, actors["chuyenvien"], code)
    assert draft.bpmn_id == "du_thao" and draft.due_at == calendar.add_working_days(appraisal.created_at, 2)


def test_a_task_opened_before_a_supplement_request_does_not_count_after_the_clock_restarted(ctx, actors, monkeypatch):
    clock, calendar = MovingClock(monkeypatch), ctx.calendar()
    slug = _publish_with_supplement(ctx)
    code = submit_dossier(ctx, actors["congdan"], slug, dict(APPLICANT), {"noi_dung": "Đề nghị"}).code
    appraisal = open_task(ctx, actors["chuyenvien"], code)
    work(ctx, actors["chuyenvien"], code, {"y_kien": "bo_sung"})
    clock.move_to(calendar.add_working_days(appraisal.created_at, 3))
    work(ctx, actors["congdan"], code, {"y_kien": "Đã nộp bản vẽ"})
    draft = open_task(ctx, actors["chuyenvien"], code)
    assert draft.bpmn_id == "du_thao" and draft.due_at == calendar.add_working_days(draft.created_at, 2)
