"""The legal clock: working days, working hours and appointment dates for Vietnamese procedures.

Why a module of its own: every appointment date (ngày hẹn trả), step budget and the early / on-time
/ late classification reported to the national portal depend on the same calendar, so one place
decides what a working day and an office hour are.

- Working days are Monday–Friday minus the public holidays the `holidays` package knows for
  Vietnam (Tết, Giỗ Tổ, 30/4, 1/5, 2/9 and its adjacent day, 24/11, substituted days off), plus
  the Saturdays the package lists as worked in exchange, plus admin-managed exceptions passed in as
  data (`calendar_from_exceptions`); an admin "working" exception wins over everything, so a wrong
  package holiday can be switched off without a release.
- Desks count in half-days (buổi sáng / buổi chiều); office hours are configuration.
- Every function takes timezone-aware datetimes, computes in Asia/Ho_Chi_Minh (no DST, UTC+7) and
  returns UTC, the storage zone. No database access here: rows come from the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import holidays

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

#: Units accepted by `deadline` (and so by procedure.json deadline rules and step budgets).
UNITS = ("working_days", "working_hours", "days", "same_day")

Timeliness = Literal["early", "on_time", "late"]


@lru_cache(maxsize=64)
def _national(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, weekend days worked) for `year`, as the `holidays` package lists them.

    The package pairs each substituted day off (e.g. 31/8/2026) with the Saturday worked in exchange
    (22/8/2026); honouring only the day off would give staff a free day, so both are used.
    """
    calendar = holidays.country_holidays("VN", years=year)
    worked = getattr(calendar, "weekend_workdays", set())  # attribute absent in older releases
    return frozenset(calendar.keys()), frozenset(d for d in worked if d.year == year)


def _local(moment: datetime) -> datetime:
    """`moment` in Vietnam time; naive datetimes are refused because their instant is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given to the legal clock; use a timezone-aware datetime")
    return moment.astimezone(VN_TZ)


def _check_amount(value: float, what: str) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, not {value!r}")


@dataclass(frozen=True)
class CalendarConfig:
    """Office hours and the same-day rule. Defaults are the common one-stop desk hours; provinces
    set their own (summer/winter hours differ in some), hence configuration, not constants."""

    morning: tuple[time, time] = (time(7, 30), time(11, 30))
    afternoon: tuple[time, time] = (time(13, 30), time(17, 0))
    #: Same-day procedures (chứng thực, hộ tịch) received at or after this time finish next working day.
    same_day_cutoff: time = time(15, 0)
    #: Calendar-day deadlines ending on a day off move to the end of the next working day.
    roll_to_working_day: bool = True

    def __post_init__(self) -> None:
        (m_start, m_end), (a_start, a_end) = self.morning, self.afternoon
        if not m_start < m_end <= a_start < a_end:
            raise ValueError("office hours must be morning start < morning end <= afternoon start < afternoon end")

    @property
    def day_end(self) -> time:
        """End of office hours: when a day's appointments fall due."""
        return self.afternoon[1]


class ExceptionRow(Protocol):
    """What `calendar_from_exceptions` needs of a row (engine.models.CalendarException fits)."""

    day: date
    kind: str


#: days whose half-days one calendar keeps (about five years: a report over a longer span computes the rest)
PERIOD_CACHE_DAYS = 2048


@dataclass(frozen=True)
class WorkingCalendar:
    """The national calendar adjusted by the admins' exceptions, with office hours.

    Precedence, most specific first: an extra working day (admin) > an extra day off (admin) > a
    Saturday the package says is worked > the weekend > the package's public holidays.
    """

    extra_days_off: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)
    config: CalendarConfig = field(default_factory=CalendarConfig)

    def __post_init__(self) -> None:
        # Accept any iterable of dates but keep the calendar hashable and immutable.
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        object.__setattr__(self, "extra_working_days", frozenset(self.extra_working_days))
        # day -> its office half-days: every deadline walks the same few weeks, and the calendar
        # is rebuilt (with a new, empty cache) whenever its exceptions are re-read
        object.__setattr__(self, "_period_cache", {})

    @property
    def morning(self) -> tuple[time, time]:
        return self.config.morning

    @property
    def afternoon(self) -> tuple[time, time]:
        return self.config.afternoon

    # -- days -----------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off:
            return False
        days_off, weekend_worked = _national(day.year)
        if day in weekend_worked:
            return True
        return day.weekday() < 5 and day not in days_off

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def _periods(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The office half-days of `day` as (start, end) in Vietnam time; none on a day off."""
        periods = self._period_cache.get(day)
        if periods is None:
            periods = () if not self.is_working_day(day) else tuple(
                (datetime.combine(day, begin, VN_TZ), datetime.combine(day, end, VN_TZ))
                for begin, end in (self.morning, self.afternoon))
            if len(self._period_cache) < PERIOD_CACHE_DAYS:
                self._period_cache[day] = periods
        return periods

    def _periods_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        while True:
            yield from self._periods(day)
            day += timedelta(days=1)

    def _end_of(self, day: date) -> datetime:
        return datetime.combine(day, self.config.day_end, VN_TZ).astimezone(UTC)

    # -- half-days ------------------------------------------------------------------------------

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The end of the last of `days` working days (half-day steps, rounded up) after `start`.

        Only half-days that begin after `start` count: the one in progress at reception is not a
        full half-day of work, and a start outside office hours (lunch, evening, a day off) counts
        from the next half-day. Due dates therefore always fall at 11:30 or 17:00 (by default). A
        zero budget still gives one half-day, so nothing is due the instant it is received.
        """
        _check_amount(days, "days")
        local = _local(start)
        wanted = max(1, math.ceil(days * 2))
        counted = (end for begin, end in self._periods_from(local.date()) if begin > local)
        for _ in range(wanted - 1):
            next(counted)
        return next(counted).astimezone(UTC)

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working half-days that begin after `start` and end by `end`, in days (the inverse of
        `add_working_days`: ``working_days_between(s, add_working_days(s, n)) == n``). Partial
        half-days are not counted. Negative when `end` is before `start` (time overdue)."""
        s, e = _local(start), _local(end)
        if e < s:
            return -self.working_days_between(end, start)
        halves, day = 0, s.date()
        while day <= e.date():
            halves += sum(1 for begin, finish in self._periods(day) if begin > s and finish <= e)
            day += timedelta(days=1)
        return halves / 2

    # -- hours ----------------------------------------------------------------------------------

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` office hours (rounded to the minute) after `start`, skipping lunch,
        nights, weekends and holidays. Used for the hour budgets of same-day procedures, where
        half-days are too coarse. A budget that runs out at 11:30 is due at 11:30, not 13:30."""
        _check_amount(hours, "hours")
        local = _local(start)
        remaining = timedelta(minutes=round(hours * 60))
        if not remaining:
            return local.astimezone(UTC)
        for begin, end in self._periods_from(local.date()):
            if end <= local:
                continue
            begin = max(begin, local)
            if remaining <= end - begin:
                return (begin + remaining).astimezone(UTC)
            remaining -= end - begin
        raise AssertionError("unreachable: the calendar has working days")  # pragma: no cover

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours elapsed between two moments (negative when `end` is before `start`)."""
        s, e = _local(start), _local(end)
        if e < s:
            return -self.working_hours_between(end, start)
        total, day = timedelta(), s.date()
        while day <= e.date():
            for begin, finish in self._periods(day):
                if finish > s and begin < e:
                    total += min(finish, e) - max(begin, s)
            day += timedelta(days=1)
        return total.total_seconds() / 3600

    # -- the other units ------------------------------------------------------------------------

    def same_day_deadline(self, received: datetime, cutoff: time | None = None) -> datetime:
        """Same working day ("trong ngày"): end of office hours on the day received if that is a working day
        and reception is before the cut-off (15:00 by default; strictly before), else end of the
        next working day — the desk cannot finish what arrives late in the afternoon."""
        local = _local(received)
        cut = self.config.same_day_cutoff if cutoff is None else cutoff
        day = local.date()
        if not (self.is_working_day(day) and local.time() < cut):
            day = self.next_working_day(day)
        return self._end_of(day)

    def add_calendar_days(self, start: datetime, days: float, *, roll_to_working_day: bool | None = None) -> datetime:
        """Deadlines in plain "ngày" (e.g. lý lịch tư pháp when configured so).

        As in Bộ luật Dân sự 2015 Đ147–148, the day of reception does not count and the period
        ends at the end of its last day — here the end of office hours. One-stop practice (and
        Đ148.5): a period ending on a weekend or holiday ends at the end of the next working day.
        `roll_to_working_day` (default from the config, True) turns that off.
        """
        _check_amount(days, "days")
        roll = self.config.roll_to_working_day if roll_to_working_day is None else roll_to_working_day
        day = _local(start).date() + timedelta(days=math.ceil(days))
        if roll and not self.is_working_day(day):
            day = self.next_working_day(day)
        return self._end_of(day)

    def deadline(self, start: datetime, value: float, unit: str, *, cutoff: time | None = None,
                 roll_to_working_day: bool | None = None) -> datetime:
        """Due moment for a legal deadline or step budget `value` `unit` from `start`.

        Units: "working_days" (half-day steps), "working_hours" (to the minute), "days" (calendar
        days, rolled to the end of the next working day when they end on a day off — the one-stop
        practice, `roll_to_working_day`), "same_day" (`value` ignored; `cutoff` or the config's).
        """
        if unit == "working_days":
            return self.add_working_days(start, value)
        if unit == "working_hours":
            return self.add_working_hours(start, value)
        if unit == "days":
            return self.add_calendar_days(start, value, roll_to_working_day=roll_to_working_day)
        if unit == "same_day":
            return self.same_day_deadline(start, cutoff)
        raise ValueError(f"unknown deadline unit {unit!r}; expected one of {', '.join(UNITS)}")

    def timeliness(self, finished_at: datetime, due_at: datetime) -> Timeliness:
        """Trước hạn / đúng hạn / quá hạn for the portal and the tiến độ indicator.

        "late" after `due_at`; "early" when the result could be returned on a working day before
        the due date's day (a result finished on Saturday counts from the next working day, since
        the desk cannot return it earlier); otherwise "on_time".
        """
        finished, due = _local(finished_at), _local(due_at)
        if finished > due:
            return "late"
        day = finished.date()
        returnable = day if self.is_working_day(day) else self.next_working_day(day)
        return "early" if returnable < due.date() else "on_time"


DEFAULT_CALENDAR = WorkingCalendar()


def calendar_from_exceptions(rows: Iterable[ExceptionRow], config: CalendarConfig | None = None) -> WorkingCalendar:
    """A calendar from the admins' CalendarException rows (kind "off" or "working").

    The rows are data, read by the caller, so this module stays free of the database and the
    calendar can be rebuilt whenever an admin edits a compensatory day or a swapped Saturday.
    """
    off: set[date] = set()
    working: set[date] = set()
    for row in rows:
        day = row.day.date() if isinstance(row.day, datetime) else row.day
        if row.kind not in ("off", "working"):
            raise ValueError(f"calendar exception {day}: kind must be 'off' or 'working', not {row.kind!r}")
        (off if row.kind == "off" else working).add(day)
    if both := off & working:
        raise ValueError(f"calendar exceptions both off and working: {sorted(both)}")
    return WorkingCalendar(frozenset(off), frozenset(working), config or CalendarConfig())


def deadline(start: datetime, value: float, unit: str, calendar: WorkingCalendar = DEFAULT_CALENDAR, *,
             cutoff: time | None = None, roll_to_working_day: bool | None = None) -> datetime:
    """Due moment for a legal deadline or step budget in procedure.json (see `WorkingCalendar.deadline`)."""
    return calendar.deadline(start, value, unit, cutoff=cutoff, roll_to_working_day=roll_to_working_day)


def same_day_deadline(received: datetime, cutoff: time | None = None,
                      calendar: WorkingCalendar = DEFAULT_CALENDAR) -> datetime:
    """See `WorkingCalendar.same_day_deadline`."""
    return calendar.same_day_deadline(received, cutoff)


def timeliness(finished_at: datetime, due_at: datetime, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> Timeliness:
    """See `WorkingCalendar.timeliness`."""
    return calendar.timeliness(finished_at, due_at)
