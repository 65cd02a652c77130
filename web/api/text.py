"""Input the database cannot store, or JSON cannot carry back, is refused at the API's door (400,
naming the field), before it fails deep in a transaction as a 500.

- PostgreSQL refuses a NUL character in text (and in JSONB); no driver encodes a lone UTF-16
  surrogate (JSON's "\\ud800" escape decodes to one). Neither has a use in a name, a code or an answer.
- Python's JSON reader accepts NaN and Infinity, which are not JSON: stored in a draft, they came
  back in a body no client could parse.
- Integers beyond 64 bits are JSON, but the stores (orjson, BIGINT) cannot hold them.
- A body nested thousands deep exhausts the interpreter's recursion limit somewhere along the way
  (reading, validating, storing); real forms are a few levels deep.
"""

from __future__ import annotations

import math
from typing import Any

from werkzeug.exceptions import NotFound

from engine import errors

MAX_DEPTH = 32
UNSTORABLE = "Không được chứa ký tự NUL hoặc ký tự Unicode không hợp lệ."
NOT_A_NUMBER = "Số không hợp lệ (NaN hoặc vô hạn)."
TOO_LARGE = "Số quá lớn để lưu trữ."
INT64 = 2**63
TOO_DEEP = f"Dữ liệu lồng nhau quá sâu (tối đa {MAX_DEPTH} tầng)."


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(key: Any) -> str:
    """A field name fit for the error body (which is JSON too)."""
    return str(key).replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")


def _problem(value: Any, depth: int) -> str | None:
    if isinstance(value, str):
        return None if storable(value) else UNSTORABLE
    if isinstance(value, float) and not math.isfinite(value):
        return NOT_A_NUMBER
    if isinstance(value, int) and not -INT64 <= value < INT64:
        return TOO_LARGE
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        return TOO_DEEP
    return None


def unstorable(value: Any) -> dict[str, list[str]]:
    """Field path → message for each key or value in `value` that cannot be stored or sent back.
    Iterative, so a body nested deeper than the recursion limit is measured, not crashed on."""
    found: dict[str, list[str]] = {}
    pending: list[tuple[str, Any, int]] = [("", value, 0)]
    while pending:
        where, item, depth = pending.pop()
        problem = _problem(item, depth)
        if problem is not None:
            found[where] = [problem]
            continue
        if isinstance(item, dict):
            for key, child in item.items():
                path = f"{where}.{_shown(key)}" if where else _shown(key)
                if isinstance(key, str) and not storable(key):
                    found[path] = [UNSTORABLE]
                pending.append((path, child, depth + 1))
        elif isinstance(item, list):
            pending.extend((f"{where}.{i}" if where else str(i), child, depth + 1) for i, child in enumerate(item))
    return found


def refuse_unstorable(data: Any) -> None:
    """Raise InvalidInput (400) naming every field of a query or body that cannot be stored."""
    found = unstorable(data)
    if found:
        raise errors.InvalidInput(found)


def refuse_unstorable_path(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A path parameter that cannot be stored names nothing: 404, as for any unknown code."""
    if values and any(isinstance(v, str) and not storable(v) for v in values.values()):
        raise NotFound()
