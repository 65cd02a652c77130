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
names the cause. One that does not answer counts as out of reach after `CONNECT_TIMEOUT` seconds to
connect, or `TCP_USER_TIMEOUT` seconds without acknowledging what was sent (a firewall dropping
packets); idle pooled connections are kept alive. A URL that sets these libpq parameters keeps its
own. Sessions on the standby are read-only (psycopg's `read_only`), so even a URL pointing at a
primary by mistake cannot be written through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from engine.context import EngineContext
from engine.db import make_engine, make_session_factory
from engine.reads import read_only_connection

log = logging.getLogger(__name__)

#: first pause between two looks at the standby's replay position, and the longest
FIRST_PAUSE, LONGEST_PAUSE = 0.002, 0.05
#: seconds to connect, and to see what was sent acknowledged, before a standby counts as out of reach
CONNECT_TIMEOUT, TCP_USER_TIMEOUT = 3, 10
_REPLAYED = text("SELECT pg_is_in_recovery() AS standby, "
                 "pg_wal_lsn_diff(CAST(:lsn AS pg_lsn), pg_last_wal_replay_lsn()) AS behind")


def replica_sessions(url: str, *, connect_timeout: float = CONNECT_TIMEOUT) -> sessionmaker[Session]:
    """Read-only sessions on the standby at `url`: a pool of its own, smaller than the primary's."""
    given = make_url(url).query
    limits: dict[str, Any] = {"connect_timeout": max(1, round(connect_timeout)), "keepalives": 1,
                              "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
                              "tcp_user_timeout": TCP_USER_TIMEOUT * 1000}
    engine = make_engine(url, pool_size=5, max_overflow=10, pool_timeout=connect_timeout,
                         connect_args={k: v for k, v in limits.items() if k not in given})
    return make_session_factory(engine.execution_options(postgresql_readonly=True))


@contextmanager
def report_session(ctx: EngineContext, *, wait: bool = True) -> Iterator[Session]:
    """A session to read a report in: on the standby once it has replayed the primary's WAL as far
    as it stands now (or `reports_replica_wait` has passed), on the primary without a standby or
    when the standby cannot be reached. `wait=False` reads the standby as it is: for the later
    batches of one report, which waited before its first (a standby only moves forward)."""
    factory = ctx.report_sessions
    if factory is None:
        with ctx.sessions() as session:
            yield session
        return
    lsn = primary_lsn(ctx) if wait else None
    session = factory()
    try:
        if lsn is not None:
            wait_for_replay(session, lsn, ctx.settings.reports_replica_wait)
        else:
            session.connection()
    except (OperationalError, PoolTimeout) as exc:
        session.close()
        _fell_back(factory, exc)
    except BaseException:
        session.close()
        raise
    else:
        with session:
            yield session
        return
    with ctx.sessions() as primary:
        yield primary


def _fell_back(factory: sessionmaker[Session], exc: Exception) -> None:
    log.warning("reports: the standby at %s cannot be reached (%s); reading from the primary",
                factory.kw["bind"].url.render_as_string(hide_password=True), getattr(exc, "orig", None) or exc)


def primary_lsn(ctx: EngineContext) -> str:
    """Where the primary's WAL stands now (`pg_current_wal_lsn`), e.g. '0/3000148'."""
    with read_only_connection(ctx.db) as connection:
        return str(connection.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())


def replay_behind(session: Session, lsn: str) -> tuple[bool, int | None]:
    """Whether the server behind `session` is a standby, and how many bytes of WAL it has still to
    replay to reach `lsn` (0 or less: there; None: it has replayed nothing yet)."""
    row = session.execute(_REPLAYED, {"lsn": lsn}).one()
    return bool(row.standby), None if row.behind is None else int(row.behind)


def wait_for_replay(session: Session, lsn: str, timeout: float) -> bool:
    """Wait until the server behind `session` has replayed the WAL up to `lsn`, at most `timeout`
    seconds. True when it has (or is not a standby at all), False when the wait ran out. The
    session's transaction is ended after each look, so the report's own reads take a snapshot
    that includes what was replayed."""
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    while True:
        standby, behind = replay_behind(session, lsn)
        session.rollback()
        if not standby or (behind is not None and behind <= 0):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            log.warning("reports: the standby has not replayed the primary's WAL up to %s after %.1f s; "
                        "reading the figures it has", lsn, timeout)
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_PAUSE)
