"""Celery task messages written straight to Redis: what `apply_async` sends, for a fifth of its CPU.

After each commit that adds outbox rows, the process that committed publishes one `deliver(id, queue)`
per row (engine.jobs.enqueue_after_commit). Through `apply_async` a message costs about 300 µs of the
web worker's CPU: Celery builds it through its router and signals, takes a producer from its pool,
and kombu's Redis channel makes a new `redis.Redis` client for every publish. That is 8-10 % of a
task completion's CPU in the web tier (bench/RESULTS.md, 2026-12-02). Here the same message, Celery's
task protocol 2 in kombu's Redis envelope, is built directly and all the messages of one commit go
out in one LPUSH round trip, on a client kept per process and broker: about 60 µs a message.

What a worker receives is what `apply_async` would have sent, but for the ids (the body byte for byte,
the envelope as parsed); tests/engine/test_job_messages.py compares the two, so a Celery or kombu
upgrade that changes the format fails there, not in production. A broker that is not a plain Redis
URL, or kombu transport options beyond the `max_retries` that engine.jobs.configure sets (a key
prefix, priority steps), go through `apply_async`. Publishing gives up after one immediate retry (a
pooled connection that Redis closed while idle reconnects once): the rows are in the database, and
the sweep delivers what was not announced.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson
import redis
from celery import Celery, Task
from celery.utils.nodenames import anon_nodename
from kombu.utils import json as kombu_json
from redis.backoff import NoBackoff
from redis.retry import Retry

#: the URL schemes whose messages are written here; others (sentinel, unix sockets) go through Celery
DIRECT_SCHEMES = ("redis://", "rediss://")
#: kombu transport options that leave the message and its key as written here
PLAIN_OPTIONS = {"max_retries"}
#: a broker that does not answer delays the request that publishes by at most about this (seconds)
CONNECT_TIMEOUT = 1.0
SOCKET_TIMEOUT = 2.0
#: Celery's "embed" part of protocol 2: no callbacks, errbacks, chain or chord
_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def publish(app: Celery, task: Task, calls: Sequence[tuple[tuple[Any, ...], str]]) -> None:
    """Send `task(*args)` to `queue` for each (args, queue) of `calls`, in one round trip on Redis.
    Raises what the broker raised: the caller decides what a lost announcement means."""
    if not calls:
        return
    url = app.conf.broker_url
    if not url.startswith(DIRECT_SCHEMES) or set(app.conf.broker_transport_options or {}) - PLAIN_OPTIONS:
        for args, queue in calls:
            task.apply_async(args, queue=queue, retry=False)
        return
    with _client(url).pipeline(transaction=False) as pipe:
        for args, queue in calls:
            pipe.lpush(queue, task_message(app, task, args, queue))
        pipe.execute()


def task_message(app: Celery, task: Task, args: tuple[Any, ...], queue: str) -> bytes:
    """The bytes kombu's Redis transport stores for `task.apply_async(args, queue=queue)`: a JSON
    envelope around the base64 of the JSON body [args, kwargs, embed], routed by the default exchange."""
    task_id = str(uuid.uuid4())
    body = kombu_json.dumps([list(args), {}, _EMBED]).encode()  # kombu's spelling: the same bytes
    return orjson.dumps({
        "body": base64.b64encode(body).decode("ascii"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py", "task": task.name, "id": task_id, "shadow": None, "eta": None, "expires": None,
            "group": None, "group_index": None, "retries": 0, "timelimit": [None, None], "root_id": task_id,
            "parent_id": None, "argsrepr": repr(tuple(args)), "kwargsrepr": "{}", "origin": _origin(os.getpid()),
            "ignore_result": bool(task.ignore_result), "replaced_task_nesting": 0, "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": task_id, "reply_to": app.thread_oid, "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
            "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    })


@lru_cache(maxsize=2)
def _origin(pid: int) -> str:
    return anon_nodename()  # "gen<pid>@<host>", as Celery names a publisher that is not a worker


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    """One client per broker URL and process (its connection pool starts afresh after a fork)."""
    return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=SOCKET_TIMEOUT,
                                retry=Retry(NoBackoff(), 1))
