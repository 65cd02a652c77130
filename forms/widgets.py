"""Turning a form schema plus data into a tree of fields ready for the templates.

Every decision (widget, HTML attributes, ids, which error belongs to which field) is taken
here, in Python, where it can be tested; the Jinja templates only lay the fields out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from .conditions import condition_attrs, condition_text, required_conditions
from .fields import Field, Summary, constraints, input_type, options
from .form import Form
from .messages import path_key
from .schema_tools import (
    MAX_DEPTH,
    Schema,
    choices,
    effective_lock,
    field_kind,
    field_title,
    ordered_properties,
    resolve,
    schema_at,
    ui_at,
    ui_child,
    ui_get,
)
from .uploads import file_limits
from .values import plain_text, to_local_datetime, to_text

__all__ = ["ACTION_FIELD", "build_fields"]

#: Name of the submit buttons that add or remove array rows without JavaScript.
ACTION_FIELD = "_action"
MISSING: Any = object()
_GROUPS = frozenset({"radio", "checkboxes", "object", "array"})
Key = tuple[Any, ...]


def build_fields(
    form: Form,
    data: Any,
    errors: Mapping[str, Any] | None,
    prefix: str,
    readonly: bool,
    only: tuple[str, ...] | None = None,
) -> tuple[list[Field], Summary]:
    """The top-level fields of ``form`` (or just those named in ``only``) filled from ``data``,
    and the error summary."""
    builder = _Builder(form, errors or {}, prefix, readonly)
    fields = builder.properties(form.schema, form.ui_schema, data, (), only)
    summary = builder.summary()
    summary.buttons = builder.buttons
    return fields, summary


class _Builder:
    def __init__(self, form: Form, errors: Mapping[str, Any], prefix: str, readonly: bool) -> None:
        self.form = form
        self.root = form.schema
        self.errors = {
            str(key): [plain_text(str(message)) for message in ([value] if isinstance(value, str) else value)]
            for key, value in errors.items()
        }
        self.prefix = prefix.strip(".")
        self.readonly = readonly
        self.disabled = False
        self.soft = False  # inside an optional group or the template row: no native ``required``
        self.used_ids: set[str] = set()
        self.used_errors: set[str] = set()
        self.links: list[tuple[str, str]] = []
        self.buttons = False  # any submit button for rows, so the page needs a default button first

    def properties(
        self, schema: Any, ui: Schema, data: Any, path: Key, only: tuple[str, ...] | None = None
    ) -> list[Field]:
        schema = resolve(self.root, schema)
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        conditions = required_conditions(self.root, schema)
        values = data if isinstance(data, Mapping) else {}
        fields = []
        for key in ordered_properties(schema, ui) if only is None else only:
            if properties[key] is False:
                continue
            hint = None
            if key in conditions and key not in required:
                text = condition_text(self.root, schema, ui, conditions[key])
                attrs = condition_attrs(conditions[key], lambda name: self._name((*path, name)))
                hint = text, {"data-field": self._name((*path, key)), **attrs}
            value = values.get(key, MISSING)
            built = self.field(
                properties[key], ui_child(ui, key), value, (*path, key), key in required, key, hint
            )
            if built is not None:
                fields.append(built)
        return fields

    def _name(self, path: Key) -> str:
        key = path_key(path)
        return f"{self.prefix}.{key}" if self.prefix else key

    def field(
        self,
        schema: Any,
        ui: Schema,
        value: Any,
        path: Key,
        required: bool,
        fallback: str,
        hint: tuple[str, dict[str, str]] | None = None,
    ) -> Field | None:
        """One field; ``hint`` is the text and data attributes of a conditional requirement."""
        if len(path) > MAX_DEPTH:
            return None
        schema = resolve(self.root, schema)
        if value is MISSING and "default" in schema:
            value = schema["default"]
        kind = field_kind(self.root, schema, ui)
        built = self._base(kind, schema, ui, path, required, fallback)
        if hint is not None and kind != "hidden":
            built.condition = hint[0]
            built.box.update(hint[1])
        readonly, disabled = effective_lock(schema, ui, kind, readonly=self.readonly, disabled=self.disabled)
        # A browser must not insist on fields of a group the applicant may leave out entirely.
        soft = self.soft or (kind == "object" and not required)
        with self._state(readonly, disabled, soft):
            getattr(self, f"_build_{kind}")(built, schema, ui, value, path)
        self._finish(built, ui, readonly, disabled)
        return built

    @contextmanager
    def _state(self, readonly: bool, disabled: bool, soft: bool) -> Iterator[None]:
        """Containers pass read-only, disabled and optional state down to every nested field."""
        saved = self.readonly, self.disabled, self.soft
        self.readonly, self.disabled, self.soft = readonly, disabled, soft
        try:
            yield
        finally:
            self.readonly, self.disabled, self.soft = saved

    def _base(self, kind: str, schema: Schema, ui: Schema, path: Key, required: bool, fallback: str) -> Field:
        key = path_key(path)
        name = self._name(path)
        built = Field(
            kind=kind, path=key, name=name, id=self._unique_id(name), label=field_title(schema, ui, fallback)
        )
        built.required = required
        built.description = plain_text(str(ui_get(ui, "description") or schema.get("description") or ""))
        built.help = plain_text(str(ui_get(ui, "help") or ""))
        built.placeholder = plain_text(str(ui_get(ui, "placeholder") or ""))
        if kind != "hidden":  # nobody would see it; the summary lists it instead
            built.errors = self._take_errors(key, nested=kind in ("checkboxes", "multiselect"))
            if built.errors:
                text = "; ".join(built.errors)
                self.links.append((built.id, text if built.label in text else f"{built.label}: {text}"))
        return built

    def _unique_id(self, name: str) -> str:
        base = "f-" + "".join(
            char if char.isascii() and (char.isalnum() or char in "_-") else "-" for char in name
        )
        candidate, counter = base, 1
        while candidate in self.used_ids:
            counter += 1
            candidate = f"{base}-{counter}"
        self.used_ids.add(candidate)
        return candidate

    def _take_errors(self, key: str, nested: bool) -> list[str]:
        found: list[str] = []
        for error_key, messages in self.errors.items():
            if error_key == key or (nested and error_key.startswith(f"{key}.")):
                self.used_errors.add(error_key)
                found.extend(message for message in messages if message not in found)
        return found

    def _build_input(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        control = input_type(schema, ui)
        built.attrs["type"] = control
        if value is not MISSING and control != "password":  # never echo a password back
            built.attrs["value"] = to_local_datetime(value) if control == "datetime-local" else to_text(value)
        built.attrs.update(constraints(schema, control))
        built.attrs["placeholder"] = built.placeholder or None

    def _build_textarea(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        built.value = "" if value is MISSING else to_text(value)
        built.attrs.update(rows=ui_get(ui, "rows"), minlength=schema.get("minLength"))
        built.attrs.update(maxlength=schema.get("maxLength"), placeholder=built.placeholder or None)

    def _build_hidden(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        built.attrs.update(type="hidden", value=None if value is MISSING else to_text(value))

    def _build_file(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        # A browser cannot pre-fill a file input: a file stored earlier travels as a hidden
        # reference next to it, and choosing a new file replaces it.
        limits = file_limits(ui)
        built.stored = value if isinstance(value, str) else ""
        built.limits = limits.text
        built.attrs.update(type="file", accept=limits.accept_attr, **{"data-max-size": limits.max_size})

    def _build_checkbox(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        # HTML ``required`` on a checkbox means "must be ticked", which only ``const: true`` asks for.
        built.required = built.required and schema.get("const") is True
        built.attrs.update(type="checkbox", value="true", checked=value is True)

    def _build_select(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        selected = set() if value is MISSING else {to_text(value)}
        built.options = options(choices(self.root, schema, ui) or [], selected)
        built.placeholder = built.placeholder or "— Chọn —"

    def _build_multiselect(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        items = resolve(self.root, schema.get("items"))
        selected = {to_text(item) for item in value} if isinstance(value, list) else set()
        built.options = options(choices(self.root, items, ui_child(ui, 0)) or [], selected)
        built.attrs["multiple"] = True

    def _build_radio(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        self._build_select(built, schema, ui, value, path)
        self._group_options(built, ui, "radio")

    def _build_checkboxes(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        self._build_multiselect(built, schema, ui, value, path)
        built.attrs.pop("multiple")
        self._group_options(built, ui, "checkbox")

    def _group_options(self, built: Field, ui: Schema, control: str) -> None:
        built.inline = bool(ui_get(ui, "inline"))
        for index, option in enumerate(built.options):
            option.id = self._unique_id(f"{built.name}.{index}")
            option.attrs.update(type=control, id=option.id, name=built.name, value=option.value)
            option.attrs["checked"] = option.selected

    def _build_object(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        built.children = self.properties(schema, ui, value, path)

    def _build_array(self, built: Field, schema: Schema, ui: Schema, value: Any, path: Key) -> None:
        items, items_ui = resolve(self.root, schema.get("items")), ui_child(ui, 0)
        values = list(value) if isinstance(value, list) else []
        # A required list starts with the rows it needs, so nobody has to press "Thêm" first.
        padding = max(0, schema.get("minItems", 0) - len(values)) if built.required else 0
        locked = self.readonly or self.disabled
        removable = not locked and ui_get(ui, "removable", True) is not False
        room = len(values) + padding < schema.get("maxItems", math.inf)
        built.actions = not locked and room and ui_get(ui, "addable", True) is not False
        built.item_label = field_title(items, items_ui, built.label)
        built.add_action = f"add:{built.name}"
        row = partial(self._item, built, items, items_ui, removable=removable)
        rows = [row(item, (*path, index)) for index, item in enumerate(values)]
        with self._state(self.readonly, self.disabled, soft=self.soft or not built.required):
            rows += [row(MISSING, (*path, index)) for index in range(len(values), len(values) + padding)]
        built.children = [built_row for built_row in rows if built_row is not None]
        if built.actions:
            # Cloned by a script; browsers neither show nor post what is inside a <template>.
            with self._state(self.readonly, self.disabled, soft=True):
                built.template = row(MISSING, (*path, len(values) + padding))
            if built.template is not None:
                built.template.box["data-template"] = True
        self.buttons = self.buttons or built.actions or (removable and bool(built.children))
        built.box["data-orderable"] = "true" if ui_get(ui, "orderable", True) is not False else "false"

    def _item(
        self, parent: Field, schema: Schema, ui: Schema, value: Any, path: Key, *, removable: bool
    ) -> Field | None:
        # Rows shown count as wanted (the remove button discards one); padding and template rows are soft.
        built = self.field(schema, ui, value, path, not self.soft, parent.item_label)
        if built is not None:
            built.required = built.required and built.kind not in ("object", "array")  # no "*" on row legends
            built.label = f"{parent.item_label} {path[-1] + 1}"
            built.item, built.actions = True, removable
            built.remove_action = f"remove:{built.name}"
            built.box["data-index"] = path[-1]
        return built

    def _finish(self, built: Field, ui: Schema, readonly: bool, disabled: bool) -> None:
        """Attributes shared by every control: identity, state and accessibility links."""
        target = built.box if built.kind in _GROUPS else built.attrs
        target.update({"id": built.id, "aria-describedby": built.described_by})
        if built.kind not in _GROUPS:
            built.attrs.update(name=built.name, disabled=disabled, autofocus=bool(ui_get(ui, "autofocus")))
            built.attrs["readonly"] = readonly and built.kind in ("input", "textarea")
            self._mark_state(built, built.attrs)
            # A file stored earlier answers the field; the browser must not demand a new one.
            built.attrs["required"] = built.attrs["required"] and not built.stored
        elif built.kind in ("radio", "checkboxes"):
            built.box["role"] = "radiogroup" if built.kind == "radio" else "group"
            built.box["aria-required"] = "true" if built.required and built.kind == "radio" else None
            for option in built.options:
                option.attrs["disabled"] = disabled
                self._mark_state(built, option.attrs, native=built.kind == "radio")
            if built.options and ui_get(ui, "autofocus"):
                built.options[0].attrs["autofocus"] = True

    def _mark_state(self, built: Field, attrs: dict[str, Any], native: bool = True) -> None:
        needed = built.required and built.kind != "hidden"
        attrs["required"] = needed and native and not self.soft
        if built.kind not in ("radio", "checkboxes"):
            attrs["aria-required"] = "true" if needed else None
        attrs["aria-invalid"] = "true" if built.errors else None

    def summary(self) -> Summary:
        summary = Summary(messages=list(self.errors.get("", [])), links=self.links)
        for key, messages in self.errors.items():
            if key and key not in self.used_errors:
                path = [int(part) if part.isdigit() else part for part in key.split(".")]
                schema = schema_at(self.root, path) or {}
                title = field_title(schema, ui_at(self.form.ui_schema, path), key)
                summary.messages.extend(f"{title}: {message}" for message in messages)
        return summary
