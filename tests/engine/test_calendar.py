"""Working-day deadlines (the full calendar with admin exceptions is issue #3)."""

from __future__ import annotations

from datetime import date, datetime

from engine.calendar import VN_TZ, WorkingCalendar, deadline


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


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
