"""The legal clock: working days and hours on Vietnam's calendar with admin exceptions.

Half-day rule used in the hand computations below: only half-days (07:30–11:30, 13:30–17:00) that
*begin after* reception count, so the half-day in progress at reception is skipped and a reception
outside office hours counts from the next half-day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from types import SimpleNamespace

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.calendar import (
    DEFAULT_CALENDAR,
    VN_TZ,
    CalendarConfig,
    WorkingCalendar,
    calendar_from_exceptions,
    deadline,
    same_day_deadline,
    timeliness,
)


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def local(moment: datetime) -> datetime:
    return moment.astimezone(VN_TZ)


def rows(**days: str) -> list[SimpleNamespace]:
    """CalendarException-like rows from d_YYYY_MM_DD="off"|"working"."""
    return [SimpleNamespace(day=date(*map(int, key[2:].split("_"))), kind=kind) for key, kind in days.items()]


# -- the existing cases -----------------------------------------------------------------------------

def test_three_working_days_from_monday_morning_is_thursday_noon():
    due = deadline(vn(2026, 11, 30, 9, 0), 3, "working_days")
    assert due.astimezone(VN_TZ) == vn(2026, 12, 3, 11, 30)


def test_vietnam_culture_day_24_november_is_skipped():
    due = deadline(vn(2026, 11, 23, 9, 0), 3, "working_days")
    assert due.astimezone(VN_TZ) == vn(2026, 11, 27, 11, 30)


def test_a_dossier_received_after_hours_counts_from_the_next_working_day():
    due = deadline(vn(2026, 11, 27, 18, 0), 1, "working_days")  # Friday evening
    assert due.astimezone(VN_TZ) == vn(2026, 11, 30, 17, 0)  # Monday afternoon


def test_tet_2026_is_skipped():
    due = deadline(vn(2026, 2, 13, 16, 0), 1, "working_days")  # Friday afternoon before Tết (16–20/2)
    assert due.astimezone(VN_TZ) == vn(2026, 2, 23, 17, 0)


def test_admin_exceptions_override_the_national_calendar():
    swapped = WorkingCalendar(extra_working_days=frozenset({date(2026, 11, 28)}),
                              extra_days_off=frozenset({date(2026, 11, 30)}))
    assert swapped.is_working_day(date(2026, 11, 28)) and not swapped.is_working_day(date(2026, 11, 30))


# -- national holidays as the package lists them ------------------------------------------------------

def test_tet_2026_three_working_days_from_friday_afternoon():
    # Received Fri 13/2 14:00: Friday afternoon is in progress and does not count; Mon 16 – Fri 20/2
    # is Tết and 21–22 a weekend. Counted: Mon 23 AM (0.5), PM (1), Tue 24 AM (1.5), PM (2),
    # Wed 25 AM (2.5), PM (3) -> due Wednesday 25/2 at 17:00.
    assert all(not DEFAULT_CALENDAR.is_working_day(date(2026, 2, d)) for d in range(16, 21))
    received = vn(2026, 2, 13, 14, 0)
    due = deadline(received, 3, "working_days")
    assert local(due) == vn(2026, 2, 25, 17, 0)
    assert DEFAULT_CALENDAR.working_days_between(received, due) == 3


def test_tet_2027_follows_the_package_4_to_10_february():
    # The package lists 29 Tết (Thu 4/2) to mùng 5 (Wed 10/2/2027), not 5–11/2.
    package = holidays.country_holidays("VN", years=2027)
    assert {d for d in package if d.month == 2} == {date(2027, 2, d) for d in range(4, 11)}
    assert DEFAULT_CALENDAR.is_working_day(date(2027, 2, 3))
    assert not any(DEFAULT_CALENDAR.is_working_day(date(2027, 2, d)) for d in range(4, 11))
    assert DEFAULT_CALENDAR.is_working_day(date(2027, 2, 11))
    # Wed 3/2 10:00: Wed PM (0.5) then Thu 11/2 AM (1).
    assert local(deadline(vn(2027, 2, 3, 10, 0), 1, "working_days")) == vn(2027, 2, 11, 11, 30)
    assert local(deadline(vn(2027, 2, 3, 15, 30), 0, "same_day")) == vn(2027, 2, 11, 17, 0)


def test_30_april_and_1_may_2026_thursday_friday():
    assert not DEFAULT_CALENDAR.is_working_day(date(2026, 4, 30))
    assert not DEFAULT_CALENDAR.is_working_day(date(2026, 5, 1))
    assert not DEFAULT_CALENDAR.is_working_day(date(2026, 4, 27))  # Giỗ Tổ (Sunday 26/4) observed
    # Wed 29/4 16:00: Wednesday afternoon in progress; Thu–Sun off; Mon 4/5 AM and PM.
    assert local(deadline(vn(2026, 4, 29, 16, 0), 1, "working_days")) == vn(2026, 5, 4, 17, 0)


def test_national_day_2026_with_its_adjacent_and_substituted_days():
    package = holidays.country_holidays("VN", years=2026)
    assert {d for d in package if d.month in (8, 9)} == {date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2)}
    assert "22/08/2026" in package[date(2026, 8, 31)] or "08/22/2026" in package[date(2026, 8, 31)]
    for day in (31, 1, 2):
        assert not DEFAULT_CALENDAR.is_working_day(date(2026, 8 if day == 31 else 9, day))
    # The package's swap: Saturday 22/8/2026 is worked in exchange for Monday 31/8.
    assert DEFAULT_CALENDAR.is_working_day(date(2026, 8, 22))
    # Fri 28/8 10:00: Fri PM (0.5), then Mon 31/8–Wed 2/9 off, Thu 3/9 AM (1).
    assert local(deadline(vn(2026, 8, 28, 10, 0), 1, "working_days")) == vn(2026, 9, 3, 11, 30)
    # Fri 21/8 14:00: the worked Saturday counts, AM and PM.
    assert local(deadline(vn(2026, 8, 21, 14, 0), 1, "working_days")) == vn(2026, 8, 22, 17, 0)


# -- admin exceptions ---------------------------------------------------------------------------------

def test_an_admin_extra_day_off():
    received = vn(2025, 12, 31, 14, 0)  # Wednesday afternoon; 1/1/2026 is New Year's Day
    assert local(deadline(received, 1, "working_days")) == vn(2026, 1, 2, 17, 0)
    bridge = calendar_from_exceptions(rows(d_2026_01_02="off"))
    assert local(deadline(received, 1, "working_days", bridge)) == vn(2026, 1, 5, 17, 0)


def test_a_swapped_working_saturday():
    received = vn(2026, 11, 27, 14, 0)  # Friday afternoon
    assert local(deadline(received, 1, "working_days")) == vn(2026, 11, 30, 17, 0)
    swapped = calendar_from_exceptions(rows(d_2026_11_28="working"))
    assert local(deadline(received, 1, "working_days", swapped)) == vn(2026, 11, 28, 17, 0)


def test_a_working_exception_disables_a_package_holiday_and_off_beats_a_package_swap():
    no_culture_day = calendar_from_exceptions(rows(d_2026_11_24="working"))
    # Mon 9:00: Mon PM, Tue AM, Tue PM, Wed AM, Wed PM, Thu AM.
    assert local(deadline(vn(2026, 11, 23, 9, 0), 3, "working_days", no_culture_day)) == vn(2026, 11, 26, 11, 30)
    assert not calendar_from_exceptions(rows(d_2026_08_22="off")).is_working_day(date(2026, 8, 22))


def test_calendar_from_exceptions_refuses_bad_rows():
    with pytest.raises(ValueError):
        calendar_from_exceptions([SimpleNamespace(day=date(2026, 1, 2), kind="holiday")])
    with pytest.raises(ValueError):
        calendar_from_exceptions([SimpleNamespace(day=date(2026, 1, 2), kind="off"),
                                  SimpleNamespace(day=date(2026, 1, 2), kind="working")])


# -- same day, hours, calendar days -------------------------------------------------------------------

@pytest.mark.parametrize(("received", "due"), [
    (vn(2026, 12, 1, 10, 0), vn(2026, 12, 1, 17, 0)),   # Tuesday morning: same day
    (vn(2026, 12, 1, 6, 45), vn(2026, 12, 1, 17, 0)),   # before opening still counts as that day
    (vn(2026, 12, 1, 14, 59), vn(2026, 12, 1, 17, 0)),
    (vn(2026, 12, 1, 15, 0), vn(2026, 12, 2, 17, 0)),   # at the cut-off: next working day
    (vn(2026, 12, 1, 15, 30), vn(2026, 12, 2, 17, 0)),
    (vn(2026, 12, 4, 15, 30), vn(2026, 12, 7, 17, 0)),  # Friday after 15:00: Monday
    (vn(2026, 12, 5, 9, 0), vn(2026, 12, 7, 17, 0)),    # Saturday: Monday
])
def test_same_day_rule(received: datetime, due: datetime):
    assert local(same_day_deadline(received)) == due
    assert local(deadline(received, 99, "same_day")) == due  # the value is ignored


def test_same_day_cutoff_is_configurable():
    received = vn(2026, 12, 1, 15, 30)
    assert local(deadline(received, 0, "same_day", cutoff=time(16, 0))) == vn(2026, 12, 1, 17, 0)
    late_desk = WorkingCalendar(config=CalendarConfig(same_day_cutoff=time(16, 0)))
    assert local(late_desk.same_day_deadline(received)) == vn(2026, 12, 1, 17, 0)


@pytest.mark.parametrize(("start", "hours", "due"), [
    (vn(2026, 12, 1, 10, 30), 2, vn(2026, 12, 1, 14, 30)),      # across lunch: 1 h + 1 h
    (vn(2026, 12, 1, 11, 0), 4 / 3, vn(2026, 12, 1, 14, 20)),   # 1 h 20 min: 30 min + 50 min
    (vn(2026, 12, 1, 12, 0), 0.5, vn(2026, 12, 1, 14, 0)),      # received at lunch
    (vn(2026, 12, 1, 16, 0), 1, vn(2026, 12, 1, 17, 0)),        # runs out at closing, not next morning
    (vn(2026, 12, 1, 10, 30), 1, vn(2026, 12, 1, 11, 30)),      # runs out at noon, not 13:30
    (vn(2026, 12, 1, 18, 0), 1, vn(2026, 12, 2, 8, 30)),        # evening: from next morning
    (vn(2026, 12, 4, 16, 0), 2, vn(2026, 12, 7, 8, 30)),        # Friday -> Monday across the weekend
    (vn(2026, 12, 1, 14, 0), 4, vn(2026, 12, 2, 8, 30)),        # khai sinh's 4 h budget
    (vn(2026, 2, 13, 16, 30), 1, vn(2026, 2, 23, 8, 0)),        # across Tết 2026
])
def test_working_hours(start: datetime, hours: float, due: datetime):
    assert local(deadline(start, hours, "working_hours")) == due
    assert DEFAULT_CALENDAR.working_hours_between(start, due) == pytest.approx(hours)


def test_a_full_working_day_is_seven_and_a_half_hours():
    assert DEFAULT_CALENDAR.working_hours_between(vn(2026, 12, 1, 0, 0), vn(2026, 12, 2, 0, 0)) == 7.5
    assert DEFAULT_CALENDAR.working_hours_between(vn(2026, 12, 5, 0, 0), vn(2026, 12, 7, 0, 0)) == 0


def test_calendar_days_roll_off_a_sunday():
    received = vn(2026, 11, 25, 9, 0)  # Wednesday; day 4 is Sunday 29/11
    assert local(deadline(received, 4, "days")) == vn(2026, 11, 30, 17, 0)
    assert local(deadline(received, 4, "days", roll_to_working_day=False)) == vn(2026, 11, 29, 17, 0)
    strict = WorkingCalendar(config=CalendarConfig(roll_to_working_day=False))
    assert local(deadline(received, 4, "days", strict)) == vn(2026, 11, 29, 17, 0)
    assert local(deadline(received, 2, "days")) == vn(2026, 11, 27, 17, 0)  # a working day: no roll


def test_ten_calendar_days_ending_in_tet_roll_past_it():
    # Lý lịch tư pháp in "ngày": Tue 10/2/2026 + 10 = Fri 20/2 (Tết) -> Mon 23/2 end of day.
    assert local(deadline(vn(2026, 2, 10, 9, 0), 10, "days")) == vn(2026, 2, 23, 17, 0)


# -- between, timeliness, configuration, errors -------------------------------------------------------

def test_working_days_between():
    cal = DEFAULT_CALENDAR
    assert cal.working_days_between(vn(2026, 11, 30, 9, 0), vn(2026, 12, 3, 11, 30)) == 3
    assert cal.working_days_between(vn(2026, 11, 30, 9, 0), vn(2026, 12, 1, 10, 0)) == 0.5  # partial: not counted
    assert cal.working_days_between(vn(2026, 12, 3, 11, 30), vn(2026, 11, 30, 9, 0)) == -3


@pytest.mark.parametrize(("finished", "due", "expected"), [
    (vn(2026, 12, 1, 16, 0), vn(2026, 12, 2, 17, 0), "early"),      # the working day before
    (vn(2026, 12, 2, 9, 0), vn(2026, 12, 2, 17, 0), "on_time"),     # the due day itself
    (vn(2026, 12, 2, 17, 0), vn(2026, 12, 2, 17, 0), "on_time"),    # exactly at the due moment
    (vn(2026, 12, 2, 17, 1), vn(2026, 12, 2, 17, 0), "late"),
    (vn(2026, 12, 3, 8, 0), vn(2026, 12, 2, 17, 0), "late"),
    (vn(2026, 12, 5, 10, 0), vn(2026, 12, 7, 17, 0), "on_time"),    # Saturday: returnable Monday, the due day
    (vn(2026, 12, 5, 10, 0), vn(2026, 12, 9, 17, 0), "early"),      # Saturday, due Wednesday
])
def test_timeliness(finished: datetime, due: datetime, expected: str):
    assert timeliness(finished, due) == expected
    assert DEFAULT_CALENDAR.timeliness(finished.astimezone(UTC), due.astimezone(UTC)) == expected


def test_office_hours_are_configurable():
    cal = WorkingCalendar(config=CalendarConfig(morning=(time(8), time(12)), afternoon=(time(13), time(17))))
    assert local(cal.add_working_days(vn(2026, 12, 1, 9, 0), 1)) == vn(2026, 12, 2, 12, 0)
    assert local(cal.add_working_hours(vn(2026, 12, 1, 11, 0), 2)) == vn(2026, 12, 1, 14, 0)
    with pytest.raises(ValueError):
        CalendarConfig(morning=(time(8), time(14)), afternoon=(time(13), time(17)))


def test_results_are_utc_and_bad_input_is_refused():
    assert deadline(vn(2026, 12, 1, 9, 0), 1, "working_days").tzinfo is UTC
    with pytest.raises(ValueError):
        deadline(vn(2026, 12, 1, 9, 0), 2, "weeks")
    with pytest.raises(ValueError):
        deadline(vn(2026, 12, 1, 9, 0), -1, "working_days")
    with pytest.raises(ValueError):
        deadline(datetime(2026, 12, 1, 9, 0), 1, "working_hours")


# -- properties ---------------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _package(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


def expected_working(cal: WorkingCalendar, day: date) -> bool:
    """Independent oracle: admin exceptions, then the package's swaps, weekends and holidays."""
    if day in cal.extra_working_days:
        return True
    if day in cal.extra_days_off:
        return False
    package = _package(day.year)
    if day in getattr(package, "weekend_workdays", ()):
        return True
    return day.weekday() < 5 and day not in package


starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(VN_TZ))
half_days = st.integers(1, 120).map(lambda k: k / 2)  # 0.5 .. 60 working days
minutes = st.integers(1, 60 * 8 * 15).map(lambda m: m / 60)  # up to ~16 working days of hours
exception_rows = st.dictionaries(st.dates(date(2025, 1, 1), date(2027, 12, 31)),
                                 st.sampled_from(["off", "working"]), max_size=40)
calendars = st.one_of(st.just(DEFAULT_CALENDAR), exception_rows.map(
    lambda days: calendar_from_exceptions(SimpleNamespace(day=d, kind=k) for d, k in days.items())))


@given(cal=calendars, start=starts, n=half_days)
def test_working_days_land_on_a_working_half_day_end_and_round_trip(cal, start, n):
    due = local(cal.add_working_days(start, n))
    assert expected_working(cal, due.date())
    assert due.timetz().replace(tzinfo=None) in (cal.morning[1], cal.afternoon[1])
    assert due > start
    assert cal.working_days_between(start, due) == n


@given(cal=calendars, start=starts, n=half_days, m=half_days)
def test_working_days_are_monotonic_in_n(cal, start, n, m):
    if n != m:
        (low, high) = sorted((n, m))
        assert cal.add_working_days(start, low) < cal.add_working_days(start, high)


@given(cal=calendars, a=starts, b=starts, n=half_days)
def test_working_days_are_monotonic_in_start(cal, a, b, n):
    early, late = sorted((a, b))
    assert cal.add_working_days(early, n) <= cal.add_working_days(late, n)


@given(cal=calendars, start=starts, hours=minutes)
def test_working_hours_land_in_office_hours_and_round_trip(cal, start, hours):
    due = local(cal.add_working_hours(start, hours))
    assert expected_working(cal, due.date())
    clock = due.timetz().replace(tzinfo=None)
    assert cal.morning[0] < clock <= cal.morning[1] or cal.afternoon[0] < clock <= cal.afternoon[1]
    assert cal.working_hours_between(start, due) == hours


@given(cal=calendars, start=starts, h=minutes, k=minutes)
def test_working_hours_are_monotonic_in_hours(cal, start, h, k):
    if h != k:
        low, high = sorted((h, k))
        assert cal.add_working_hours(start, low) < cal.add_working_hours(start, high)


@given(cal=calendars, a=starts, b=starts, hours=minutes)
def test_working_hours_are_monotonic_in_start(cal, a, b, hours):
    early, late = sorted((a, b))
    assert cal.add_working_hours(early, hours) <= cal.add_working_hours(late, hours)


@given(cal=calendars, start=starts, n=half_days)
def test_half_days_and_hours_agree(cal, start, n):
    """Consecutive working half-days alternate morning (4 h) and afternoon (3.5 h): n counted days
    hold 7.5 h per whole day, 3.5–4 h for an odd half, plus at most the 4-hour half-day in progress
    at reception."""
    hours = cal.working_hours_between(start, cal.add_working_days(start, n))
    whole, odd = divmod(int(n * 2), 2)
    assert 7.5 * whole + 3.5 * odd <= hours <= 7.5 * whole + 4 * odd + 4


@given(cal=calendars, received=starts)
def test_same_day_deadline_is_the_end_of_a_working_day(cal, received):
    due = local(cal.same_day_deadline(received))
    assert expected_working(cal, due.date()) and due.timetz().replace(tzinfo=None) == cal.afternoon[1]
    assert local(received).date() <= due.date()


def test_office_hours_and_the_cut_off_come_from_the_environment():
    from datetime import time

    import pytest

    from engine.config import Settings

    settings = Settings.from_env({"MOTCUA_OFFICE_MORNING": "08:00-12:00", "MOTCUA_OFFICE_AFTERNOON": "13:00-17:30",
                                  "MOTCUA_SAME_DAY_CUTOFF": "16:00"})
    config = settings.calendar_config()
    assert config.morning == (time(8), time(12)) and config.afternoon == (time(13), time(17, 30))
    assert config.same_day_cutoff == time(16)
    with pytest.raises(ValueError, match="MOTCUA_OFFICE"):
        Settings.from_env({"MOTCUA_OFFICE_MORNING": "sáng"})


def test_each_calendar_remembers_its_own_half_days():
    """The half-days a calendar worked out for a day are its own: a calendar built with another
    exception (as after an admin's change) answers by it, and the cache stops at its bound."""
    received = vn(2025, 12, 31, 14, 0)
    plain = WorkingCalendar()
    first = [local(deadline(received, days, "working_days", plain)) for days in (1, 2, 3)]
    assert first == [local(deadline(received, days, "working_days", plain)) for days in (1, 2, 3)]
    assert first[0] == vn(2026, 1, 2, 17, 0)
    bridge = calendar_from_exceptions(rows(d_2026_01_02="off"))
    assert local(deadline(received, 1, "working_days", bridge)) == vn(2026, 1, 5, 17, 0)
    assert local(deadline(received, 1, "working_days", plain)) == vn(2026, 1, 2, 17, 0)
    assert plain == WorkingCalendar() and hash(plain) == hash(WorkingCalendar())  # the cache is no field

    from engine import calendar as module

    bounded = WorkingCalendar()
    start = vn(2026, 1, 5, 7, 0)
    far = bounded.add_working_days(start, 1500)  # about six years of half-days
    assert len(bounded._period_cache) == module.PERIOD_CACHE_DAYS
    assert far == WorkingCalendar().add_working_days(start, 1500) == bounded.add_working_days(start, 1500)
