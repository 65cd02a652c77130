"""load_form refuses what the package would silently ignore, saying where it was written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from forms import load_form

ROOT = Path(__file__).resolve().parents[2]
PROCEDURE_FORMS = sorted(
    [*ROOT.glob("processes/*/forms/*-schema.json"), *ROOT.glob("tests/fixtures/**/*-schema.json")]
)


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


@pytest.mark.parametrize("path", PROCEDURE_FORMS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_procedure_form_uses_only_supported_keywords_and_widgets(path: Path) -> None:
    ui_path = path.with_name(path.name.replace("-schema.json", "-uischema.json"))
    ui = json.loads(ui_path.read_text(encoding="utf-8")) if ui_path.exists() else None
    load_form(json.loads(path.read_text(encoding="utf-8")), ui)


@pytest.mark.parametrize(
    ("schema", "fragments"),
    [
        (obj(a={"type": "string", "minlenght": 3}), ["'minlenght'", "#/properties/a"]),
        (obj(a={"type": "string", "contentMediaType": "application/pdf"}), ["data-url"]),
        ({**obj(), "definitions": {}}, ['"$defs"']),
        ({**obj(), "dependencies": {"a": ["b"]}}, ["dependentRequired"]),
        ({**obj(), "dependentSchemas": {"a": {}}}, ['"if"/"then"']),
        (obj(a={"type": "array", "prefixItems": [{"type": "string"}]}), ["tuples", "#/properties/a"]),
        (obj(a={"$id": "https://example.com/a", "type": "string"}), ["self-contained"]),
        (obj(a={"type": "string", "writeOnly": True}), ["'writeOnly'"]),
        (obj(o={**obj(b={"type": "string", "x-custom": 1})}), ["#/properties/o/properties/b"]),
        ({**obj(), "allOf": [{"if": {"properties": {}}, "then": {"requried": []}}]}, ["#/allOf/0/then"]),
    ],
)
def test_an_unsupported_keyword_is_refused_with_its_location(schema: dict, fragments: list[str]) -> None:
    with pytest.raises(ValueError, match="unsupported keyword") as caught:
        load_form(schema)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_values_of_const_enum_and_default_are_data_not_schemas() -> None:
    load_form(obj(a={"const": {"minlenght": 1}}, b={"enum": [{"x-y": 1}], "default": {"z": 1}}))


@pytest.mark.parametrize("fmt", ["time", "ipv4", "uuid", "hostname", "duration", "ngay"])
def test_a_format_the_package_does_not_check_is_refused(fmt: str) -> None:
    with pytest.raises(ValueError, match=f"unsupported format '{fmt}' at #/properties/a"):
        load_form(obj(a={"type": "string", "format": fmt}))


def test_a_field_with_two_types_is_refused_but_a_nullable_one_is_accepted() -> None:
    load_form(obj(a={"type": ["string", "null"]}))
    with pytest.raises(ValueError, match="one type"):
        load_form(obj(a={"type": ["string", "integer"]}))


def test_free_form_additional_properties_are_refused() -> None:
    with pytest.raises(ValueError, match="additionalProperties at #/properties/o must be true or false"):
        load_form(obj(o={"type": "object", "additionalProperties": {"type": "string"}}))


def test_only_the_2020_12_dialect_is_accepted() -> None:
    load_form({**obj(), "$schema": "https://json-schema.org/draft/2020-12/schema"})
    with pytest.raises(ValueError, match=r"\$schema"):
        load_form({**obj(), "$schema": "http://json-schema.org/draft-07/schema#"})


@pytest.mark.parametrize(
    ("field", "ui", "fragment"),
    [
        ({"type": "string"}, {"ui:widgit": "textarea"}, "unsupported UI key 'ui:widgit' at #/a"),
        ({"type": "string"}, {"ui:widget": "signature"}, "unsupported ui:widget 'signature'"),
        ({"type": "integer"}, {"ui:widget": "checkboxes"}, "ui:widget 'checkboxes' at #/a"),
        ({"type": "string"}, {"ui:widget": "checkbox"}, "cannot show this field"),
        ({"enum": ["x", "y"]}, {"ui:widget": "text"}, "cannot show this field (type choice)"),
        ({"type": "object", "properties": {}}, {"ui:widget": "hidden"}, "ui:widget 'hidden'"),
        ({"type": "string"}, {"ui:options": {"rows": 3}}, "ui:rows at #/a does not apply"),
        ({"type": "string"}, {"ui:options": {"colour": "red"}}, "unsupported ui:options key 'colour'"),
        ({"type": "string"}, {"ui:options": {"inline": True}}, "ui:inline"),
        ({"type": "boolean"}, {"ui:placeholder": "x"}, "ui:placeholder"),
        ({"type": "string"}, {"ui:options": {"accept": ".pdf"}}, "ui:accept"),
        ({"type": "string"}, {"ui:help": 5}, "ui:help at #/a must be text"),
        ({"type": "string"}, {"ui:readonly": "yes"}, "must be true or false"),
        ({"type": "string"}, {"ui:widget": "textarea", "ui:options": {"rows": 0}}, "positive"),
        ({"type": "string"}, "textarea", "UI schema at #/a must be an object"),
        (
            {"type": "string", "format": "data-url"},
            {"ui:options": {"accept": "text/plain"}},
            "cannot be checked",
        ),
        ({"type": "string", "format": "data-url"}, {"ui:options": {"maxSize": "5MB"}}, "maxSize"),
    ],
)
def test_an_unsupported_or_misplaced_ui_setting_is_refused(field: dict, ui: Any, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_form(obj(a=field), {"a": ui})
    assert fragment in str(caught.value)


def test_a_ui_entry_for_a_field_the_schema_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="names 'ho_tne', which is not a field"):
        load_form(obj(owner=obj(ho_ten={"type": "string"})), {"owner": {"ho_tne": {"ui:widget": "textarea"}}})


def test_ui_entries_for_array_items_and_fields_added_by_conditions_are_accepted() -> None:
    schema = {
        **obj(tv={"type": "array", "items": obj(ten={"type": "string"})}, loai={"enum": ["a", "b"]}),
        "if": {"properties": {"loai": {"const": "a"}}, "required": ["loai"]},
        "then": {"properties": {"ly_do": {"type": "string"}}},
    }
    load_form(
        schema, {"tv": {"items": {"ten": {"ui:widget": "textarea"}}}, "ly_do": {"ui:widget": "textarea"}}
    )


def test_a_property_called_items_is_still_a_property_of_an_object() -> None:
    load_form(obj(items={"type": "string"}), {"items": {"ui:widget": "textarea"}})


def test_ui_steps_are_only_accepted_at_the_root() -> None:
    with pytest.raises(ValueError, match="unsupported UI key 'ui:steps' at #/o"):
        load_form(obj(o=obj(a={"type": "string"})), {"o": {"ui:steps": []}})
