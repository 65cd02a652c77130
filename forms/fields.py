"""The view model the templates render, and the HTML5 attributes derived from a schema.

Fields are plain data so tests can inspect them and templates need no logic beyond layout.
The constraint helpers mirror JSON Schema keywords as HTML5 attributes, so browsers catch
simple mistakes before a round trip; the server still validates everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .schema_tools import Schema, primary_type, ui_get
from .values import plain_text, to_text

__all__ = ["Field", "Option", "Summary", "constraints", "input_type", "options"]

_WIDGET_TYPES = {"email": "email", "password": "password", "date": "date", "updown": "number", "text": "text"}
_FORMAT_TYPES = {
    "email": "email",
    "date": "date",
    "date-time": "datetime-local",
    "phone-vn": "tel",
    "uri": "url",
}
_FORMAT_PATTERNS = {
    "cccd": "[0-9]{12}",
    "tax-code": "[0-9]{10}(-?[0-9]{3})?",
    "phone-vn": r"(0|\+84)[ .]*([0-9][ .]*){9}",
}
_FORMAT_INPUTMODE = {"cccd": "numeric"}


@dataclass
class Option:
    """One choice of a select, radio group or checkbox group."""

    value: str
    label: str
    selected: bool
    id: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Field:
    """A field as the templates see it: texts, control attributes and nested fields."""

    kind: str
    path: str
    name: str
    id: str
    label: str
    required: bool = False
    description: str = ""
    help: str = ""
    placeholder: str = ""
    condition: str = ""
    limits: str = ""
    stored: str = ""
    errors: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    box: dict[str, Any] = field(default_factory=dict)
    value: str = ""
    options: list[Option] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    template: Field | None = None
    item_label: str = ""
    item: bool = False
    actions: bool = False
    inline: bool = False
    add_action: str = ""
    remove_action: str = ""

    @property
    def description_id(self) -> str:
        return f"{self.id}-description"

    @property
    def help_id(self) -> str:
        return f"{self.id}-help"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def condition_id(self) -> str:
        return f"{self.id}-condition"

    @property
    def limits_id(self) -> str:
        return f"{self.id}-limits"

    @property
    def described_by(self) -> str | None:
        """Ids of the texts a screen reader should read after the label."""
        ids = [
            element_id
            for element_id, present in (
                (self.description_id, self.description),
                (self.condition_id, self.condition),
                (self.limits_id, self.limits),
                (self.help_id, self.help),
                (self.error_id, self.errors),
            )
            if present
        ]
        return " ".join(ids) or None

    @property
    def css(self) -> str:
        classes = ["field", f"field-{self.kind}"]
        classes += ["array-item"] if self.item else []
        classes += ["has-error"] if self.errors else []
        return " ".join(classes)


@dataclass
class Summary:
    """Errors listed above the form: form-level ones, then one link per invalid field."""

    messages: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    buttons: bool = False


def options(pairs: list[tuple[Any, str]], selected: set[str]) -> list[Option]:
    """Choices with their value as text, since text is what the browser posts back."""
    return [Option(to_text(value), plain_text(label), to_text(value) in selected) for value, label in pairs]


def input_type(schema: Schema, ui: Schema) -> str:
    """The ``<input type>``: an explicit widget wins, then numbers, then the string ``format``."""
    widget = ui_get(ui, "widget")
    if widget in _WIDGET_TYPES:
        return _WIDGET_TYPES[widget]
    if primary_type(schema) in ("integer", "number"):
        return "number"
    return _FORMAT_TYPES.get(str(schema.get("format")), "text")


def constraints(schema: Schema, control_type: str) -> dict[str, Any]:
    """HTML5 constraint attributes mirroring the schema, so browsers catch mistakes early."""
    json_type = primary_type(schema)
    if json_type in ("integer", "number"):
        if control_type != "number":
            return {"inputmode": "numeric" if json_type == "integer" else "decimal"}
        return _number_constraints(schema, json_type == "integer")
    fmt = str(schema.get("format"))
    return {
        "minlength": schema.get("minLength"),
        "maxlength": schema.get("maxLength"),
        "pattern": _html_pattern(schema.get("pattern")) or _FORMAT_PATTERNS.get(fmt),
        "inputmode": _FORMAT_INPUTMODE.get(fmt),
    }


def _number_constraints(schema: Schema, integer: bool) -> dict[str, Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if integer and isinstance(schema.get("exclusiveMinimum"), int):
        low = max(x for x in (low, schema["exclusiveMinimum"] + 1) if x is not None)
    if integer and isinstance(schema.get("exclusiveMaximum"), int):
        high = min(x for x in (high, schema["exclusiveMaximum"] - 1) if x is not None)
    step = schema.get("multipleOf") or (1 if integer else "any")
    return {"min": low, "max": high, "step": step}


def _html_pattern(pattern: Any) -> str | None:
    """A JSON Schema pattern (a search) as an HTML pattern (always a full match)."""
    if not isinstance(pattern, str):
        return None
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    return f".*(?:{pattern}).*"
