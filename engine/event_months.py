"""The history's monthly partitions on PostgreSQL (migration 0013): the months ahead created before
they start, and any month whose events fell into `event_default` given a partition of its own.

`event` is partitioned by the month of `at` in Vietnam time. An event of a month without a partition
lands in `event_default` (nothing is ever refused for want of one); `keep_months` runs from the clock
sweep and creates the current month and the next `MONTHS_AHEAD`, then a partition for each month
found in the default one (its rows move there, in the same transaction). Seeding and restores write
history of past months: they create its months first (`ensure_months`, `ensure_months_of`).

Creating a partition takes an exclusive lock on `event` for a moment. The sweep waits for it at most
`LOCK_TIMEOUT` (a long backup transaction holds it off): past that the month is left for the next
sweep, two months of headroom ahead. Only one sweep at a time does the work (an advisory lock;
`motcua_event_month` itself also lets one caller at a time in), and each month has its own savepoint:
one that cannot be made is logged and does not keep the others from being made.

SQLite has one `event` table: every function here returns at once there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from engine.calendar import VN_TZ

log = logging.getLogger(__name__)

MONTHS_AHEAD = 2
#: how long the sweep waits for the lock a new partition needs on `event`
LOCK_TIMEOUT = "2s"
#: the sweep's advisory lock: one process keeps the months at a time (any constant unique among motcua's)
_SWEEP_LOCK = 20260014
#: a month's partition, `event_YYYY_MM`, and the default one
_MONTH_PARTITION = re.compile(r"event_(\d{4})_(\d{2})")
DEFAULT_PARTITION = "event_default"
_MONTHS_IN_DEFAULT = text("SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date "
                          "FROM event_default ORDER BY 1")


def partitioned(connection: Connection) -> bool:
    """True when `event` is partitioned here (PostgreSQL at migration 0013 or later)."""
    if connection.dialect.name != "postgresql":
        return False
    return bool(connection.scalar(text("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass('event')")))


def months_between(first: date, last: date) -> list[date]:
    """The first day of every month from `first`'s to `last`'s, both included."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def month_of(moment: datetime) -> date:
    """The first day of `moment`'s month in Vietnam: the partition its event belongs to."""
    return moment.astimezone(VN_TZ).date().replace(day=1)


def ensure_months(connection: Connection, first: date, last: date) -> list[str]:
    """Partitions for every month from `first` to `last` (Vietnam dates); the names of those created."""
    if not partitioned(connection):
        return []
    return [name for month in months_between(first, last) if (name := _create(connection, month))]


def ensure_months_of(connection: Connection, moments: Iterable[datetime], known: set[date]) -> list[str]:
    """Partitions for the months of `moments` not in `known` yet (which is updated): for rows of any
    age about to be written in bulk, a batch at a time."""
    months = {month_of(moment) for moment in moments} - known
    if not months or not partitioned(connection):
        known |= months
        return []
    created = [name for month in sorted(months) if (name := _create(connection, month))]
    known |= months
    return created


def keep_months(engine: Engine, *, now: datetime | None = None) -> list[str]:
    """The current month and the next `MONTHS_AHEAD`, and the months found in `event_default`, each
    with a partition of its own. The names of the partitions created; none when another process is
    at it, or when a month's lock was not had in `LOCK_TIMEOUT` (logged: the next sweep tries again)."""
    this_month = month_of(now or datetime.now(UTC))
    with engine.begin() as connection:
        if not partitioned(connection):
            return []
        if not connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _SWEEP_LOCK}):
            return []
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        wanted = set(months_between(this_month, plus_months(this_month, MONTHS_AHEAD)))
        wanted |= set(connection.scalars(_MONTHS_IN_DEFAULT))
        created = []
        for month in sorted(wanted):
            try:
                with connection.begin_nested():
                    if name := _create(connection, month):
                        created.append(name)
            except DBAPIError as exc:
                log.warning("history partition of %s not made (the next sweep tries again): %s",
                            f"{month:%Y-%m}", getattr(exc, "orig", None) or exc)
        return created


def partition_name(month: date) -> str:
    """The partition of `month`'s events."""
    return f"event_{month:%Y_%m}"


def is_partition_name(name: str) -> bool:
    """True for the name of a month's partition or of the default one."""
    return name == DEFAULT_PARTITION or _MONTH_PARTITION.fullmatch(name) is not None


def months_made(connection: Connection) -> list[date]:
    """The months with a partition of their own, in order."""
    found = (_MONTH_PARTITION.fullmatch(name) for name in partitions(connection))
    return sorted(date(int(m[1]), int(m[2]), 1) for m in found if m)


def partitions(connection: Connection) -> set[str]:
    """The names of the tables that are partitions of another (not tables of their own)."""
    if connection.dialect.name != "postgresql":
        return set()
    return set(connection.scalars(text(
        "SELECT c.relname FROM pg_class c WHERE c.relispartition "
        "AND c.relnamespace = to_regnamespace(current_schema())")))


def _create(connection: Connection, month: date) -> str | None:
    """The month's partition, created unless it exists (its rows taken out of the default one)."""
    created = connection.scalar(text("SELECT motcua_event_month(:month)"), {"month": month})
    return partition_name(month) if created else None


def plus_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
