"""Parsing HTML posts back into typed JSON data shaped by the form's schema."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from forms import FormInvalid, load_form, parse_form, render_form, validate

from .browser import submit


def parse(
    schema: dict[str, Any], pairs: list[tuple[str, Any]], ui: dict | None = None, **kw: Any
) -> dict[str, Any]:
    return parse_form(load_form(schema, ui), MultiDict(pairs), **kw)


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def test_strings_are_stripped_and_line_ends_normalised() -> None:
    schema = obj(ten={"type": "string"}, dc={"type": "string"})
    assert parse(schema, [("ten", "  Lan "), ("dc", "Dòng 1\r\nDòng 2\r\n")]) == {
        "ten": "Lan",
        "dc": "Dòng 1\nDòng 2",
    }


def test_blank_fields_are_left_out_so_required_can_report_them() -> None:
    schema = {**obj(a={"type": "string"}, b={"type": "integer"}, c={"type": "string"}), "required": ["a"]}
    assert parse(schema, [("a", "  "), ("b", ""), ("c", "x")]) == {"c": "x"}


def test_names_outside_the_schema_such_as_the_csrf_token_are_ignored() -> None:
    assert parse(obj(a={"type": "string"}), [("csrf_token", "t"), ("a", "x"), ("a.0", "y"), ("b", "z")]) == {
        "a": "x"
    }


@pytest.mark.parametrize(
    ("field", "posted", "expected"),
    [
        ({"type": "integer"}, "42", 42),
        ({"type": "integer"}, "-7", -7),
        ({"type": "integer"}, "5.0", 5),
        ({"type": "integer"}, "1e3", 1000),
        ({"type": "integer"}, "5.5", "5.5"),
        ({"type": "integer"}, "12a", "12a"),
        ({"type": "integer"}, "1.000.000", "1.000.000"),
        ({"type": "integer"}, "٣", "٣"),
        ({"type": "integer"}, "9" * 5000, "9" * 5000),
        ({"type": "number"}, "2.5", 2.5),
        ({"type": "number"}, "3", 3),
        ({"type": "number"}, "-.5e2", -50.0),
        ({"type": "number"}, "1e999", "1e999"),
        ({"type": "number"}, "nan", "nan"),
        ({"type": "number"}, "2,5", "2,5"),
        ({"type": ["integer", "null"]}, "8", 8),
        ({"type": "string"}, "007", "007"),
    ],
)
def test_numbers_are_converted_and_invalid_ones_kept_as_text_for_validation(
    field: dict, posted: str, expected: Any
) -> None:
    assert parse(obj(x=field), [("x", posted)]) == {"x": expected}


def test_invalid_numbers_kept_as_text_are_reported_by_validate() -> None:
    form = load_form(obj(x={"type": "integer"}))
    with pytest.raises(FormInvalid) as caught:
        validate(form, parse_form(form, MultiDict([("x", "mười")])))
    assert caught.value.errors == {"x": ["Phải là số nguyên"]}


def test_a_ticked_checkbox_is_true_and_an_unticked_one_is_false() -> None:
    schema = obj(a={"type": "boolean"}, b={"type": "boolean"})
    assert parse(schema, [("a", "true")]) == {"a": True, "b": False}
    assert parse(schema, [("a", "on"), ("b", "false")]) == {"a": True, "b": False}


def test_a_yes_no_radio_gives_a_boolean_and_nothing_when_unanswered() -> None:
    schema, ui = obj(co={"type": "boolean"}), {"co": {"ui:widget": "radio"}}
    assert parse(schema, [("co", "false")], ui) == {"co": False}
    assert parse(schema, [], ui) == {}


def test_choices_come_back_with_their_original_json_type() -> None:
    schema = obj(
        n={"enum": [1, 2, "3"]},
        m={"oneOf": [{"const": 1.5, "title": "Rưỡi"}, {"const": None, "title": "Không"}]},
    )
    assert parse(schema, [("n", "2"), ("m", "1.5")]) == {"n": 2, "m": 1.5}
    assert parse(schema, [("n", "3"), ("m", "khác")]) == {"n": "3", "m": "khác"}


def test_checkbox_groups_and_multiple_selects_give_lists() -> None:
    schema = obj(ds={"type": "array", "items": {"type": "integer", "enum": [1, 2, 3]}})
    assert parse(schema, [("ds", "1"), ("ds", "3"), ("ds", "")]) == {"ds": [1, 3]}
    assert parse(schema, [], {"ds": {"ui:widget": "checkboxes"}}) == {}


TV = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "ho_ten": {"type": "string"},
            "tuoi": {"type": "integer"},
            "chu_ho": {"type": "boolean"},
            "quoc_tich": {"type": "string", "default": "Việt Nam"},
        },
    },
}


def test_arrays_of_objects_are_rebuilt_from_indexed_names_in_order() -> None:
    pairs = [("tv.1.ho_ten", "Bình"), ("tv.0.ho_ten", "An"), ("tv.0.tuoi", "40"), ("tv.0.chu_ho", "true")]
    assert parse(obj(tv=TV), pairs) == {
        "tv": [{"ho_ten": "An", "tuoi": 40, "chu_ho": True}, {"ho_ten": "Bình", "chu_ho": False}]
    }


def test_gaps_left_by_removed_rows_are_closed() -> None:
    pairs = [("tv.0.ho_ten", "An"), ("tv.7.ho_ten", "Bình"), ("tv.12.ho_ten", "Chi")]
    assert [row["ho_ten"] for row in parse(obj(tv=TV), pairs)["tv"]] == ["An", "Bình", "Chi"]


def test_an_untouched_template_row_is_dropped_even_with_its_default() -> None:
    pairs = [("tv.0.ho_ten", "An"), ("tv.1.ho_ten", ""), ("tv.1.tuoi", ""), ("tv.1.quoc_tich", "Việt Nam")]
    assert parse(obj(tv=TV), pairs) == {"tv": [{"ho_ten": "An", "chu_ho": False}]}


def test_an_array_with_only_empty_rows_is_left_out() -> None:
    assert parse(obj(tv=TV), [("tv.0.ho_ten", " "), ("tv.0.tuoi", "")]) == {}


def test_arrays_of_plain_values_are_rebuilt_from_indexed_names() -> None:
    schema = obj(
        sdt={"type": "array", "items": {"type": "string"}}, so={"type": "array", "items": {"type": "number"}}
    )
    pairs = [("sdt.0", "0912345678"), ("sdt.1", ""), ("sdt.2", "0987654321"), ("so.0", "1.5")]
    assert parse(schema, pairs) == {"sdt": ["0912345678", "0987654321"], "so": [1.5]}


def test_an_optional_group_left_blank_is_left_out_but_a_required_one_is_kept() -> None:
    group = obj(ho_ten={"type": "string"}, dong_y={"type": "boolean"})
    schema = {**obj(uy_quyen=group, chu_ho=group), "required": ["chu_ho"]}
    assert parse(schema, [("uy_quyen.ho_ten", "")]) == {"chu_ho": {"dong_y": False}}
    assert parse(schema, [("uy_quyen.ho_ten", "Lan")]) == {
        "uy_quyen": {"ho_ten": "Lan", "dong_y": False},
        "chu_ho": {"dong_y": False},
    }


def test_a_prefix_selects_this_form_s_fields_from_a_shared_page() -> None:
    schema = obj(a={"type": "string"}, ds={"type": "array", "items": {"type": "string"}})
    pairs = [("a", "khác"), ("buoc_2.a", "đúng"), ("buoc_2.ds.0", "x")]
    assert parse(schema, pairs, prefix="buoc_2") == {"a": "đúng", "ds": ["x"]}


def test_disabled_controls_are_not_read_because_browsers_do_not_post_them() -> None:
    schema = obj(
        a={"type": "string"}, b={"type": "boolean", "readOnly": True}, c={"type": "string", "readOnly": True}
    )
    ui = {"a": {"ui:disabled": True}}
    assert parse(schema, [("a", "giả"), ("b", "true"), ("c", "x")], ui) == {"c": "x"}


def test_a_datetime_local_post_becomes_an_rfc3339_timestamp_in_vietnam_time() -> None:
    schema = obj(luc={"type": "string", "format": "date-time"})
    assert parse(schema, [("luc", "2024-05-01T08:30")]) == {"luc": "2024-05-01T08:30:00+07:00"}
    assert parse(schema, [("luc", "sáng mai")]) == {"luc": "sáng mai"}


def test_uploaded_files_and_other_non_text_values_are_ignored() -> None:
    class Upload:
        filename = "a.pdf"

    assert parse(obj(tep={"type": "string"}), [("tep", Upload())], {"tep": {"ui:widget": "file"}}) == {}


def test_a_plain_dict_can_stand_in_for_a_multidict() -> None:
    form = load_form(obj(a={"type": "integer"}, b={"type": "array", "items": {"enum": ["x", "y"]}}))
    assert parse_form(form, {"a": "3", "b": ["x", "y"]}) == {"a": 3, "b": ["x", "y"]}


def test_a_household_registration_survives_render_post_parse_validate(household, household_data) -> None:
    posted = submit(render_form(household, household_data), extra=[("csrf_token", "abc")])
    assert "nganh_nghe.2.ten" not in posted  # the row template sits in a <template>: never posted
    parsed = parse_form(household, posted)
    assert parsed == household_data
    assert validate(household, parsed) == household_data


def test_a_household_post_with_mistakes_comes_back_with_messages_in_the_right_places(household) -> None:
    posted = MultiDict(
        [
            ("ten_ho_kinh_doanh", "Hộ A"),
            ("owner.ho_ten", "Lê Văn Tám"),
            ("owner.so_dinh_danh", "0790 8001 2345"),
            ("owner.ngay_sinh", "1990-02-30"),
            ("owner.dien_thoai", "0912345678"),
            ("dia_chi", "Huế"),
            ("nganh_nghe.0.ten", ""),
            ("nganh_nghe.0.ma_vsic", ""),
            ("von_kinh_doanh", "năm triệu"),
        ]
    )
    with pytest.raises(FormInvalid) as caught:
        validate(household, parse_form(household, posted))
    assert caught.value.errors == {
        "owner.ngay_sinh": ["Ngày không hợp lệ (định dạng YYYY-MM-DD)"],
        "owner.so_dinh_danh": ["Số định danh cá nhân phải gồm đúng 12 chữ số"],
        "nganh_nghe": ["Vui lòng nhập Ngành, nghề kinh doanh"],
        "von_kinh_doanh": ["Phải là số nguyên"],
        "cam_ket": ["Vui lòng đánh dấu vào ô này"],
    }


# --- property: what render_form shows, a browser posts and parse_form reads back unchanged ---

SIMPLE = {
    "type": "object",
    "properties": {
        "ten": {"type": "string", "title": "Tên"},
        "ghi_chu": {"type": "string"},
        "so_luong": {"type": "integer"},
        "ty_le": {"type": "number"},
        "dong_y": {"type": "boolean"},
        "loai": {
            "type": "string",
            "oneOf": [{"const": "ca_nhan", "title": "Cá nhân"}, {"const": "to_chuc", "title": "Tổ chức"}],
        },
        "muc": {"type": "integer", "enum": [1, 2, 3]},
        "ngay": {"type": "string", "format": "date"},
        "the": {"type": "array", "uniqueItems": True, "items": {"enum": ["a", "b", "c"]}},
        "thanh_vien": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["ho_ten"],
                "properties": {
                    "ho_ten": {"type": "string"},
                    "tuoi": {"type": "integer"},
                    "chu_ho": {"type": "boolean"},
                },
            },
        },
    },
}
SIMPLE_UI = {
    "ghi_chu": {"ui:widget": "textarea"},
    "muc": {"ui:widget": "radio"},
    "the": {"ui:widget": "checkboxes"},
}

# Text a person can type: no control characters (browsers strip or reject them), trimmed, not blank.
typed = (
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
paragraphs = st.lists(typed, min_size=1, max_size=3).map("\n".join)
numbers = st.one_of(st.integers(-(10**15), 10**15), st.floats(allow_nan=False, allow_infinity=False))
members = st.fixed_dictionaries(
    {"ho_ten": typed, "chu_ho": st.booleans()}, optional={"tuoi": st.integers(0, 150)}
)
simple_data = st.fixed_dictionaries(
    {"dong_y": st.booleans()},
    optional={
        "ten": typed,
        "ghi_chu": paragraphs,
        "so_luong": st.integers(-(10**18), 10**18),
        "ty_le": numbers,
        "loai": st.sampled_from(["ca_nhan", "to_chuc"]),
        "muc": st.sampled_from([1, 2, 3]),
        "ngay": st.dates().map(lambda day: day.isoformat()),
        "the": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, unique=True).map(sorted),
        "thanh_vien": st.lists(members, min_size=1, max_size=3),
    },
)


@settings(max_examples=150, deadline=None)
@given(simple_data)
def test_rendered_data_posted_by_a_browser_parses_back_to_the_same_data(data: dict[str, Any]) -> None:
    form = load_form(SIMPLE, SIMPLE_UI)
    assert parse_form(form, submit(render_form(form, data))) == data


@settings(max_examples=50, deadline=None)
@given(simple_data, st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
def test_the_round_trip_holds_under_any_prefix(data: dict[str, Any], prefix: str) -> None:
    form = load_form(SIMPLE, SIMPLE_UI)
    assert parse_form(form, submit(render_form(form, data, prefix=prefix)), prefix=prefix) == data
