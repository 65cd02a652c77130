"""Admin-managed calendar exceptions change the deadlines computed afterwards."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.calendar import VN_TZ
from engine.errors import Forbidden, InvalidInput
from engine.services.calendar_admin import list_exceptions, remove_exception, set_exception


def test_an_extra_day_off_moves_deadlines_and_removing_it_restores_them(ctx, actors):
    start = datetime(2026, 12, 7, 9, 0, tzinfo=VN_TZ)  # Monday
    before = ctx.calendar().add_working_days(start, 1)
    set_exception(ctx, actors["quantri"], date(2026, 12, 8), "off", "Nghỉ bù (quyết định của Thủ tướng)")
    assert ctx.calendar().add_working_days(start, 1) > before
    assert [e.day for e in list_exceptions(ctx, 2026)] == [date(2026, 12, 8)]
    remove_exception(ctx, actors["quantri"], date(2026, 12, 8))
    assert ctx.calendar().add_working_days(start, 1) == before


def test_a_swapped_working_saturday_counts_as_a_working_day(ctx, actors):
    saturday = date(2026, 12, 12)
    assert not ctx.calendar().is_working_day(saturday)
    set_exception(ctx, actors["quantri"], saturday, "working", "Làm bù")
    assert ctx.calendar().is_working_day(saturday)


def test_only_admins_manage_the_calendar_and_kinds_are_checked(ctx, actors):
    with pytest.raises(Forbidden):
        set_exception(ctx, actors["tiepnhan"], date(2026, 12, 8), "off")
    with pytest.raises(InvalidInput):
        set_exception(ctx, actors["quantri"], date(2026, 12, 8), "holiday")
