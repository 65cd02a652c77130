"""The audit-trail check walks every dossier's hash chain and names the first broken link of each."""

from __future__ import annotations

import importlib.util

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from engine.audit import verify_all
from engine.db import MIGRATIONS_DIR
from engine.models import AccessLog, Dossier, Event
from engine.services import get_dossier
from tests.conftest import allow_purge
from tests.factories import submit, work


def two_dossiers(ctx, actors):
    first, second = submit(ctx, actors["congdan"]), submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], first.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    with ctx.sessions() as session:
        return {code: session.scalar(select(Dossier.id).where(Dossier.code == code))
                for code in (first.code, second.code)}, first.code, second.code


def test_intact_histories_pass_in_any_batch_size(ctx, actors):
    _ids, _first, _second = two_dossiers(ctx, actors)
    for batch in (1, 1000):
        result = verify_all(ctx, batch=batch)
        assert result.intact and result.dossiers == 2
    with ctx.sessions() as session:
        assert result.events == len(list(session.scalars(select(Event.id))))


def test_an_edited_event_is_the_first_broken_link_of_its_dossier_only(ctx, actors):
    ids, first, second = two_dossiers(ctx, actors)
    with ctx.db.begin() as conn:
        allow_purge(conn)  # tampering on PostgreSQL needs the deliberate purge switch (migration 0008)
        conn.execute(update(Event).where(Event.dossier_id == ids[first], Event.seq == 3)
                     .values(data={"sửa": "lén"}))
    result = verify_all(ctx, batch=1)
    assert [(b.code, b.seq, b.reason) for b in result.broken] == [(first, 3, "hash")]


def test_a_removed_event_and_a_cut_off_end_are_both_caught(ctx, actors):
    ids, first, second = two_dossiers(ctx, actors)
    with ctx.sessions() as session:
        last = session.scalar(select(Dossier.event_seq).where(Dossier.id == ids[second]))
    with ctx.db.begin() as conn:
        allow_purge(conn)
        conn.execute(delete(Event).where(Event.dossier_id == ids[first], Event.seq == 2))
        conn.execute(delete(Event).where(Event.dossier_id == ids[second], Event.seq == last))
    broken = {b.code: (b.seq, b.reason) for b in verify_all(ctx).broken}
    assert broken == {first: (2, "link"), second: (last, "head")}


def _on_postgresql(ctx) -> None:
    if ctx.db.dialect.name != "postgresql":
        pytest.skip("SQLite has no append-only trigger (migration 0008): the hash chain is its protection")


@pytest.mark.parametrize("statement", [
    "UPDATE event SET status = 'returned'",
    "DELETE FROM event",
    "TRUNCATE event CASCADE",
    "UPDATE access_log SET origin = NULL",
    "DELETE FROM access_log",
])
def test_postgresql_refuses_to_rewrite_the_audit_tables_without_the_purge_switch(ctx, actors, statement):
    _on_postgresql(ctx)
    dossier = submit(ctx, actors["congdan"])
    get_dossier(ctx, actors["tiepnhan"], dossier.code)  # one access_log row
    with pytest.raises(DBAPIError, match="append-only"), ctx.db.begin() as conn:
        conn.execute(text(statement))
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Event)) > 0
        assert session.scalar(select(func.count()).select_from(AccessLog)) == 1
    assert verify_all(ctx).intact


def test_the_purge_switch_lasts_one_transaction_only(ctx, actors):
    _on_postgresql(ctx)
    submit(ctx, actors["congdan"])
    with ctx.db.begin() as conn:
        allow_purge(conn)
        conn.execute(text("UPDATE event SET origin = 'ip:10.9.9.9' WHERE seq = 1"))
    with ctx.db.connect() as conn:  # SET LOCAL ended with that transaction's commit
        with pytest.raises(DBAPIError, match="append-only"), conn.begin():
            conn.execute(text("DELETE FROM event"))
    with ctx.sessions() as session:
        assert session.scalar(select(Event.origin).where(Event.seq == 1)) == "ip:10.9.9.9"


def _migration(filename: str):
    path = MIGRATIONS_DIR / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(ctx, step) -> None:
    with ctx.db.begin() as connection, Operations.context(MigrationContext.configure(connection)):
        step()


def test_the_append_only_migration_goes_down_and_up_again(ctx):
    """0008's own steps, on the history as it stood before 0013 partitioned it (0013 goes down first and
    up again after: it copies the rows both ways); the migrations in between do not touch the triggers."""
    _on_postgresql(ctx)
    migration, partitioning = _migration("0008_append_only.py"), _migration("0013_event_by_month.py")
    names = text("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'event%' OR tgname LIKE 'access_log%' "
                 "ORDER BY tgname")
    _run(ctx, partitioning.downgrade)
    try:
        for step, expected in ((migration.downgrade, []),
                               (migration.upgrade, ["access_log_append_only", "access_log_no_truncate",
                                                    "event_append_only", "event_no_truncate"])):
            _run(ctx, step)
            with ctx.db.connect() as connection:
                assert list(connection.scalars(names)) == expected
    finally:
        _run(ctx, partitioning.upgrade)
