"""Converting field values between JSON data and the strings an HTML form carries.

A browser posts every field as text. These helpers are the single definition of how a JSON
value is written into an input and how the posted text becomes JSON again, so a value survives
a render/post round trip unchanged.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["VIETNAM_TZ", "from_local_datetime", "from_text", "plain_text", "to_local_datetime", "to_text"]

#: Vietnam has one time zone and no daylight saving time; datetime-local inputs are read in it.
VIETNAM_TZ = timezone(timedelta(hours=7))
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_LOCAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?")
# Bidirectional embedding, override and isolate controls (and the invisible direction marks).
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_TRUE = frozenset({"true", "on", "1", "yes", "có"})
_FALSE = frozenset({"false", "off", "0", "no", "không"})


def to_text(value: Any) -> str:
    """How a JSON value appears in an input's ``value`` or an option's ``value``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def plain_text(text: str) -> str:
    """``text`` without Unicode direction controls, for labels and messages shown around other text.

    HTML escaping leaves them alone, yet one right-to-left override in a title, a file name or
    an error message reverses everything after it on screen ("fdp.exe"). Vietnamese needs none
    of them. Values in inputs keep them, so what was typed comes back unchanged.
    """
    return _BIDI_CONTROLS.sub("", text)


def from_text(raw: str, json_type: str | None) -> Any:
    """Turn posted text into a value of ``json_type``.

    Text that is not a valid number stays a string on purpose: validation then tells the user
    "Phải là số" next to the field instead of the value silently disappearing.
    """
    if json_type == "integer":
        return _to_integer(raw)
    if json_type == "number":
        return _to_number(raw)
    if json_type == "boolean":
        lowered = raw.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else raw
    return raw


def _to_integer(raw: str) -> int | str:
    value = _to_number(raw)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else raw


def _to_number(raw: str) -> int | float | str:
    try:
        if _INTEGER.fullmatch(raw):
            return int(raw)
        if _NUMBER.fullmatch(raw):
            number = float(raw)
            return number if math.isfinite(number) else raw
    except ValueError:  # more digits than int() accepts
        return raw
    return raw


def to_local_datetime(value: Any) -> str:
    """An RFC 3339 timestamp as a ``datetime-local`` value in Vietnam time (other text unchanged)."""
    if not isinstance(value, str):
        return to_text(value)
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM_TZ).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def from_local_datetime(raw: str) -> str:
    """A ``datetime-local`` post (no offset, maybe no seconds) as RFC 3339 in Vietnam time."""
    if not _LOCAL_DATETIME.fullmatch(raw):
        return raw
    try:
        moment = datetime.fromisoformat(raw).replace(tzinfo=VIETNAM_TZ)
    except ValueError:
        return raw
    return moment.isoformat(timespec="seconds")
