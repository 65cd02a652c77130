"""Waiting, in a test, until the call under test is blocked on a row lock (PostgreSQL)."""

from __future__ import annotations

import time

from sqlalchemy import text


def waiting_on_a_lock(ctx, timeout: float = 10.0) -> None:
    """Until a backend of this database waits for a row lock (the call under test reached it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with ctx.db.connect() as conn:
            if conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock'")).scalar():
                return
        time.sleep(0.02)
    raise AssertionError("nothing waited for the row lock")
