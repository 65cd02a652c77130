"""The admin's operations page: health, backlog, incidents with a retry button; admins only."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.models import OutboxMessage


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
