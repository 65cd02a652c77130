"""Moving work: a leader reassigns an open task, or sets a substitute while an official is away.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, TaskConflict, TaskNotFound
from engine.services import (
    claim_task,
    complete_task,
    end_substitution,
    get_dossier,
    get_task,
    list_inbox,
    list_officials,
    list_substitutions,
    reassign_task,
    set_substitute,
    unclaim_task,
)
from engine.services.substitutions import vietnam_today
from tests.factories import open_task, submit, work

pytestmark = pytest.mark.usefixtures("workspace")

REVIEW = {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"}
SAME_LANE = "Người thay thế phải cùng cơ quan và cùng vai trò với cán bộ vắng mặt."


def in_review(ctx, actors, *, claimed_by: str | None = "chuyenvien"):
    """A dossier at the specialist's review step, claimed by `claimed_by`; returns its task."""
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    return claim_task(ctx, actors[claimed_by], task.id) if claimed_by else task


def away(ctx, actors, substitute, *, starts: int = 0, ends: int = 3, who: str = "chuyenvien", by: str = "lanhdao"):
    today = vietnam_today()
    return set_substitute(ctx, actors[by], actors[who].id, substitute.id, today + timedelta(days=starts),
                          today + timedelta(days=ends), "Nghỉ phép năm")


# --- reassigning ----------------------------------------------------------------------------------


def test_a_leader_reassigns_a_claimed_task_and_the_previous_assignee_loses_it(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors)

    moved = reassign_task(ctx, actors["lanhdao"], task.id, chuyenvien2.id, "Chuyên viên Chuyên đi công tác")

    assert moved.assignee_id == chuyenvien2.id
    with pytest.raises(TaskConflict):
        complete_task(ctx, actors["chuyenvien"], task.id, REVIEW)
    with pytest.raises(TaskConflict):
        unclaim_task(ctx, actors["chuyenvien"], task.id)
    complete_task(ctx, chuyenvien2, task.id, REVIEW)
    history = get_dossier(ctx, actors["lanhdao"], moved.dossier_code).history
    [event] = [e for e in history if e["kind"] == "task_reassigned"]
    assert event["actor"] == actors["lanhdao"].full_name
    assert event["data"]["from"] == actors["chuyenvien"].id and event["data"]["to"] == chuyenvien2.id
    assert event["data"]["to_name"] == chuyenvien2.full_name
    assert event["data"]["reason"] == "Chuyên viên Chuyên đi công tác"


def test_an_unclaimed_task_can_be_given_to_a_named_official_and_an_admin_may_do_it(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors, claimed_by=None)

    moved = reassign_task(ctx, actors["quantri"], task.id, chuyenvien2.id, "Cân đối khối lượng")

    assert moved.assignee_id == chuyenvien2.id
    with pytest.raises(TaskConflict):
        claim_task(ctx, actors["chuyenvien"], task.id)


@pytest.mark.parametrize("who", ["chuyenvien", "tiepnhan", "congdan", "phantich"])
def test_only_a_leader_or_an_admin_reassigns(ctx, actors, chuyenvien2, who):
    task = in_review(ctx, actors)

    with pytest.raises(Forbidden) as refused:
        reassign_task(ctx, actors[who], task.id, chuyenvien2.id, "Tự chuyển")

    assert refused.value.message_vi == "Chỉ lãnh đạo cơ quan hoặc quản trị viên được thực hiện thao tác này."
    assert get_task(ctx, actors["chuyenvien"], task.id).assignee_id == actors["chuyenvien"].id


def test_a_leader_of_another_agency_does_not_see_the_task(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors)

    with pytest.raises(TaskNotFound):
        reassign_task(ctx, actors["lanhdao_ca"], task.id, chuyenvien2.id, "Điều phối")


@pytest.mark.parametrize("target", ["chuyenvien_ca", "tiepnhan", "lanhdao"])
def test_a_task_goes_only_to_an_official_of_its_role_and_agency(ctx, actors, target):
    task = in_review(ctx, actors)

    with pytest.raises(Forbidden) as refused:
        reassign_task(ctx, actors["lanhdao"], task.id, actors[target].id, "Điều phối")

    assert refused.value.message_vi == "Chỉ giao được cho cán bộ cùng cơ quan và đúng vai trò của bước này."


@pytest.mark.parametrize(("user", "reason", "field"), [
    ("chuyenvien2", "   ", "reason"), ("chuyenvien2", "x" * 501, "reason"),
    ("chuyenvien", "Điều phối", "user_id"), ("congdan", "Điều phối", "user_id"), (None, "Điều phối", "user_id"),
])
def test_a_reassignment_needs_a_reason_and_a_new_working_official(ctx, actors, chuyenvien2, user, reason, field):
    task = in_review(ctx, actors)
    user_id = {"chuyenvien2": chuyenvien2.id, None: 999999}.get(user) or actors[user].id

    with pytest.raises(InvalidInput) as invalid:
        reassign_task(ctx, actors["lanhdao"], task.id, user_id, reason)

    assert list(invalid.value.errors) == [field]


def test_a_finished_task_or_an_applicant_step_is_not_reassigned(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors)
    complete_task(ctx, actors["chuyenvien"], task.id, REVIEW)
    with pytest.raises(TaskConflict) as done:
        reassign_task(ctx, actors["lanhdao"], task.id, chuyenvien2.id, "Muộn")
    assert done.value.message_vi == "Công việc đã được xử lý xong, không thể giao lại."

    walk_in = submit(ctx, actors["tiepnhan"])
    work(ctx, actors["tiepnhan"], walk_in.code, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["CCCD"]})
    supplement = open_task(ctx, actors["tiepnhan"], walk_in.code)
    assert supplement.role == "applicant"
    with pytest.raises(Forbidden):
        reassign_task(ctx, actors["lanhdao"], supplement.id, actors["tiepnhan"].id, "Điều phối")


# --- substitutes ----------------------------------------------------------------------------------


def test_a_substitute_sees_and_works_the_absent_officials_claimed_task(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors)
    with pytest.raises(TaskConflict):  # before the leave is recorded, the claim protects the task
        complete_task(ctx, chuyenvien2, task.id, REVIEW)

    substitution = away(ctx, actors, chuyenvien2)

    assert substitution.active and substitution.user_id == actors["chuyenvien"].id
    [seen] = [t for t in list_inbox(ctx, chuyenvien2) if t.id == task.id]
    assert seen.on_behalf_of == actors["chuyenvien"].id
    assert get_task(ctx, chuyenvien2, task.id).on_behalf_of == actors["chuyenvien"].id
    assert get_task(ctx, actors["chuyenvien"], task.id).on_behalf_of is None
    assert [t.on_behalf_of for t in list_inbox(ctx, actors["chuyenvien"]) if t.id == task.id] == [None]
    complete_task(ctx, chuyenvien2, task.id, REVIEW)
    [event] = [e for e in get_dossier(ctx, actors["lanhdao"], task.dossier_code).history
               if e["kind"] == "task_completed" and e["data"]["task"] == task.id]
    assert event["actor"] == chuyenvien2.full_name and event["data"]["on_behalf_of"] == actors["chuyenvien"].id


def test_a_substitute_may_hand_the_absent_officials_task_back_to_the_pool(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors)
    away(ctx, actors, chuyenvien2)

    assert unclaim_task(ctx, chuyenvien2, task.id).assignee_id is None


def test_a_substitution_works_only_between_its_dates(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors)
    away(ctx, actors, chuyenvien2, starts=1, ends=5)  # the leave starts tomorrow

    with pytest.raises(TaskConflict):
        complete_task(ctx, chuyenvien2, task.id, REVIEW)
    assert all(t.on_behalf_of is None for t in list_inbox(ctx, chuyenvien2))


def test_a_past_substitution_no_longer_opens_the_absent_officials_tasks(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors)
    today = vietnam_today()
    set_substitute(ctx, actors["lanhdao"], actors["chuyenvien"].id, chuyenvien2.id, today - timedelta(days=5),
                   today - timedelta(days=1), "Nghỉ ốm", today=today - timedelta(days=5))

    with pytest.raises(TaskConflict):
        complete_task(ctx, chuyenvien2, task.id, REVIEW)


def test_a_substitution_ended_early_stops_at_once(ctx, actors, chuyenvien2):
    task = in_review(ctx, actors)
    substitution = away(ctx, actors, chuyenvien2)

    ended = end_substitution(ctx, actors["lanhdao"], substitution.id)

    assert ended.active is False and ended.cancelled_at is not None
    with pytest.raises(TaskConflict):
        complete_task(ctx, chuyenvien2, task.id, REVIEW)
    with pytest.raises(Conflict) as again:
        end_substitution(ctx, actors["lanhdao"], substitution.id)
    assert again.value.message_vi == "Lịch thay thế này đã kết thúc."
    assert list_substitutions(ctx, actors["lanhdao"]) == []
    assert [s.id for s in list_substitutions(ctx, actors["lanhdao"], include_past=True)] == [substitution.id]


@pytest.mark.parametrize(("absent", "substitute"), [
    ("chuyenvien", "chuyenvien_ca"),  # another agency
    ("chuyenvien", "tiepnhan"),  # another role
    ("chuyenvien", "lanhdao"),
])
def test_an_official_cannot_substitute_across_agencies_or_roles(ctx, actors, absent, substitute):
    with pytest.raises(Forbidden) as refused:
        away(ctx, actors, actors[substitute], who=absent)

    assert refused.value.message_vi == SAME_LANE
    assert list_substitutions(ctx, actors["lanhdao"]) == []


@pytest.mark.parametrize(("by", "message"), [
    ("chuyenvien", "Chỉ lãnh đạo cơ quan hoặc quản trị viên được thực hiện thao tác này."),
    ("tiepnhan", "Chỉ lãnh đạo cơ quan hoặc quản trị viên được thực hiện thao tác này."),
    ("lanhdao_ca", "Bạn chỉ điều hành công việc của cơ quan mình."),
])
def test_only_the_agencys_leader_sets_a_substitute(ctx, actors, chuyenvien2, by, message):
    with pytest.raises(Forbidden) as refused:
        away(ctx, actors, chuyenvien2, by=by)

    assert refused.value.message_vi == message


def test_an_admin_sets_a_substitute_in_any_agency(ctx, actors, chuyenvien2):
    assert away(ctx, actors, chuyenvien2, by="quantri").active


@pytest.mark.parametrize(("starts", "ends", "reason", "field"), [
    (2, 1, "Nghỉ phép", "ends_on"), (-5, -1, "Nghỉ phép", "ends_on"), (0, 1, "  ", "reason"),
    (0, 1, "x" * 501, "reason"),
])
def test_a_substitution_needs_a_coherent_future_period_and_a_reason(ctx, actors, chuyenvien2, starts, ends, reason,
                                                                    field):
    today = vietnam_today()
    with pytest.raises(InvalidInput) as invalid:
        set_substitute(ctx, actors["lanhdao"], actors["chuyenvien"].id, chuyenvien2.id,
                       today + timedelta(days=starts), today + timedelta(days=ends), reason)

    assert list(invalid.value.errors) == [field]


def test_nobody_substitutes_for_themselves_or_for_a_non_official(ctx, actors):
    today = vietnam_today()
    with pytest.raises(InvalidInput) as itself:
        set_substitute(ctx, actors["lanhdao"], actors["chuyenvien"].id, actors["chuyenvien"].id, today, today, "Phép")
    assert list(itself.value.errors) == ["substitute_id"]
    with pytest.raises(InvalidInput) as citizen:
        set_substitute(ctx, actors["lanhdao"], actors["congdan"].id, actors["chuyenvien"].id, today, today, "Phép")
    assert list(citizen.value.errors) == ["user_id"]


def test_overlapping_leave_for_the_same_official_is_a_conflict(ctx, actors, chuyenvien2):
    away(ctx, actors, chuyenvien2, starts=0, ends=3)

    with pytest.raises(Conflict) as overlap:
        away(ctx, actors, chuyenvien2, starts=3, ends=6)
    assert overlap.value.message_vi == "Cán bộ này đã có người thay thế trong khoảng thời gian đã chọn."
    with pytest.raises(Conflict) as substitute_away:  # chuyenvien cannot stand in while away
        set_substitute(ctx, actors["lanhdao"], chuyenvien2.id, actors["chuyenvien"].id, vietnam_today(),
                       vietnam_today(), "Phép")
    assert substitute_away.value.message_vi == "Người thay thế cũng vắng mặt trong khoảng thời gian này."
    assert away(ctx, actors, chuyenvien2, starts=4, ends=6).active is False  # after the first: fine


def test_the_leader_lists_the_agencys_officials_with_who_stands_in_for_whom(ctx, actors, chuyenvien2):
    substitution = away(ctx, actors, chuyenvien2)

    officials = {o.username: o for o in list_officials(ctx, actors["lanhdao"], role="specialist")}

    assert {"chuyenvien", "chuyenvien2"} <= set(officials) and "chuyenvien_ca" not in officials
    assert officials["chuyenvien"].substituted_by == [chuyenvien2.id]
    assert officials["chuyenvien2"].standing_in_for == [actors["chuyenvien"].id]
    [listed] = list_substitutions(ctx, actors["lanhdao"])
    assert listed.id == substitution.id and listed.substitute_name == chuyenvien2.full_name
    assert list_substitutions(ctx, actors["lanhdao_ca"]) == []
    with pytest.raises(Forbidden):
        list_officials(ctx, actors["chuyenvien"])
    with pytest.raises(NotFound):
        end_substitution(ctx, actors["lanhdao_ca"], substitution.id)
