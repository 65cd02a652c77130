"""Admin health and incidents over REST: admins only, every answer as the OpenAPI document says."""

from __future__ import annotations

import time

from sqlalchemy import select

from engine.models import OutboxMessage
from engine.outbox import drain
from tests.factories import submit, work


def test_an_admin_sees_connectors_database_and_outbox(api):
    response = api.get("/api/v1/admin/health", user="quantri")
    assert response.status_code == 200
    body = response.get_json()
    connectors = {c["id"]: c for c in body["connectors"]}
    assert connectors["email"]["enabled"] and connectors["email"]["ok"]
    assert not connectors["sms"]["enabled"] and "chưa được cấu hình" in connectors["sms"]["detail"]
    assert body["database"]["ok"] and body["database"]["dialect"] in ("sqlite", "postgresql")
    assert body["outbox"]["counts"]["incident"] == 0 and body["ok"] is True


def test_health_and_incidents_are_for_admins_only(api):
    for path in ("/api/v1/admin/health", "/api/v1/admin/incidents"):
        assert api.get(path).status_code == 401
        for username in ("tiepnhan", "congdan", "phantich"):
            assert api.get(path, user=username).status_code == 403
    assert api.post("/api/v1/admin/incidents/1/retry", user="lanhdao").status_code == 403


def test_an_admin_lists_an_incident_and_retries_it(api, ctx, actors, smtp):
    dossier = submit(ctx, actors["congdan"])
    settle(ctx)
    smtp.clear()
    smtp.fail_next(1, code=550, message="5.1.1 mailbox unavailable")
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    settle(ctx)

    listed = api.get("/api/v1/admin/incidents", user="quantri")
    assert listed.status_code == 200
    [incident] = listed.get_json()
    assert incident["dossier_code"] == dossier.code and incident["connector"] == "email"
    assert "550" in incident["last_error"]
    health = api.get("/api/v1/admin/health", user="quantri").get_json()
    assert health["outbox"]["counts"]["incident"] == 1

    retried = api.post(f"/api/v1/admin/incidents/{incident['id']}/retry", user="quantri")
    assert retried.status_code == 200
    assert (retried.get_json()["state"], retried.get_json()["attempts"]) == ("pending", 0)
    assert api.get("/api/v1/admin/incidents", user="quantri").get_json() == []
    assert api.post(f"/api/v1/admin/incidents/{incident['id']}/retry", user="quantri").status_code == 404
    settle(ctx)
    assert len(smtp.messages) == 1


def test_retrying_an_unknown_incident_is_404(api):
    assert api.post("/api/v1/admin/incidents/987654/retry", user="quantri").status_code == 404
    assert api.post("/api/v1/admin/incidents/abc/retry", user="quantri").status_code == 404


def settle(ctx, rounds=40):
    for _ in range(rounds):
        drain(ctx)
        with ctx.sessions() as session:
            if not session.scalar(select(OutboxMessage.id).where(OutboxMessage.state.in_(("pending", "running")))):
                return
        time.sleep(0.05)
