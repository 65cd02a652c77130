"""Reports read from a hot standby (MOTCUA_REPORTS_DATABASE_URL): a real primary and a standby
streaming from it (tests/pg_standby.py), the rollups refreshed on the primary, the figures read on
the standby once it has replayed that refresh, a standby behind waited for and then read as it is,
one out of reach left to the primary, and sessions on it that cannot write."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import DBAPIError

from engine.bootstrap import prepare
from engine.context import build_context
from engine.models import User
from engine.reports import indicators
from engine.reports.replica import replica_sessions, report_session, wait_for_replay
from engine.services import Actor, health, reports
from tests.conftest import make_settings, service_missing
from tests.factories import submit
from tests.pg_standby import start_pair, stop_pair
from tests.ports import free_port


@pytest.fixture(scope="module")
def pair():
    try:
        started = start_pair()
    except (OSError, RuntimeError, KeyError) as exc:  # no server programs, no postgres account, a failed start
        service_missing("a PostgreSQL primary with a streaming hot standby", exc)
    yield started
    stop_pair(started)


@pytest.fixture(scope="module")
def ctx(pair, smtp, tmp_path_factory):
    """motcua on the pair's primary (migrated, catalogue, demo accounts), its reports on the standby."""
    admin = create_engine(pair.primary_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE motcua"))
    admin.dispose()
    settings = make_settings(pair.primary_url("motcua"), smtp.port, tmp_path_factory.mktemp("standby"),
                             reports_database_url=pair.standby_url("motcua"), reports_replica_wait=5.0)
    built = build_context(settings)
    prepare(built, demo=True)
    yield built
    built.db.dispose()
    built.report_sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def people(ctx):
    with ctx.sessions() as session:
        return {user.username: Actor.of(user) for user in session.scalars(select(User))}


def submitted(ctx, people, **settings) -> int:
    """This month's count of submitted dossiers, as the dashboard shows it (with `settings` changed)."""
    view = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, **settings)) if settings else ctx
    admin = people["quantri"]
    return reports.dashboard(view, admin, reports.report_filters(view, admin, {})).counts["submitted"]


@contextmanager
def statements(engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def replay_paused(pair) -> Iterator[callable]:
    """The standby's WAL replay paused; yields a function that resumes it (also called on the way out)."""
    standby = create_engine(pair.standby_url(), isolation_level="AUTOCOMMIT")

    def resume() -> None:
        with standby.connect() as connection:
            connection.execute(text("SELECT pg_wal_replay_resume()"))

    with standby.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        yield resume
    finally:
        resume()
        standby.dispose()


def test_figures_are_read_on_the_standby_once_it_has_replayed_the_refresh(ctx, people):
    before = submitted(ctx, people)
    submit(ctx, people["congdan"])
    standby_engine = ctx.report_sessions.kw["bind"]
    with statements(standby_engine) as on_standby, statements(ctx.db) as on_primary:
        assert submitted(ctx, people) == before + 1
    assert any("pg_last_wal_replay_lsn" in s for s in on_standby)
    assert any(s.startswith("SELECT") and "FROM report_daily" in s for s in on_standby)
    # the primary refreshed the rollups and said where its WAL stood; it read no figure
    assert any("pg_current_wal_lsn" in s for s in on_primary)
    with statements(ctx.db) as on_primary:
        indicators.dashboard(ctx, reports.report_filters(ctx, people["quantri"], {}), refresh=False)
    assert on_primary == ["SELECT pg_current_wal_lsn()"]


def test_a_standby_behind_is_waited_for_and_read_as_it_is_when_the_wait_runs_out(ctx, people, pair, caplog):
    before = submitted(ctx, people)
    with replay_paused(pair) as resume:
        submit(ctx, people["congdan"])
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="engine.reports.replica"):
            stale = submitted(ctx, people, reports_replica_wait=0.3)
        assert time.monotonic() - started >= 0.3
        assert stale == before  # the standby has not replayed the submission, nor the refresh
        assert "has not replayed the primary's WAL" in caplog.text
        # replay resumes while a report waits: it reads the refreshed figures
        threading.Timer(0.3, resume).start()
        started = time.monotonic()
        assert submitted(ctx, people, reports_replica_wait=10.0) == before + 1
        assert 0.25 <= time.monotonic() - started < 10


def test_a_standby_out_of_reach_leaves_the_report_to_the_primary(ctx, people, caplog):
    expected = submitted(ctx, people)
    gone = replica_sessions(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/motcua")
    view = dataclasses.replace(ctx, report_sessions=gone)
    with caplog.at_level(logging.WARNING, logger="engine.reports.replica"), statements(ctx.db) as on_primary:
        assert submitted(view, people) == expected
    assert "cannot be reached" in caplog.text and "reading from the primary" in caplog.text
    assert any(s.startswith("SELECT") and "FROM report_daily" in s for s in on_primary)
    gone.kw["bind"].dispose()


def test_a_standby_that_accepts_but_never_answers_leaves_the_report_to_the_primary(ctx, people, caplog):
    """A firewall or a hung server: the connection is accepted, nothing comes back."""
    expected = submitted(ctx, people)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = replica_sessions(f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/motcua",
                                connect_timeout=1)
        view = dataclasses.replace(ctx, report_sessions=mute)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="engine.reports.replica"):
            assert submitted(view, people) == expected
        assert time.monotonic() - started < 5
        assert "cannot be reached" in caplog.text
        mute.kw["bind"].dispose()


def test_later_batches_of_a_report_read_the_standby_without_asking_the_primary_again(ctx):
    with statements(ctx.db) as on_primary, statements(ctx.report_sessions.kw["bind"]) as on_standby, \
            report_session(ctx, wait=False) as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    assert on_primary == [] and on_standby[-1] == "SELECT pg_is_in_recovery()"


def test_the_health_page_shows_the_standby_and_what_it_has_still_to_replay(ctx, people, pair):
    shown = health.overview(ctx, people["quantri"]).reports_standby
    assert shown.enabled and shown.ok and "KiB WAL chưa áp dụng" in shown.detail
    with replay_paused(pair):
        submit(ctx, people["congdan"])
        behind = health.standby_health(ctx)
        assert behind.ok and not behind.detail.endswith(" 0 KiB WAL chưa áp dụng")
    gone = dataclasses.replace(ctx, report_sessions=replica_sessions(
        f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/motcua"))
    down = health.standby_health(gone)
    assert down.enabled and not down.ok and "báo cáo đang đọc từ cơ sở dữ liệu chính" in down.detail
    gone.report_sessions.kw["bind"].dispose()
    primary = dataclasses.replace(ctx, report_sessions=replica_sessions(pair.primary_url("motcua")))
    assert "không ở chế độ dự phòng" in health.standby_health(primary).detail
    primary.report_sessions.kw["bind"].dispose()


def test_report_sessions_cannot_write_even_on_a_primary(ctx, pair):
    on_primary = replica_sessions(pair.primary_url("motcua"))
    try:
        with on_primary() as session:
            assert wait_for_replay(session, "FFFFFFFF/FFFFFFFF", 0.0) is True  # not a standby: read at once
            with pytest.raises(DBAPIError, match="read-only transaction"):
                session.execute(text("CREATE TABLE written_by_a_report (id int)"))
    finally:
        on_primary.kw["bind"].dispose()
    with report_session(ctx) as session, pytest.raises(DBAPIError, match="read-only transaction"):
        session.execute(text("CREATE TABLE written_by_a_report (id int)"))


def test_waiting_for_a_position_the_primary_has_not_reached_runs_out(ctx):
    with ctx.report_sessions() as session:
        started = time.monotonic()
        assert wait_for_replay(session, "FFFFFFFF/FFFFFFFF", 0.1) is False
        assert 0.1 <= time.monotonic() - started < 2
