"""Fifty officials press "complete" on the same task at the same moment (issue 9): exactly one succeeds,
the other 49 get 409 over the API, and the dossier moved on exactly once. On PostgreSQL, with one app
and a thread per official, more requests than the connection pool has connections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from engine.models import Dossier, Event, Task, User
from engine.services import Actor, create_user, issue_token
from tests.factories import open_task, submit
from tests.web.conftest import AGENCY

pytestmark = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
OFFICIALS = 50


@pytest.fixture
def desk_tokens(ctx):
    """A token for each of fifty desk officials of the agency (accounts outlive a test: made once)."""
    names = [f"mot_cua_dong_thoi_{n}" for n in range(OFFICIALS)]
    with ctx.sessions() as session:
        existing = {user.username: user for user in session.scalars(select(User).where(User.username.in_(names)))}
    actors = [Actor.of(existing[name]) if name in existing else
              create_user(ctx, username=name, password="demo-1234", full_name=f"Cán bộ một cửa {n}", role="desk",
                          agency_code=AGENCY) for n, name in enumerate(names)]
    return [issue_token(ctx, actor) for actor in actors]


def test_fifty_officials_completing_one_task_at_once_give_one_success_and_49_conflicts(ctx, app, actors,
                                                                                      desk_tokens):
    dossier = submit(ctx, actors["congdan"])
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    barrier = threading.Barrier(OFFICIALS)

    def press(token: str):
        client = app.test_client()
        barrier.wait()
        answer = client.post(f"/api/v1/tasks/{task.id}/complete", headers={"Authorization": f"Bearer {token}"},
                             json={"data": {"ket_qua_tiep_nhan": "tiep_nhan"}})
        return answer.status_code, answer.get_json()

    with ThreadPoolExecutor(max_workers=OFFICIALS) as pool:
        answers = list(pool.map(press, desk_tokens))
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * (OFFICIALS - 1), statuses
    assert all(body["error"] == "TaskConflict" and body["message"] for status, body in answers if status == 409)
    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == dossier.code))
        completed = session.scalar(select(func.count()).select_from(Event).where(
            Event.dossier_id == dossier_id, Event.kind == "task_completed"))
        next_steps = session.scalar(select(func.count()).select_from(Task).where(
            Task.dossier_id == dossier_id, Task.bpmn_id == "tham_dinh"))
    assert (completed, next_steps) == (1, 1)
