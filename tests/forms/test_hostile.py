"""Hostile text in every field type, in the schema's own titles, and on the review page stays inert.

Markup is escaped, template syntax is printed as text (never evaluated), and Unicode direction
controls are dropped from labels and messages while typed values come back exactly as typed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from forms import load_form, parse_form, render_form, render_review

from .browser import element, elements, submit

RTL = "\u202e"
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "{{7*7}}{% raw %}${7*7}",
    f"{RTL}fdp.exe",
]
CHOICE = {"type": "string", "oneOf": [{"const": "a", "title": "A"}]}
ROW = {"type": "object", "title": "Dòng", "properties": {"t": {"type": "string"}}}
FIELDS = {
    "text": {"type": "string"},
    "area": {"type": "string"},
    "hidden": {"type": "string"},
    "secret": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "when": {"type": "string", "format": "date-time"},
    "phone": {"type": "string", "format": "phone-vn"},
    "number": {"type": "integer"},
    "choice": CHOICE,
    "radio": CHOICE,
    "tags": {"type": "array", "items": {"enum": ["x", "y"]}},
    "boxes": {"type": "array", "items": {"enum": ["x", "y"]}},
    "list": {"type": "array", "items": {"type": "string"}},
    "rows": {"type": "array", "items": ROW},
    "file": {"type": "string", "format": "data-url"},
    "group": {"type": "object", "properties": {"inner": {"type": "string"}}},
}
UI = {
    "area": {"ui:widget": "textarea"},
    "hidden": {"ui:widget": "hidden"},
    "secret": {"ui:widget": "password"},
    "radio": {"ui:widget": "radio"},
    "boxes": {"ui:widget": "checkboxes"},
}
# Fields whose typed text a browser posts back as it was shown (choices only post their options).
TEXT_FIELDS = ("text", "area", "hidden", "date", "when", "phone", "number")


def assert_inert(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag not in ("script", "img", "svg", "iframe"), tag
        assert not [name for name in attrs if name.startswith("on")], attrs
        assert not (attrs.get("href") or "").lower().startswith("javascript:")
    assert "49" not in html.replace("f-49", "")  # template syntax is never evaluated


def hostile_data(payload: str) -> dict[str, Any]:
    return {
        **{name: payload for name in ("text", "area", "hidden", "secret", "date", "when", "phone", "number")},
        **{name: payload for name in ("choice", "radio", "file")},
        "tags": [payload],
        "boxes": [payload],
        "list": [payload],
        "rows": [{"t": payload}],
        "group": {"inner": payload},
    }


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_values_in_every_field_type_are_escaped(payload: str) -> None:
    form = load_form({"type": "object", "properties": FIELDS}, UI)
    errors = {name: [payload] for name in FIELDS} | {"": [payload], payload: [payload]}
    html = str(render_form(form, hostile_data(payload), errors))
    assert_inert(html)
    if "<" in payload or '"' in payload:
        assert payload not in html
    for name in ("text", "hidden", "date", "phone", "number", "list.0", "rows.0.t", "group.inner"):
        assert element(html, id="f-" + name.replace(".", "-"))["value"] == payload, name
    assert "value" not in element(html, id="f-secret")
    assert element(html, name="file", type="hidden")["value"] == payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_text_typed_into_text_fields_comes_back_unchanged(payload: str) -> None:
    form = load_form({"type": "object", "properties": FIELDS}, UI)
    data = {name: payload for name in TEXT_FIELDS}
    data |= {"list": [payload], "rows": [{"t": payload}], "group": {"inner": payload}, "file": payload}
    parsed = parse_form(form, submit(render_form(form, data)))
    assert {key: parsed[key] for key in data} == data


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_titles_descriptions_and_labels_from_the_schema_are_escaped(payload: str) -> None:
    text = {"title": payload, "description": payload}
    schema = {
        "type": "object",
        "title": payload,
        "required": ["a"],
        "properties": {
            "a": {"type": "string", **text},
            "b": {"type": "string", **text, "oneOf": [{"const": payload, "title": payload}]},
            "c": {"type": "array", **text, "items": {**ROW, **text}},
            "d": {"type": "string", "format": "data-url", **text},
            "e": {"type": "boolean", **text},
            "f": {"type": "string", **text},
        },
        "if": {"properties": {"b": {"const": payload}}, "required": ["b"]},
        "then": {"required": ["f"]},
    }
    ui = {
        "a": {"ui:help": payload, "ui:placeholder": payload},
        "b": {"ui:widget": "radio"},
        "ui:steps": [{"title": payload, "description": payload, "fields": ["a", "b", "c", "d", "e", "f"]}],
    }
    form = load_form(schema, ui)
    html = str(render_form(form, {"c": [{"t": "x"}]}, {"a": ["Vui lòng nhập " + payload]}, step=1))
    assert_inert(html)
    visible = payload.replace(RTL, "")
    if "<" in payload or '"' in payload:
        assert payload not in html and visible not in html
    # Dropped from every label, legend, help text, condition and message; only data keeps it.
    shown = re.sub(r' (value|data-required-when)="[^"]*"', "", html)
    assert RTL not in shown
    assert element(html, name="a")["placeholder"] == visible
    assert element(html, id="f-b-0")["value"] == payload  # a value is data: kept exactly


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_review_page_escapes_answers_and_isolates_their_direction(payload: str) -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "title": payload},
            "b": CHOICE,
            "c": {"type": "array", "items": ROW},
            "d": {"type": "string", "format": "date"},
        },
    }
    ui = {"ui:steps": [{"title": payload, "fields": ["a", "b", "c", "d"]}]}
    html = str(
        render_review(
            load_form(schema, ui),
            {"a": payload, "b": payload, "c": [{"t": payload}], "d": payload},
            step_url=lambda number: f"?buoc={number}",
        )
    )
    assert_inert(html)
    if "<" in payload or '"' in payload:
        assert payload not in html
    if RTL in payload:
        assert html.count(RTL) == 4 and html.count(f"<bdi>{RTL}") == 4  # answers only, each isolated


def test_a_hostile_enum_value_is_not_selected_by_accident() -> None:
    form = load_form({"type": "object", "properties": {"c": CHOICE}})
    html = str(render_form(form, {"c": '"><script>'}))
    assert "selected" not in html.replace('<option value="">', "")
