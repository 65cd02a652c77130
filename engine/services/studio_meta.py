"""Check the procedure.json fields an analyst edits in the studio, with Vietnamese messages per field.

A draft may be incomplete (lint says what is missing before publishing), but every field that is
set must have the shape the engine reads: a deadline is an amount, a lane maps to a known role,
a fee has a whole amount and ISO dates. Fields this module does not know are kept as given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

import orjson

from engine.calendar import UNITS
from engine.procedures.foreign import SLUG_PATTERN as SLUG
from engine.procedures.validation import ROLES

ELEMENT_ID = re.compile(r"\S{1,255}")
PROCESS_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
SUPPLEMENT_CLOCKS = ("restart", "pause")
#: Fields that cannot be removed from a draft (the engine and the studio identify it by them).
REQUIRED = ("slug", "name", "process_id")
MAX_META_BYTES = 256 * 1024

Errors = dict[str, list[str]]
Check = Callable[[str, Any, Mapping[str, Any], Errors], None]


def check_meta(changes: Mapping[str, Any], package: Mapping[str, Any]) -> Errors:
    """Per-field problems of `changes` (procedure.json keys → new values; None removes a key)."""
    errors: Errors = {}
    if not isinstance(changes, Mapping):
        return {"procedure": ["Thông tin thủ tục phải là một đối tượng JSON."]}
    try:
        if len(orjson.dumps(dict(changes))) > MAX_META_BYTES:
            return {"procedure": [f"Thông tin thủ tục lớn quá {MAX_META_BYTES // 1024} KiB."]}
    except TypeError:
        return {"procedure": ["Thông tin thủ tục chỉ được chứa dữ liệu JSON."]}
    for key, value in changes.items():
        if not isinstance(key, str) or not key:
            errors.setdefault("procedure", []).append(f"Tên trường không hợp lệ: {key!r}.")
        elif value is None:
            if key in REQUIRED:
                errors[key] = ["Trường này không được để trống."]
        elif key in CHECKS:
            CHECKS[key](key, value, package, errors)
    return errors


def _add(errors: Errors, key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def _text(limit: int, pattern: re.Pattern[str] | None = None, hint: str = "") -> Check:
    def check(key: str, value: Any, _package: Mapping[str, Any], errors: Errors) -> None:
        if not isinstance(value, str) or not value.strip():
            _add(errors, key, "Cần một chuỗi ký tự không rỗng.")
        elif len(value) > limit:
            _add(errors, key, f"Dài quá {limit} ký tự.")
        elif pattern is not None and not pattern.match(value):
            _add(errors, key, hint)
    return check


def check_amount(key: str, value: Any, errors: Errors, *, allowed: frozenset[str] = frozenset({"cutoff"})) -> None:
    """An amount of time as the calendar reads it: {"value": number ≥ 0, "unit": one of UNITS}, and the
    `allowed` extra keys."""
    if not isinstance(value, Mapping):
        _add(errors, key, 'Cần dạng {"value": số, "unit": đơn vị}.')
        return
    number, unit = value.get("value"), value.get("unit")
    if unit not in UNITS:
        _add(errors, key, f"Đơn vị thời gian phải là một trong: {', '.join(UNITS)}.")
    if unit != "same_day" and (isinstance(number, bool) or not isinstance(number, int | float) or number < 0
                               or number != number or number == float("inf")):
        _add(errors, key, "Thời gian phải là một số không âm.")
    extra = set(value) - {"value", "unit"} - allowed
    if extra:
        _add(errors, key, f"Khóa không được hỗ trợ: {', '.join(sorted(map(str, extra)))}.")


def _deadline(key: str, value: Any, _package: Mapping[str, Any], errors: Errors) -> None:
    check_amount(key, value, errors)


def _amounts(key: str, value: Any, _package: Mapping[str, Any], errors: Errors) -> None:
    if not isinstance(value, Mapping):
        _add(errors, key, "Cần một đối tượng: tên → thời gian.")
        return
    for name, amount in value.items():
        if not str(name).strip():
            _add(errors, key, "Tên (mã) không được để trống.")
        check_amount(f"{key}.{name}", amount, errors)


def _step_budgets(key: str, value: Any, _package: Mapping[str, Any], errors: Errors) -> None:
    """Step id → amount; `since` names the earlier step it is counted from (lint checks that it can be)."""
    if not isinstance(value, Mapping):
        _add(errors, key, "Cần một đối tượng: id bước → thời gian.")
        return
    for name, amount in value.items():
        if not str(name).strip():
            _add(errors, key, "Id bước không được để trống.")
        check_amount(f"{key}.{name}", amount, errors, allowed=frozenset({"cutoff", "since"}))
        since = amount.get("since") if isinstance(amount, Mapping) else None
        # no blank inside: the editor carries it as "2 working_days since <id>"
        if since is not None and (not isinstance(since, str) or not ELEMENT_ID.fullmatch(since)):
            _add(errors, f"{key}.{name}", "«since» phải là id của một bước trong sơ đồ (không rỗng, không có "
                 "khoảng trắng), ví dụ «lay_y_kien».")


def _lanes(key: str, value: Any, _package: Mapping[str, Any], errors: Errors) -> None:
    if not isinstance(value, Mapping):
        _add(errors, key, "Cần một đối tượng: tên lane → vai trò.")
        return
    for lane, target in value.items():
        role = target.get("role") if isinstance(target, Mapping) else target
        if not isinstance(role, str) or role not in ROLES:
            _add(errors, f"{key}.{lane}", f"Vai trò {role!r} không tồn tại (vai trò hợp lệ: {', '.join(sorted(ROLES))}).")
        if isinstance(target, Mapping):
            if set(target) - {"role", "agency"}:
                _add(errors, f"{key}.{lane}", "Lane chỉ có vai trò (role) và cơ quan (agency).")
            if target.get("agency") is not None and not isinstance(target.get("agency"), str):
                _add(errors, f"{key}.{lane}", "Mã cơ quan phải là chuỗi ký tự.")


def _choice(options: tuple[str, ...]) -> Check:
    def check(key: str, value: Any, _package: Mapping[str, Any], errors: Errors) -> None:
        if value not in options:
            _add(errors, key, f"Giá trị phải là một trong: {', '.join(options)}.")
    return check


def _start_form(key: str, value: Any, package: Mapping[str, Any], errors: Errors) -> None:
    if not isinstance(value, str) or value not in package["forms"]:
        _add(errors, key, f"Không có biểu mẫu {value!r} trong bản nháp (biểu mẫu có: "
             f"{', '.join(sorted(package['forms'])) or 'chưa có'}).")


def _bpmn(key: str, value: Any, package: Mapping[str, Any], errors: Errors) -> None:
    if not isinstance(value, str) or value not in package["bpmn"]:
        _add(errors, key, f"Không có tệp BPMN {value!r} trong bản nháp.")


def _date(text: Any) -> bool:
    if text is None:
        return True
    try:
        date.fromisoformat(text)
    except (TypeError, ValueError):
        return False
    return True


def _items(key: str, value: Any, errors: Errors, what: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(where, item) for each object of the list `value`; what is not a list of objects is reported."""
    if not isinstance(value, list):
        _add(errors, key, f"Cần một danh sách {what}.")
        return
    for index, item in enumerate(value):
        if isinstance(item, Mapping):
            yield f"{key}[{index}]", item
        else:
            _add(errors, f"{key}[{index}]", f"Mỗi mục trong danh sách {what} là một đối tượng.")


def _fees(key: str, value: Any, _package: Mapping[str, Any], errors: Errors) -> None:
    for where, fee in _items(key, value, errors, "mức phí, lệ phí"):
        if not isinstance(fee.get("name"), str) or not fee["name"].strip():
            _add(errors, f"{where}.name", "Cần tên khoản phí, lệ phí.")
        amount = fee.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            _add(errors, f"{where}.amount", "Số tiền phải là số nguyên không âm (đồng).")
        for bound in ("valid_from", "valid_to"):
            if not _date(fee.get(bound)):
                _add(errors, f"{where}.{bound}", "Ngày phải có dạng YYYY-MM-DD.")


def _documents(key: str, value: Any, _package: Mapping[str, Any], errors: Errors) -> None:
    for where, item in _items(key, value, errors, "thành phần hồ sơ"):
        for field in ("code", "name"):
            if not isinstance(item.get(field), str) or not item[field].strip():
                _add(errors, f"{where}.{field}", "Trường này không được để trống.")
        copies = item.get("copies", 1)
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 0:
            _add(errors, f"{where}.copies", "Số bản phải là số nguyên không âm.")
        for flag in ("required", "unless_verified"):
            if flag in item and not isinstance(item[flag], bool):
                _add(errors, f"{where}.{flag}", "Cần giá trị đúng/sai.")


CHECKS: dict[str, Check] = {
    "slug": _text(128, SLUG, "Chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang (ví dụ: dang-ky-khai-sinh)."),
    "name": _text(512),
    "code": _text(64),
    "process_id": _text(128, PROCESS_ID, "Mã quy trình bắt đầu bằng chữ cái hoặc _, chỉ gồm chữ, số, _, . và -."),
    "agency": _text(32),
    "level": _text(32),
    "field": _text(512),
    "online": _text(32),
    "bpmn": _bpmn,
    "deadline": _deadline,
    "deadline_rules": _amounts,
    "step_budgets": _step_budgets,
    "lanes": _lanes,
    "supplement_clock": _choice(SUPPLEMENT_CLOCKS),
    "start_form": _start_form,
    "fees": _fees,
    "required_documents": _documents,
}
