"""Celery app for production workers: `celery -A engine.jobs worker -B`.

Workers need no Flask. After a commit the web process enqueues `deliver(id)` for low latency; the
beat `sweep` drains anything due (retries, and rows whose enqueue was lost while Redis was down,
since the rows themselves live in the database).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from celery import Celery

from engine.config import Settings
from engine.context import EngineContext, build_context
from engine.origin import origin_scope
from engine.privacy import install_log_masking

log = logging.getLogger(__name__)
install_log_masking()  # workers log no identity or phone number either (engine/privacy.py)
_settings = Settings.from_env()
app = Celery("motcua", broker=_settings.redis_url)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    beat_schedule={"sweep-outbox": {"task": "motcua.sweep", "schedule": 2.0},
                   "clock": {"task": "motcua.clock", "schedule": 30.0}},
)


def configure(settings: Settings) -> Celery:
    """Point the Celery app at `settings.redis_url` (the web process and tests call this).

    Publishing gives up at once when the broker is down (kombu would otherwise retry for seconds
    inside a person's request): the row is in the database and the sweep delivers it later.
    """
    app.conf.broker_transport_options = {**(app.conf.broker_transport_options or {}), "max_retries": 0}
    if app.conf.broker_url != settings.redis_url:
        app.conf.broker_url = settings.redis_url
        # Celery keeps the connection pool of its first publish; drop it so the new URL is used.
        if app._pool is not None:
            app._pool.force_close_all()
            app._pool = None
        if "amqp" in app.__dict__:
            app.amqp._producer_pool = None
    return app


@lru_cache(maxsize=1)
def context() -> EngineContext:
    ctx = build_context(Settings.from_env())
    # Rows a worker creates (a resumed workflow's next calls) are enqueued at once, not at the next sweep.
    ctx.outbox_listeners.append(enqueue_after_commit)
    return ctx


@app.task(name="motcua.deliver")
def deliver(message_id: int) -> str | None:
    from engine.outbox import deliver as deliver_one

    with origin_scope("worker"):
        outcome = deliver_one(context(), message_id)
    return outcome.state if outcome else None


@app.task(name="motcua.sweep")
def sweep() -> int:
    from engine.outbox import drain

    with origin_scope("worker"):
        return len(drain(context()))


@app.task(name="motcua.clock")
def clock() -> dict[str, int]:
    from engine.sweeps import clock_sweep

    with origin_scope("worker"):
        return clock_sweep(context())


def enqueue_after_commit(ids: list[int]) -> None:
    """Outbox listener for the web process in Celery mode; a broker failure only delays delivery."""
    for index, message_id in enumerate(ids):
        try:
            deliver.apply_async((message_id,), retry=False)
        except Exception:  # Redis down: the sweep will deliver the rows from the database later
            log.warning("could not enqueue outbox %s; the sweep will pick them up", ids[index:])
            return
