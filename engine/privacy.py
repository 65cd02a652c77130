"""Personal data shown partially: identity numbers and phone numbers masked in lists and logs.

Luật Bảo vệ dữ liệu cá nhân 91/2025/QH15 asks to minimise personal data: a list of dossiers, an
export or an application log needs to tell people apart, not to reveal who they are. Full values are
shown only on a dossier's own page, to those allowed to read it (a read that engine/access_log.py
records). One rule for every place, so that a masked value reads the same in the inbox, an export
and a log line:

- identity number (CCCD 12 digits, CMND 9 digits, a person's tax code 10 or 13 digits): the first
  three digits (the province of registration) and the last three stay, every other digit becomes
  `*`: `001090000001` → `001******001`. The birth year and gender digits (4th to 6th of a CCCD) are
  hidden on purpose: with the name they would single a person out.
- phone number: the first four digits (the network prefix) and the last three stay:
  `0912345678` → `0912***678`; `+84912345678` → `+84912***678`.
- e-mail: the first character of the local part and the domain: `congdan@example.vn` → `c***@example.vn`.

Free text (log messages) is scanned for standalone 9/12-digit numbers and Vietnamese phone numbers.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: What replaces erased personal data (engine/retention.py) wherever a text value must remain.
ERASED = "[đã xoá]"

_ID_LENGTHS = (9, 10, 12, 13)
#: a Vietnamese phone number on its own: 0 or +84/84, then 9 digits, either in one run or in the
#: groups people write ("0912 345 678", "091.234.5678", "+84 912 345 678": one separator throughout);
#: never part of a longer run of digits or letters (codes, timestamps, hex digests in URLs and keys)
#: nor the decimals of a number. A separator
#: between any two digits would also take dates and dossier codes ("03-12-2026 10:00",
#: "…-0001 2026-12-03") or a float ("0.123456789") for phones and garble them in the logs.
_PHONE_IN_TEXT = re.compile(r"(?<![\w+])(?<!\d[.,])(?:(?:\+84|84|0)\d{9}"
                            r"|0\d{3}([ .-])\d{3}\1\d{3}|0\d{2}([ .-])\d{3}\2\d{4}"
                            r"|(?:\+84|84)[ .-]?\d{3}([ .-])\d{3}\3\d{3})(?!\w)")
#: a CCCD (12 digits) or CMND (9 digits) on its own
_ID_IN_TEXT = re.compile(r"(?<!\w)(?<!\d[.,])(?:\d{12}|\d{9})(?!\w)")  # not a number's decimals


def _hide_middle(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_id_number(value: Any) -> str:
    """An identity number as lists show it: `001090000001` → `001******001`.

    Anything that is not 9, 10, 12 or 13 digits (after dropping spaces) is masked whole except its
    last two characters, so an unexpected format never leaks in full."""
    if value is None:
        return ""
    text = re.sub(r"\s", "", str(value))
    if not text:
        return ""
    if text.isdigit() and len(text) in _ID_LENGTHS:
        return _hide_middle(text, 3, 3)
    return _hide_middle(text, 0, 2)


def mask_phone(value: Any) -> str:
    """A phone number as lists show it: `0912345678` → `0912***678` (separators dropped)."""
    if value is None:
        return ""
    text = str(value).strip()
    plus = "+" if text.startswith("+") else ""
    digits = re.sub(r"\D", "", text)
    if not digits:
        return ""
    if len(digits) < 8:
        return "*" * len(digits)
    head = 5 if plus or digits.startswith("84") else 4  # +84 912... keeps the same network prefix
    return plus + _hide_middle(digits, head, 3)


def mask_email(value: Any) -> str:
    """An e-mail address as lists show it: `congdan@example.vn` → `c***@example.vn`."""
    if not value:
        return ""
    local, at, domain = str(value).strip().rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_text(text: str) -> str:
    """`text` with every standalone phone number and 9/12-digit identity number masked."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), text)
    return _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)


class PersonalDataFilter(logging.Filter):
    """Masks identity and phone numbers in a log record's message, arguments and exception text.

    When an argument (of any type, by its text) holds such a number, the message is formatted here
    and masked whole, and the arguments dropped (a masked value may no longer fit its `%d`). Otherwise
    only the message text is masked and the arguments stay as they are, for handlers and tests that
    read `record.args`. The record always passes (returns True)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_motcua_masked", False):
            return True
        values = record.args.values() if isinstance(record.args, dict) else record.args or ()
        if any(_personal(value) for value in values):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a malformed call: mask what is there, never drop the line
                message = f"{record.msg} {record.args}"
            record.msg, record.args = mask_text(message), None
        elif isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        elif record.msg is not None and _personal(record.msg):
            record.msg = mask_text(str(record.msg))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        record._motcua_masked = True
        return True


def _personal(value: Any) -> bool:
    """Whether the text of a log argument holds a phone or identity number."""
    if value is None or isinstance(value, bool | float):
        return False
    text = str(value)
    return mask_text(text) != text


_FILTER = PersonalDataFilter()


def install_log_masking() -> None:
    """Mask personal data in every log record of this process, whichever logger or handler gets it.

    A filter on a logger does not apply to its children's records, and a handler filter misses the
    handlers added later (Celery's, gunicorn's); so the record factory itself is wrapped: every
    record is masked as it is created. Idempotent: installing twice masks once."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_motcua_masking", False):
        return

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _FILTER.filter(record)
        return record

    masking_factory._motcua_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)


__all__ = ["ERASED", "PersonalDataFilter", "install_log_masking", "mask_email", "mask_id_number", "mask_phone",
           "mask_text"]
