"""String formats checked by form validation.

JSON Schema leaves ``format`` to the implementation. Vietnamese administrative forms need a
few identifiers the standard does not know (citizen ID, phone number, tax code), and
jsonschema's own ``email``/``date-time`` checks are either too lax (``email`` only looks for
an ``@``) or silently disabled when an optional dependency is missing (``date-time``). This
module owns one :class:`jsonschema.FormatChecker` so every form checks formats the same way.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from urllib.parse import urlsplit

from jsonschema import FormatChecker

__all__ = [
    "FORMAT_CHECKER",
    "is_cccd",
    "is_date",
    "is_date_time",
    "is_email",
    "is_phone_vn",
    "is_tax_code",
    "is_uri",
]

# [0-9] rather than \d: \d also accepts Arabic-Indic and other Unicode digits.
_CCCD = re.compile(r"[0-9]{12}")
_PHONE_VN = re.compile(r"(?:0|\+84)[0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[ .]")
_TAX_CODE = re.compile(r"[0-9]{10}(?:-?[0-9]{3})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_NO_SPACE = re.compile(r"\S+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("cccd")
def is_cccd(value: object) -> bool:
    """Số định danh cá nhân (CCCD): exactly 12 ASCII digits, nothing else."""
    return not isinstance(value, str) or bool(_CCCD.fullmatch(value))


@FORMAT_CHECKER.checks("phone-vn")
def is_phone_vn(value: object) -> bool:
    """Vietnamese phone number: ``0`` or ``+84`` then 9 digits; spaces and dots may group digits."""
    if not isinstance(value, str):
        return True
    return bool(_PHONE_VN.fullmatch(_PHONE_SEPARATORS.sub("", value)))


@FORMAT_CHECKER.checks("tax-code")
def is_tax_code(value: object) -> bool:
    """Mã số thuế: 10 digits, or 13 digits for a branch (written ``0123456789-001`` or without dash)."""
    return not isinstance(value, str) or bool(_TAX_CODE.fullmatch(value))


@FORMAT_CHECKER.checks("date")
def is_date(value: object) -> bool:
    """Calendar date ``YYYY-MM-DD`` that actually exists (no 30 February)."""
    if not isinstance(value, str):
        return True
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("date-time")
def is_date_time(value: object) -> bool:
    """RFC 3339 timestamp with an explicit offset, so stored times are never ambiguous."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@FORMAT_CHECKER.checks("email")
def is_email(value: object) -> bool:
    """Pragmatic address check (``local@domain.tld``): catches typos without rejecting real addresses."""
    return not isinstance(value, str) or (len(value) <= 254 and bool(_EMAIL.fullmatch(value)))


@FORMAT_CHECKER.checks("uri")
def is_uri(value: object) -> bool:
    """A web address an official can open: ``http``/``https`` with a host, no spaces.

    jsonschema checks ``uri`` only when an optional package is installed; relying on it would
    make the rule depend on the deployment. Other schemes (``javascript:``) are refused because
    the address may be shown as a link.
    """
    if not isinstance(value, str):
        return True
    if len(value) > 2048 or not _NO_SPACE.fullmatch(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
