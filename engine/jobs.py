"""Celery app for production workers: `celery -A engine.jobs worker -B`.

Workers need no Flask. Outbox calls are routed by connector to one Celery queue per worker pool
(`Settings.outbox_queues`: signing, notify, portal, exchange, documents, and `default` for the rest),
so `celery -A engine.jobs worker -Q notify,portal` makes only e-mail, SMS and portal calls; a worker
started without -Q consumes every queue. After a commit the process that wrote the rows publishes
`deliver(id, queue)` to each row's queue for low latency. The beat's `sweep` runs on the default
queue and sends each pool's queue one `drain(queue)`, which delivers what is due in that pool:
retries, and rows whose message was lost while Redis was down (the rows live in the database). A
pool only ever executes its own calls: `deliver` and `drain` claim only rows routed to their queue.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

import kombu.pools
from celery import Celery
from kombu import Exchange, Queue

from engine.config import Settings
from engine.context import EngineContext, build_context
from engine.job_messages import publish
from engine.models import OutboxMessage
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


def _declare_queues(settings: Settings) -> None:
    """One queue per pool of the routing table: a worker started without -Q consumes them all, and
    the beat's tasks (sweep, clock) and the calls of connectors the table does not name go to the
    fallback ("*") queue."""
    app.conf.task_queues = [Queue(name, Exchange(name), routing_key=name) for name in settings.outbox_queue_names]
    app.conf.task_default_queue = settings.outbox_queue("*")


def _bound_memory(settings: Settings) -> None:
    """Replace a prefork child once its resident memory has passed `worker_max_memory_mib` (Celery checks
    after each task; the solo and thread pools ignore it)."""
    app.conf.worker_max_memory_per_child = settings.worker_max_memory_mib * 1024 or None


_declare_queues(_settings)
_bound_memory(_settings)


def configure(settings: Settings) -> Celery:
    """Point the Celery app at `settings.redis_url` (the web process and tests call this).

    Publishing gives up at once when the broker is down (kombu would otherwise retry for seconds
    inside a person's request): the row is in the database and the sweep delivers it later.
    """
    global _settings
    _settings = settings  # its routing table is the one `enqueue_after_commit` follows
    _declare_queues(settings)
    _bound_memory(settings)
    app.conf.broker_transport_options = {**(app.conf.broker_transport_options or {}), "max_retries": 0}
    if app.conf.broker_url != settings.redis_url:
        app.conf.broker_url = settings.redis_url
        # Celery keeps the connection pool of its first publish; drop it so the new URL is used, and
        # kombu's process-wide producer pools keyed by broker, which would hand back a pool closed here
        # when the URL comes back ("Acquire on closed pool").
        if app._pool is not None:
            app._pool.force_close_all()
            app._pool = None
        if "amqp" in app.__dict__:
            app.amqp._producer_pool = None
        kombu.pools.reset()
    return app


@lru_cache(maxsize=1)
def context() -> EngineContext:
    ctx = build_context(Settings.from_env())
    # Rows a worker creates (a resumed workflow's next calls) are enqueued at once, not at the next sweep.
    ctx.outbox_listeners.append(enqueue_after_commit)
    from engine.heap import settle_for

    settle_for(ctx.settings)  # the worker's start-up heap stays out of every later full collection
    return ctx


@app.task(name="motcua.deliver")
def deliver(message_id: int, queue: str | None = None) -> str | None:
    """One call, published to its pool's queue after the commit that decided it. The row is claimed
    only if its connector belongs to `queue` here too: a message that reached the wrong pool (processes
    with different routing tables) executes nothing, and the row's own pool drains it."""
    from engine.outbox import deliver as deliver_one

    with origin_scope("worker"):
        outcome = deliver_one(context(), message_id, queue)
    return outcome.state if outcome else None


@app.task(name="motcua.drain")
def drain(queue: str) -> int:
    """Deliver what is due in one pool (sent by the sweep to that pool's queue)."""
    from engine.outbox import drain as drain_due

    with origin_scope("worker"):
        return len(drain_due(context(), queue=queue))


@app.task(name="motcua.sweep")
def sweep() -> list[str]:
    """The beat's outbox sweep (every 2 s, on the default queue): a `drain` for each pool's queue that
    holds no message. It delivers nothing itself, so a worker of the default queue never makes a
    signing or portal call; and a pool with no worker running collects one waiting drain, not one
    every 2 s, while its rows wait in the database. Returns the queues it sent a drain to."""
    sent = []
    with app.producer_or_acquire() as producer:
        for queue in _settings.outbox_queue_names:
            if producer.channel.queue_declare(queue=queue).message_count == 0:
                drain.apply_async((queue,), queue=queue, producer=producer)
                sent.append(queue)
    return sent


@app.task(name="motcua.clock")
def clock() -> dict[str, int]:
    from engine.sweeps import clock_sweep

    with origin_scope("worker"):
        return clock_sweep(context())


def enqueue_after_commit(messages: Sequence[OutboxMessage]) -> None:
    """Outbox listener in Celery mode (web processes, workers): each committed row to its connector's
    queue, all in one round trip (engine.job_messages). A broker failure only delays delivery."""
    calls = []
    for message in messages:
        queue = _settings.outbox_queue(message.connector)
        calls.append(((message.id, queue), queue))  # deliver(id, queue), sent to that queue
    try:
        publish(app, deliver, calls)
    except Exception:  # Redis down: the sweep will deliver the rows from the database later
        log.warning("could not enqueue outbox %s; the sweep will pick them up", [m.id for m in messages])
