"""Where an action came from is stored with its event and hashed into the chain (engine/origin.py)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import orjson
from click.testing import CliRunner
from sqlalchemy import create_engine, select, update

from engine.audit import verify_all
from engine.history import event_digest, verify_chain
from engine.models import Dossier, Event
from engine.origin import current_origin, origin_scope
from engine.worker import InProcessWorker
from tests.conftest import allow_purge
from tests.factories import submit, work


def history_of(ctx, code: str) -> list[Event]:
    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == code))
        return list(session.scalars(select(Event).where(Event.dossier_id == dossier_id).order_by(Event.seq)))


def test_the_scope_sets_the_origin_and_restores_the_outer_one():
    assert current_origin() is None
    with origin_scope("cli"):
        with origin_scope("ip:203.0.113.7"):
            assert current_origin() == "ip:203.0.113.7"
        assert current_origin() == "cli"
    assert current_origin() is None


def test_events_carry_the_origin_of_their_scope_and_none_outside_any(ctx, actors):
    with origin_scope("ip:203.0.113.7"):
        dossier = submit(ctx, actors["congdan"])
    at_submission = len(history_of(ctx, dossier.code))
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    events = history_of(ctx, dossier.code)
    assert events[0].kind == "submitted" and len(events) > at_submission
    assert {e.origin for e in events[:at_submission]} == {"ip:203.0.113.7"}
    assert {e.origin for e in events[at_submission:]} == {None}
    assert verify_all(ctx).intact


def test_a_digest_without_an_origin_is_the_one_written_before_origins_existed():
    at = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    before = hashlib.sha256(orjson.dumps(["", 7, 1, "submitted", at.isoformat(), 3, "submitted", {"a": 1}],
                                         option=orjson.OPT_SORT_KEYS)).hexdigest()
    assert event_digest("", 7, 1, "submitted", at, 3, "submitted", {"a": 1}) == before
    assert event_digest("", 7, 1, "submitted", at, 3, "submitted", {"a": 1}, "cli") != before


def test_changing_the_origin_of_an_event_breaks_the_chain_at_that_event(ctx, actors):
    with origin_scope("ip:198.51.100.4"):
        dossier = submit(ctx, actors["congdan"])
        work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    completed = next(e for e in history_of(ctx, dossier.code) if e.kind == "task_completed")
    assert completed.origin == "ip:198.51.100.4"
    with ctx.db.begin() as conn:
        allow_purge(conn)
        conn.execute(update(Event).where(Event.id == completed.id).values(origin="ip:10.0.0.1"))
    assert [(b.code, b.seq, b.reason) for b in verify_all(ctx).broken] == [(dossier.code, completed.seq, "hash")]
    with ctx.sessions() as session:
        assert verify_chain(session, completed.dossier_id) == completed.seq


def test_erasing_an_origin_breaks_the_chain_too(ctx, actors):
    with origin_scope("ip:198.51.100.4"):
        dossier = submit(ctx, actors["congdan"])
    first = history_of(ctx, dossier.code)[0]
    with ctx.db.begin() as conn:
        allow_purge(conn)
        conn.execute(update(Event).where(Event.id == first.id).values(origin=None))
    assert [(b.seq, b.reason) for b in verify_all(ctx).broken] == [(1, "hash")]


def test_what_the_embedded_worker_records_comes_from_the_worker(ctx, actors, smtp):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})  # queues the receipt
    worker = InProcessWorker(ctx, interval=0.1).start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            by_worker = [e for e in history_of(ctx, dossier.code) if e.origin == "worker"]
            if by_worker:
                break
            time.sleep(0.1)
    finally:
        worker.stop()
    assert by_worker, [(e.kind, e.origin) for e in history_of(ctx, dossier.code)]
    assert history_of(ctx, dossier.code)[0].origin is None  # submitted here, outside any scope
    assert verify_all(ctx).intact


def test_what_a_command_records_comes_from_the_command_line(tmp_path, monkeypatch):
    from motcua_cli import main

    database = tmp_path / "cli.db"
    monkeypatch.setenv("MOTCUA_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "data"))
    seeded = CliRunner().invoke(main, ["seed", "--dossiers", "3", "--days", "5", "--seed", "1"])
    assert seeded.exit_code == 0, seeded.output
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        origins = set(conn.scalars(select(Event.origin)))
    engine.dispose()
    assert origins == {"cli"}
    assert current_origin() is None  # the command's scope ended with it
