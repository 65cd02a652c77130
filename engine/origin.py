"""Where the current action comes from ("ip:203.0.113.7", "worker", "cli"), for the audit trail.

A context variable rather than a parameter: the history is written deep inside services that the
web, the workers and the command line all call, and none of them should thread a request's address
through every signature. Each entry point sets it once around its work; unset, it is None.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: the column is String(80): an "ip:" prefix plus the longest IPv6 text fits with room to spare
MAX_LENGTH = 80

_origin: ContextVar[str | None] = ContextVar("motcua_origin", default=None)


def current_origin() -> str | None:
    return _origin.get()


@contextmanager
def origin_scope(value: str | None) -> Iterator[None]:
    """Within this block, events and access-log rows say they came from `value`."""
    token = _origin.set(value[:MAX_LENGTH] if value else None)
    try:
        yield
    finally:
        _origin.reset(token)

