"""Login throttling: failed password logins counted per username and per client address, with a
lock once too many fail within the window.

The counts live in the database (table login_throttle, migration 0009) rather than in a process's
memory, so every gunicorn worker and every machine sees the same lock. The username is counted as
typed, whether or not such an account exists: a lock, and the message that tells of it, must not
reveal which usernames are real. Lockouts are logged (never a password) for the operators.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import AuthenticationFailed
from engine.models import LoginThrottle
from engine.origin import current_origin

log = logging.getLogger("motcua.security")


class LoginThrottled(AuthenticationFailed):
    """Too many failed logins for this username or from this address; no password is checked."""

    message_vi = "Đăng nhập không thành công quá nhiều lần. Vui lòng thử lại sau ít phút."

    def __init__(self, until: datetime, now: datetime) -> None:
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        super().__init__("login throttled", message_vi=(
            f"Đăng nhập không thành công quá nhiều lần. Vui lòng thử lại sau {minutes} phút."))
        self.until = until


@dataclass(frozen=True)
class _Counter:
    """One thing counted: its key and how many failures lock it."""

    key: str
    limit: int


def _counters(ctx: EngineContext, username: str) -> list[_Counter]:
    settings = ctx.settings
    counters = [_Counter("user:" + username[:100], settings.login_max_failures)]
    origin = current_origin()  # "ip:<address>" inside a web request (web/request_scope.py), else None
    if origin and origin.startswith("ip:"):
        counters.append(_Counter(origin, settings.login_ip_max_failures))
    return [c for c in counters if c.limit > 0]


def refuse_if_locked(ctx: EngineContext, username: str) -> None:
    """Raise LoginThrottled while the username or the client's address is locked."""
    keys = [c.key for c in _counters(ctx, username)]
    if not keys:
        return
    now = datetime.now(UTC)
    with ctx.sessions() as session:
        until = session.scalar(select(LoginThrottle.locked_until).where(
            LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now)
            .order_by(LoginThrottle.locked_until.desc()).limit(1))
    if until is not None:
        raise LoginThrottled(until, now)


def record_failure(ctx: EngineContext, username: str) -> datetime | None:
    """Count a failed login; returns when the lock it caused ends (None: not locked)."""
    counters = _counters(ctx, username)
    if not counters:
        return None
    for attempt in (1, 2):  # a second process may insert the same new key first
        try:
            return _count(ctx, counters)
        except IntegrityError:
            if attempt == 2:
                raise
    return None


def _count(ctx: EngineContext, counters: list[_Counter]) -> datetime | None:
    settings = ctx.settings
    now = datetime.now(UTC)
    window = timedelta(minutes=settings.login_window_minutes)
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    locked: datetime | None = None
    with transaction(ctx.sessions) as session:
        session.execute(delete(LoginThrottle).where(  # forget what no longer counts
            LoginThrottle.window_started_at < now - window,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)))
        for counter in counters:
            row = session.get(LoginThrottle, counter.key, with_for_update=True)
            if row is None:
                row = LoginThrottle(key=counter.key, failures=0, window_started_at=now)
                session.add(row)
            elif row.window_started_at + window <= now:
                row.failures, row.window_started_at = 0, now
            row.failures += 1
            if row.failures >= counter.limit:
                # a fresh window after the lock: the next few tries count again from zero
                row.failures, row.window_started_at, row.locked_until = 0, now, now + lockout
                locked = max(locked or row.locked_until, row.locked_until)
                log.warning("login locked: %s after %d failed logins, until %s", _printable(counter.key),
                            counter.limit, row.locked_until.isoformat(timespec="seconds"))
        session.flush()
    return locked


def record_success(ctx: EngineContext, username: str) -> None:
    """A successful login clears its username's count (never the address's: one valid account
    must not let an address keep guessing at others)."""
    with transaction(ctx.sessions) as session:
        session.execute(delete(LoginThrottle).where(LoginThrottle.key == "user:" + username[:100]))


def _printable(key: str) -> str:
    """The key as a log can carry it: a username is typed by anyone, so no line breaks or controls."""
    return key.encode("unicode_escape").decode("ascii")[:140]
