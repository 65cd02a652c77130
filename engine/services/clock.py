"""The dossier's legal clock: appointment at reception, supplement rules, deadline changes, and
the early / on-time / late classification at the end. Every change is recorded in the history
with the old and new due dates (the portal's supplement history needs both)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine import history
from engine.calendar import WorkingCalendar, deadline
from engine.models import Dossier

FINAL = {"refused", "withdrawn", "stopped", "returned"}


def legal_due(meta: dict[str, Any], start: datetime, calendar: WorkingCalendar,
              rule_name: str | None = None) -> datetime | None:
    """Due moment from `start` under the rule in force (an alternative from deadline_rules, or the
    procedure's legal deadline)."""
    rule = (meta.get("deadline_rules") or {}).get(rule_name) if rule_name else None
    rule = rule or meta.get("deadline")
    if not rule:
        return None
    cutoff = rule.get("cutoff")
    kwargs = {"cutoff": _time(cutoff)} if cutoff else {}
    return deadline(start, float(rule.get("value", 0)), rule.get("unit", "working_days"), calendar, **kwargs)


def _time(text: str):
    from datetime import time

    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _record(session: Session, dossier: Dossier, action: str, old: datetime | None, now: datetime,
            **extra: Any) -> None:
    history.record(session, dossier, "clock", status=dossier.status, at=now, data={
        "action": action, "old_due": old.isoformat() if old else None,
        "new_due": dossier.due_at.isoformat() if dossier.due_at else None, **extra})


def status_changed(session: Session, dossier: Dossier, meta: dict[str, Any], old: str, new: str,
                   calendar: WorkingCalendar, now: datetime) -> None:
    """Apply the clock rules for a status transition (called before the new status is recorded)."""
    rule = meta.get("supplement_clock", "restart")
    if new == "received" and dossier.received_at is None:
        dossier.received_at = dossier.clock_started_at = now
        dossier.due_at = legal_due(meta, now, calendar, dossier.deadline_rule)
        _record(session, dossier, "start", None, now)
    elif new == "supplement_requested" and dossier.received_at is not None:
        if rule == "pause":
            dossier.clock_paused_at = now
        _record(session, dossier, "pause" if rule == "pause" else "await_supplement", dossier.due_at, now,
                rule=rule)
    elif old == "supplement_requested" and new not in FINAL and dossier.received_at is not None:
        before = dossier.due_at
        if rule == "pause" and dossier.clock_paused_at is not None and before is not None:
            waited = calendar.working_days_between(dossier.clock_paused_at, now)
            dossier.due_at = calendar.add_working_days(before, waited) if waited > 0 else before
            dossier.clock_paused_at = None
            _record(session, dossier, "resume", before, now, rule=rule, waited_working_days=waited)
        else:
            # The one-stop rule: the time limit starts again once the complete dossier arrives.
            dossier.clock_started_at = now
            dossier.due_at = legal_due(meta, now, calendar, dossier.deadline_rule)
            _record(session, dossier, "restart", before, now, rule=rule)


def deadline_rule_entered(session: Session, dossier: Dossier, meta: dict[str, Any], name: str,
                          calendar: WorkingCalendar, now: datetime) -> None:
    """An element with `deadlineRule` switches to an alternative legal deadline (e.g. verification
    extends 10 to 15 days), counted from when the clock last started (reception, or the restart
    after a supplement); later restarts keep the rule."""
    if name not in (meta.get("deadline_rules") or {}):
        return
    dossier.deadline_rule = name
    if dossier.received_at is None:
        return
    before = dossier.due_at
    dossier.due_at = legal_due(meta, dossier.clock_started_at or dossier.received_at, calendar, name)
    _record(session, dossier, "rule", before, now, rule=name)


def finished(dossier: Dossier, calendar: WorkingCalendar, now: datetime) -> None:
    dossier.finished_at = now
    if dossier.due_at is not None and dossier.received_at is not None:
        dossier.timeliness = calendar.timeliness(now, dossier.due_at)
