"""The history's monthly partitions on PostgreSQL (migration 0013): the months ahead created before
they start, and any month whose events fell into `event_default` given a partition of its own.

`event` is partitioned by the month of `at` in Vietnam time. An event of a month without a partition
lands in `event_default` (nothing is ever refused for want of one); `keep_months` runs from the clock
sweep and creates the current month and the next `MONTHS_AHEAD`, then a partition for each month
found in the default one (its rows move there, in the same transaction). Seeding and restores write
history of past months: they call `ensure_months` for the span first.

SQLite has one `event` table: every function here returns at once there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, text

from engine.calendar import VN_TZ

MONTHS_AHEAD = 2
PARENT, DEFAULT = "event", "event_default"
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


def ensure_months(connection: Connection, first: date, last: date) -> list[str]:
    """Partitions for every month from `first` to `last` (Vietnam dates); the names of those created."""
    if not partitioned(connection):
        return []
    return [name for month in months_between(first, last) if (name := _create(connection, month))]


def keep_months(engine: Engine, *, now: datetime | None = None) -> list[str]:
    """The current month and the next `MONTHS_AHEAD`, and the months found in `event_default`, each
    with a partition of its own (one transaction). The names of the partitions created."""
    today = (now or datetime.now(UTC)).astimezone(VN_TZ).date()
    with engine.begin() as connection:
        if not partitioned(connection):
            return []
        ahead = months_between(today, _plus_months(today, MONTHS_AHEAD))
        stray = list(connection.scalars(_MONTHS_IN_DEFAULT))
        return [name for month in sorted(set(ahead) | set(stray)) if (name := _create(connection, month))]


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
    return f"event_{month:%Y_%m}" if created else None


def _plus_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
