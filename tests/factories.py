"""Test data built through the service layer, never by poking tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from typing import Any

from sqlalchemy import event

from engine.config import PROJECT_ROOT

HKD = "dang-ky-ho-kinh-doanh"
EXAMPLE = json.loads((PROJECT_ROOT / "processes" / HKD / "example-submission.json").read_text(encoding="utf-8"))

APPLICANT = {"name": "Phạm Thị Công Dân", "phone": "0912345678", "id_number": "001090000001",
             "email": "congdan@example.vn", "kind": 1}


def household_form(**changes: Any) -> dict[str, Any]:
    data = deepcopy(EXAMPLE.get("data", EXAMPLE))
    data.update(changes)
    return data


def submit(ctx, actor, **changes: Any):
    from engine.services import submit_dossier

    return submit_dossier(ctx, actor, HKD, dict(APPLICANT), household_form(**changes))


def open_task(ctx, actor, dossier_code: str):
    from engine.services import list_inbox

    tasks = [t for t in list_inbox(ctx, actor, limit=200) if t.dossier_code == dossier_code]
    assert tasks, f"{actor.username} has no open task for {dossier_code}"
    return tasks[0]


def work(ctx, actor, dossier_code: str, data: dict[str, Any]):
    from engine.services import complete_task

    task = open_task(ctx, actor, dossier_code)
    return task, complete_task(ctx, actor, task.id, data)


def drain_all(ctx, rounds: int = 10) -> None:
    """Run the outbox until nothing is due (follow-up jobs: render → sign → send)."""
    from engine.outbox import drain

    for _ in range(rounds):
        if not drain(ctx):
            return


# Reading a dossier back, as the scenario tests do -------------------------------------------------

def statuses(ctx, actor, code: str) -> list[str]:
    """The statuses the dossier went through, in order (from its history)."""
    from engine.services import get_dossier

    return [e["status"] for e in get_dossier(ctx, actor, code).history if e["kind"] == "status"]


def clock_events(ctx, actor, code: str) -> list[dict[str, Any]]:
    from engine.services import get_dossier

    return [e["data"] for e in get_dossier(ctx, actor, code).history if e["kind"] == "clock"]


def milestones(ctx, actor, code: str) -> list[str]:
    from engine.services import get_dossier

    return [m["text"] for m in get_dossier(ctx, actor, code).milestones]


def bpmn_ids(ctx, actor) -> list[str]:
    """The BPMN ids of the tasks in `actor`'s inbox."""
    from engine.services import list_inbox

    return [t.bpmn_id for t in list_inbox(ctx, actor)]


def timeliness(ctx, code: str) -> str | None:
    from sqlalchemy import select

    from engine.models import Dossier

    with ctx.sessions() as session:
        return session.scalar(select(Dossier.timeliness).where(Dossier.code == code))


def bpmn_emails(ctx, code: str) -> list[dict[str, Any]]:
    """Payloads of the e-mails the BPMN itself sent, not the engine's status notices."""
    from sqlalchemy import select

    from engine.models import Dossier, OutboxMessage

    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == code))
        return [m.payload for m in session.scalars(select(OutboxMessage).where(
            OutboxMessage.dossier_id == dossier_id, OutboxMessage.connector == "email",
            OutboxMessage.idempotency_key.not_like("%:notify:%")))]


@contextmanager
def statements_sent(ctx) -> Iterator[list[str]]:
    """The SQL statements sent through `ctx.db` inside the block, SQLite's own BEGIN (engine/db.py) left out."""
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):
            sent.append(statement)

    event.listen(ctx.db, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(ctx.db, "before_cursor_execute", count)
