"""Validating submissions: cleaned data back, or Vietnamese messages keyed by field path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from forms import FormInvalid, load_form, validate


def errors_of(
    schema: dict[str, Any], data: Any, ui_schema: dict | None = None, **limits: Any
) -> dict[str, list[str]]:
    with pytest.raises(FormInvalid) as caught:
        validate(load_form(schema, ui_schema), data, **limits)
    return caught.value.errors


def one_field(field: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"type": "object", "properties": {"x": field}, "required": ["x"] if required else []}


KEYWORD_CASES = [
    ("minLength", {"type": "string", "minLength": 3}, "ab", "Cần ít nhất 3 ký tự"),
    ("maxLength", {"type": "string", "maxLength": 2}, "abc", "Tối đa 2 ký tự"),
    ("pattern", {"type": "string", "pattern": "^[0-9]{4,5}$"}, "47a1", "Không đúng định dạng"),
    (
        "format cccd",
        {"type": "string", "format": "cccd"},
        "12345",
        "Số định danh cá nhân phải gồm đúng 12 chữ số",
    ),
    ("format phone-vn", {"type": "string", "format": "phone-vn"}, "12345", "Số điện thoại không hợp lệ"),
    (
        "format tax-code",
        {"type": "string", "format": "tax-code"},
        "12345",
        "Mã số thuế phải gồm 10 hoặc 13 chữ số",
    ),
    ("format email", {"type": "string", "format": "email"}, "a@b", "Địa chỉ email không hợp lệ"),
    (
        "format date",
        {"type": "string", "format": "date"},
        "30/04/1975",
        "Ngày không hợp lệ (định dạng YYYY-MM-DD)",
    ),
    ("format date-time", {"type": "string", "format": "date-time"}, "2024-01-01", "Ngày giờ không hợp lệ"),
    ("enum", {"enum": ["a", "b"]}, "c", "Giá trị không nằm trong danh sách cho phép"),
    (
        "oneOf const",
        {"type": "string", "oneOf": [{"const": "a", "title": "A"}]},
        "c",
        "Giá trị không nằm trong danh sách cho phép",
    ),
    (
        "anyOf const",
        {"anyOf": [{"const": 1, "title": "Một"}, {"const": 2}]},
        3,
        "Giá trị không nằm trong danh sách cho phép",
    ),
    ("anyOf other", {"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, "c", "Giá trị không hợp lệ"),
    ("type integer", {"type": "integer"}, "12a", "Phải là số nguyên"),
    ("type integer float", {"type": "integer"}, 1.5, "Phải là số nguyên"),
    ("type number", {"type": "number"}, "1,5", "Phải là số"),
    ("type string", {"type": "string"}, 5, "Phải là chuỗi ký tự"),
    ("type boolean", {"type": "boolean"}, "có", "Phải là giá trị đúng hoặc sai"),
    ("type array", {"type": "array"}, "a", "Phải là một danh sách"),
    ("type object", {"type": "object"}, [], "Phải là một nhóm thông tin"),
    ("type nullable", {"type": ["null", "integer"]}, "x", "Phải là số nguyên"),
    ("minimum", {"type": "integer", "minimum": 1000000}, 5, "Phải lớn hơn hoặc bằng 1.000.000"),
    ("maximum", {"type": "number", "maximum": 2.5}, 3, "Phải nhỏ hơn hoặc bằng 2,5"),
    ("exclusiveMinimum", {"type": "integer", "exclusiveMinimum": 0}, 0, "Phải lớn hơn 0"),
    ("exclusiveMaximum", {"type": "integer", "exclusiveMaximum": 100}, 100, "Phải nhỏ hơn 100"),
    ("multipleOf", {"type": "integer", "multipleOf": 1000}, 1500, "Phải là bội số của 1.000"),
    ("minItems", {"type": "array", "minItems": 1}, [], "Cần ít nhất 1 mục"),
    ("maxItems", {"type": "array", "maxItems": 1}, [1, 2], "Tối đa 1 mục"),
    ("uniqueItems", {"type": "array", "uniqueItems": True}, ["a", "a"], "Các mục không được trùng nhau"),
    ("contains", {"type": "array", "contains": {"const": "chinh"}}, ["phu"], "Danh sách chưa có mục phù hợp"),
    ("minProperties", {"type": "object", "minProperties": 1}, {}, "Cần ít nhất 1 trường"),
    ("maxProperties", {"type": "object", "maxProperties": 1}, {"a": 1, "b": 2}, "Tối đa 1 trường"),
    (
        "propertyNames",
        {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}},
        {"A": 1},
        "Tên trường không hợp lệ: A",
    ),
    ("const", {"const": "VN"}, "US", "Giá trị phải là VN"),
    ("const true", {"type": "boolean", "const": True}, False, "Vui lòng đánh dấu vào ô này"),
    ("not", {"not": {"const": "admin"}}, "admin", "Giá trị không được phép"),
    ("false schema", False, "anything", "Trường không được phép"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), [case[1:] for case in KEYWORD_CASES], ids=[c[0] for c in KEYWORD_CASES]
)
def test_each_keyword_is_reported_in_vietnamese_at_the_field_path(
    field: Any, value: Any, message: str
) -> None:
    assert errors_of(one_field(field), {"x": value}) == {"x": [message]}


@pytest.mark.parametrize(
    "field",
    [c[1] for c in KEYWORD_CASES if c[1] is not False],
    ids=[c[0] for c in KEYWORD_CASES if c[1] is not False],
)
def test_the_same_keywords_accept_a_conforming_value(field: Any) -> None:
    form = load_form(one_field(field))
    sample = _good_value(field)
    assert validate(form, {"x": sample}) == {"x": sample}


def _good_value(field: dict[str, Any]) -> Any:
    known = {
        "minLength": "abc",
        "maxLength": "ab",
        "pattern": "4711",
        "enum": "a",
        "const": field.get("const"),
        "minimum": 1000000,
        "maximum": 2.5,
        "exclusiveMinimum": 1,
        "exclusiveMaximum": 99,
        "multipleOf": 2000,
        "minItems": [1],
        "maxItems": [1],
        "uniqueItems": ["a", "b"],
        "contains": ["chinh"],
        "minProperties": {"a": 1},
        "maxProperties": {"a": 1},
        "propertyNames": {"a": 1},
        "not": "user",
    }
    for keyword, value in known.items():
        if keyword in field:
            return value
    formats = {
        "cccd": "001090012345",
        "phone-vn": "+84 912 345 678",
        "tax-code": "0101234567-001",
        "email": "a@b.vn",
        "date": "1975-04-30",
        "date-time": "1975-04-30T11:30:00+07:00",
    }
    if "format" in field:
        return formats[field["format"]]
    if "oneOf" in field or "anyOf" in field:
        return (field.get("oneOf") or field["anyOf"])[0].get("const", 1)
    types = {"integer": 1, "number": 1.5, "string": "a", "boolean": True, "array": [], "object": {}}
    declared = field["type"]
    return types[declared[-1] if isinstance(declared, list) else declared]


def test_a_missing_required_field_is_reported_at_its_own_path_using_its_title() -> None:
    schema = {
        "type": "object",
        "required": ["owner"],
        "properties": {
            "owner": {
                "type": "object",
                "required": ["ho_ten"],
                "properties": {"ho_ten": {"title": "Họ và tên"}},
            }
        },
    }
    assert errors_of(schema, {"owner": {}}) == {"owner.ho_ten": ["Vui lòng nhập Họ và tên"]}


def test_a_missing_field_without_title_is_still_reported_in_vietnamese() -> None:
    assert errors_of(one_field({"type": "string"}, required=True), {}) == {"x": ["Vui lòng nhập trường này"]}


def test_the_ui_title_wins_over_the_schema_title_in_messages() -> None:
    ui = {"x": {"ui:title": "Số nhà"}}
    assert errors_of(one_field({"title": "x", "type": "string"}, True), {}, ui) == {
        "x": ["Vui lòng nhập Số nhà"]
    }


@pytest.mark.parametrize(
    "field",
    [
        {"title": "Giới tính", "enum": ["nam", "nu"]},
        {"title": "Giới tính", "oneOf": [{"const": "nam", "title": "Nam"}]},
        {"title": "Giới tính", "type": "array", "items": {"enum": ["nam", "nu"]}},
    ],
)
def test_a_missing_choice_asks_the_applicant_to_choose(field: dict[str, Any]) -> None:
    assert errors_of(one_field(field, required=True), {}) == {"x": ["Vui lòng chọn Giới tính"]}


def test_missing_fields_inside_array_items_are_reported_per_item() -> None:
    schema = {
        "type": "object",
        "properties": {
            "thanh_vien": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["ho_ten"],
                    "properties": {"ho_ten": {"title": "Họ tên"}},
                },
            }
        },
    }
    errors = errors_of(schema, {"thanh_vien": [{"ho_ten": "An"}, {}]})
    assert errors == {"thanh_vien.1.ho_ten": ["Vui lòng nhập Họ tên"]}


def test_a_blank_required_string_counts_as_missing_and_gets_only_that_message() -> None:
    field = {"type": "string", "title": "Họ tên", "minLength": 2, "format": "email"}
    assert errors_of(one_field(field, required=True), {"x": "   "}) == {"x": ["Vui lòng nhập Họ tên"]}


def test_dependent_required_points_at_the_missing_field() -> None:
    schema = {
        "type": "object",
        "properties": {
            "uy_quyen": {"type": "boolean"},
            "nguoi_duoc_uy_quyen": {"title": "Người được ủy quyền"},
        },
        "dependentRequired": {"uy_quyen": ["nguoi_duoc_uy_quyen"]},
    }
    assert errors_of(schema, {"uy_quyen": True}) == {
        "nguoi_duoc_uy_quyen": ["Vui lòng nhập Người được ủy quyền"]
    }


def test_conditional_requirements_from_if_then_are_reported_at_the_field() -> None:
    schema = {
        "type": "object",
        "properties": {"loai": {"enum": ["ca_nhan", "to_chuc"]}, "ma_so_thue": {"title": "Mã số thuế"}},
        "if": {"properties": {"loai": {"const": "to_chuc"}}},
        "then": {"required": ["ma_so_thue"]},
    }
    assert errors_of(schema, {"loai": "to_chuc"}) == {"ma_so_thue": ["Vui lòng nhập Mã số thuế"]}


def test_each_undeclared_field_is_named_in_a_form_level_message() -> None:
    schema = {"type": "object", "additionalProperties": False, "properties": {"a": {}}}
    assert errors_of(schema, {"a": 1, "b": 2, "c": 3}) == {
        "": ["Trường không được phép: b", "Trường không được phép: c"]
    }


def test_undeclared_fields_in_a_nested_object_are_reported_at_that_object() -> None:
    schema = {
        "type": "object",
        "properties": {
            "o": {"type": "object", "additionalProperties": False, "patternProperties": {"^x_": {}}}
        },
    }
    assert errors_of(schema, {"o": {"x_1": 1, "y": 2}}) == {"o": ["Trường không được phép: y"]}


def test_unevaluated_properties_are_named_like_additional_ones() -> None:
    schema = {"type": "object", "allOf": [{"properties": {"a": {}}}], "unevaluatedProperties": False}
    assert errors_of(schema, {"a": 1, "z": 2}) == {"": ["Trường không được phép: z"]}


def test_strings_are_stripped_everywhere_and_nothing_else_changes() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ten": {"type": "string"},
            "ghi_chu": {"type": "string"},
            "so": {"type": "integer"},
            "ds": {"type": "array", "items": {"type": "object", "properties": {"t": {"type": "string"}}}},
        },
    }
    data = {"ten": "  Lan\u00a0", "ghi_chu": "  ", "so": 3, "ds": [{"t": "\tA "}]}
    original = copy.deepcopy(data)
    assert validate(load_form(schema), data) == {"ten": "Lan", "ghi_chu": "", "so": 3, "ds": [{"t": "A"}]}
    assert data == original


def test_a_number_sent_as_text_is_reported_not_coerced() -> None:
    assert errors_of(one_field({"type": "integer"}), {"x": "5"}) == {"x": ["Phải là số nguyên"]}


def test_several_problems_with_one_field_are_all_listed_once() -> None:
    field = {"type": "string", "minLength": 5, "pattern": "^[0-9]+$", "allOf": [{"minLength": 5}]}
    assert errors_of(one_field(field), {"x": "ab"}) == {"x": ["Cần ít nhất 5 ký tự", "Không đúng định dạng"]}


def test_references_to_shared_definitions_are_validated() -> None:
    schema = {
        "type": "object",
        "properties": {"chu_ho": {"$ref": "#/$defs/nguoi"}},
        "$defs": {"nguoi": {"type": "object", "properties": {"cccd": {"type": "string", "format": "cccd"}}}},
    }
    assert errors_of(schema, {"chu_ho": {"cccd": "1"}}) == {
        "chu_ho.cccd": ["Số định danh cá nhân phải gồm đúng 12 chữ số"]
    }


def nested(levels: int) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for _ in range(levels - 1):
        data = {"c": data}
    return data


def test_data_nested_twenty_levels_deep_is_accepted() -> None:
    assert validate(load_form({"type": "object"}), nested(20)) == nested(20)


def test_data_nested_deeper_than_twenty_levels_is_refused_with_a_form_level_message() -> None:
    assert errors_of({"type": "object"}, nested(21)) == {
        "": ["Dữ liệu biểu mẫu lồng nhau quá sâu (tối đa 20 cấp)"]
    }


def test_hostile_nesting_thousands_deep_is_refused_without_crashing() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert "" in errors_of({"type": "object"}, {"x": deep})


def test_a_self_referencing_structure_is_refused_instead_of_looping() -> None:
    data: dict[str, Any] = {}
    data["self"] = data
    assert "" in errors_of({"type": "object"}, data)


def test_data_over_one_megabyte_is_refused_by_default() -> None:
    errors = errors_of({"type": "object"}, {"x": "a" * (1024 * 1024)})
    assert errors == {"": ["Dữ liệu biểu mẫu quá lớn (tối đa 1 MB)"]}


def test_the_size_limit_counts_utf8_bytes_and_can_be_configured() -> None:
    form = load_form({"type": "object"})
    assert validate(form, {"x": "đ" * 100}, max_bytes=300)
    with pytest.raises(FormInvalid) as caught:
        validate(form, {"x": "đ" * 100}, max_bytes=200)
    assert caught.value.errors == {"": ["Dữ liệu biểu mẫu quá lớn (tối đa 200 byte)"]}


def test_data_that_is_not_an_object_is_refused() -> None:
    assert errors_of({"type": "object"}, ["a"]) == {"": ["Dữ liệu biểu mẫu phải là một đối tượng JSON"]}


def test_form_invalid_summarises_its_errors() -> None:
    with pytest.raises(FormInvalid, match="2 lỗi") as caught:
        validate(load_form(one_field({"type": "integer", "minimum": 5, "multipleOf": 2})), {"x": 3})
    assert isinstance(caught.value, Exception)


def test_a_complete_household_registration_is_accepted_and_cleaned(household, household_data) -> None:
    household_data["ten_ho_kinh_doanh"] = "  Hộ kinh doanh Minh Anh  "
    cleaned = validate(household, household_data)
    assert cleaned["ten_ho_kinh_doanh"] == "Hộ kinh doanh Minh Anh"
    assert cleaned["nganh_nghe"][1] == {"ten": "Dịch vụ ăn uống", "ma_vsic": "5610"}


def test_a_faulty_household_registration_lists_every_problem_by_field(household, household_data) -> None:
    household_data["owner"].update(so_dinh_danh="0011880123", dien_thoai="12345", ngay_sinh="30/04/1988")
    del household_data["owner"]["ho_ten"]
    household_data["nganh_nghe"][1] = {"ten": "Dịch vụ ăn uống", "ma_vsic": "56-10"}
    household_data.update(von_kinh_doanh=-5, cam_ket=False, ghi_chu="?")
    with pytest.raises(FormInvalid) as caught:
        validate(household, household_data)
    assert caught.value.errors == {
        "": ["Trường không được phép: ghi_chu"],
        "owner.ho_ten": ["Vui lòng nhập Họ và tên"],
        "owner.ngay_sinh": ["Ngày không hợp lệ (định dạng YYYY-MM-DD)"],
        "owner.so_dinh_danh": ["Số định danh cá nhân phải gồm đúng 12 chữ số"],
        "owner.dien_thoai": ["Số điện thoại không hợp lệ"],
        "nganh_nghe.1.ma_vsic": ["Không đúng định dạng"],
        "von_kinh_doanh": ["Phải lớn hơn hoặc bằng 0"],
        "cam_ket": ["Vui lòng đánh dấu vào ô này"],
    }


def test_a_household_registration_without_any_business_line_is_refused(household, household_data) -> None:
    household_data["nganh_nghe"] = []
    with pytest.raises(FormInvalid) as caught:
        validate(household, household_data)
    assert caught.value.errors == {"nganh_nghe": ["Cần ít nhất 1 mục"]}
