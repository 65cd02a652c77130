"""The admin's health view: connectors probed for real, the database, the outbox and its incidents."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import history
from engine.config import DEFAULT_SIMULATOR_PORTS, Settings
from engine.context import own_registry
from engine.db import transaction
from engine.errors import Forbidden, NotFound
from engine.models import Dossier, OutboxMessage
from engine.services import health
from engine.simulators import ensure_pki, start_simulators
from engine.worker import InProcessWorker
from integrations import Connector, ConnectorRegistry, HealthReport
from tests.engine.test_outbox import drain_until_settled as settle
from tests.factories import submit, work


@pytest.fixture
def worker(ctx):
    """The in-process worker running on `ctx`, its first round done (the health page wants one)."""
    running = InProcessWorker(ctx, interval=0.05).start()
    deadline = time.monotonic() + 10
    while running.last_sweep_at is None and time.monotonic() < deadline:
        time.sleep(0.02)
    yield running
    running.stop()


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


def test_an_unreachable_connector_is_reported_with_the_reason(ctx, actors, worker):
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


def test_without_a_reports_standby_its_row_is_not_used(ctx):
    standby = health.standby_health(ctx)
    assert (standby.enabled, standby.ok) == (False, True)


def test_the_file_store_row_names_the_folder_or_the_bucket_and_whether_it_answers(ctx, actors, s3_server, tmp_path):
    from tests.conftest import with_object_store, with_store_down

    folder = health.file_store_health(ctx)
    assert folder.enabled and folder.ok and str(ctx.files.root) in folder.detail and "GiB" in folder.detail
    (tmp_path / "mot-tep").write_text("not a folder")
    misplaced = health.file_store_health(dataclasses.replace(  # MOTCUA_DATA_DIR names a path under a file
        ctx, settings=dataclasses.replace(ctx.settings, data_dir=tmp_path / "mot-tep" / "data")))
    assert not misplaced.ok and "Không ghi được" in misplaced.detail
    bucket = with_object_store(ctx, s3_server)
    answered = health.file_store_health(bucket)
    assert answered.ok and bucket.files.describe() in answered.detail and answered.seconds is not None
    down = with_store_down(bucket)
    unreachable = health.file_store_health(down)
    assert not unreachable.ok and "Không truy cập được kho tệp" in unreachable.detail
    overview = health.overview(down, actors["quantri"])
    assert overview.ok is False and overview.file_store.ok is False


def test_the_file_store_row_counts_what_waits_on_it_from_an_outage(ctx):
    from datetime import UTC, datetime

    from engine.db import transaction
    from engine.models import ExchangeMessage, FileDeletion

    assert "đang chờ" not in health.file_store_health(ctx).detail
    with transaction(ctx.sessions) as session:
        now = datetime.now(UTC)
        session.add(ExchangeMessage(direction="in", kind="edoc", state="held", detail={"item": {}}, created_at=now))
        session.add_all(FileDeletion(sha256=f"{n:064x}", queued_at=now) for n in range(3))
    row = health.file_store_health(ctx)
    assert row.ok and "1 gói tin liên thông đã nhận đang chờ kho tệp" in row.detail
    assert "3 tệp của hồ sơ đã xoá dữ liệu đang chờ xoá" in row.detail


def test_the_history_months_are_made_this_month_and_the_next(ctx, actors):
    months = health.history_months_health(ctx)
    if ctx.db.dialect.name == "sqlite":
        assert (months.enabled, months.ok) == (False, True)
        return
    assert months.enabled and months.ok and "tháng có bảng riêng" in months.detail
    later = health.history_months_health(ctx, now=datetime(2041, 6, 1, tzinfo=UTC))  # the sweep stopped long ago
    assert not later.ok and "Chưa có bảng lịch sử của tháng 06/2041, 07/2041" in later.detail
    code = submit(ctx, actors["congdan"]).code


    with transaction(ctx.sessions) as session:  # an event of a month without its partition yet
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).one()
        history.record(session, dossier, "note", at=datetime(2016, 2, 2, tzinfo=UTC))
    waiting = health.history_months_health(ctx)
    assert waiting.ok and "1 sự kiện đang chờ chuyển vào bảng của tháng mình" in waiting.detail


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


# --- Redis, workers, backlog, both kinds of incidents ---------------------------------------------


def celery_mode(ctx, redis_url):
    return dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, worker="celery", redis_url=redis_url))


def test_redis_is_not_used_in_embedded_mode(ctx):
    redis = health.redis_health(ctx)
    assert (redis.enabled, redis.ok, redis.detail) == (False, True, "Không dùng (chế độ nhúng)")


def test_redis_answers_a_ping_in_celery_mode(ctx, redis_url):
    redis = health.redis_health(celery_mode(ctx, redis_url))
    assert redis.enabled and redis.ok and redis.seconds is not None and redis.seconds < 1
    assert "Redis trả lời" in redis.detail


def test_an_unreachable_redis_is_reported_not_raised(ctx):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    redis = health.redis_health(celery_mode(ctx, f"redis://127.0.0.1:{port}/0"))
    assert time.monotonic() - started < 3
    assert redis.enabled and not redis.ok and "Không kết nối được Redis" in redis.detail


def test_without_its_worker_thread_an_embedded_installation_is_not_ok(ctx, actors):
    workers = health.worker_health(ctx)
    assert workers.enabled and not workers.ok and "không chạy" in workers.detail
    assert health.overview(ctx, actors["quantri"]).ok is False


def test_the_running_worker_thread_shows_its_heartbeat(ctx, actors, worker):
    workers = health.worker_health(ctx)
    assert workers.ok and workers.names == ["motcua-outbox"]
    assert (datetime.now(UTC) - workers.last_sweep_at).total_seconds() < 5
    overview = health.overview(ctx, actors["quantri"])
    assert overview.ok and overview.workers.ok and overview.redis.detail == "Không dùng (chế độ nhúng)"
    worker.stop()
    assert not health.worker_health(ctx).ok


def test_a_call_overdue_for_minutes_warns_but_one_waiting_for_its_back_off_does_not(ctx, actors, worker):
    now = datetime.now(UTC)
    with ctx.sessions() as session:
        session.add(OutboxMessage(connector="email", operation="send", payload={"to": "a@example.vn"},
                                  idempotency_key="health-backoff", waits=False, state="pending", attempts=2,
                                  next_attempt_at=now + timedelta(minutes=4), created_at=now - timedelta(hours=1)))
        session.commit()
    summary = health.outbox_summary(ctx)
    assert summary.ok and summary.oldest_due_seconds is None and summary.oldest_pending_seconds >= 3600
    worker.stop()  # nobody delivers now: the row below stays overdue
    with ctx.sessions() as session:
        session.add(OutboxMessage(connector="email", operation="send", payload={"to": "b@example.vn"},
                                  idempotency_key="health-overdue", waits=False, state="pending", attempts=0,
                                  next_attempt_at=now - timedelta(minutes=10), created_at=now - timedelta(minutes=10)))
        session.commit()
    late = health.outbox_summary(ctx)
    assert not late.ok and late.oldest_due_seconds >= 600 and "10 phút" in late.detail


def test_the_overview_does_not_wait_for_a_probe_that_hangs(ctx, actors, monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(health, "SERVICE_DEADLINE", 0.3)
    monkeypatch.setattr(health, "redis_health", lambda _ctx: release.wait(10))
    started = time.monotonic()
    try:
        overview = health.overview(ctx, actors["quantri"])
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert not overview.ok and not overview.redis.ok and "0.3 giây" in overview.redis.detail


def test_incidents_of_both_kinds_are_listed_alike(ctx, actors, smtp):
    from engine.timers import fire_due_timers
    from tests.engine.incident_procedure import after, at_timer, incident_context

    mail = incident_for(ctx, actors, smtp)
    sctx = incident_context(ctx)
    stopped, instance_id, due = at_timer(sctx, actors)
    fire_due_timers(sctx, now=after(due))
    call, instance = health.list_incidents(ctx, actors["quantri"])
    assert (call.kind, call.cause, call.dossier_code, call.connector, call.element) == (
        "outbox", "connector", mail.code, "email", None)
    assert (instance.kind, instance.cause, instance.dossier_code, instance.id, instance.element, instance.attempts) == (
        "instance", "script", stopped.code, instance_id, "tinh_phi", 1)
    assert instance.last_error.startswith("tinh_phi: ") and instance.failed_at is not None
    assert instance.state == "incident" and instance.connector is None
    retried = health.retry_instance_incident(sctx, actors["quantri"], instance_id)
    assert (retried.state, retried.attempts) == ("incident", 2)
    skipped = health.skip_incident(ctx, actors["quantri"], call.id, "Hộp thư không tồn tại")
    assert (skipped.state, skipped.kind) == ("skipped", "outbox")
    assert [i.kind for i in health.list_incidents(ctx, actors["quantri"])] == ["instance"]
    with pytest.raises(Forbidden):
        health.skip_instance_incident(ctx, actors["tiepnhan"], instance_id, "lý do")
