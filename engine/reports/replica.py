"""Where reports read: a streaming replica of the primary when one is configured
(`MOTCUA_REPORTS_DATABASE_URL`), else the primary itself.

A report scans rollup tables and lists the dossiers behind a figure. On a province's server that is
little; on a cluster serving the whole country it is load that the primary's writers should not
share (docs/scaling.md). So the figures are read from a hot standby, while the rollups are still
brought up to date on the primary first (`rollup.refresh` writes).

A standby replays the primary's WAL a moment after the primary wrote it. Before reading, a report
asks the primary where its WAL stands (after the refresh) and waits until the standby has replayed
that far, so the figures shown are at least as new as the refresh just made. The wait is bounded by
`reports_replica_wait` seconds; past it, the report reads what the standby has (figures that much
older) and the lag is logged. A URL naming a server that is not in recovery (a promoted standby, or
a second primary) is read at once.

A standby that cannot be reached does not refuse a report: the primary serves it, and the warning
names the cause. Sessions on the standby are read-only (psycopg's `read_only`), so even a URL
pointing at a primary by mistake cannot be written through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from engine.context import EngineContext
from engine.db import make_engine, make_session_factory
from engine.reads import read_only_connection

log = logging.getLogger(__name__)

#: first pause between two looks at the standby's replay position, and the longest
FIRST_PAUSE, LONGEST_PAUSE = 0.002, 0.05
_REPLAYED = text("SELECT pg_is_in_recovery() AS standby, "
                 "coalesce(pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn), false) AS caught_up")


def replica_sessions(url: str) -> sessionmaker[Session]:
    """Read-only sessions on the standby at `url`: a pool of its own, smaller than the primary's."""
    engine = make_engine(url, pool_size=5, max_overflow=10).execution_options(postgresql_readonly=True)
    return make_session_factory(engine)


@contextmanager
def report_session(ctx: EngineContext) -> Iterator[Session]:
    """A session to read a report in: on the standby once it has replayed the primary's WAL as far
    as it stands now (or `reports_replica_wait` has passed), on the primary without a standby or
    when the standby cannot be reached."""
    factory = ctx.report_sessions
    if factory is None:
        with ctx.sessions() as session:
            yield session
        return
    session = factory()
    try:
        wait_for_replay(session, primary_lsn(ctx), ctx.settings.reports_replica_wait)
    except OperationalError as exc:
        session.close()
        log.warning("reports: the standby at %s cannot be reached (%s); reading from the primary",
                    factory.kw["bind"].url.render_as_string(hide_password=True), exc.orig or exc)
        with ctx.sessions() as primary:
            yield primary
        return
    with session:
        yield session


def primary_lsn(ctx: EngineContext) -> str:
    """Where the primary's WAL stands now (`pg_current_wal_lsn`), e.g. '0/3000148'."""
    with read_only_connection(ctx.db) as connection:
        return str(connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())


def wait_for_replay(session: Session, lsn: str, timeout: float) -> bool:
    """Wait until the server behind `session` has replayed the WAL up to `lsn`, at most `timeout`
    seconds. True when it has (or is not a standby at all), False when the wait ran out. The
    session's transaction is ended after each look, so the report's own reads take a snapshot
    that includes what was replayed."""
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    while True:
        row = session.execute(_REPLAYED, {"lsn": lsn}).one()
        session.rollback()
        if not row.standby or row.caught_up:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            log.warning("reports: the standby has not replayed the primary's WAL up to %s after %.1f s; "
                        "reading the figures it has", lsn, timeout)
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_PAUSE)
