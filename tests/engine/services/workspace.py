"""Helpers for the tests of ratings, drafts, substitutes and the inbox (engine and API alike).

Drafts, ratings, substitutions and the inbox's seen time are emptied between tests by the `ctx`
fixture (tests/conftest.py), so no substitute leaks into another test's inbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from engine.errors import InvalidInput
from engine.models import Task, User
from engine.services import Actor, create_user
from tests.factories import work

AGENCY = "000.00.21.H99"
#: A second specialist of the ward: someone to reassign to and to stand in.
COLLEAGUE = ("chuyenvien2", "Phan Thị Đồng Nghiệp", "specialist", AGENCY)


def colleague(ctx) -> Actor:
    username, full_name, role, agency = COLLEAGUE
    with ctx.sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            return Actor.of(user)
    try:  # no e-mail: escalation mails in other tests keep their recipients
        return create_user(ctx, username=username, password="demo", full_name=full_name, role=role,
                           agency_code=agency)
    except InvalidInput:  # created meanwhile by a concurrent run on the same database
        return colleague(ctx)


def to_result(ctx, actors, code: str) -> None:
    """Receive, approve and sign: the dossier reaches result_ready."""
    work(ctx, actors["tiepnhan"], code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"})
    work(ctx, actors["lanhdao"], code, {"quyet_dinh": "dong_y"})


def refuse_at_reception(ctx, actors, code: str) -> None:
    work(ctx, actors["tiepnhan"], code, {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không thuộc thẩm quyền"})


def set_due(ctx, task_id: str, due_at: datetime | None) -> None:
    """Move a step's due date (as the clock would after a deadline rule or a pause)."""
    with ctx.db.begin() as conn:
        conn.execute(update(Task).where(Task.id == task_id).values(due_at=due_at))
