"""Vietnamese error messages for JSON Schema validation errors.

jsonschema's messages are English and written for developers ("'x' is a required
property"). Citizens need a short Vietnamese sentence next to the field that is wrong, so
each keyword gets its own wording here and every error is keyed by the field path the
renderer uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import ValidationError

from .schema_tools import EMPTY, Schema, choices, field_kind, field_title, resolve, schema_at, ui_at
from .values import to_text

__all__ = ["path_key", "translate"]

FORMAT_MESSAGES = {
    "cccd": "Số định danh cá nhân phải gồm đúng 12 chữ số",
    "phone-vn": "Số điện thoại không hợp lệ",
    "tax-code": "Mã số thuế phải gồm 10 hoặc 13 chữ số",
    "email": "Địa chỉ email không hợp lệ",
    "date": "Ngày không hợp lệ (định dạng YYYY-MM-DD)",
    "date-time": "Ngày giờ không hợp lệ",
    "uri": "Địa chỉ web không hợp lệ (bắt đầu bằng http:// hoặc https://)",
}
TYPE_MESSAGES = {
    "integer": "Phải là số nguyên",
    "number": "Phải là số",
    "string": "Phải là chuỗi ký tự",
    "boolean": "Phải là giá trị đúng hoặc sai",
    "object": "Phải là một nhóm thông tin",
    "array": "Phải là một danh sách",
    "null": "Phải để trống",
}
NOT_IN_LIST = "Giá trị không nằm trong danh sách cho phép"
GENERIC = "Giá trị không hợp lệ"
_CHOICE_KINDS = frozenset({"select", "radio", "checkbox", "checkboxes", "multiselect"})


def path_key(path: Any) -> str:
    """``("thanh_vien", 0, "ho_ten")`` → ``"thanh_vien.0.ho_ten"``; the form itself is ``""``."""
    return ".".join(str(part) for part in path)


def number_text(value: Any) -> str:
    """Numbers written the Vietnamese way: ``1.000.000`` and ``2,5``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return to_text(value)
    return format(value, ",").translate(str.maketrans({",": ".", ".": ","}))


def translate(error: ValidationError, root: Schema, ui: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The ``(field path, message)`` pairs one jsonschema error stands for."""
    path = list(error.absolute_path)
    keyword = error.validator
    if keyword == "required":
        return [(path_key(path), required_message(root, ui, path))]
    if keyword == "dependentRequired":
        return [
            (path_key([*path, name]), required_message(root, ui, [*path, name])) for name in _missing(error)
        ]
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        extras = _extra_properties(error, root)
        if extras:
            return [(path_key(path), f"Trường không được phép: {name}") for name in extras]
        return [(path_key(path), "Có trường không được phép")]
    if "propertyNames" in error.absolute_schema_path:  # the error is about a key, not a value
        return [(path_key(path), f"Tên trường không hợp lệ: {error.instance}")]
    if keyword in ("oneOf", "anyOf"):
        # oneOf/anyOf of ``const`` branches is an enum with labels: say so.
        labelled = choices(root, resolve(root, error.schema), EMPTY) is not None
        return [(path_key(path), NOT_IN_LIST if labelled else GENERIC)]
    build = _MESSAGES.get(str(keyword), lambda _error: GENERIC)
    return [(path_key(path), build(error))]


def required_message(root: Schema, ui: Mapping[str, Any], path: list[Any]) -> str:
    """The missing-field message: "nhập" (enter) a value, "chọn" (choose) an option, "tải lên" a file."""
    schema = schema_at(root, path) or {}
    ui_node = ui_at(ui, path)
    title = field_title(schema, ui_node)
    kind = field_kind(root, schema, ui_node)
    verb = "chọn" if kind in _CHOICE_KINDS else "tải lên" if kind == "file" else "nhập"
    return f"Vui lòng {verb} {title}" if title else f"Vui lòng {verb} trường này"


def _missing(error: ValidationError) -> list[str]:
    instance, dependencies = error.instance, error.validator_value
    if not isinstance(instance, Mapping) or not isinstance(dependencies, Mapping):
        return []
    return [
        name
        for trigger, needed in dependencies.items()
        if trigger in instance
        for name in needed
        if name not in instance
    ]


def _extra_properties(error: ValidationError, root: Schema) -> list[str]:
    """Names the schema does not declare (jsonschema only reports them inside its English text)."""
    instance, schema = error.instance, resolve(root, error.schema)
    if not isinstance(instance, Mapping):
        return []
    known: set[str] = set()
    patterns: list[str] = []
    for node in [schema, *_branch_schemas(root, schema)]:
        known.update(node.get("properties") or {})
        patterns.extend(node.get("patternProperties") or {})
    return [name for name in instance if name not in known and not any(re.search(p, name) for p in patterns)]


def _branch_schemas(root: Schema, schema: Schema) -> list[Schema]:
    found: list[Schema] = []
    for keyword in ("allOf", "anyOf", "oneOf", "then", "else"):
        value = schema.get(keyword)
        for branch in value if isinstance(value, list) else [value] if isinstance(value, Mapping) else []:
            found.append(resolve(root, branch))
    return found


def _type_message(error: ValidationError) -> str:
    expected = error.validator_value
    names = [name for name in (expected if isinstance(expected, list) else [expected]) if name != "null"]
    return TYPE_MESSAGES.get(names[0] if names else "null", GENERIC)


def _const_message(error: ValidationError) -> str:
    if error.validator_value is True:
        return "Vui lòng đánh dấu vào ô này"
    return f"Giá trị phải là {to_text(error.validator_value)}"


_MESSAGES: dict[str, Callable[[ValidationError], str]] = {
    "type": _type_message,
    "format": lambda e: FORMAT_MESSAGES.get(str(e.validator_value), "Không đúng định dạng"),
    "pattern": lambda e: "Không đúng định dạng",
    "minLength": lambda e: f"Cần ít nhất {e.validator_value} ký tự",
    "maxLength": lambda e: f"Tối đa {e.validator_value} ký tự",
    "enum": lambda e: NOT_IN_LIST,
    "const": _const_message,
    "minimum": lambda e: f"Phải lớn hơn hoặc bằng {number_text(e.validator_value)}",
    "maximum": lambda e: f"Phải nhỏ hơn hoặc bằng {number_text(e.validator_value)}",
    "exclusiveMinimum": lambda e: f"Phải lớn hơn {number_text(e.validator_value)}",
    "exclusiveMaximum": lambda e: f"Phải nhỏ hơn {number_text(e.validator_value)}",
    "multipleOf": lambda e: f"Phải là bội số của {number_text(e.validator_value)}",
    "minItems": lambda e: f"Cần ít nhất {e.validator_value} mục",
    "maxItems": lambda e: f"Tối đa {e.validator_value} mục",
    "uniqueItems": lambda e: "Các mục không được trùng nhau",
    "minProperties": lambda e: f"Cần ít nhất {e.validator_value} trường",
    "maxProperties": lambda e: f"Tối đa {e.validator_value} trường",
    "contains": lambda e: "Danh sách chưa có mục phù hợp",
    "minContains": lambda e: "Danh sách chưa đủ số mục phù hợp",
    "maxContains": lambda e: "Danh sách có quá nhiều mục phù hợp",
    "not": lambda e: "Giá trị không được phép",
    "None": lambda e: "Trường không được phép",  # a ``false`` schema
}
