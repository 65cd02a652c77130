"""What a form may contain, and the refusal of everything else when it is loaded.

JSON Schema implementations ignore keywords they do not know, and a UI schema typo is silently
skipped. For a procedure form that means a rule the author wrote is not enforced, or a field
shows the wrong widget, and nobody notices until a citizen does. So every keyword, format,
widget and UI option the package handles is listed here, and :func:`check_support` refuses
the rest with the JSON pointer of where it was written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .schema_tools import (
    MAX_DEPTH,
    Schema,
    child_schema,
    choices,
    field_kind,
    primary_type,
    resolve,
)
from .uploads import file_limits

__all__ = ["FORMATS", "SCHEMA_KEYWORDS", "UI_KEYS", "UI_OPTIONS", "WIDGETS", "check_support"]

#: Keywords rendered, parsed and validated (the last group is validated only: API submissions).
SCHEMA_KEYWORDS = frozenset(
    {
        *("$schema", "$defs", "$ref", "$comment", "title", "description", "default", "examples"),
        *("readOnly", "type", "enum", "const", "enumNames", "allOf", "anyOf", "oneOf", "not"),
        *("if", "then", "else", "minLength", "maxLength", "pattern", "format", "minimum"),
        *("maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "properties"),
        *("required", "additionalProperties", "dependentRequired", "items", "minItems"),
        *("maxItems", "uniqueItems"),
        *("patternProperties", "propertyNames", "minProperties", "maxProperties"),
        *("unevaluatedProperties", "contains", "minContains", "maxContains"),
    }
)
FORMATS = frozenset({"date", "date-time", "email", "uri", "cccd", "phone-vn", "tax-code", "data-url"})
_HINTS = {
    "definitions": 'use "$defs" (JSON Schema 2020-12)',
    "dependencies": 'use "dependentRequired", or "if"/"then" for conditional fields',
    "dependentSchemas": 'use "if"/"then" so the condition can be shown next to the field',
    "prefixItems": "fixed-position tuples cannot be rendered; use an object with named properties",
    "unevaluatedItems": "use items/minItems/maxItems",
    "contentMediaType": 'a file field is {"type": "string", "format": "data-url"} with ui:options.accept',
    "contentEncoding": 'a file field is {"type": "string", "format": "data-url"} with ui:options.accept',
    "contentSchema": 'a file field is {"type": "string", "format": "data-url"} with ui:options.accept',
    "$id": "forms must be self-contained; refer to parts with local $ref ('#/$defs/...')",
    "$anchor": "refer to definitions with a JSON pointer ('#/$defs/...')",
    "$dynamicRef": "use a local $ref ('#/$defs/...')",
    "$dynamicAnchor": "use a local $ref ('#/$defs/...')",
}
_SCHEMA_VALUED = ("additionalProperties", "items", "not", "if", "then", "else", "contains")
_SCHEMA_VALUED += ("propertyNames", "unevaluatedProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs")
_DRAFT = "https://json-schema.org/draft/2020-12/schema"

_TEXT_UI = ("title", "description", "help", "placeholder")
_FLAG_UI = ("readonly", "disabled", "autofocus")
UI_KEYS = frozenset(f"ui:{key}" for key in (*_TEXT_UI, *_FLAG_UI, "order", "widget", "options", "enumNames"))
#: ``ui:options`` keys; any ``ui:`` key may also be written inside ``ui:options``.
UI_OPTIONS = frozenset({"rows", "inline", "orderable", "addable", "removable", "accept", "maxSize"})
_OPTION_KINDS = {
    "rows": {"textarea"},
    "inline": {"radio", "checkboxes"},
    "orderable": {"array"},
    "addable": {"array"},
    "removable": {"array"},
    "accept": {"file"},
    "maxSize": {"file"},
    "placeholder": {"input", "textarea", "select"},
    "order": {"object"},
}
#: Widgets and the JSON types (or kinds of choice) each can show.
WIDGETS: dict[str, frozenset[str]] = {
    "text": frozenset({"string", "integer", "number", None}),
    "textarea": frozenset({"string", None}),
    "password": frozenset({"string", None}),
    "email": frozenset({"string", None}),
    "date": frozenset({"string", None}),
    "file": frozenset({"string", None}),
    "updown": frozenset({"integer", "number"}),
    "hidden": frozenset({"string", "integer", "number", "boolean", "choice", None}),
    "radio": frozenset({"choice", "boolean"}),
    "select": frozenset({"choice", "boolean", "choice-list"}),
    "checkbox": frozenset({"boolean"}),
    "checkboxes": frozenset({"choice-list"}),
}


def check_support(schema: Schema, ui: Schema) -> None:
    """Raise ``ValueError`` at the first keyword, format, widget or UI option the package cannot honour."""
    for where, node in _subschemas(schema):
        _check_keywords(where, node)
    _check_ui(schema, resolve(schema, schema), ui, "#", 0)


def _subschemas(root: Schema) -> Iterator[tuple[str, Schema]]:
    """Every schema object inside ``root`` with its JSON pointer (values of ``const``/``enum`` are data)."""
    stack: list[tuple[str, Any]] = [("#", root)]
    while stack:
        where, node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        yield where, node
        for keyword in _SCHEMA_VALUED:
            if keyword in node:
                stack.append((f"{where}/{keyword}", node[keyword]))
        for keyword in _SCHEMA_LISTS:
            if isinstance(node.get(keyword), list):
                stack.extend((f"{where}/{keyword}/{i}", sub) for i, sub in enumerate(node[keyword]))
        for keyword in _SCHEMA_MAPS:
            if isinstance(node.get(keyword), Mapping):
                stack.extend((f"{where}/{keyword}/{name}", sub) for name, sub in node[keyword].items())


def _check_keywords(where: str, node: Schema) -> None:
    for keyword in node:
        if keyword not in SCHEMA_KEYWORDS:
            hint = _HINTS.get(keyword, "it would be ignored; see forms/README.md for the supported list")
            raise ValueError(f"unsupported keyword {keyword!r} at {where}: {hint}")
    if "$schema" in node and (where != "#" or node["$schema"] != _DRAFT):
        raise ValueError(f"$schema at {where}: only {_DRAFT!r} at the root is supported")
    fmt = node.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unsupported format {fmt!r} at {where}: use one of {', '.join(sorted(FORMATS))}")
    declared = node.get("type")
    if isinstance(declared, list) and len([name for name in declared if name != "null"]) > 1:
        raise ValueError(f'type at {where}: a field has one type (optionally with "null"), got {declared}')
    for keyword in ("additionalProperties", "unevaluatedProperties"):
        if keyword in node and not isinstance(node[keyword], bool):
            raise ValueError(
                f"{keyword} at {where} must be true or false: a form lists its fields in properties"
            )


def _check_ui(root: Schema, schema: Schema, ui: Any, where: str, depth: int) -> None:
    if not isinstance(ui, Mapping):
        raise ValueError(f"UI schema at {where} must be an object, got {type(ui).__name__}")
    if depth > MAX_DEPTH:
        raise ValueError(f"UI schema at {where} is nested deeper than the form")
    kind = field_kind(root, schema, ui) if depth else "object"
    for key, value in ui.items():
        if key.startswith("ui:"):
            if key not in UI_KEYS and not (key == "ui:steps" and depth == 0):
                raise ValueError(f"unsupported UI key {key!r} at {where}")
            continue
        if key == "items" and primary_type(schema) == "array":
            _check_ui(root, resolve(root, schema.get("items")), value, f"{where}/items", depth + 1)
            continue
        child = child_schema(root, schema, key) if primary_type(schema) == "object" else None
        if child is None:
            raise ValueError(f"UI schema at {where} names {key!r}, which is not a field of the form")
        _check_ui(root, child, value, f"{where}/{key}", depth + 1)
    _check_ui_values(root, schema, ui, where, kind)


def _check_ui_values(root: Schema, schema: Schema, ui: Schema, where: str, kind: str) -> None:
    options = ui.get("ui:options", {})
    if not isinstance(options, Mapping):
        raise ValueError(f"ui:options at {where} must be an object")
    allowed = UI_OPTIONS | {key[3:] for key in UI_KEYS if key != "ui:options"}
    for name in options:
        if name not in allowed:
            raise ValueError(f"unsupported ui:options key {name!r} at {where}")
    merged = {**options, **{key[3:]: value for key, value in ui.items() if key.startswith("ui:")}}
    for name, value in merged.items():
        _check_ui_value(name, value, where)
        kinds = _OPTION_KINDS.get(name)
        if kinds is not None and kind not in kinds:
            raise ValueError(f"ui:{name} at {where} does not apply to this field (shown as {kind})")
    widget = merged.get("widget")
    if widget is not None:
        _check_widget(root, schema, ui, widget, where)
    if kind == "file":
        try:
            file_limits(ui)
        except ValueError as exc:
            raise ValueError(f"file field at {where}: {exc}") from exc


def _check_ui_value(name: str, value: Any, where: str) -> None:
    if name in _TEXT_UI and not isinstance(value, str):
        raise ValueError(f"ui:{name} at {where} must be text")
    if name in (*_FLAG_UI, "inline", "orderable", "addable", "removable") and not isinstance(value, bool):
        raise ValueError(f"ui:{name} at {where} must be true or false")
    if name == "rows" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"ui:options.rows at {where} must be a positive whole number")
    if name in ("order", "enumNames") and not (
        isinstance(value, list) and all(isinstance(item, str) for item in value)
    ):
        raise ValueError(f"ui:{name} at {where} must be a list of strings")


def _check_widget(root: Schema, schema: Schema, ui: Schema, widget: Any, where: str) -> None:
    if widget not in WIDGETS:
        raise ValueError(f"unsupported ui:widget {widget!r} at {where}: use one of {', '.join(WIDGETS)}")
    shape = _shape(root, schema, ui)
    if shape not in WIDGETS[widget]:
        raise ValueError(
            f"ui:widget {widget!r} at {where} cannot show this field (type {shape or 'not given'})"
        )


def _shape(root: Schema, schema: Schema, ui: Schema) -> str | None:
    """What a widget must be able to show: a JSON type, ``choice`` or ``choice-list``."""
    kind = primary_type(schema)
    if kind == "array":
        items = resolve(root, schema.get("items"))
        return "choice-list" if choices(root, items, {}) is not None else "array"
    if kind != "boolean" and choices(root, schema, {}) is not None:
        return "choice"
    return kind
