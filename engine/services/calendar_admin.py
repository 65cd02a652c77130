"""Admins keep the legal calendar in step with the government's yearly decisions: extra days off
(compensatory days) and swapped working Saturdays. Changes apply to deadlines computed afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.models import CalendarException
from engine.services.accounts import Actor

KINDS = {"off": "Ngày nghỉ bù / nghỉ thêm", "working": "Ngày làm việc bù (làm bù thứ Bảy)"}


@dataclass(frozen=True)
class CalendarExceptionView:
    day: date
    kind: str
    label: str
    note: str
    created_by: str | None


def _require_admin(actor: Actor) -> None:
    if actor.role != "admin":
        raise Forbidden("only admins manage the calendar")


def list_exceptions(ctx: EngineContext, year: int | None = None) -> list[CalendarExceptionView]:
    query = select(CalendarException).order_by(CalendarException.day)
    if year is not None:
        query = query.where(CalendarException.day >= date(year, 1, 1), CalendarException.day <= date(year, 12, 31))
    with ctx.sessions() as session:
        return [CalendarExceptionView(r.day, r.kind, KINDS[r.kind], r.note, r.created_by) for r in session.scalars(query)]


def set_exception(ctx: EngineContext, actor: Actor, day: date, kind: str, note: str = "") -> CalendarExceptionView:
    """Add or replace the exception for `day`."""
    _require_admin(actor)
    if kind not in KINDS:
        raise InvalidInput({"kind": ["Loại ngày phải là 'off' (nghỉ) hoặc 'working' (làm việc)."]})
    with transaction(ctx.sessions) as session:
        row = session.get(CalendarException, day)
        if row is None:
            row = CalendarException(day=day, kind=kind, note=note, created_by=actor.username,
                                    created_at=datetime.now(UTC))
            session.add(row)
        else:
            row.kind, row.note, row.created_by = kind, note, actor.username
    ctx.forget_calendar()
    return CalendarExceptionView(day, kind, KINDS[kind], note, actor.username)


def remove_exception(ctx: EngineContext, actor: Actor, day: date) -> None:
    _require_admin(actor)
    with transaction(ctx.sessions) as session:
        row = session.get(CalendarException, day)
        if row is None:
            raise NotFound(f"no exception on {day}", message_vi="Không có ngày ngoại lệ này.")
        session.delete(row)
    ctx.forget_calendar()
