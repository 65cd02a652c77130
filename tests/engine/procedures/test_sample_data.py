"""Sample answers for procedure forms: valid for every form of the catalogue, deterministic, and
following each keyword forms/ supports (defaults, choices, formats, bounds, arrays, conditions)."""

from __future__ import annotations

import copy
import re

import pytest

import forms
from engine.config import PROJECT_ROOT
from engine.procedures.package import read_package
from engine.procedures.sample_data import (
    MAX_SAMPLE_SIZE,
    MAX_SAMPLE_TEXT,
    SAMPLE_APPLICANT,
    sample_data,
    sample_result,
    sample_start_data,
)

PROCESSES = sorted(path for path in (PROJECT_ROOT / "processes").iterdir() if path.is_dir())
CATALOGUE_FORMS = [(folder.name, name, spec) for folder in PROCESSES
                   for name, spec in sorted(read_package(folder)["forms"].items())]


def check(schema: dict, ui_schema: dict | None = None) -> dict:
    """The sample of `schema`, after asserting that the form accepts it unchanged."""
    sample = sample_data(schema)
    assert forms.validate(forms.load_form(schema, ui_schema), sample) == sample
    return sample


@pytest.mark.parametrize(("slug", "name", "spec"), CATALOGUE_FORMS, ids=[f"{s}/{n}" for s, n, _ in CATALOGUE_FORMS])
def test_the_sample_of_every_catalogue_form_passes_that_forms_validation_with_every_field_filled(slug, name, spec):
    sample = check(spec["schema"], spec["ui_schema"])
    assert set(sample) == set(spec["schema"].get("properties") or {})


def test_the_catalogue_has_the_six_procedures_and_their_forms():
    assert len(PROCESSES) == 6 and len(CATALOGUE_FORMS) >= 40


def test_the_same_schema_always_gives_the_same_sample_and_is_not_modified():
    schema = read_package(PROJECT_ROOT / "processes" / "cap-phieu-ly-lich-tu-phap")["forms"]["to-khai"]["schema"]
    before = copy.deepcopy(schema)
    assert sample_data(schema) == sample_data(copy.deepcopy(schema))
    assert schema == before


def test_defaults_consts_and_the_first_choice_are_taken():
    sample = check({"type": "object", "properties": {
        "quoc_tich": {"type": "string", "default": "Việt Nam"},
        "cam_doan": {"type": "boolean", "const": True},
        "gioi_tinh": {"type": "string", "enum": ["Nữ", "Nam"]},
        "ket_qua": {"type": "string", "oneOf": [{"const": "tiep_nhan", "title": "Tiếp nhận"},
                                                {"const": "tu_choi", "title": "Từ chối"}]},
        "rut_ho_so": {"type": "boolean"}}})
    assert sample == {"quoc_tich": "Việt Nam", "cam_doan": True, "gioi_tinh": "Nữ", "ket_qua": "tiep_nhan",
                      "rut_ho_so": False}


def test_each_format_gets_a_value_of_that_format():
    sample = check({"type": "object", "properties": {
        name: {"type": "string", "format": name}
        for name in ("cccd", "phone-vn", "email", "date", "date-time", "tax-code", "uri", "data-url")}})
    assert re.fullmatch(r"[0-9]{12}", sample["cccd"])
    assert re.fullmatch(r"0[0-9]{9}", sample["phone-vn"])
    assert "@" in sample["email"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", sample["date"])
    assert sample["date-time"].endswith("+07:00")


def test_text_fits_its_length_bounds_and_patterns_are_matched():
    sample = check({"type": "object", "properties": {
        "ngan": {"type": "string", "title": "Một tiêu đề rất dài cho một ô rất ngắn", "maxLength": 5},
        "dai": {"type": "string", "minLength": 40},
        "ho_ten": {"type": "string", "minLength": 2, "pattern": "^[A-ZĐ]+( [A-ZĐ]+)*$"},
        "ma": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}(/[a-z]+)?$"},
        "thang": {"type": "string", "pattern": "^(0[1-9]|1[0-2])/[0-9]{4}$"}}})
    assert len(sample["ngan"]) <= 5 and len(sample["dai"]) >= 40
    assert re.fullmatch(r"[A-Z]{3}-[0-9]{4}(/[a-z]+)?", sample["ma"])


def test_numbers_respect_minimum_maximum_exclusive_bounds_and_multiples():
    sample = check({"type": "object", "properties": {
        "so_ban": {"type": "integer", "minimum": 2, "maximum": 10},
        "dien_tich": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.8},
        "le_phi": {"type": "integer", "minimum": 1, "multipleOf": 1000},
        "am": {"type": "integer", "maximum": -3},
        "nam_sinh": {"type": "integer", "minimum": 1880, "maximum": 2026}}})
    assert sample["so_ban"] == 2 and 0 < sample["dien_tich"] < 0.8 and sample["le_phi"] == 1000
    assert sample["am"] == -3 and sample["nam_sinh"] == 1990


def test_arrays_get_their_minimum_number_of_items_and_distinct_choices():
    sample = check({"type": "object", "properties": {
        "giay_to": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "thanh_vien": {"type": "array", "minItems": 2, "maxItems": 3, "items": {
            "type": "object", "required": ["ho_ten"], "properties": {"ho_ten": {"type": "string"},
                                                                      "cccd": {"type": "string", "format": "cccd"}}}},
        "kenh": {"type": "array", "minItems": 2, "uniqueItems": True,
                 "items": {"type": "string", "enum": ["sms", "email", "vneid"]}},
        "trong": {"type": "array", "maxItems": 0, "items": {"type": "string"}}}})
    assert len(sample["giay_to"]) == 1 and len(sample["thanh_vien"]) == 2
    assert sample["kenh"] == ["sms", "email"] and sample["trong"] == []


def test_nested_objects_and_local_references_are_filled():
    sample = check({"type": "object", "$defs": {"nguoi": {"type": "object", "required": ["ho_ten"], "properties": {
        "ho_ten": {"type": "string", "minLength": 1}, "ngay_sinh": {"type": "string", "format": "date"}}}},
        "properties": {"cha": {"$ref": "#/$defs/nguoi", "title": "Cha"}, "me": {"$ref": "#/$defs/nguoi"}}})
    assert set(sample["cha"]) == {"ho_ten", "ngay_sinh"} and set(sample["me"]) == {"ho_ten", "ngay_sinh"}


def test_if_then_else_follow_the_branch_the_sample_chooses():
    schema = {"type": "object", "additionalProperties": False, "properties": {
        "ket_qua": {"type": "string", "enum": ["bo_sung", "tiep_nhan"]},
        "quoc_tich": {"type": "string", "default": "Lào"},
        "so_ho_chieu": {"type": "string"}},
        "allOf": [
            {"if": {"properties": {"ket_qua": {"const": "bo_sung"}}, "required": ["ket_qua"]},
             "then": {"required": ["giay_to_thieu"], "properties": {
                 "giay_to_thieu": {"type": "array", "minItems": 2, "items": {"type": "string"}}}}},
            {"if": {"properties": {"quoc_tich": {"const": "Việt Nam"}}},
             "then": {"properties": {"so_ho_chieu": False}},
             "else": {"required": ["so_ho_chieu"], "properties": {"so_ho_chieu": {"minLength": 8}}}}]}
    schema["properties"]["giay_to_thieu"] = {"type": "array", "items": {"type": "string"}}
    sample = check(schema)
    assert len(sample["giay_to_thieu"]) == 2 and len(sample["so_ho_chieu"]) >= 8

    schema["properties"]["quoc_tich"]["default"] = "Việt Nam"
    assert "so_ho_chieu" not in check(schema)


def test_a_form_that_is_not_an_object_schema_gives_an_empty_sample():
    assert sample_data({"type": "string"}) == {} and sample_data("không phải schema") == {}


def test_a_start_sample_carries_the_start_form_answers_and_a_valid_applicant():
    package = read_package(PROJECT_ROOT / "processes" / "dang-ky-khai-sinh")
    start = sample_start_data(package)
    assert start["applicant"] == SAMPLE_APPLICANT
    answers = {key: value for key, value in start.items() if key != "applicant"}
    spec = package["forms"]["to-khai"]
    assert forms.validate(forms.load_form(spec["schema"], spec["ui_schema"]), answers) == answers


def test_connector_results_are_sampled_from_the_call_and_unknown_operations_get_an_empty_result():
    assert sample_result("dvcqg_payment/init_payment", {"amount": 75000})["amount"] == 75000
    assert sample_result("vdxp/send_edoc", {})["status"] == "OK"
    assert sample_result("khong/co", {}) == {}


def test_a_hostile_form_gets_a_bounded_sample_and_one_that_is_not_json_schema_gets_none():
    nested = {"type": "array", "minItems": 10**9, "items": {"type": "array", "minItems": 10**9,
                                                               "items": {"type": "string", "minLength": 10**9}}}
    sample = sample_data({"type": "object", "properties": {"a": nested, "b": {"type": "string"}}})
    assert sample["a"][0][0] and sum(len(text) for row in sample["a"] for text in row) <= MAX_SAMPLE_SIZE + MAX_SAMPLE_TEXT
    assert "b" not in sample  # past the bound the sample is left short
    repeated = sample_data({"type": "object", "properties": {"b": {"type": "string", "pattern": "^(a{9999}){9999}$"}}})
    assert 0 < len(repeated["b"]) <= 2 * MAX_SAMPLE_TEXT
    assert sample_data({"type": "object", "properties": {"a": {"type": "string", "minLength": "ba"}}}) == {}
