"""What an admin checks first when something is off: are the external systems reachable with our
settings, do the database and Redis answer, are the workers alive, is the outbox keeping up, does the
reports' standby answer and how far behind it is, are the history's months ahead made, and what
became an incident (a connector call that gave up, a workflow a script stopped).

Every probe has a deadline: a hung dependency shows as "no answer after n seconds", never as a page
that does not load."""

from __future__ import annotations

import logging
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import case, func, select, text

from engine.context import EngineContext
from engine.errors import Forbidden, MotcuaError
from engine.event_months import month_of, months_made, partitioned, plus_months
from engine.models import OutboxMessage, WorkflowInstance
from engine.services.accounts import Actor

# The incident desk lives next door; the health page and the API reach it through this module.
from engine.services.incidents import (  # noqa: F401
    IncidentView,
    list_incidents,
    retry_incident,
    retry_instance_incident,
    skip_incident,
    skip_instance_incident,
)

log = logging.getLogger(__name__)

#: The whole connector check waits at most this long: each connector probes with its own short
#: timeout, this only keeps one that hangs anyway from holding the admin's page.
CHECK_DEADLINE = 8.0
#: Redis and the workers answer within a second when they are up; this bounds a hung one.
SERVICE_DEADLINE = 3.0
#: an in-process worker whose loop has not come round for this long is stuck (it loops every second)
WORKER_STALE_SECONDS = 120.0
#: a call due for longer than this and still not made means the workers do not keep up
OUTBOX_OVERDUE_SECONDS = 300.0
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
class ServiceHealth:
    """Redis, or the workers."""

    #: used in this run mode (Redis only serves Celery workers)
    enabled: bool
    ok: bool
    detail: str
    seconds: float | None = None
    #: the workers that answered (Celery node names, or the in-process thread)
    names: list[str] = field(default_factory=list)
    #: when the in-process worker last came round its loop (None with Celery: ping answers instead)
    last_sweep_at: datetime | None = None
    #: Celery queues of the settings' table that no answering worker consumes: calls routed there wait
    missing_queues: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OutboxSummary:
    counts: dict[str, int]
    #: age of the oldest call not delivered yet (pending or running), None when there is none
    oldest_pending_seconds: float | None
    #: how long the most overdue call has been due without being made (a call waiting for its
    #: back-off, or for a signer to approve, is not late; one of a suspended dossier is held)
    oldest_due_seconds: float | None = None
    ok: bool = True
    detail: str = ""


@dataclass(frozen=True)
class HealthOverview:
    #: the database, Redis (when used), the workers and the outbox are ok and so is every enabled connector
    ok: bool
    connectors: list[HealthView]
    database: DatabaseHealth
    outbox: OutboxSummary
    redis: ServiceHealth
    workers: ServiceHealth
    #: the hot standby the reports read from (MOTCUA_REPORTS_DATABASE_URL; not used without one)
    reports_standby: ServiceHealth = field(default_factory=lambda: ServiceHealth(False, True, ""))
    #: the history's monthly partitions (PostgreSQL, migration 0013; not used on SQLite)
    history_months: ServiceHealth = field(default_factory=lambda: ServiceHealth(False, True, ""))
    #: where uploads and documents are kept: the data dir's folder, or the bucket of MOTCUA_FILE_STORE
    file_store: ServiceHealth = field(default_factory=lambda: ServiceHealth(True, True, ""))


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("only admins see the health of the installation")


def overview(ctx: EngineContext, actor: Actor) -> HealthOverview:
    """Connectors, database, Redis, workers and outbox in one answer (the admin's health page).
    Redis and the workers are probed while the connectors are."""
    _require_admin(actor)
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="health")
    try:
        probes = {"redis": pool.submit(redis_health, ctx), "workers": pool.submit(worker_health, ctx),
                  "files": pool.submit(file_store_health, ctx)}
        if ctx.report_sessions is not None:
            probes["standby"] = pool.submit(standby_health, ctx)
        connectors = connector_health(ctx, actor)
        database = database_health(ctx)
        backlog = outbox_summary(ctx)
        months = history_months_health(ctx)
        wait(probes.values(), timeout=max(0.0, SERVICE_DEADLINE - (time.monotonic() - started)))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    redis, workers = _answer(probes["redis"]), _answer(probes["workers"])
    standby = _answer(probes["standby"]) if "standby" in probes else standby_health(ctx)
    files = _answer(probes["files"])
    ok = (database.ok and redis.ok and workers.ok and backlog.ok and standby.ok and months.ok and files.ok
          and all(view.ok for view in connectors if view.enabled))
    return HealthOverview(ok, connectors, database, backlog, redis, workers, standby, months, files)


def _answer(future: Future) -> ServiceHealth:
    if future.done() and not future.cancelled():
        return future.result()
    return ServiceHealth(True, False, f"Không có trả lời sau {SERVICE_DEADLINE:g} giây")


def redis_health(ctx: EngineContext) -> ServiceHealth:
    """PING with a one-second timeout. Only Celery uses Redis (broker); the in-process worker does not."""
    if ctx.settings.worker != "celery":
        mode = "chế độ nhúng" if ctx.settings.embedded else "worker chạy trong tiến trình web"
        return ServiceHealth(False, True, f"Không dùng ({mode})")
    import redis

    started = time.monotonic()
    client = redis.Redis.from_url(ctx.settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:  # reported on the page, never raised
        log.warning("redis health check failed: %s", exc)
        return ServiceHealth(True, False, f"Không kết nối được Redis: {type(exc).__name__}")
    finally:
        client.close()
    seconds = round(time.monotonic() - started, 4)
    return ServiceHealth(True, True, f"Redis trả lời trong {seconds * 1000:.1f} ms", seconds)


#: seconds to wait for Celery workers' answers to a ping, first and second try (within CHECK_DEADLINE)
CELERY_PING_TIMEOUTS = (1.0, 3.0)
#: seconds to wait for the answering workers to list the queues they consume
CELERY_QUEUES_TIMEOUT = 1.0


def worker_health(ctx: EngineContext) -> ServiceHealth:
    """Celery workers answering a ping (one second), or the in-process worker thread and its heartbeat."""
    if ctx.settings.worker == "celery":
        return _celery_workers(ctx)
    from engine.worker import running

    workers = [worker for worker in running(ctx) if worker.alive]
    if not workers:
        return ServiceHealth(True, False, "Luồng xử lý nền (worker) không chạy trong tiến trình này: hàng đợi "
                                          "gửi và bộ hẹn giờ đang đứng yên")
    beats = [worker.last_sweep_at for worker in workers if worker.last_sweep_at is not None]
    last = max(beats) if beats else None
    if last is None:
        return ServiceHealth(True, True, "Luồng xử lý nền vừa khởi động", names=["motcua-outbox"])
    age = (datetime.now(UTC) - last).total_seconds()
    if age > WORKER_STALE_SECONDS:
        return ServiceHealth(True, False, f"Luồng xử lý nền không quay vòng từ {age:.0f} giây trước (bị treo?)",
                             names=["motcua-outbox"], last_sweep_at=last)
    return ServiceHealth(True, True, f"Luồng xử lý nền đang chạy, vòng quét gần nhất {age:.0f} giây trước",
                         names=["motcua-outbox"], last_sweep_at=last)


def _celery_workers(ctx: EngineContext) -> ServiceHealth:
    from engine.jobs import configure

    started = time.monotonic()
    replies: list = []
    try:
        app = configure(ctx.settings)
        # a worker busy or a machine under load may miss a short ping: ask once more, longer, before
        # telling the admin that no worker runs
        for timeout in CELERY_PING_TIMEOUTS:
            replies = app.control.ping(timeout=timeout)
            if replies:
                break
    except Exception as exc:  # broker down or refusing: reported on the page, never raised
        log.warning("celery ping failed: %s", exc)
        return ServiceHealth(True, False, f"Không hỏi được các worker Celery: {type(exc).__name__}")
    names = sorted(name for reply in replies or [] for name in reply)
    if not names:
        return ServiceHealth(True, False, "Không có worker Celery nào trả lời", round(time.monotonic() - started, 3))
    missing = _queues_without_consumers(app, ctx.settings.outbox_queue_names, names)
    seconds = round(time.monotonic() - started, 3)
    if missing:
        return ServiceHealth(True, False, f"{len(names)} worker Celery trả lời, nhưng không worker nào nhận hàng đợi "
                                          f"{', '.join(missing)}: các lời gọi xếp vào đó đang không được thực hiện",
                             seconds, names, missing_queues=missing)
    return ServiceHealth(True, True, f"{len(names)} worker Celery trả lời", seconds, names)


def _queues_without_consumers(app, queues: list[str], names: list[str]) -> list[str]:
    """The queues of the table (`Settings.outbox_queue_names`) that none of the workers `names` consumes.
    Told only when every one of them listed its queues: a worker too busy to answer in time is not taken
    for one that consumes nothing."""
    try:
        listed = app.control.inspect(timeout=CELERY_QUEUES_TIMEOUT, destination=names,
                                     limit=len(names)).active_queues() or {}
    except Exception as exc:  # reported as unknown, never raised
        log.warning("celery active_queues failed: %s", exc)
        return []
    if set(listed) != set(names):
        return []
    consumed = {queue["name"] for per_worker in listed.values() for queue in per_worker or ()}
    return [queue for queue in queues if queue not in consumed]


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


def standby_health(ctx: EngineContext) -> ServiceHealth:
    """Whether the reports' standby answers, is a standby, and how much of the primary's WAL it has
    still to replay. Not used without one (reports read the primary)."""
    from engine.reports.replica import primary_lsn, replay_behind

    if ctx.report_sessions is None:
        return ServiceHealth(False, True, "Báo cáo đọc từ cơ sở dữ liệu chính (không cấu hình máy chủ dự phòng)")
    started = time.monotonic()
    try:
        lsn = primary_lsn(ctx)
        with ctx.report_sessions() as session:
            standby, behind = replay_behind(session, lsn)
    except Exception as exc:  # the page reports an unreachable standby instead of failing itself
        log.warning("reports standby health check failed: %s", exc)
        return ServiceHealth(True, False, f"Không kết nối được máy chủ dự phòng ({type(exc).__name__}): "
                                          "báo cáo đang đọc từ cơ sở dữ liệu chính")
    seconds = round(time.monotonic() - started, 4)
    if not standby:
        return ServiceHealth(True, False, "Máy chủ báo cáo không ở chế độ dự phòng (không nhận WAL từ máy chủ chính): "
                                          "kiểm tra MOTCUA_REPORTS_DATABASE_URL", seconds)
    return ServiceHealth(True, True, f"Máy chủ dự phòng trả lời trong {seconds * 1000:.1f} ms, còn "
                                     f"{max(0, behind or 0) / 1024:,.0f} KiB WAL chưa áp dụng", seconds)


def file_store_health(ctx: EngineContext) -> ServiceHealth:
    """The folder: it exists (or can be made) and can be written, with the space left on its disk. The
    bucket: it answers a HEAD with the configured credentials (one attempt, a short timeout). Either way,
    what waits on the store from an earlier outage: fetched exchange packages held, erased files queued."""
    from engine.documents.store import FileStore
    from engine.documents.stores import store_for

    started = time.monotonic()
    store = store_for(ctx.settings, probe=True)
    try:
        store.check()
    except Exception as exc:  # noqa: BLE001 - the page reports a store out of reach instead of failing itself
        if isinstance(store, FileStore) and isinstance(exc, MotcuaError):
            return ServiceHealth(True, False, exc.message_vi + _waiting_on_store(ctx))
        return ServiceHealth(True, False, f"Không truy cập được kho tệp {store.describe()}: {exc}"[:300]
                             + _waiting_on_store(ctx))
    seconds = round(time.monotonic() - started, 4)
    if isinstance(store, FileStore):
        free = shutil.disk_usage(store.nearest_folder()).free
        return ServiceHealth(True, True, f"Thư mục {store.root}, còn trống {free / 2**30:,.1f} GiB"
                             + _waiting_on_store(ctx))
    return ServiceHealth(True, True, f"Kho tệp {store.describe()} trả lời trong {seconds * 1000:.1f} ms"
                         + _waiting_on_store(ctx), seconds)


def _waiting_on_store(ctx: EngineContext) -> str:
    from engine.retention import queued_deletions
    from engine.services.exchange import held_count

    try:
        with ctx.sessions() as session:
            held, queued = held_count(session), queued_deletions(session)
    except Exception:  # noqa: BLE001 - the database's own row reports a database that is down
        return ""
    return ((f"; {held:,} gói tin liên thông đã nhận đang chờ kho tệp để chuyển vào hồ sơ" if held else "")
            + (f"; {queued:,} tệp của hồ sơ đã xoá dữ liệu đang chờ xoá khỏi kho (lần chạy lưu trữ tới)"
               if queued else ""))


def history_months_health(ctx: EngineContext, *, now: datetime | None = None) -> ServiceHealth:
    """The history's monthly partitions: this month's and the next made (the clock sweep makes them two
    months ahead), and the events still waiting in the default partition for their month's."""
    today = month_of(now or datetime.now(UTC))
    try:
        with ctx.db.connect() as conn:
            if not partitioned(conn):
                return ServiceHealth(False, True, "Lịch sử hồ sơ ở một bảng")
            made = months_made(conn)
            waiting = int(conn.scalar(text("SELECT count(*) FROM event_default")) or 0)
    except Exception as exc:  # noqa: BLE001 - the database's own row reports a database that is down
        return ServiceHealth(True, False, f"Không đọc được các bảng lịch sử theo tháng: {type(exc).__name__}")
    missing = [f"{m:%m/%Y}" for m in (today, plus_months(today, 1)) if m not in made]
    detail = (f"{len(made)} tháng có bảng riêng" + (f", đến hết tháng {made[-1]:%m/%Y}" if made else "")
              + (f"; {waiting} sự kiện đang chờ chuyển vào bảng của tháng mình (vòng quét tới)" if waiting else ""))
    if missing:
        return ServiceHealth(True, False, f"Chưa có bảng lịch sử của tháng {', '.join(missing)}: "
                                          f"vòng quét định kỳ không chạy? {detail}")
    return ServiceHealth(True, True, detail)


def outbox_summary(ctx: EngineContext) -> OutboxSummary:
    """Outbox rows by state, how long the oldest undelivered one has been waiting, and whether the
    workers keep up: a call due for more than OUTBOX_OVERDUE_SECONDS and not made is a warning."""
    now = datetime.now(UTC)
    due_at = case((OutboxMessage.state == "running", OutboxMessage.locked_until), else_=OutboxMessage.next_attempt_at)
    with ctx.sessions() as session:
        rows = session.execute(select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)).all()
        oldest = session.scalar(select(func.min(OutboxMessage.created_at))
                                .where(OutboxMessage.state.in_(("pending", "running"))))
        overdue = session.scalar(
            select(func.min(due_at))
            .outerjoin(WorkflowInstance, WorkflowInstance.dossier_id == OutboxMessage.dossier_id)
            .where(OutboxMessage.state.in_(("pending", "running")), due_at <= now,
                   WorkflowInstance.suspended_at.is_(None)))  # a suspended dossier's calls are held on purpose
    counts = dict.fromkeys(OUTBOX_STATES, 0) | {state: count for state, count in rows}
    age, late = _age(oldest, now), _age(overdue, now)
    if late is not None and late > OUTBOX_OVERDUE_SECONDS:
        return OutboxSummary(counts, age, late, False, f"Có lời gọi đến hạn từ {late / 60:.0f} phút mà chưa được "
                                                        "thực hiện: worker không theo kịp hoặc không chạy")
    return OutboxSummary(counts, age, late, True, "Hàng đợi gửi được xử lý kịp thời")


def _age(value: datetime | str | None, now: datetime) -> float | None:
    if isinstance(value, str):  # an aggregate bypasses the column type on SQLite
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return None if value is None else max(0.0, round((now - value).total_seconds(), 1))
