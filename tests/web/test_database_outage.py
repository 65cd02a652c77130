"""The database goes away under a running app (issue 9: "PostgreSQL restart during load: requests fail
cleanly (503 with a Vietnamese message), nothing half-written, the app reconnects by itself").

The app reaches the real PostgreSQL through a TCP proxy that drops every connection and refuses new ones
(what a restart looks like from the client side), so the server the other tests share stays up."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from engine.bootstrap import prepare
from engine.context import build_context
from engine.models import Dossier, Event, Task
from engine.services import authenticate
from engine.services import instances as instance_service
from tests.conftest import make_settings
from tests.factories import APPLICANT, household_form, open_task
from tests.tcp_proxy import TcpProxy
from web import create_app

UNAVAILABLE = "tạm thời không kết nối được cơ sở dữ liệu"


@pytest.fixture
def outage(postgres_url, smtp, tmp_path):
    """(app, ctx through the proxy, proxy, ctx on the direct connection for checking)."""
    url = make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    direct = build_context(make_settings(postgres_url, smtp.port, tmp_path))
    prepare(direct, demo=True)
    ctx = build_context(make_settings(url.set(port=proxy.port).render_as_string(hide_password=False), smtp.port,
                                      tmp_path))
    app = create_app(ctx=ctx, start_worker=False)
    yield app, ctx, proxy, direct
    proxy.close()
    ctx.db.dispose()
    direct.db.dispose()


def _submit(client, token):
    return client.post("/api/v1/dossiers", headers={"Authorization": f"Bearer {token}"},
                       json={"procedure": "dang-ky-ho-kinh-doanh", "applicant": dict(APPLICANT),
                             "data": household_form()})


def _count(ctx, model) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def _token(client) -> str:
    answer = client.post("/api/v1/auth/token", json={"username": "congdan", "password": "demo"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["token"]


def test_requests_while_the_database_is_down_get_503_in_vietnamese_and_the_app_reconnects(outage):
    app, _ctx, proxy, direct = outage
    client = app.test_client()
    token = _token(client)
    assert _submit(client, token).status_code == 201
    before = _count(direct, Dossier)

    proxy.cut()
    answer = _submit(client, token)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.get_json()["error"] == "ServiceUnavailable" and UNAVAILABLE in answer.get_json()["message"]
    page = client.get("/tra-cuu", query_string={"code": "H99.21-000000-0001", "secret": APPLICANT["phone"]})
    assert page.status_code == 503 and UNAVAILABLE in page.get_data(as_text=True)
    track = client.get("/api/v1/track/H99.21-000000-0001", query_string={"secret": APPLICANT["phone"]})
    assert track.status_code == 503
    assert _count(direct, Dossier) == before

    proxy.restore()  # no restart of the app, no reset of its pool
    assert _submit(client, token).status_code == 201
    assert _count(direct, Dossier) == before + 1


def test_a_connection_lost_in_the_middle_of_a_completion_writes_nothing(outage, monkeypatch):
    app, ctx, proxy, direct = outage
    client = app.test_client()
    official = authenticate(direct, "tiepnhan", "demo")
    submitted = _submit(client, _token(client))
    assert submitted.status_code == 201
    task = open_task(direct, official, submitted.get_json()["code"])
    events, tasks = _count(direct, Event), _count(direct, Task)
    desk = client.post("/api/v1/auth/token", json={"username": "tiepnhan", "password": "demo"}).get_json()["token"]

    real_apply = instance_service.apply_report

    def cut_midway(*args, **kwargs):  # the workflow has run; the writes are about to be flushed
        proxy.cut()
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(instance_service, "apply_report", cut_midway)
    monkeypatch.setattr("engine.services.tasks.apply_report", cut_midway)
    answer = client.post(f"/api/v1/tasks/{task.id}/complete", headers={"Authorization": f"Bearer {desk}"},
                         json={"data": {"ket_qua_tiep_nhan": "tiep_nhan"}})
    assert answer.status_code == 503
    assert (_count(direct, Event), _count(direct, Task)) == (events, tasks)
    with direct.sessions() as session:
        assert session.get(Task, task.id).state == "open"

    monkeypatch.setattr("engine.services.tasks.apply_report", real_apply)
    proxy.restore()
    answer = client.post(f"/api/v1/tasks/{task.id}/complete", headers={"Authorization": f"Bearer {desk}"},
                         json={"data": {"ket_qua_tiep_nhan": "tiep_nhan"}})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    with direct.sessions() as session:
        assert session.get(Task, task.id).state == "done"
