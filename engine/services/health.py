"""What an admin checks first when something is off: are the external systems reachable with our
settings, does the database answer, is the outbox keeping up, and which calls became incidents."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from engine import outbox
from engine.context import EngineContext
from engine.errors import Forbidden
from engine.models import Dossier, OutboxMessage
from engine.services.accounts import Actor

log = logging.getLogger(__name__)

#: The whole connector check waits at most this long: each connector probes with its own short
#: timeout, this only keeps one that hangs anyway from holding the admin's page.
CHECK_DEADLINE = 8.0
OUTBOX_STATES = ("pending", "running", "done", "incident", "skipped")


@dataclass(frozen=True)
class HealthView:
    id: str
    kind: str
    title: str
    #: configured and switched on (only those are probed)
    enabled: bool
    ok: bool
    detail: str
    #: how long the probe took (None when not probed)
    seconds: float | None = None


@dataclass(frozen=True)
class DatabaseHealth:
    ok: bool
    dialect: str
    detail: str
    seconds: float | None = None


@dataclass(frozen=True)
class OutboxSummary:
    counts: dict[str, int]
    #: age of the oldest call not delivered yet (pending or running), None when there is none
    oldest_pending_seconds: float | None


@dataclass(frozen=True)
class IncidentView:
    id: int
    connector: str
    operation: str
    dossier_code: str | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class HealthOverview:
    #: the database answers and every enabled connector is ok
    ok: bool
    connectors: list[HealthView]
    database: DatabaseHealth
    outbox: OutboxSummary


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("only admins see the health of the installation")


def overview(ctx: EngineContext, actor: Actor) -> HealthOverview:
    """Connectors, database and outbox in one answer (the admin's health page)."""
    connectors = connector_health(ctx, actor)
    database = database_health(ctx)
    ok = database.ok and all(view.ok for view in connectors if view.enabled)
    return HealthOverview(ok, connectors, database, outbox_summary(ctx))


def connector_health(ctx: EngineContext, actor: Actor) -> list[HealthView]:
    """Every registered connector; the enabled ones are probed for real (`check_config`), in parallel."""
    _require_admin(actor)
    registry = ctx.connectors
    enabled = set(registry.available())
    classes = registry.classes()
    views: dict[str, HealthView] = {}
    for connector_id in sorted(set(classes) - enabled):
        cls = classes[connector_id]
        reason = _off_reason(registry, connector_id)
        views[connector_id] = HealthView(connector_id, cls.kind, cls.title, False, False, reason)
    pool = ThreadPoolExecutor(max_workers=max(1, len(enabled)), thread_name_prefix="health")
    try:
        futures = {connector_id: pool.submit(_probe, registry.get(connector_id)) for connector_id in enabled}
        wait(futures.values(), timeout=CHECK_DEADLINE)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung probe finishes on its own, unobserved
    for connector_id, future in futures.items():
        cls = classes[connector_id]
        if future.done() and not future.cancelled():
            ok, detail, seconds = future.result()
        else:
            ok, detail, seconds = False, f"Không có trả lời sau {CHECK_DEADLINE:g} giây", None
        views[connector_id] = HealthView(connector_id, cls.kind, cls.title, True, ok, detail, seconds)
    return [views[connector_id] for connector_id in sorted(views)]


def _off_reason(registry, connector_id: str) -> str:
    try:
        registry.get(connector_id)
    except LookupError as exc:  # ConnectorDisabled says why: not configured, switched off, demo only
        return getattr(exc, "message_vi", str(exc))
    return "Đang bật nhưng chưa được kiểm tra"


def _probe(connector) -> tuple[bool, str, float]:
    started = time.monotonic()
    try:
        report = connector.check_config()
        ok, detail = bool(report.ok), str(report.detail)
    except Exception as exc:  # check_config must not raise; a broken one is shown, not propagated
        log.exception("check_config of connector %s failed", connector.id)
        ok, detail = False, f"Lỗi khi kiểm tra cấu hình: {exc!r}"
    return ok, detail, round(time.monotonic() - started, 3)


def database_health(ctx: EngineContext) -> DatabaseHealth:
    dialect = ctx.db.dialect.name
    started = time.monotonic()
    try:
        with ctx.db.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # the page reports an unreachable database instead of failing itself
        log.warning("database health check failed: %s", exc)
        return DatabaseHealth(False, dialect, f"Không kết nối được cơ sở dữ liệu: {type(exc).__name__}")
    seconds = round(time.monotonic() - started, 4)
    return DatabaseHealth(True, dialect, f"Cơ sở dữ liệu {dialect} trả lời trong {seconds * 1000:.1f} ms", seconds)


def outbox_summary(ctx: EngineContext) -> OutboxSummary:
    """Outbox rows by state, and how long the oldest undelivered one has been waiting."""
    with ctx.sessions() as session:
        rows = session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all()
        oldest = session.scalar(select(func.min(OutboxMessage.created_at))
                                .where(OutboxMessage.state.in_(("pending", "running"))))
    counts = dict.fromkeys(OUTBOX_STATES, 0) | {state: count for state, count in rows}
    if isinstance(oldest, str):  # an aggregate bypasses the column type on SQLite
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = None if oldest is None else max(0.0, round((datetime.now(UTC) - oldest).total_seconds(), 1))
    return OutboxSummary(counts, age)


def list_incidents(ctx: EngineContext, actor: Actor) -> list[IncidentView]:
    """Connector calls that gave up (last attempt failed, or refused for good), oldest first."""
    _require_admin(actor)
    query = (select(OutboxMessage, Dossier.code).outerjoin(Dossier, Dossier.id == OutboxMessage.dossier_id)
             .where(OutboxMessage.state == "incident").order_by(OutboxMessage.id))
    with ctx.sessions() as session:
        return [_incident(row, code) for row, code in session.execute(query).all()]


def retry_incident(ctx: EngineContext, actor: Actor, message_id: int) -> IncidentView:
    """Send an incident back to the queue with a fresh attempt budget (`engine.outbox.retry_incident`)."""
    _require_admin(actor)
    outbox.retry_incident(ctx, actor, message_id)
    with ctx.sessions() as session:
        row = session.get(OutboxMessage, message_id)
        code = session.get(Dossier, row.dossier_id).code if row.dossier_id is not None else None
        return _incident(row, code)


def _incident(row: OutboxMessage, dossier_code: str | None) -> IncidentView:
    return IncidentView(row.id, row.connector, row.operation, dossier_code, row.state, row.attempts,
                        row.last_error, row.created_at, row.next_attempt_at)
