"""Shared fixtures: real databases (SQLite file and the machine's PostgreSQL), a real SMTP simulator.

With CI=true a missing PostgreSQL or Redis is a failure, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.bootstrap import prepare
from engine.config import PROJECT_ROOT, Settings
from engine.context import build_context
from engine.models import Base

PG_ADMIN_URL = os.environ.get("MOTCUA_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("MOTCUA_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: Tables holding per-test dossier state; users, agencies and procedures persist for the session.
VOLATILE = ("report_state", "report_dossier", "report_task", "report_daily", "report_step_daily", "report_duration",
            "access_log", "procedure_draft", "rating", "draft", "substitution", "event", "outbox", "attachment", "payment",
            "exchange_message", "calendar_exception", "task", "workflow_instance", "dossier", "code_counter", "api_token",
            "login_throttle", "file_deletion")


def service_missing(what: str, exc: Exception) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required in CI but unavailable: {exc}")
    pytest.skip(f"{what} unavailable: {exc}")


@pytest.fixture(autouse=True)
def _heap_left_to_the_collector(monkeypatch):
    """A production app a test builds must not freeze the suite's heap (engine/heap.py), which would keep
    every earlier test's cycles for good; tests/engine/test_heap.py calls the real `settle`."""
    import engine.heap

    monkeypatch.setattr(engine.heap, "settle", lambda: None)


@pytest.fixture(scope="session")
def smtp():
    from integrations.notify.smtp_simulator import SmtpSimulator

    with SmtpSimulator() as simulator:
        yield simulator


@pytest.fixture
def redis_url():
    """The real Redis (test DB 15), emptied before and after the test."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL)
        client.ping()
    except redis.RedisError as exc:
        service_missing("Redis", exc)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture(scope="session")
def postgres_url():
    name = f"motcua_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means the service is missing
        service_missing("PostgreSQL", exc)
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def make_settings(database_url: str, smtp_port: int, data_dir: Path, **overrides) -> Settings:
    connectors = {"email": {"host": "127.0.0.1", "port": smtp_port, "sender": "motcua@ubnd.demo.gov.vn",
                            "timeout": 5}}
    values = dict(database_url=database_url, data_dir=data_dir, processes_dir=PROJECT_ROOT / "processes",
                  connectors=connectors, outbox_backoff_base=0.05, outbox_backoff_cap=0.2, outbox_max_attempts=3,
                  outbox_lease_seconds=5.0)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend_context(request, smtp, tmp_path_factory):
    """One prepared database per backend for the whole session (migrated, catalogue, demo users)."""
    data_dir = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'motcua.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    ctx = build_context(make_settings(url, smtp.port, data_dir))
    prepare(ctx, demo=True)
    yield ctx
    ctx.db.dispose()


@pytest.fixture
def ctx(backend_context, smtp):
    """The backend's context with dossier tables emptied before the test."""
    _clean(backend_context)
    backend_context.forget_calendar()
    smtp.clear()
    backend_context.outbox_listeners.clear()
    yield backend_context
    backend_context.outbox_listeners.clear()


def with_connectors(ctx, **configs):
    """A view of `ctx` with more connectors configured (e.g. a simulator's address): same database,
    same caches, its own connector registry."""
    import dataclasses

    from engine.context import own_registry

    settings = dataclasses.replace(ctx.settings, connectors={**ctx.settings.connectors, **configs})
    return dataclasses.replace(ctx, settings=settings, connectors=own_registry(settings))


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """A throw-away CA with a signer, for PAdES signatures in tests (generated, never committed)."""
    from integrations.signing import create_test_ca

    return create_test_ca(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def payment_platform():
    """The national payment platform's simulator on loopback (partner H99)."""
    from integrations.portal.payment_simulator import PaymentSimulator

    with PaymentSimulator(partner_code="H99", secret="bi-mat-test") as simulator:
        yield simulator


def with_payment(ctx, platform):
    """`ctx` with online payment connected to `platform`."""
    return with_connectors(ctx, dvcqg_payment={"init_url": platform.init_url, "query_url": platform.query_url,
                                               "partner_code": "H99", "secret": "bi-mat-test", "timeout": 5})


def allow_purge(conn) -> None:
    """Let this transaction update or delete audit rows (PostgreSQL's append-only triggers, 0008)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL motcua.purge = 'on'"))


def _clean(ctx) -> None:
    # DELETE, children first: on PostgreSQL a TRUNCATE of these small tables costs ~150 ms a test.
    with ctx.db.begin() as conn:
        allow_purge(conn)
        for table in VOLATILE:
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE user_account SET inbox_seen_at = NULL WHERE inbox_seen_at IS NOT NULL"))


@pytest.fixture
def actors(ctx):
    """Every demo account as an Actor, keyed by username (read directly: no password hashing per test)."""
    from sqlalchemy import select

    from engine.models import User
    from engine.services import Actor

    with ctx.sessions() as session:
        return {user.username: Actor.of(user) for user in session.scalars(select(User))}


__all__ = ["Base", "REDIS_URL", "allow_purge", "service_missing", "make_settings", "with_connectors"]


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible HTTP server on loopback (moto's server mode), and credentials for boto3."""
    from tests.s3_server import CREDENTIALS, start_server, stop_server

    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        server = start_server()
    except Exception as exc:  # noqa: BLE001 - moto missing or not starting: the service is missing
        service_missing("the S3 server (moto)", exc)
    yield server
    stop_server(server)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def with_object_store(ctx, server, bucket: str | None = None, prefix: str = "motcua"):
    """A view of `ctx` keeping its files in a new bucket (or `bucket`) of the S3 server."""
    import dataclasses

    bucket = bucket or server.new_bucket()
    settings = dataclasses.replace(ctx.settings, file_store=f"s3://{bucket}/{prefix}", s3_endpoint_url=server.endpoint)
    return dataclasses.replace(ctx, settings=settings)


def with_store_down(ctx):
    """A view of a bucket-backed `ctx` whose object store's endpoint refuses every connection."""
    import dataclasses

    from tests.ports import free_port

    settings = dataclasses.replace(ctx.settings, s3_endpoint_url=f"http://127.0.0.1:{free_port()}")
    return dataclasses.replace(ctx, settings=settings)
