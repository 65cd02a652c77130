"""A psycopg cursor whose `description` builds its column objects only when someone reads them.

SQLAlchemy asks every cursor for its `description` after each statement, and psycopg answers with a
new list of `Column` objects, one per column of the result, each made in Python from the libpq result
(name decoded, type looked up). For a statement it has run before, SQLAlchemy then only checks that
the description is not None: its compiled statement keeps the result's metadata. The completion's
locking SELECT reads 54 columns, so that list cost about a fifth of the statement's client CPU
(bench/RESULTS.md, 2026-12-03): a request paid for objects nobody looked at.

`LazyDescriptionCursor.description` answers at once with a sequence that knows its length and makes
the columns on first use, from the result the statement produced (kept with it, so a later statement
on the same cursor does not change what it describes). It is None exactly when psycopg's would be.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from psycopg import Column, Cursor, pq

#: result statuses that carry rows (psycopg describes them even with no column: `SELECT ;`)
_ROWS = frozenset(status for status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.SINGLE_TUPLE,
                                        getattr(pq.ExecStatus, "TUPLES_CHUNK", None)) if status is not None)


class _Result:
    """What psycopg's `Column` reads of a cursor, as it was when the statement's result came."""

    __slots__ = ("pgresult", "_encoding", "adapters")

    def __init__(self, cursor: Cursor[Any]) -> None:
        self.pgresult, self._encoding, self.adapters = cursor.pgresult, cursor._encoding, cursor.adapters


class LazyDescription(Sequence[Column]):
    """psycopg's list of `Column`s for one result, made on first access."""

    __slots__ = ("_result", "_count", "_columns")

    def __init__(self, cursor: Cursor[Any], count: int) -> None:
        self._result: _Result | None = _Result(cursor)
        self._count = count
        self._columns: list[Column] | None = None

    def _made(self) -> list[Column]:
        if self._columns is None:
            self._columns = [Column(self._result, index) for index in range(self._count)]  # type: ignore[arg-type]
            self._result = None  # the libpq result is not held longer than needed
        return self._columns

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __getitem__(self, index: Any) -> Any:
        return self._made()[index]

    def __iter__(self) -> Iterator[Column]:
        return iter(self._made())

    def __repr__(self) -> str:
        return repr(self._made())


class LazyDescriptionCursor(Cursor):
    @property
    def description(self) -> LazyDescription | None:  # type: ignore[override]
        result = self.pgresult
        if result is not None and (result.nfields or result.status in _ROWS):
            return LazyDescription(self, result.nfields)
        return None
