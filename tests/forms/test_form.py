"""Loading form definitions: broken schemas fail at load time with a usable message."""

from __future__ import annotations

import dataclasses

import pytest

from forms import Form, load_form

from .conftest import household_files


def test_loading_a_valid_schema_gives_a_frozen_form_with_a_ready_validator() -> None:
    form = load_form({"type": "object", "properties": {"ho_ten": {"type": "string"}}})
    assert isinstance(form, Form)
    assert form.ui_schema == {}
    assert form.validator.is_valid({"ho_ten": "An"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        form.schema = {}  # type: ignore[misc]


def test_the_spiffarena_household_registration_files_load_unchanged() -> None:
    schema, ui_schema = household_files()
    form = load_form(schema, ui_schema)
    assert form.ui_schema["owner"]["gioi_tinh"]["ui:widget"] == "radio"


def test_the_form_keeps_its_own_copy_so_later_edits_do_not_change_it() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    form = load_form(schema)
    schema["properties"]["a"]["type"] = "integer"
    assert form.schema["properties"]["a"]["type"] == "string"


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "object", "properties": {"a": {"type": "chuỗi"}}}, "properties/a/type"),
        ({"type": "object", "properties": {"a": {"minLength": -1}}}, "minLength"),
        ({"type": "object", "properties": {"a": {"pattern": "(unclosed"}}}, "pattern"),
        ({"type": "object", "required": "a"}, "required"),
    ],
)
def test_an_invalid_json_schema_is_refused_naming_where_it_is_wrong(schema: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match="invalid JSON Schema") as caught:
        load_form(schema)
    assert fragment in str(caught.value)


def test_a_schema_that_does_not_describe_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match='"type": "object"'):
        load_form({"type": "string"})


def test_a_schema_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        load_form(["type", "object"])  # type: ignore[arg-type]


def test_a_ui_schema_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ValueError, match="UI schema"):
        load_form({"type": "object"}, ["ui:order"])  # type: ignore[arg-type]


def test_a_remote_reference_is_refused_because_forms_must_be_self_contained() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.com/person.json"}}}
    with pytest.raises(ValueError, match="only local"):
        load_form(schema)


def test_a_dangling_local_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="#/properties/a"):
        load_form({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}})


def test_a_circular_reference_chain_is_refused() -> None:
    schema = {"type": "object", "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}
    with pytest.raises(ValueError, match="circular"):
        load_form(schema)


def test_a_property_name_containing_a_dot_is_refused_because_dots_separate_field_paths() -> None:
    with pytest.raises(ValueError, match="'a.b'"):
        load_form({"type": "object", "properties": {"x": {"type": "object", "properties": {"a.b": {}}}}})


def test_a_root_reference_to_an_object_definition_is_accepted() -> None:
    form = load_form({"$ref": "#/$defs/don", "$defs": {"don": {"type": "object", "properties": {}}}})
    assert form.validator.is_valid({})
