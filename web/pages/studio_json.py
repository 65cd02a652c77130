"""Reading the studio's JSON textareas: the analyst's text either becomes a value or a located
Vietnamese message (line, column, what was expected), and the text itself is always kept to be shown
again, so a typo never costs the work typed around it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from web.i18n import N_

#: The longest JSON text a studio textarea accepts (a large form schema is some tens of kB).
MAX_CHARS = 500_000

#: What the json module says, in the analyst's words (the module's messages are English and fixed).
_REASONS = [
    (re.compile(r"^Expecting ',' delimiter"), N_("thiếu dấu phẩy giữa hai phần tử")),
    (re.compile(r"^Expecting ':' delimiter"), N_("thiếu dấu hai chấm sau tên thuộc tính")),
    (re.compile(r"^Expecting property name enclosed in double quotes"),
     N_("tên thuộc tính phải đặt trong dấu ngoặc kép (và không có dấu phẩy thừa trước dấu đóng ngoặc)")),
    (re.compile(r"^Expecting value"), N_("thiếu giá trị hoặc giá trị không phải JSON")),
    (re.compile(r"^Extra data"), N_("thừa nội dung sau giá trị JSON")),
    (re.compile(r"^Unterminated string"), N_("chuỗi chưa có dấu ngoặc kép đóng")),
    (re.compile(r"^Invalid control character"), N_("chuỗi chứa ký tự xuống dòng hoặc ký tự điều khiển")),
    (re.compile(r"^Invalid \\escape"), N_("ký tự thoát (\\) không hợp lệ")),
]


@dataclass(frozen=True)
class JsonField:
    """One textarea: the text as typed, the value read from it (None when unreadable) and the error."""

    text: str
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _reason(message: str) -> str:
    return next((_(text) for pattern, text in _REASONS if pattern.match(message)), message)


def read_json(text: str | None, *, empty: Any = None, want_object: bool = True) -> JsonField:
    """The JSON in `text`; an empty textarea is `empty` (None: refused). `want_object`: only a
    JSON object `{...}` is accepted, as every schema and procedure.json is one."""
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        if empty is not None:
            return JsonField(text, empty)
        return JsonField(text, error=_("Chưa nhập nội dung JSON."))
    if len(text) > MAX_CHARS:
        return JsonField(text, error=_("Nội dung JSON quá dài (tối đa %(n)s ký tự).", n=f"{MAX_CHARS:,}"))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return JsonField(text, error=_("JSON không hợp lệ ở dòng %(line)s, cột %(col)s: %(reason)s.",
                                       line=exc.lineno, col=exc.colno, reason=_reason(exc.msg)))
    except RecursionError:
        return JsonField(text, error=_("JSON lồng nhau quá sâu."))
    if want_object and not isinstance(value, dict):
        return JsonField(text, error=_("Nội dung phải là một đối tượng JSON, bắt đầu bằng { và kết thúc bằng }."))
    return JsonField(text, value)


def pretty(value: Any) -> str:
    """How a value is shown in a textarea: indented, Vietnamese letters as they are."""
    return json.dumps(value, ensure_ascii=False, indent=2)
