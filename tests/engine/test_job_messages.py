"""The `deliver` messages motcua writes straight to Redis are the ones Celery's `apply_async` sends.

Against the real Redis (test DB 15): the same call published both ways, popped back and compared field by
field but for the ids. A Celery or kombu upgrade that changes the message format fails here. That a
worker executes these messages is shown by the worker tests (test_jobs, test_job_queues,
test_reliability), which publish through `enqueue_after_commit`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
import redis

from engine.job_messages import publish, task_message
from engine.jobs import app as celery_app
from engine.jobs import configure, deliver

IDS = ("id", "root_id", "correlation_id", "delivery_tag")


@pytest.fixture
def broker(ctx, redis_url):
    """This process publishes to the test Redis, as a web process does after `configure`."""
    transport_options = dict(celery_app.conf.broker_transport_options)
    configure(replace(ctx.settings, redis_url=redis_url))
    yield redis.Redis.from_url(redis_url)
    configure(ctx.settings)
    celery_app.conf.broker_transport_options = transport_options


def popped(client: redis.Redis, queue: str) -> list[dict]:
    """The messages waiting in `queue`, oldest first (kombu pushes on the left, workers pop the right)."""
    return [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]


def masked(message: dict) -> dict:
    """The message with its per-message ids replaced by where they point (the task id or a tag)."""
    headers, properties = dict(message["headers"]), dict(message["properties"])
    task_id = headers["id"]
    for part in (headers, properties):
        for key in IDS:
            if key in part:
                part[key] = "<task id>" if part[key] == task_id else "<other>"
    return {**message, "headers": headers, "properties": properties}


def test_a_message_is_what_apply_async_sends_but_for_its_ids(broker):
    deliver.apply_async((41, "notify"), queue="notify", retry=False)
    publish(celery_app, deliver, [((41, "notify"), "notify")])
    celerys, ours = popped(broker, "notify")
    assert masked(ours) == masked(celerys)
    assert ours["body"] == celerys["body"]  # the same bytes, whitespace included
    assert ours["headers"]["id"] != celerys["headers"]["id"]
    assert ours["properties"]["delivery_tag"] not in (ours["headers"]["id"], celerys["properties"]["delivery_tag"])
    assert json.loads(base64.b64decode(ours["body"]))[0] == [41, "notify"]


def test_one_commits_messages_go_to_their_queues_in_order(broker):
    publish(celery_app, deliver, [((1, "notify"), "notify"), ((2, "signing"), "signing"), ((3, "notify"), "notify")])
    assert [json.loads(base64.b64decode(m["body"]))[0] for m in popped(broker, "notify")] == [[1, "notify"],
                                                                                            [3, "notify"]]
    assert [m["headers"]["task"] for m in popped(broker, "signing")] == ["motcua.deliver"]
    ids = [m["headers"]["id"] for queue in ("notify", "signing") for m in popped(broker, queue)]
    assert len(set(ids)) == 3


def test_an_unreachable_broker_raises_for_the_caller_to_log(broker, ctx):
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        with pytest.raises(redis.ConnectionError):
            publish(celery_app, deliver, [((1, "notify"), "notify")])
    finally:
        configure(ctx.settings)


@pytest.mark.parametrize("url, options", [
    ("redis+socket:///run/redis.sock", {"max_retries": 0}),
    ("redis://127.0.0.1:6379/15", {"max_retries": 0, "global_keyprefix": "motcua:"}),
])
def test_a_broker_that_is_not_plain_redis_goes_through_celery(monkeypatch, url, options):
    sent = []
    monkeypatch.setattr(deliver, "apply_async", lambda args, **options: sent.append((args, options)))
    before = celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {})
    celery_app.conf.broker_url, celery_app.conf.broker_transport_options = url, options
    try:
        publish(celery_app, deliver, [((5, "portal"), "portal")])
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = before
    assert sent == [((5, "portal"), {"queue": "portal", "retry": False})]


def test_the_body_keeps_non_ascii_arguments_as_celery_would():
    message = json.loads(task_message(celery_app, deliver, (7, "hàng đợi"), "hàng đợi"))
    assert json.loads(base64.b64decode(message["body"])) == [[7, "hàng đợi"], {}, {"callbacks": None, "errbacks": None,
                                                                                   "chain": None, "chord": None}]
    assert message["headers"]["argsrepr"] == "(7, 'hàng đợi')"
