"""Working-day arithmetic for legal deadlines (Vietnam): Monday–Friday minus public holidays.

Lunar holidays come from the `holidays` package; admin-managed exceptions (extra days off,
swapped working Saturdays) are passed in. Granularity is the half day (morning / afternoon), as
one-stop desks count it. Issue #3 adds the DB-stored exceptions and office-hour configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=[year]).keys())


@dataclass(frozen=True)
class WorkingCalendar:
    extra_days_off: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)
    morning: tuple[time, time] = (time(7, 30), time(11, 30))
    afternoon: tuple[time, time] = (time(13, 30), time(17, 0))

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off or day.weekday() >= 5:
            return False
        return day not in _public_holidays(day.year)

    def _half_days_after(self, moment: datetime):
        """Yield the ends of the working half-days that end after `moment` (local time)."""
        local = moment.astimezone(VN_TZ)
        day = local.date()
        first = 0 if local.time() < self.morning[1] else 1 if local.time() < self.afternoon[1] else 2
        while True:
            if self.is_working_day(day):
                for index, (_start, end) in enumerate((self.morning, self.afternoon)):
                    if index >= first:
                        yield datetime.combine(day, end, VN_TZ)
            day += timedelta(days=1)
            first = 0

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """The moment `days` working days (half-day steps, rounded up) after `start`."""
        halves = max(1, int(-(-days * 2 // 1)))
        # The half-day in progress at `start` does not count: skip to the next one's end.
        ends = self._half_days_after(start)
        local = start.astimezone(VN_TZ)
        in_progress = self.is_working_day(local.date()) and (
            self.morning[0] <= local.time() < self.morning[1] or self.afternoon[0] <= local.time() < self.afternoon[1]
        )
        if in_progress:
            next(ends)
        due = None
        for _ in range(halves):
            due = next(ends)
        return due.astimezone(ZoneInfo("UTC"))


DEFAULT_CALENDAR = WorkingCalendar()


def deadline(start: datetime, value: float, unit: str, calendar: WorkingCalendar = DEFAULT_CALENDAR) -> datetime:
    """Due moment for a legal deadline or step budget expressed in procedure.json."""
    if unit == "working_days":
        return calendar.add_working_days(start, value)
    if unit == "days":
        return start + timedelta(days=value)
    if unit == "working_hours":
        # Until #3 adds hour arithmetic, hours count as fractions of an 8-hour working day.
        return calendar.add_working_days(start, value / 8)
    raise ValueError(f"unknown deadline unit {unit!r}")
