"""The admin's health view: connectors probed for real, the database, the outbox and its incidents."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time

import pytest
from sqlalchemy import select

from engine.config import DEFAULT_SIMULATOR_PORTS, Settings
from engine.context import own_registry
from engine.errors import Forbidden, NotFound
from engine.models import OutboxMessage
from engine.outbox import drain
from engine.services import health
from engine.simulators import ensure_pki, start_simulators
from integrations import Connector, ConnectorRegistry, HealthReport
from tests.factories import submit, work


@pytest.fixture(scope="module")
def every_connector(tmp_path_factory):
    """Settings with every connector on, aimed at simulators on free ports (the test settings only
    configure e-mail)."""
    env = {"MOTCUA_DATA_DIR": str(tmp_path_factory.mktemp("health"))}
    ensure_pki(Settings.from_env(env))
    settings = Settings.from_env(env)
    with start_simulators(settings, ports=dict.fromkeys(DEFAULT_SIMULATOR_PORTS, 0)) as simulators:
        yield simulators.point(settings)


def test_admins_see_the_test_settings_one_connector_probed_and_the_others_off(ctx, actors):
    views = {view.id: view for view in health.connector_health(ctx, actors["quantri"])}
    assert views["email"].enabled and views["email"].ok and "127.0.0.1" in views["email"].detail
    assert views["email"].kind == "notify" and views["email"].title
    off = [view for view in views.values() if not view.enabled]
    assert {view.id for view in off} == set(views) - {"email"}
    assert all(not view.ok and "chưa được cấu hình" in view.detail for view in off)


def test_every_connector_reports_ok_against_the_simulators(ctx, actors, every_connector):
    full = dataclasses.replace(ctx, connectors=own_registry(every_connector))
    views = health.connector_health(full, actors["quantri"])
    assert [view.id for view in views] == sorted(view.id for view in views)
    assert {view.id: (view.enabled, view.ok) for view in views} == {
        cid: (True, True) for cid in ("dvcqg", "dvcqg_payment", "email", "local_signing", "remote_signing",
                                      "sms", "vdxp", "vneid")}, views


def test_an_unreachable_connector_is_reported_with_the_reason(ctx, actors):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {"url": f"http://127.0.0.1:{port}", "api_key": "k", "brandname": "UBND-DEMO", "timeout": 2}
    settings = dataclasses.replace(ctx.settings, connectors={**ctx.settings.connectors, "sms": config})
    down = dataclasses.replace(ctx, connectors=own_registry(settings))
    sms = next(view for view in health.connector_health(down, actors["quantri"]) if view.id == "sms")
    assert sms.enabled and not sms.ok and "Không kết nối được cổng SMS" in sms.detail
    assert health.overview(ctx, actors["quantri"]).ok is True
    assert health.overview(down, actors["quantri"]).ok is False


class _Stuck(Connector):
    id = "treo"
    kind = "notify"
    title = "Kết nối không bao giờ trả lời"
    release = threading.Event()

    def check_config(self) -> HealthReport:
        self.release.wait(10)
        return HealthReport(ok=True, detail="quá muộn")


def test_a_probe_that_hangs_is_reported_at_the_deadline_not_waited_for(ctx, actors, monkeypatch):
    registry = ConnectorRegistry()
    registry.register(_Stuck)
    registry.configure({"treo": {}})
    monkeypatch.setattr(health, "CHECK_DEADLINE", 0.3)
    monkeypatch.setattr(_Stuck, "release", threading.Event())
    started = time.monotonic()
    try:
        [view] = health.connector_health(dataclasses.replace(ctx, connectors=registry), actors["quantri"])
    finally:
        _Stuck.release.set()
    assert time.monotonic() - started < 2
    assert not view.ok and "0.3 giây" in view.detail


def test_only_admins_see_connector_health_and_incidents(ctx, actors):
    for username in ("tiepnhan", "lanhdao", "congdan", "phantich"):
        with pytest.raises(Forbidden):
            health.connector_health(ctx, actors[username])
        with pytest.raises(Forbidden):
            health.list_incidents(ctx, actors[username])
        with pytest.raises(Forbidden):
            health.retry_incident(ctx, actors[username], 1)


def test_database_health_answers_with_its_dialect(ctx):
    database = health.database_health(ctx)
    assert database.ok and database.dialect in ("sqlite", "postgresql") and database.seconds is not None


def test_outbox_summary_counts_by_state_and_ages_the_oldest_pending_call(ctx, actors):
    empty = health.outbox_summary(ctx)
    assert empty.counts == {"pending": 0, "running": 0, "done": 0, "incident": 0, "skipped": 0}
    assert empty.oldest_pending_seconds is None
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    time.sleep(0.2)
    waiting = health.outbox_summary(ctx)
    assert waiting.counts["pending"] >= 1 and waiting.oldest_pending_seconds >= 0.1
    settle(ctx)
    settled = health.outbox_summary(ctx)
    assert settled.counts["pending"] == 0 and settled.counts["done"] == waiting.counts["pending"]
    assert settled.oldest_pending_seconds is None


def test_an_incident_is_listed_with_its_dossier_and_an_admin_sends_it_back(ctx, actors, smtp):
    dossier = incident_for(ctx, actors, smtp)
    [incident] = health.list_incidents(ctx, actors["quantri"])
    assert (incident.connector, incident.operation, incident.dossier_code) == ("email", "send", dossier.code)
    assert incident.state == "incident" and "550" in incident.last_error
    assert health.outbox_summary(ctx).counts["incident"] == 1
    retried = health.retry_incident(ctx, actors["quantri"], incident.id)
    assert (retried.id, retried.state, retried.attempts) == (incident.id, "pending", 0)
    assert health.list_incidents(ctx, actors["quantri"]) == []
    with pytest.raises(NotFound):
        health.retry_incident(ctx, actors["quantri"], incident.id)
    settle(ctx)
    assert len(smtp.messages) == 1


def incident_for(ctx, actors, smtp):
    """A dossier whose receipt e-mail the relay refused for good (550): an incident at once."""
    dossier = submit(ctx, actors["congdan"])
    settle(ctx)
    smtp.clear()
    smtp.fail_next(1, code=550, message="5.1.1 mailbox unavailable")
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    settle(ctx)
    return dossier


def settle(ctx, rounds=40):
    for _ in range(rounds):
        drain(ctx)
        with ctx.sessions() as session:
            if not session.scalar(select(OutboxMessage.id).where(OutboxMessage.state.in_(("pending", "running")))):
                return
        time.sleep(0.05)
