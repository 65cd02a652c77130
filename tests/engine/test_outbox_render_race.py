"""A document rendered by the outbox while an official moves the same dossier (found by `make chaos`).

The render job renders the PDF outside any transaction, then loads the dossier and records the
attachment and its history event on it. An official completing the next task at that moment used to
bump the dossier's version between that load and the commit, so the recording lost the optimistic lock
and the row had to be tried again. Both now lock the dossier row (FOR NO KEY UPDATE) before writing
it: the one that comes second waits for the other's commit, and both succeed at the first attempt.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine import history, paperwork
from engine.models import Attachment, Dossier, OutboxMessage
from engine.outbox import deliver
from tests.factories import submit, work

#: SQLite takes its write lock at BEGIN (engine/db.py), so there the official always waits.
pytestmark = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
RECEIVE = {"ket_qua_tiep_nhan": "tiep_nhan"}
EXAMINE = {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"}


def test_an_official_completing_during_a_render_waits_and_both_succeed_at_once(ctx, actors, monkeypatch):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, RECEIVE)
    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == dossier.code))
        row_id = session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.dossier_id == dossier_id, OutboxMessage.connector == paperwork.CONNECTOR,
            OutboxMessage.state == "pending").order_by(OutboxMessage.id))
    assert row_id is not None, "the receipt document is rendered through the outbox"

    real_record, official, outcome = history.record, [], {}

    def specialist_works():
        try:
            outcome["view"] = work(ctx, actors["chuyenvien"], dossier.code, EXAMINE)
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome["error"] = exc

    def record_while_the_specialist_works(session, dossier_row, kind, **kw):  # the render's transaction is open
        if kind == "document" and not official:
            official.append(threading.Thread(target=specialist_works))
            official[0].start()
            official[0].join(0.5)
            assert official[0].is_alive(), "the completion did not wait for the render's lock"
        return real_record(session, dossier_row, kind, **kw)

    monkeypatch.setattr(history, "record", record_while_the_specialist_works)
    first = deliver(ctx, row_id)
    official[0].join(30)

    assert first.state == "done", first.error
    assert "error" not in outcome, outcome
    with ctx.sessions() as session:
        kinds = list(session.scalars(select(Attachment.kind).where(Attachment.dossier_id == dossier_id)))
        status = session.scalar(select(Dossier.status).where(Dossier.id == dossier_id))
        assert history.verify_chain(session, dossier_id) is None
    assert kinds.count("giay-tiep-nhan") == 1
    assert status != "received", "the specialist's completion stands"
