"""Production mode health: Redis and a real Celery worker process answering the health page's ping."""

from __future__ import annotations

import dataclasses
import time

import pytest

from engine.services import health
from tests.engine.test_jobs import celery_worker  # noqa: F401  (the fixture: a real worker on the real Redis)

pytestmark = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)


def test_the_health_page_names_the_celery_workers_that_answer(ctx, actors, redis_url, celery_worker):  # noqa: F811
    production = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, worker="celery",
                                                                       redis_url=redis_url))
    deadline = time.monotonic() + 45
    workers = health.worker_health(production)
    while not workers.ok and time.monotonic() < deadline:  # the worker process takes a few seconds to start
        time.sleep(0.5)
        workers = health.worker_health(production)
    assert workers.ok and workers.enabled and len(workers.names) == 1
    assert workers.names[0].startswith("celery@") and "1 worker Celery trả lời" in workers.detail
    overview = health.overview(production, actors["quantri"])
    assert overview.redis.ok and overview.workers.ok and overview.ok
    celery_worker.terminate()
    celery_worker.wait(timeout=15)
    gone = health.worker_health(production)
    assert not gone.ok and gone.detail == "Không có worker Celery nào trả lời"
