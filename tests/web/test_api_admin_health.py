"""Admin health and incidents over REST: admins only, every answer as the OpenAPI document says."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from engine.models import OutboxMessage
from engine.outbox import drain
from engine.timers import fire_due_timers
from engine.worker import InProcessWorker
from tests.engine.incident_procedure import SERVICE, after, at_timer, incident_context
from tests.factories import submit, work
from web import create_app


@pytest.fixture
def app(ctx):
    """The app on a context that also knows the incident test procedure (tests/engine/incident_procedure.py)."""
    return create_app(ctx=incident_context(ctx), start_worker=False)


def test_an_admin_sees_connectors_database_and_outbox(api, ctx):
    worker = InProcessWorker(ctx, interval=0.05).start()
    try:
        deadline = time.monotonic() + 10
        while worker.last_sweep_at is None and time.monotonic() < deadline:
            time.sleep(0.02)
        response = api.get("/api/v1/admin/health", user="quantri")
    finally:
        worker.stop()
    assert response.status_code == 200
    body = response.get_json()
    connectors = {c["id"]: c for c in body["connectors"]}
    assert connectors["email"]["enabled"] and connectors["email"]["ok"]
    assert not connectors["sms"]["enabled"] and "chưa được cấu hình" in connectors["sms"]["detail"]
    assert body["database"]["ok"] and body["database"]["dialect"] in ("sqlite", "postgresql")
    assert body["outbox"]["counts"]["incident"] == 0 and body["outbox"]["ok"] and body["ok"] is True
    assert body["redis"] == {"enabled": False, "ok": True, "detail": "Không dùng (chế độ nhúng)", "seconds": None,
                             "names": [], "last_sweep_at": None, "missing_queues": []}
    assert body["workers"]["ok"] and body["workers"]["names"] == ["motcua-outbox"] and body["workers"]["last_sweep_at"]
    assert body["reports_standby"]["enabled"] is False and body["reports_standby"]["ok"] is True
    postgresql = body["database"]["dialect"] == "postgresql"  # the history by month: PostgreSQL only
    assert body["history_months"]["enabled"] is postgresql and body["history_months"]["ok"] is True
    assert body["file_store"]["ok"] is True and "còn trống" in body["file_store"]["detail"]
    stopped = api.get("/api/v1/admin/health", user="quantri").get_json()
    assert stopped["ok"] is False and stopped["workers"]["ok"] is False  # the worker thread is gone


def test_health_and_incidents_are_for_admins_only(api):
    for path in ("/api/v1/admin/health", "/api/v1/admin/incidents"):
        assert api.get(path).status_code == 401
        for username in ("tiepnhan", "congdan", "phantich"):
            assert api.get(path, user=username).status_code == 403
    assert api.post("/api/v1/admin/incidents/1/retry", user="lanhdao").status_code == 403
    for path in ("/api/v1/admin/incidents/1/skip", "/api/v1/admin/instance-incidents/1/skip",
                 "/api/v1/admin/instance-incidents/1/retry"):
        assert api.post(path, json={"reason": "lý do"}).status_code == 401
        assert api.post(path, user="chuyenvien", json={"reason": "lý do"}).status_code == 403


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


def test_an_admin_skips_a_call_with_a_reason_and_an_empty_one_is_refused(api, ctx, actors, smtp):
    dossier = submit(ctx, actors["congdan"])
    settle(ctx)
    smtp.fail_next(1, code=550, message="5.1.1 mailbox unavailable")
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    settle(ctx)
    [incident] = api.get("/api/v1/admin/incidents", user="quantri").get_json()
    assert (incident["kind"], incident["cause"], incident["element"]) == ("outbox", "connector", None)
    path = f"/api/v1/admin/incidents/{incident['id']}/skip"
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}):
        refused = api.post(path, user="quantri", json=body)
        assert refused.status_code == 400 and "reason" in refused.get_json()["fields"], body
    assert api.get("/api/v1/admin/incidents", user="quantri").get_json() == [incident]
    skipped = api.post(path, user="quantri", json={"reason": "Sai địa chỉ e-mail"})
    assert skipped.status_code == 200
    assert (skipped.get_json()["state"], skipped.get_json()["id"]) == ("skipped", incident["id"])
    with ctx.sessions() as session:
        assert session.get(OutboxMessage, incident["id"]).result["reason"] == "Sai địa chỉ e-mail"
    assert api.post(path, user="quantri", json={"reason": "lần nữa"}).status_code == 404


def test_an_admin_retries_then_skips_a_stopped_instance(api, app, actors):
    sctx = app.extensions["motcua"]
    dossier, instance_id, due = at_timer(sctx, actors)
    fire_due_timers(sctx, now=after(due))
    [incident] = api.get("/api/v1/admin/incidents", user="quantri").get_json()
    assert (incident["kind"], incident["cause"], incident["id"], incident["element"]) == (
        "instance", "script", instance_id, "tinh_phi")
    assert incident["dossier_code"] == dossier.code and incident["connector"] is None
    retried = api.post(f"/api/v1/admin/instance-incidents/{instance_id}/retry", user="quantri").get_json()
    assert (retried["state"], retried["attempts"]) == ("incident", 2)
    skip = f"/api/v1/admin/instance-incidents/{instance_id}/skip"
    assert api.post(skip, user="quantri", json={"reason": ""}).status_code == 400
    first = api.post(skip, user="quantri", json={"reason": "Phí thu tại quầy"}).get_json()
    assert (first["state"], first["element"]) == ("incident", "ghi_so")  # the next script failed: not applied
    second = api.post(skip, user="quantri", json={"reason": "Ghi sổ thủ công"}).get_json()
    assert (second["state"], second["last_error"]) == ("skipped", None)
    assert api.get("/api/v1/admin/incidents", user="quantri").get_json() == []
    assert api.post(f"/api/v1/admin/instance-incidents/{instance_id}/retry", user="quantri").status_code == 404
    assert SERVICE.down_for == {dossier.code}
