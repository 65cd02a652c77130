"""The answers of a form as a read-only summary, for the applicant to check before submitting.

Values are shown as a person reads them, not as they are stored: the title of a choice instead
of its code, dates as dd/mm/yyyy, times in Vietnam time, "Có"/"Không" for yes/no questions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .form import Form
from .messages import number_text
from .schema_tools import (
    BOOLEAN_CHOICES,
    MAX_DEPTH,
    Schema,
    choices,
    field_kind,
    field_title,
    ordered_properties,
    resolve,
    ui_child,
    ui_get,
)
from .uploads import Upload
from .values import VIETNAM_TZ, to_text

__all__ = ["Entry", "Section", "build_review", "display_value"]

EMPTY_TEXT = "Chưa khai"
_GROUPED_FROM = 10_000  # 1990 is a year, 150.000.000 an amount of money


@dataclass
class Entry:
    """One answer: a text (possibly several lines), a nested group, or a list of rows."""

    label: str
    lines: list[str] = field(default_factory=list)
    empty: bool = False
    children: list[Entry] = field(default_factory=list)
    rows: list[Entry] = field(default_factory=list)
    group: bool = False


@dataclass
class Section:
    """The answers of one step (or of the whole form when it has no steps)."""

    number: int
    title: str
    entries: list[Entry]
    edit_url: str | None = None


def build_review(
    form: Form, data: Mapping[str, Any], step_url: Callable[[int], str] | None, skip_empty: bool
) -> list[Section]:
    builder = _Review(form.schema, skip_empty)
    everything = builder.entries(form.schema, form.ui_schema, data, 0, None)
    if not form.steps:
        return [Section(0, "", everything)]
    return [
        Section(
            step.number,
            step.title,
            builder.entries(form.schema, form.ui_schema, data, 0, step.fields),
            step_url(step.number) if step_url else None,
        )
        for step in form.steps
    ]


class _Review:
    def __init__(self, root: Schema, skip_empty: bool) -> None:
        self.root = root
        self.skip_empty = skip_empty

    def entries(
        self, schema: Any, ui: Schema, data: Any, depth: int, only: tuple[str, ...] | None
    ) -> list[Entry]:
        schema = resolve(self.root, schema)
        properties = schema.get("properties") or {}
        values = data if isinstance(data, Mapping) else {}
        found = []
        for key in ordered_properties(schema, ui) if only is None else only:
            if properties[key] is False:
                continue
            entry = self.entry(properties[key], ui_child(ui, key), values.get(key), key, depth + 1)
            if entry is not None and not (self.skip_empty and entry.empty):
                found.append(entry)
        return found

    def entry(self, schema: Any, ui: Schema, value: Any, fallback: str, depth: int) -> Entry | None:
        schema = resolve(self.root, schema)
        kind = field_kind(self.root, schema, ui)
        if kind == "hidden" or depth > MAX_DEPTH:
            return None
        built = Entry(field_title(schema, ui, fallback))
        if value is None or value == "" or value == [] or value == {}:
            built.empty, built.lines = True, [EMPTY_TEXT]
        elif kind == "object":
            built.group = True
            built.children = self.entries(schema, ui, value, depth, None)
        elif kind == "array" and isinstance(value, list):
            built.rows = self.rows(schema, ui, value, built.label, depth)
        else:
            built.lines = display_value(self.root, schema, ui, value, kind).split("\n")
        return built

    def rows(self, schema: Schema, ui: Schema, values: list[Any], label: str, depth: int) -> list[Entry]:
        items, items_ui = resolve(self.root, schema.get("items")), ui_child(ui, 0)
        item_label = field_title(items, items_ui, label)
        rows = []
        for index, value in enumerate(values):
            row = self.entry(items, items_ui, value, item_label, depth + 1)
            if row is not None:
                row.label = f"{item_label} {index + 1}"
                rows.append(row)
        return rows


def display_value(root: Schema, schema: Schema, ui: Schema, value: Any, kind: str | None = None) -> str:
    """One stored value as the applicant should read it."""
    kind = kind or field_kind(root, schema, ui)
    if isinstance(value, Upload):
        return value.filename
    if kind == "input" and ui_get(ui, "widget") == "password":
        return "(đã nhập)"
    if kind in ("checkboxes", "multiselect") and isinstance(value, list):
        items = resolve(root, schema.get("items"))
        labels = _labels(root, items, ui_child(ui, 0))
        return ", ".join(labels.get(to_text(item), to_text(item)) for item in value)
    labels = _labels(root, schema, ui)
    if labels:
        return labels.get(to_text(value), to_text(value))
    if isinstance(value, bool):
        return dict(BOOLEAN_CHOICES)[value]
    if isinstance(value, int | float):
        return number_text(value) if abs(value) >= _GROUPED_FROM else to_text(value).replace(".", ",")
    fmt = schema.get("format")
    if isinstance(value, str) and fmt == "date":
        return _date_text(value)
    if isinstance(value, str) and fmt == "date-time":
        return _date_time_text(value)
    return to_text(value)


def _labels(root: Schema, schema: Schema, ui: Schema) -> dict[str, str]:
    return {to_text(value): label for value, label in choices(root, schema, ui) or []}


def _date_text(value: str) -> str:
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def _date_time_text(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM_TZ)
    return moment.strftime("%d/%m/%Y %H:%M")
