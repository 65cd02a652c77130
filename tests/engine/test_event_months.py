"""The history partitioned by month on PostgreSQL (migration 0013, engine/event_months.py): each event in
its Vietnam month's partition, an event of a month without one kept in `event_default` and moved to a
partition of its own by the clock sweep, the chain unbroken, the audit trail still append-only in
every partition, and the migration down and up again with history of several months in it."""

from __future__ import annotations

import importlib.util
import logging
from datetime import UTC, date, datetime

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import event_months, history
from engine.calendar import VN_TZ
from engine.db import MIGRATIONS_DIR, transaction
from engine.event_months import (
    MONTHS_AHEAD,
    ensure_months,
    keep_months,
    months_between,
    partitioned,
    partitions,
)
from engine.models import Dossier, Event
from engine.sweeps import clock_sweep
from tests.factories import submit

#: PostgreSQL partitions the history; SQLite keeps it in one table
postgresql_only = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)


def _home(ctx, dossier_id: int) -> dict[int, str]:
    """seq -> the partition holding that event of the dossier."""
    with ctx.db.connect() as connection:
        return dict(connection.execute(text("SELECT seq, tableoid::regclass::text FROM event WHERE dossier_id = :d"),
                                       {"d": dossier_id}).all())


def _record_at(ctx, code: str, at: datetime) -> int:
    """Append an event dated `at` to the dossier's history (imported history, a restore); its id."""
    with transaction(ctx.sessions) as session:
        dossier = session.scalars(select(Dossier).where(Dossier.code == code)).one()
        history.record(session, dossier, "note", data={"text": "lịch sử nhập từ hệ thống cũ"}, at=at)
        return dossier.id


def test_months_between_counts_whole_calendar_months():
    assert months_between(date(2026, 11, 30), date(2027, 2, 1)) == [date(2026, 11, 1), date(2026, 12, 1),
                                                                     date(2027, 1, 1), date(2027, 2, 1)]
    assert months_between(date(2026, 5, 31), date(2026, 5, 1)) == [date(2026, 5, 1)]
    assert months_between(date(2026, 6, 1), date(2026, 5, 31)) == []


@sqlite_only
def test_sqlite_has_one_history_table_and_nothing_to_keep(ctx):
    assert keep_months(ctx.db) == []
    with ctx.db.begin() as connection:
        assert not partitioned(connection)
        assert ensure_months(connection, date(2020, 1, 1), date(2020, 12, 1)) == []
        assert partitions(connection) == set()


@postgresql_only
def test_an_event_lands_in_the_partition_of_its_vietnam_month(ctx, actors):
    view = submit(ctx, actors["congdan"])
    now = datetime.now(UTC)
    # 31 December 17:30 UTC is already 1 January in Vietnam
    dossier_id = _record_at(ctx, view.code, datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    with ctx.db.begin() as connection:
        ensure_months(connection, date(2027, 1, 1), date(2027, 1, 1))
    homes = _home(ctx, dossier_id)
    last = max(homes)
    assert homes.pop(last) == "event_2027_01"
    assert homes and set(homes.values()) == {f"event_{now.astimezone(VN_TZ):%Y_%m}"}


@postgresql_only
def test_a_month_without_a_partition_is_caught_by_the_default_and_moved_out_by_the_sweep(ctx, actors):
    view = submit(ctx, actors["congdan"])
    old = datetime(2019, 3, 10, 2, 0, tzinfo=UTC)
    dossier_id = _record_at(ctx, view.code, old)
    seq = max(_home(ctx, dossier_id))
    assert _home(ctx, dossier_id)[seq] == "event_default"

    result = clock_sweep(ctx)
    assert result["event_months"] >= 1
    assert _home(ctx, dossier_id)[seq] == "event_2019_03"
    with ctx.db.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM event_default")) == 0
        assert {"event_2019_03", "event_default"} <= partitions(connection)
    with ctx.sessions() as session:
        assert history.verify_chain(session, dossier_id) is None
        chain = list(session.scalars(select(Event).where(Event.dossier_id == dossier_id).order_by(Event.seq)))
        assert [e.seq for e in chain] == list(range(1, seq + 1)) and chain[-1].at == old
    assert keep_months(ctx.db) == []  # nothing left to do


@postgresql_only
def test_the_months_ahead_are_created_before_they_start(ctx):
    created = keep_months(ctx.db, now=datetime(2031, 7, 15, tzinfo=UTC))
    assert created == [f"event_2031_{month:02d}" for month in range(7, 8 + MONTHS_AHEAD)]
    assert keep_months(ctx.db, now=datetime(2031, 7, 15, tzinfo=UTC)) == []


@postgresql_only
def test_one_sweep_at_a_time_keeps_the_months(ctx):
    future = datetime(2035, 3, 15, tzinfo=UTC)
    with ctx.db.connect() as other:
        other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": event_months._SWEEP_LOCK})
        assert keep_months(ctx.db, now=future) == []  # another process is at it: this sweep does nothing
        other.rollback()
    assert keep_months(ctx.db, now=future) == ["event_2035_03", "event_2035_04", "event_2035_05"]


@postgresql_only
def test_a_month_whose_lock_is_not_had_in_time_is_left_for_the_next_sweep(ctx, monkeypatch, caplog):
    """A long transaction reading the history (a backup) holds off the lock a new partition needs."""
    monkeypatch.setattr(event_months, "LOCK_TIMEOUT", "100ms")
    future = datetime(2036, 9, 15, tzinfo=UTC)
    with ctx.db.connect() as reader:
        reader.execute(text("SELECT count(*) FROM event"))  # holds its lock until the transaction ends
        with caplog.at_level(logging.WARNING, logger="engine.event_months"):
            assert keep_months(ctx.db, now=future) == []
        assert caplog.text.count("not made (the next sweep tries again)") == 1 + MONTHS_AHEAD
        reader.rollback()
    assert keep_months(ctx.db, now=future) == ["event_2036_09", "event_2036_10", "event_2036_11"]


@postgresql_only
def test_the_bounds_are_vietnam_months_whatever_the_session_date_style_and_zone(ctx):
    with ctx.db.begin() as connection:
        connection.execute(text("SET LOCAL DateStyle = 'SQL, DMY'"))
        connection.execute(text("SET LOCAL TimeZone = 'Asia/Kolkata'"))
        assert ensure_months(connection, date(2037, 4, 20), date(2037, 4, 20)) == ["event_2037_04"]
    with ctx.db.connect() as connection:
        connection.execute(text("SET TimeZone = 'UTC'"))
        bounds = connection.scalar(text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                                        "WHERE relname = 'event_2037_04'"))
    assert bounds == "FOR VALUES FROM ('2037-03-31 17:00:00+00') TO ('2037-04-30 17:00:00+00')"


@pytest.mark.parametrize("statement", [
    "UPDATE {part} SET kind = 'sua'",
    "DELETE FROM {part}",
    "TRUNCATE {part}",
    "TRUNCATE event_default",
])
@postgresql_only
def test_every_partition_is_append_only(ctx, actors, statement):
    submit(ctx, actors["congdan"])
    part = f"event_{datetime.now(UTC).astimezone(VN_TZ):%Y_%m}"
    with pytest.raises(DBAPIError, match="the audit trail is append-only"), ctx.db.begin() as connection:
        connection.execute(text(statement.format(part=part)))


def _migration_0013():
    path = MIGRATIONS_DIR / "versions" / "0013_event_by_month.py"
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@postgresql_only
def test_the_migration_goes_down_and_up_with_history_of_several_months(ctx, actors):
    view = submit(ctx, actors["congdan"])
    dossier_id = _record_at(ctx, view.code, datetime(2018, 8, 8, tzinfo=UTC))
    columns = "id, dossier_id, seq, kind, at, actor_id, actor_name, status, data::text, prev_hash, hash, origin"

    def everything():
        with ctx.db.connect() as connection:
            return connection.execute(text(f"SELECT {columns} FROM event ORDER BY id")).all()

    before = everything()
    migration = _migration_0013()
    for step, kind in ((migration.downgrade, "r"), (migration.upgrade, "p")):
        with ctx.db.begin() as connection, Operations.context(MigrationContext.configure(connection)):
            step()
        with ctx.db.connect() as connection:
            assert connection.scalar(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('event')")) == kind
            assert set(connection.scalars(text("SELECT conname FROM pg_constraint WHERE conrelid = 'event'::regclass"))) \
                == {"event_pkey", "event_dossier_id_seq_key", "event_dossier_id_fkey", "event_actor_id_fkey"}
        assert everything() == before
    with ctx.db.connect() as connection:
        assert "event_2018_08" in partitions(connection)  # the migration gave the old month its partition
        assert connection.scalar(text("SELECT count(*) FROM event_default")) == 0
    _record_at(ctx, view.code, datetime.now(UTC))  # the history goes on, numbered after the copied rows
    with ctx.sessions() as session:
        assert history.verify_chain(session, dossier_id) is None
        assert session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) > before[-1][0]
