"""Walking a form's JSON Schema and UI schema together.

Rendering, parsing and error messages must agree on the same questions: which subschema
describes a field, which UI options apply to it, in which order properties appear, which
choices an enum offers and which widget shows a field. Answering them in one place keeps the
three views of a form consistent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

from .values import plain_text, to_text

Schema = Mapping[str, Any]
Path = Sequence[str | int]

EMPTY: Schema = MappingProxyType({})
MAX_DEPTH = 20
_MAX_REF_HOPS = 32
_BRANCHES = ("allOf", "anyOf", "oneOf", "then", "else")
#: rjsf's format for a file field; here the value is the caller's reference to the stored file.
FILE_FORMAT = "data-url"
BOOLEAN_CHOICES: tuple[tuple[Any, str], ...] = ((True, "Có"), (False, "Không"))


def pointer(root: Schema, ref: str) -> Schema:
    """Look up a local ``$ref`` (``#/$defs/x``); remote references are refused when a form is loaded."""
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref ('#/...') is supported, got {ref!r}")
    node: Any = root
    for raw in (part for part in ref[1:].split("/") if part):
        key = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            raise ValueError(f"$ref {ref!r} does not point into the schema")
    if node is True:
        return EMPTY
    if not isinstance(node, Mapping):
        raise ValueError(f"$ref {ref!r} does not point at a schema object")
    return node


def resolve(root: Schema, node: Any) -> Schema:
    """Follow local ``$ref`` chains so callers see the effective subschema.

    Draft 2020-12 allows keywords next to ``$ref``; they win over the target, which is how an
    author gives a shared definition a field-specific title.
    """
    if not isinstance(node, Mapping):
        return EMPTY
    merged: Schema = node
    for _ in range(_MAX_REF_HOPS):
        ref = merged.get("$ref")
        if not isinstance(ref, str):
            return merged
        siblings = {key: value for key, value in merged.items() if key != "$ref"}
        merged = {**pointer(root, ref), **siblings}
    raise ValueError(f"$ref chain too long or circular near {merged.get('$ref')!r}")


def child_schema(root: Schema, node: Schema, key: str | int) -> Schema | None:
    """The subschema describing ``node``'s member ``key`` (property name or array index)."""
    node = resolve(root, node)
    if isinstance(key, int):
        prefix = node.get("prefixItems")
        if isinstance(prefix, list) and key < len(prefix):
            return resolve(root, prefix[key])
        items = node.get("items")
        return resolve(root, items) if isinstance(items, Mapping) else None
    properties = node.get("properties")
    if isinstance(properties, Mapping) and key in properties:
        return resolve(root, properties[key])
    for branch in _branches(node):
        found = child_schema(root, branch, key)
        if found is not None:
            return found
    for pattern, sub in (node.get("patternProperties") or {}).items():
        if re.search(pattern, key):
            return resolve(root, sub)
    extra = node.get("additionalProperties")
    return resolve(root, extra) if isinstance(extra, Mapping) else None


def _branches(node: Schema) -> list[Schema]:
    found: list[Schema] = []
    for keyword in _BRANCHES:
        value = node.get(keyword)
        if isinstance(value, Mapping):
            found.append(value)
        elif isinstance(value, list):
            found.extend(item for item in value if isinstance(item, Mapping))
    return found


def schema_at(root: Schema, path: Path) -> Schema | None:
    """The subschema for a data path such as ``("owner", "ho_ten")``, or None if unknown."""
    node: Schema | None = resolve(root, root)
    for key in path:
        if node is None:
            return None
        node = child_schema(root, node, key)
    return node


def ui_child(ui: Any, key: str | int) -> Schema:
    """The UI schema of a property (``ui[key]``) or of array items (``ui["items"]``)."""
    if not isinstance(ui, Mapping):
        return EMPTY
    found = ui.get("items") if isinstance(key, int) else ui.get(key)
    return found if isinstance(found, Mapping) else EMPTY


def ui_at(ui: Any, path: Path) -> Schema:
    """The UI schema node for a data path."""
    node: Schema = ui if isinstance(ui, Mapping) else EMPTY
    for key in path:
        node = ui_child(node, key)
    return node


def ui_get(ui: Schema, key: str, default: Any = None) -> Any:
    """Read ``ui:<key>``, falling back to ``ui:options.<key>`` as react-jsonschema-form does."""
    if f"ui:{key}" in ui:
        return ui[f"ui:{key}"]
    options = ui.get("ui:options")
    if isinstance(options, Mapping) and key in options:
        return options[key]
    return default


def primary_type(schema: Schema) -> str | None:
    """The field's main type: the first non-null ``type``, else inferred from ``enum``/``const``."""
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared] if declared else []
    for name in types:
        if name != "null":
            return name
    samples = list(schema.get("enum") or []) + ([schema["const"]] if "const" in schema else [])
    return _infer_type(samples) if samples else ("object" if "properties" in schema else None)


def _infer_type(samples: list[Any]) -> str | None:
    if all(isinstance(value, bool) for value in samples):
        return "boolean"
    if all(isinstance(value, int) and not isinstance(value, bool) for value in samples):
        return "integer"
    if all(isinstance(value, int | float) and not isinstance(value, bool) for value in samples):
        return "number"
    if all(isinstance(value, str) for value in samples):
        return "string"
    return None


def choices(root: Schema, schema: Schema, ui: Schema) -> list[tuple[Any, str]] | None:
    """Allowed values with their labels, or None when the field is free input.

    Labels come from ``oneOf``/``anyOf`` branches of ``{"const", "title"}`` (the JSON Schema way
    to name enum values) or from ``ui:enumNames``; otherwise the value itself is shown.
    """
    if isinstance(schema.get("enum"), list):
        names = ui_get(ui, "enumNames") or schema.get("enumNames") or []
        values = schema["enum"]
        return [
            (value, str(names[i]) if i < len(names) else to_text(value)) for i, value in enumerate(values)
        ]
    for keyword in ("oneOf", "anyOf"):
        branches = schema.get(keyword)
        if isinstance(branches, list) and branches:
            resolved = [resolve(root, branch) for branch in branches]
            if all("const" in branch for branch in resolved):
                return [(b["const"], str(b.get("title") or to_text(b["const"]))) for b in resolved]
    if primary_type(schema) == "boolean" and ui_get(ui, "widget") in ("select", "radio"):
        return list(BOOLEAN_CHOICES)
    return None


def ordered_properties(schema: Schema, ui: Schema) -> list[str]:
    """Property names in display order, honouring ``ui:order`` and its ``*`` wildcard.

    Unlike react-jsonschema-form, names missing from ``ui:order`` are appended instead of
    raising, and unknown names are ignored, so a stale UI schema never breaks a live form.
    """
    properties = list(schema.get("properties") or {})
    order = ui_get(ui, "order")
    if not isinstance(order, list):
        return properties
    order = list(dict.fromkeys(order))
    if "*" not in order:
        listed = [name for name in order if name in properties]
        return listed + [name for name in properties if name not in listed]
    star = order.index("*")
    before = [name for name in order[:star] if name in properties]
    after = [name for name in order[star + 1 :] if name in properties]
    middle = [name for name in properties if name not in before and name not in after]
    return before + middle + after


def field_kind(root: Schema, schema: Schema, ui: Schema) -> str:
    """Which widget template shows the field; parsing uses the same answer to read it back."""
    widget = ui_get(ui, "widget")
    kind = primary_type(schema)
    if widget == "hidden":
        return "hidden"
    if kind == "object":
        return "object"
    if kind == "array":
        items = resolve(root, schema.get("items"))
        if choices(root, items, ui_child(ui, 0)) is not None:
            return "checkboxes" if widget == "checkboxes" else "multiselect"
        return "array"
    if choices(root, schema, ui) is not None:
        return "radio" if widget == "radio" else "select"
    if kind == "boolean":
        return "checkbox"
    if widget in ("textarea", "file"):
        return widget
    if schema.get("format") == FILE_FORMAT:
        return "file"
    return "input"


_NO_READONLY = frozenset({"select", "radio", "checkbox", "checkboxes", "multiselect", "file"})


def effective_lock(
    schema: Schema, ui: Schema, kind: str, *, readonly: bool = False, disabled: bool = False
) -> tuple[bool, bool]:
    """``(readonly, disabled)`` for a field, inheriting its container's state.

    HTML ignores ``readonly`` on selects, radios and checkboxes, so those become ``disabled``
    when read-only; browsers do not post disabled controls, which parsing must know.
    """
    readonly = readonly or bool(ui_get(ui, "readonly") or schema.get("readOnly"))
    disabled = disabled or bool(ui_get(ui, "disabled")) or (readonly and kind in _NO_READONLY)
    return readonly, disabled


def field_title(schema: Schema, ui: Schema, fallback: str = "") -> str:
    """Label text: ``ui:title``, then ``title``, then the property name (without direction controls)."""
    return plain_text(str(ui_get(ui, "title") or schema.get("title") or fallback))
