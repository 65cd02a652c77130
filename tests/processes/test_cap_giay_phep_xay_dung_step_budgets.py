"""«Cấp giấy phép xây dựng»: the drafting step's 2 working days (du_thao, `since: lay_y_kien`) hold the
consulted agency's 2-day window (Nghị định 217/2026 Điều 54.2), so after a consultation the draft is due
2 working days after the consultation opened; without one, 2 working days after the draft opened."""

from __future__ import annotations

import pytest

from engine.services import complete_task, list_inbox
from engine.timers import fire_due_timers
from tests.clock import MovingClock
from tests.factories import open_task, work
from tests.processes.test_cap_giay_phep_xay_dung import (
    APPRAISE_OK,
    ASK_SXD,
    DRAFT,
    LATER,
    received_and_appraising,
)

ANSWER = {"y_kien_lien_thong": "dong_y"}
SEND_BACK = {"quyet_dinh_phe_duyet": "tra_lai", "y_kien_lanh_dao": "Kiểm tra lại khoảng lùi công trình."}


@pytest.fixture
def clock(monkeypatch):
    return MovingClock(monkeypatch)


def _draft(ctx, actors, code):
    draft = open_task(ctx, actors["chuyenvien"], code)
    assert draft.bpmn_id == "du_thao"
    return draft


def _consult(ctx, actors, clock, code):
    """Ask Sở Xây dựng; it answers one working day later. The question task."""
    work(ctx, actors["chuyenvien"], code, ASK_SXD)
    question = open_task(ctx, actors["chuyenvien_xd"], code)
    clock.move_to(ctx.calendar().add_working_days(question.created_at, 1))
    complete_task(ctx, actors["chuyenvien_xd"], question.id, ANSWER)
    return question


def test_a_draft_after_a_consultation_is_due_two_working_days_after_the_consultation_opened(ctx, actors, clock):
    calendar = ctx.calendar()
    dossier = received_and_appraising(ctx, actors)
    question = _consult(ctx, actors, clock, dossier.code)
    draft = _draft(ctx, actors, dossier.code)
    assert draft.due_at == calendar.add_working_days(question.created_at, 2)
    assert draft.due_at == calendar.add_working_days(draft.created_at, 1)  # one of its two days went to Sở XD


def test_a_draft_after_the_consulted_agency_stayed_silent_is_due_when_the_window_closed(ctx, actors):
    calendar = ctx.calendar()
    dossier = received_and_appraising(ctx, actors)
    work(ctx, actors["chuyenvien"], dossier.code, ASK_SXD)
    question = open_task(ctx, actors["chuyenvien_xd"], dossier.code)
    assert fire_due_timers(ctx, now=question.created_at + LATER) == [dossier.code]
    draft = _draft(ctx, actors, dossier.code)
    assert draft.due_at == calendar.add_working_days(question.created_at, 2) < draft.created_at


def test_a_draft_without_consultation_is_due_two_working_days_after_it_opened(ctx, actors, clock):
    calendar = ctx.calendar()
    dossier = received_and_appraising(ctx, actors)
    appraisal = open_task(ctx, actors["chuyenvien"], dossier.code)
    clock.move_to(calendar.add_working_days(appraisal.created_at, 1))
    work(ctx, actors["chuyenvien"], dossier.code, APPRAISE_OK)
    draft = _draft(ctx, actors, dossier.code)
    assert draft.due_at == calendar.add_working_days(draft.created_at, 2)


def test_after_a_send_back_only_a_consultation_of_the_new_pass_counts(ctx, actors, clock):
    calendar = ctx.calendar()
    dossier = received_and_appraising(ctx, actors)
    first = _consult(ctx, actors, clock, dossier.code)
    work(ctx, actors["chuyenvien"], dossier.code, DRAFT)
    work(ctx, actors["lanhdao"], dossier.code, SEND_BACK)
    appraisal = open_task(ctx, actors["chuyenvien"], dossier.code)
    clock.move_to(calendar.add_working_days(appraisal.created_at, 1))
    work(ctx, actors["chuyenvien"], dossier.code, APPRAISE_OK)  # no consultation this time
    draft = _draft(ctx, actors, dossier.code)
    assert draft.due_at == calendar.add_working_days(draft.created_at, 2)
    assert draft.due_at > calendar.add_working_days(first.created_at, 2)

    work(ctx, actors["chuyenvien"], dossier.code, DRAFT)
    work(ctx, actors["lanhdao"], dossier.code, SEND_BACK)
    second = _consult(ctx, actors, clock, dossier.code)  # the third pass consults again
    assert second.id != first.id
    draft = _draft(ctx, actors, dossier.code)
    assert draft.due_at == calendar.add_working_days(second.created_at, 2)
    assert list_inbox(ctx, actors["chuyenvien_xd"]) == []
