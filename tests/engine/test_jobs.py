"""Production mode: a real Celery worker process on the real Redis drains the outbox on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.config import ENV_PREFIX
from engine.jobs import configure, enqueue_after_commit
from engine.models import OutboxMessage
from tests.factories import submit, work

pytestmark = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)


@pytest.fixture
def celery_worker(ctx, redis_url, smtp, tmp_path):
    smtp_config = ctx.settings.connectors["email"]
    env = {**os.environ, "MOTCUA_DATABASE_URL": ctx.settings.database_url, "MOTCUA_REDIS_URL": redis_url,
           "MOTCUA_SMTP_HOST": smtp_config["host"], "MOTCUA_SMTP_PORT": str(smtp_config["port"]),
           "MOTCUA_WORKER": "celery", "MOTCUA_OUTBOX_BACKOFF_BASE": "0.05", "MOTCUA_OUTBOX_BACKOFF_CAP": "0.2",
           # only e-mail, like the test settings: no other simulators run here
           **{f"MOTCUA_{prefix}_ENABLED": "0" for cid, prefix in ENV_PREFIX.items() if cid != "email"}}
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "engine.jobs", "worker", "-B", "--pool=solo",
         f"--schedule={tmp_path / 'beat'}", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2],
    )
    configure(replace(ctx.settings, redis_url=redis_url))
    ctx.outbox_listeners.append(enqueue_after_commit)
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_celery_worker_delivers_the_notification_through_redis(ctx, actors, smtp, celery_worker):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    mails = smtp.wait_for(2, timeout=45)
    assert {m["Subject"] for m in mails} == {f"Hồ sơ {dossier.code} đã được tiếp nhận",
                                             f"Hồ sơ {dossier.code} đã có kết quả"}

    def done():
        with ctx.sessions() as session:
            return set(session.scalars(select(OutboxMessage.state))) == {"done"}

    assert wait_for(done)
    assert celery_worker.poll() is None, "the worker process died"


def test_rows_committed_while_the_broker_message_was_lost_are_swept(ctx, actors, smtp, celery_worker):
    """No enqueue at all (as if Redis had been down at commit time): the beat sweep delivers."""
    ctx.outbox_listeners.clear()
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    mails = smtp.wait_for(2, timeout=45)
    assert all(dossier.code in mail["Subject"] for mail in mails)
