"""A document rendered by the outbox while an official moves the same dossier (found by `make chaos`).

The render job renders the PDF outside any transaction, then loads the dossier and records the
attachment and its history event on it; an official completing the next task between that load and the
commit bumps the dossier's version, so the recording loses the optimistic lock. That is a race, not a bad payload: the
row must be tried again (the file store is content-addressed, so a second render stores nothing new),
never turned into an incident at the first attempt.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import history, paperwork
from engine.db import transaction
from engine.models import Attachment, Dossier, OutboxMessage
from engine.outbox import deliver
from tests.factories import submit, work

#: SQLite takes its write lock at BEGIN (engine/db.py), so there the official would wait instead of racing.
pytestmark = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan"}
EXAMINE = {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"}


def test_a_render_that_loses_the_race_with_an_official_is_retried_and_stored_once(ctx, actors, monkeypatch):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == dossier.code))
        row_id = session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.dossier_id == dossier_id, OutboxMessage.connector == paperwork.CONNECTOR,
            OutboxMessage.state == "pending").order_by(OutboxMessage.id))
    assert row_id is not None, "the receipt document is rendered through the outbox"

    real_record, raced = history.record, []

    def record_while_the_specialist_works(session, dossier_row, kind, **kw):  # the render's transaction is open
        if kind == "document" and not raced:
            raced.append(work(ctx, actors["chuyenvien"], dossier.code, EXAMINE))
        return real_record(session, dossier_row, kind, **kw)

    monkeypatch.setattr(history, "record", record_while_the_specialist_works)
    first = deliver(ctx, row_id)
    assert raced and first.state == "pending", first.error

    monkeypatch.setattr(history, "record", real_record)
    with transaction(ctx.sessions) as session:  # its back-off over
        session.get(OutboxMessage, row_id).next_attempt_at = datetime.now(UTC)
    assert deliver(ctx, row_id).state == "done"
    with ctx.sessions() as session:
        kinds = list(session.scalars(select(Attachment.kind).where(Attachment.dossier_id == dossier_id)))
        status = session.scalar(select(Dossier.status).where(Dossier.id == dossier_id))
    assert kinds.count("giay-tiep-nhan") == 1
    assert status != "received", "the specialist's completion stands"
