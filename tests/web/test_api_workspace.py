"""REST API of the officials' workspace: inbox filters, notifications, reassigning and substitutes.
On SQLite and PostgreSQL; every response is checked against the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.services.substitutions import vietnam_today
from tests.engine.services.workspace import colleague, set_due
from tests.factories import APPLICANT
from tests.web.conftest import HKD_SLUG

REVIEW = {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"}


@pytest.fixture
def chuyenvien2(ctx, app):
    return colleague(ctx)


def in_review(api, *, claim: bool = True) -> dict:
    """A dossier at the specialist's review step (claimed by chuyenvien); returns the task."""
    code = api.submit()["code"]
    api.work("tiepnhan", code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    task = api.task_for("chuyenvien", code)
    if claim:
        assert api.post(f"/api/v1/tasks/{task['id']}/claim", user="chuyenvien").status_code == 200
    return task


# --- the inbox's filters --------------------------------------------------------------------------


def test_the_inbox_filters_searches_sorts_and_pages_over_http(api):
    first = api.submit()["code"]
    second = api.submit(user="tiepnhan", applicant={**APPLICANT, "name": "NGUYỄN VĂN ĐÀO"})["code"]

    by_name = api.get("/api/v1/tasks", user="tiepnhan", query_string={"q": "nguyen van dao"}).get_json()
    by_code = api.get("/api/v1/tasks", user="tiepnhan", query_string={"q": first}).get_json()
    newest = api.get("/api/v1/tasks", user="tiepnhan", query_string={"sort": "-created_at", "limit": 1}).get_json()
    filtered = api.get("/api/v1/tasks", user="tiepnhan", query_string={
        "procedure": HKD_SLUG, "status": "submitted", "offset": 1, "sort": "code"}).get_json()
    overdue = api.get("/api/v1/tasks", user="tiepnhan", query_string={"due": "overdue"}).get_json()

    assert [t["dossier_code"] for t in by_name] == [second]
    assert [t["dossier_code"] for t in by_code] == [first]
    assert [t["dossier_code"] for t in newest] == [second]
    assert [t["dossier_code"] for t in filtered] == [second]
    assert overdue == []  # both were just submitted
    assert {t["due_state"] for t in by_name + by_code} <= {"on_track", "due_soon", "overdue"}


@pytest.mark.parametrize(("query", "field"), [
    ({"due": "late"}, "due"), ({"sort": "name"}, "sort"), ({"status": "xong"}, "status"), ({"q": ""}, "q"),
    ({"q": "x" * 101}, "q"), ({"limit": 0}, "limit"), ({"owner": "me"}, "owner"),
])
def test_bad_inbox_filters_are_a_400_naming_the_parameter(api, query, field):
    response = api.get("/api/v1/tasks", user="tiepnhan", query_string=query)

    assert response.status_code == 400 and field in response.get_json()["fields"]


# --- notifications --------------------------------------------------------------------------------


def test_the_inbox_summary_counts_new_and_overdue_tasks_until_marked_seen(api, ctx):
    api.submit()
    task = api.task_for("tiepnhan", api.submit()["code"])
    set_due(ctx, task["id"], datetime.now(UTC) - timedelta(hours=2))

    summary = api.get("/api/v1/inbox/summary", user="tiepnhan").get_json()
    seen = api.post("/api/v1/inbox/seen", user="tiepnhan")

    assert summary == {"total": 2, "new": 2, "overdue": 1, "due_soon": summary["due_soon"], "seen_at": None}
    assert seen.status_code == 200 and seen.get_json()["new"] == 0 and seen.get_json()["seen_at"]
    api.submit()
    assert api.get("/api/v1/inbox/summary", user="tiepnhan").get_json()["new"] == 1


def test_marking_seen_takes_the_time_the_inbox_was_shown(api):
    shown = datetime.now(UTC).isoformat()
    api.submit()

    response = api.post("/api/v1/inbox/seen", user="tiepnhan", json={"until": shown})
    bad = api.post("/api/v1/inbox/seen", user="tiepnhan", json={"until": "hôm qua"})

    assert response.status_code == 200 and response.get_json()["new"] == 1
    assert bad.status_code == 400 and "until" in bad.get_json()["fields"]


# --- reassigning ----------------------------------------------------------------------------------


def test_a_leader_reassigns_a_task_over_http(api, chuyenvien2):
    task = in_review(api)

    response = api.post(f"/api/v1/tasks/{task['id']}/reassign", user="lanhdao",
                        json={"user_id": chuyenvien2.id, "reason": "Cân đối công việc"})

    assert response.status_code == 200 and response.get_json()["assignee_id"] == chuyenvien2.id
    blocked = api.post(f"/api/v1/tasks/{task['id']}/complete", user="chuyenvien", json={"data": REVIEW})
    assert blocked.status_code == 409
    assert api.post(f"/api/v1/tasks/{task['id']}/complete", user="chuyenvien2", json={"data": REVIEW}).status_code == 200
    history = api.dossier(task["dossier_code"], user="lanhdao")["history"]
    assert [e["data"]["reason"] for e in history if e["kind"] == "task_reassigned"] == ["Cân đối công việc"]


def test_reassigning_is_refused_to_non_leaders_across_agencies_and_without_a_reason(api, chuyenvien2, actors):
    task = in_review(api)
    path = f"/api/v1/tasks/{task['id']}/reassign"

    specialist = api.post(path, user="chuyenvien", json={"user_id": chuyenvien2.id, "reason": "Tự chuyển"})
    elsewhere = api.post(path, user="lanhdao_ca", json={"user_id": chuyenvien2.id, "reason": "Điều phối"})
    wrong_lane = api.post(path, user="lanhdao", json={"user_id": actors["chuyenvien_ca"].id, "reason": "Điều phối"})
    no_reason = api.post(path, user="lanhdao", json={"user_id": chuyenvien2.id})

    assert specialist.status_code == 403 and "lãnh đạo" in specialist.get_json()["message"]
    assert elsewhere.status_code == 404
    assert wrong_lane.status_code == 403 and "cùng cơ quan" in wrong_lane.get_json()["message"]
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["fields"]


# --- substitutes ----------------------------------------------------------------------------------


def test_a_leader_sets_a_substitute_who_then_works_the_absent_officials_task(api, chuyenvien2, actors):
    task = in_review(api)
    today = vietnam_today()

    created = api.post("/api/v1/substitutions", user="lanhdao", json={
        "user_id": actors["chuyenvien"].id, "substitute_id": chuyenvien2.id, "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=2)).isoformat(), "reason": "Nghỉ phép"})

    assert created.status_code == 201 and created.get_json()["active"] is True
    [seen] = [t for t in api.get("/api/v1/tasks", user="chuyenvien2").get_json() if t["id"] == task["id"]]
    assert seen["on_behalf_of"] == actors["chuyenvien"].id
    listed = api.get("/api/v1/substitutions", user="lanhdao").get_json()
    assert [s["substitute_name"] for s in listed] == [chuyenvien2.full_name]
    officials = api.get("/api/v1/officials", user="lanhdao", query_string={"role": "specialist"}).get_json()
    assert {o["username"]: o["substituted_by"] for o in officials}["chuyenvien"] == [chuyenvien2.id]
    assert api.post(f"/api/v1/tasks/{task['id']}/complete", user="chuyenvien2", json={"data": REVIEW}).status_code == 200


def test_ending_a_substitution_early_closes_the_absent_officials_tasks_to_the_substitute(api, chuyenvien2, actors):
    task = in_review(api)
    today = vietnam_today().isoformat()
    substitution = api.post("/api/v1/substitutions", user="lanhdao", json={
        "user_id": actors["chuyenvien"].id, "substitute_id": chuyenvien2.id, "starts_on": today, "ends_on": today,
        "reason": "Đi công tác"}).get_json()

    ended = api.post(f"/api/v1/substitutions/{substitution['id']}/end", user="lanhdao")

    assert ended.status_code == 200 and ended.get_json()["active"] is False
    assert api.post(f"/api/v1/substitutions/{substitution['id']}/end", user="lanhdao").status_code == 409
    assert api.post(f"/api/v1/tasks/{task['id']}/complete", user="chuyenvien2", json={"data": REVIEW}).status_code == 409
    assert api.get("/api/v1/substitutions", user="lanhdao", query_string={"include_past": "true"}).get_json()


def test_substitutes_across_agencies_or_roles_and_by_non_leaders_are_refused(api, chuyenvien2, actors):
    today = vietnam_today().isoformat()

    def propose(user: str, substitute: int, **changes):
        body = {"user_id": actors["chuyenvien"].id, "substitute_id": substitute, "starts_on": today,
                "ends_on": today, "reason": "Nghỉ phép", **changes}
        return api.post("/api/v1/substitutions", user=user, json=body)

    across = propose("lanhdao", actors["chuyenvien_ca"].id)
    other_role = propose("lanhdao", actors["tiepnhan"].id)
    by_specialist = propose("chuyenvien2", chuyenvien2.id)
    backwards = propose("lanhdao", chuyenvien2.id, ends_on=(vietnam_today() - timedelta(days=1)).isoformat())
    bad_date = propose("lanhdao", chuyenvien2.id, starts_on="31/12/2026")

    assert across.status_code == other_role.status_code == 403
    assert across.get_json()["message"] == "Người thay thế phải cùng cơ quan và cùng vai trò với cán bộ vắng mặt."
    assert by_specialist.status_code == 403
    assert backwards.status_code == 400 and "ends_on" in backwards.get_json()["fields"]
    assert bad_date.status_code == 400 and "starts_on" in bad_date.get_json()["fields"]
    assert api.get("/api/v1/substitutions", user="chuyenvien").status_code == 403
    assert api.get("/api/v1/officials", user="chuyenvien").status_code == 403
    assert api.get("/api/v1/officials", user="lanhdao", query_string={"role": "citizen"}).status_code == 400
