"""The admin's operations page: health (database, Redis, workers, connectors, backlog) and incidents
of both kinds with Retry and Skip-with-a-reason; admins only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.models import OutboxMessage, WorkflowInstance
from engine.timers import fire_due_timers
from tests.engine.incident_procedure import SERVICE, after, at_timer, incident_context
from web import create_app


def test_the_admin_sees_connectors_and_retries_an_incident(ctx, client, login):
    with ctx.sessions() as session:
        now = datetime.now(UTC)
        row = OutboxMessage(connector="email", operation="send", payload={"to": "a@example.vn"},
                            idempotency_key="admin-page-1", waits=False, state="incident", attempts=5,
                            next_attempt_at=now, created_at=now, last_error="451 thử lại sau")
        session.add(row)
        session.commit()
        incident_id = row.id
    token = login("quantri")
    page = client.get("/quan-tri").get_data(as_text=True)
    assert "Quản trị vận hành" in page and "email" in page and "451 thử lại sau" in page
    done = client.post("/quan-tri", data={"csrf_token": token, "incident": str(incident_id)})
    assert done.status_code == 302
    with ctx.sessions() as session:
        assert session.get(OutboxMessage, incident_id).state == "pending"


def test_officials_cannot_open_the_admin_page(client, login):
    login("tiepnhan")
    assert client.get("/quan-tri").status_code == 403


# --- health rows, both kinds of incidents, skip with a reason -------------------------------------


@pytest.fixture
def app(ctx):
    """The app on a context that also knows the incident test procedure (tests/engine/incident_procedure.py)."""
    return create_app(ctx=incident_context(ctx), start_worker=False)


@pytest.fixture
def sctx(app):
    return app.extensions["motcua"]


def notice_incident(ctx, incident_id_key="admin-page-2") -> int:
    with ctx.sessions() as session:
        now = datetime.now(UTC)
        row = OutboxMessage(connector="email", operation="send", payload={"to": "a@example.vn"},
                            idempotency_key=incident_id_key, waits=False, state="incident", attempts=3,
                            next_attempt_at=now, created_at=now, last_error="550 hộp thư không tồn tại")
        session.add(row)
        session.commit()
        return row.id


def stopped_instance(sctx, actors):
    dossier, instance_id, due = at_timer(sctx, actors)
    fire_due_timers(sctx, now=after(due))
    return dossier, instance_id


def test_the_page_shows_redis_workers_backlog_and_both_kinds_of_incidents(ctx, sctx, client, login, actors):
    message_id = notice_incident(ctx)
    dossier, instance_id = stopped_instance(sctx, actors)
    login("quantri")
    page = client.get("/quan-tri").get_data(as_text=True)
    assert "Redis" in page and "Không dùng (chế độ nhúng)" in page
    assert "Tiến trình xử lý nền (worker)" in page and "không chạy trong tiến trình này" in page
    assert "Hàng đợi gửi được xử lý kịp thời" in page and "Có thành phần lỗi" in page
    assert "550 hộp thư không tồn tại" in page and dossier.code in page and "<code>tinh_phi</code>" in page
    for kind, ident in (("outbox", message_id), ("instance", instance_id)):
        assert f'for="ly-do-{kind}-{ident}"' in page and f'id="ly-do-{kind}-{ident}" name="reason"' in page
    assert page.count('name="action" value="skip"') == 2 and page.count('name="action" value="retry"') == 2


def test_a_skip_without_a_reason_is_refused_beside_its_form_and_changes_nothing(ctx, client, login):
    message_id = notice_incident(ctx)
    token = login("quantri")
    refused = client.post("/quan-tri", data={"csrf_token": token, "action": "skip", "kind": "outbox",
                                             "incident": str(message_id), "reason": "   "})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert f'id="ly-do-outbox-{message_id}-loi"' in page and "Vui lòng nêu lý do bỏ qua sự cố." in page
    assert 'aria-invalid="true"' in page
    with ctx.sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert (row.state, row.result) == ("incident", None)


def test_a_skip_with_a_reason_is_kept_and_flashed(ctx, client, login, actors):
    message_id = notice_incident(ctx)
    token = login("quantri")
    done = client.post("/quan-tri", data={"csrf_token": token, "action": "skip", "kind": "outbox",
                                          "incident": str(message_id), "reason": "Công dân đã nhận tại quầy"})
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"Đã bỏ qua sự cố #{message_id} (email/send)." in page and "Không có sự cố nào." in page
    with ctx.sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row.state == "skipped"
        assert row.result == {"skipped": True, "reason": "Công dân đã nhận tại quầy", "by": actors["quantri"].id}


def test_an_instance_incident_is_retried_and_then_skipped_from_the_page(sctx, client, login, actors):
    dossier, instance_id = stopped_instance(sctx, actors)
    token = login("quantri")
    form = {"csrf_token": token, "kind": "instance", "incident": str(instance_id)}
    again = client.post("/quan-tri", data={**form, "action": "retry"})
    assert again.status_code == 302
    page = client.get("/quan-tri").get_data(as_text=True)
    assert f"Quy trình của hồ sơ {dossier.code} vẫn lỗi, sự cố vẫn còn: tinh_phi:" in page
    SERVICE.down_for.clear()
    client.post("/quan-tri", data={**form, "action": "retry"})
    page = client.get("/quan-tri").get_data(as_text=True)
    assert f"Đã chạy lại quy trình của hồ sơ {dossier.code}: hồ sơ đã đi tiếp." in page
    assert "Không có sự cố nào." in page
    with sctx.sessions() as session:
        assert session.get(WorkflowInstance, instance_id).error is None
    assert client.post("/quan-tri", data={**form, "action": "skip", "reason": "x"}).status_code == 404


def test_an_unknown_action_or_incident_is_not_found(ctx, client, login):
    token = login("quantri")
    for form in ({"action": "delete", "incident": "1"}, {"kind": "dossier", "incident": "1"}, {"incident": "abc"}):
        assert client.post("/quan-tri", data={"csrf_token": token, **form}).status_code == 404
