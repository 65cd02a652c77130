"""Rendering forms as accessible, escaped HTML fields."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from markupsafe import Markup

from forms import FormInvalid, load_form, render_form, validate

from .browser import element, elements


def render(
    schema: dict[str, Any],
    data: dict | None = None,
    errors: dict | None = None,
    ui: dict | None = None,
    **kw: Any,
) -> str:
    return str(render_form(load_form(schema, ui), data, errors, **kw))


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def labels_for(html: str) -> Counter[str]:
    return Counter(attrs["for"] for tag, attrs in elements(html) if tag == "label")


def test_render_form_returns_markup_without_a_form_element() -> None:
    html = render_form(load_form(obj(a={"type": "string"})))
    assert isinstance(html, Markup)
    assert "<form" not in html


def test_each_field_has_a_label_bound_to_its_input_by_a_derived_id() -> None:
    html = render(
        {"type": "object", "properties": {"owner": obj(ho_ten={"type": "string", "title": "Họ và tên"})}}
    )
    control = element(html, name="owner.ho_ten")
    assert control["id"] == "f-owner-ho_ten"
    assert '<label for="f-owner-ho_ten">Họ và tên</label>' in html


def test_a_prefix_namespaces_names_and_ids() -> None:
    html = render(obj(ho_ten={"type": "string"}), prefix="buoc_2")
    assert element(html, name="buoc_2.ho_ten")["id"] == "f-buoc_2-ho_ten"


def test_ids_stay_unique_even_when_names_would_collide() -> None:
    schema = {"type": "object", "properties": {"a": obj(b={"type": "string"}), "a-b": {"type": "string"}}}
    html = render(schema)
    ids = [attrs["id"] for _tag, attrs in elements(html) if "id" in attrs]
    assert len(ids) == len(set(ids))
    assert element(html, name="a.b")["id"] != element(html, name="a-b")["id"]


def test_a_required_field_is_marked_visibly_and_for_assistive_technology() -> None:
    html = render({**obj(ho_ten={"type": "string", "title": "Họ tên"}), "required": ["ho_ten"]})
    control = element(html, name="ho_ten")
    assert "required" in control and control["aria-required"] == "true"
    assert 'Họ tên<span class="required-marker" aria-hidden="true"> *</span>' in html


def test_an_optional_field_has_no_required_attributes() -> None:
    control = element(render(obj(ho_ten={"type": "string"})), name="ho_ten")
    assert "required" not in control and "aria-required" not in control


def test_errors_are_shown_next_to_the_field_and_linked_for_screen_readers() -> None:
    schema = obj(so={"type": "integer", "description": "Ghi bằng số"})
    html = render(schema, {"so": "mười"}, {"so": ["Phải là số nguyên"]}, ui={"so": {"ui:help": "Ví dụ: 10"}})
    control = element(html, name="so")
    assert control["aria-invalid"] == "true"
    assert control["aria-describedby"] == "f-so-description f-so-help f-so-error"
    assert element(html, id="f-so-error")["class"] == "field-error"
    assert 'id="f-so-description">Ghi bằng số</p>' in html
    assert 'id="f-so-help">Ví dụ: 10</p>' in html
    assert "Phải là số nguyên</p>" in html
    assert control["value"] == "mười"


def test_a_field_without_errors_or_help_has_no_describedby() -> None:
    control = element(render(obj(a={"type": "string"})), name="a")
    assert "aria-describedby" not in control and "aria-invalid" not in control


def test_the_error_summary_links_to_invalid_fields_and_lists_form_level_errors() -> None:
    errors = {"": ["Trường không được phép: x"], "a": ["Vui lòng nhập A"]}
    html = render(obj(a={"type": "string", "title": "A"}), {}, errors)
    assert element(html, role="alert")["class"] == "form-errors"
    assert "<li>Trường không được phép: x</li>" in html
    assert '<li><a href="#f-a">Vui lòng nhập A</a></li>' in html


def test_errors_for_fields_that_are_not_shown_appear_in_the_summary_with_their_title() -> None:
    schema = obj(ma={"type": "string", "title": "Mã hồ sơ"})
    html = render(
        schema,
        {"ma": "x"},
        {"ma": ["Không đúng định dạng"], "la.0": ["?"]},
        ui={"ma": {"ui:widget": "hidden"}},
    )
    assert "<li>Mã hồ sơ: Không đúng định dạng</li>" in html
    assert "<li>la.0: ?</li>" in html


def test_no_summary_is_rendered_without_errors() -> None:
    assert "form-errors" not in render(obj(a={"type": "string"}))


@pytest.mark.parametrize(
    ("field", "ui", "expected"),
    [
        ({"type": "string"}, {}, {"type": "text"}),
        ({"type": "string", "format": "date"}, {}, {"type": "date"}),
        ({"type": "string"}, {"ui:widget": "date"}, {"type": "date"}),
        ({"type": "string", "format": "email"}, {}, {"type": "email"}),
        ({"type": "string"}, {"ui:widget": "email"}, {"type": "email"}),
        ({"type": "string", "format": "phone-vn"}, {}, {"type": "tel"}),
        ({"type": "string", "format": "date-time"}, {}, {"type": "datetime-local"}),
        (
            {"type": "string", "format": "cccd"},
            {},
            {"type": "text", "inputmode": "numeric", "pattern": "[0-9]{12}"},
        ),
        ({"type": "string"}, {"ui:widget": "password"}, {"type": "password"}),
        (
            {"type": "string"},
            {"ui:widget": "file", "ui:options": {"accept": ".pdf"}},
            {"type": "file", "accept": ".pdf"},
        ),
        (
            {"type": "integer", "minimum": 0, "maximum": 99},
            {},
            {"type": "number", "min": "0", "max": "99", "step": "1"},
        ),
        ({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}, {}, {"min": "1", "max": "9"}),
        (
            {"type": "integer", "multipleOf": 1000},
            {"ui:widget": "updown"},
            {"type": "number", "step": "1000"},
        ),
        ({"type": "number"}, {}, {"type": "number", "step": "any"}),
        ({"type": "number"}, {"ui:widget": "text"}, {"type": "text", "inputmode": "decimal"}),
        ({"type": "string", "minLength": 2, "maxLength": 9}, {}, {"minlength": "2", "maxlength": "9"}),
        ({"type": "string", "pattern": "^[0-9]{4,5}$"}, {}, {"pattern": "^[0-9]{4,5}$"}),
        ({"type": "string", "pattern": "[0-9]"}, {}, {"pattern": ".*(?:[0-9]).*"}),
        ({"type": "string"}, {"ui:placeholder": "Ví dụ: 4711"}, {"placeholder": "Ví dụ: 4711"}),
        ({"type": "string"}, {"ui:autofocus": True}, {"autofocus": None}),
        ({"type": "string", "readOnly": True}, {}, {"readonly": None}),
        ({"type": "string"}, {"ui:readonly": True}, {"readonly": None}),
        ({"type": "string"}, {"ui:disabled": True}, {"disabled": None}),
    ],
)
def test_inputs_use_html5_types_and_constraints_from_the_schema(
    field: dict, ui: dict, expected: dict
) -> None:
    control = element(render(obj(x=field), ui={"x": ui}), name="x")
    assert {key: control.get(key, "absent") for key in expected} == expected


def test_a_password_is_never_echoed_back() -> None:
    control = element(
        render(obj(mk={"type": "string"}), {"mk": "bí mật"}, ui={"mk": {"ui:widget": "password"}}), name="mk"
    )
    assert "value" not in control


def test_a_timestamp_is_shown_in_vietnam_time_in_a_datetime_local_input() -> None:
    html = render(obj(luc={"type": "string", "format": "date-time"}), {"luc": "2024-05-01T01:30:00Z"})
    assert element(html, name="luc")["value"] == "2024-05-01T08:30:00"


def test_a_textarea_keeps_its_text_and_rows() -> None:
    html = render(
        obj(dc={"type": "string"}),
        {"dc": "Dòng 1\nDòng 2"},
        ui={"dc": {"ui:widget": "textarea", "ui:options": {"rows": 4}}},
    )
    assert element(html, name="dc")["rows"] == "4"
    assert "\nDòng 1\nDòng 2</textarea>" in html


def test_a_hidden_field_renders_only_the_input() -> None:
    html = render(
        obj(ma={"type": "string", "title": "Mã"}), {"ma": "HS-1"}, ui={"ma": {"ui:widget": "hidden"}}
    )
    assert element(html, name="ma") == {"type": "hidden", "value": "HS-1", "id": "f-ma", "name": "ma"}
    assert "<label" not in html


GENDER = {
    "type": "string",
    "title": "Giới tính",
    "oneOf": [{"const": "nam", "title": "Nam"}, {"const": "nu", "title": "Nữ"}],
}


def test_an_enum_becomes_a_select_labelled_by_its_oneof_titles() -> None:
    html = render(obj(gt=GENDER), {"gt": "nu"})
    assert element(html, name="gt")["id"] == "f-gt"
    assert '<option value="">— Chọn —</option>' in html
    assert '<option value="nam">Nam</option>' in html
    assert '<option value="nu" selected>Nữ</option>' in html


def test_a_plain_enum_uses_its_values_or_ui_enum_names_as_labels() -> None:
    html = render(obj(n={"type": "integer", "enum": [1, 2]}), {"n": 2}, ui={"n": {"ui:enumNames": ["Một"]}})
    assert '<option value="1">Một</option>' in html
    assert '<option value="2" selected>2</option>' in html


def test_an_enum_with_the_radio_widget_is_a_labelled_group_of_radios() -> None:
    html = render(
        {**obj(gt=GENDER), "required": ["gt"]},
        {"gt": "nam"},
        ui={"gt": {"ui:widget": "radio", "ui:options": {"inline": True}}},
    )
    group = element(html, id="f-gt")
    assert group["role"] == "radiogroup" and group["aria-required"] == "true"
    assert "<legend>Giới tính" in html
    first = element(html, id="f-gt-0")
    assert first == {
        "type": "radio",
        "id": "f-gt-0",
        "name": "gt",
        "value": "nam",
        "checked": None,
        "required": None,
    }
    assert '<label for="f-gt-1">Nữ</label>' in html
    assert 'class="option option-inline"' in html


def test_a_boolean_is_a_checkbox_that_is_only_required_when_it_must_be_ticked() -> None:
    schema = {
        **obj(a={"type": "boolean", "title": "A"}, b={"type": "boolean", "const": True}),
        "required": ["a", "b"],
    }
    html = render(schema, {"a": True})
    # An unticked box still answers "no", so only ``const: true`` makes ticking it mandatory.
    assert element(html, name="a") == {
        "type": "checkbox",
        "value": "true",
        "checked": None,
        "id": "f-a",
        "name": "a",
    }
    assert '<label for="f-a">A</label>' in html
    ticked = element(html, name="b")
    assert "required" in ticked and ticked["aria-required"] == "true" and "checked" not in ticked


def test_a_boolean_can_be_answered_with_yes_no_radios() -> None:
    html = render(obj(co={"type": "boolean"}), {"co": False}, ui={"co": {"ui:widget": "radio"}})
    assert element(html, value="false")["checked"] is None
    assert '<label for="f-co-0">Có</label>' in html and '<label for="f-co-1">Không</label>' in html


def test_an_array_of_choices_is_a_multiple_select_or_checkboxes() -> None:
    field = {"type": "array", "uniqueItems": True, "items": {"enum": ["a", "b", "c"]}}
    html = render(obj(x=field), {"x": ["b"]})
    assert "multiple" in element(html, name="x")
    html = render(
        obj(x=field),
        {"x": ["a", "c"]},
        {"x.1": ["Giá trị không nằm trong danh sách cho phép"]},
        ui={"x": {"ui:widget": "checkboxes"}},
    )
    assert element(html, id="f-x")["role"] == "group"
    assert [
        attrs.get("checked", "no") for tag, attrs in elements(html) if attrs.get("type") == "checkbox"
    ] == [None, "no", None]
    assert "Giá trị không nằm trong danh sách cho phép</p>" in html


def test_a_nested_object_is_a_fieldset_with_a_legend() -> None:
    html = render(obj(owner={**obj(ho_ten={"type": "string"}), "title": "Chủ hộ"}))
    assert element(html, id="f-owner")["class"] == "field field-object"
    assert "<legend>Chủ hộ</legend>" in html


ITEMS = {
    "type": "object",
    "title": "Thành viên",
    "required": ["ho_ten"],
    "properties": {"ho_ten": {"type": "string"}},
}


def test_array_items_are_fieldsets_named_by_index_followed_by_one_empty_template_row() -> None:
    html = render(
        obj(tv={"type": "array", "title": "Thành viên hộ", "items": ITEMS}),
        {"tv": [{"ho_ten": "An"}, {"ho_ten": "Bình"}]},
    )
    assert element(html, name="tv.0.ho_ten")["value"] == "An"
    assert element(html, name="tv.1.ho_ten")["value"] == "Bình"
    template_row = element(html, id="f-tv-2")
    assert "data-template" in template_row and template_row["data-index"] == "2"
    assert "value" not in element(html, name="tv.2.ho_ten")
    assert "<legend>Thành viên 1</legend>" in html and "<legend>Thành viên 3</legend>" in html
    assert 'data-action="add-item"' in html and html.count('data-action="remove-item"') == 3


def test_the_template_row_does_not_block_submission_with_required_attributes() -> None:
    html = render(obj(tv={"type": "array", "items": ITEMS}), {"tv": [{"ho_ten": "An"}]})
    assert "required" in element(html, name="tv.0.ho_ten")
    template_input = element(html, name="tv.1.ho_ten")
    assert "required" not in template_input and template_input["aria-required"] == "true"


def test_fields_of_an_optional_group_are_not_enforced_by_the_browser() -> None:
    person = {**obj(ho_ten={"type": "string"}), "required": ["ho_ten"]}
    html = render({**obj(chu_ho=person, uy_quyen=person), "required": ["chu_ho"]})
    assert "required" in element(html, name="chu_ho.ho_ten")
    optional = element(html, name="uy_quyen.ho_ten")
    assert "required" not in optional and optional["aria-required"] == "true"


def test_no_template_row_is_offered_once_max_items_is_reached_or_when_read_only() -> None:
    full = render(obj(tv={"type": "array", "maxItems": 1, "items": ITEMS}), {"tv": [{"ho_ten": "An"}]})
    assert "data-template" not in full
    readonly = render(obj(tv={"type": "array", "items": ITEMS}), {"tv": [{"ho_ten": "An"}]}, readonly=True)
    assert "data-template" not in readonly and "data-action" not in readonly


def test_array_ui_options_control_ordering_and_adding() -> None:
    schema = obj(tv={"type": "array", "items": ITEMS})
    assert element(render(schema), id="f-tv")["data-orderable"] == "true"
    html = render(schema, ui={"tv": {"ui:options": {"orderable": False, "addable": False}}})
    assert element(html, id="f-tv")["data-orderable"] == "false"
    assert "data-template" not in html


def test_an_array_of_plain_values_repeats_the_input() -> None:
    html = render(
        obj(sdt={"type": "array", "title": "Điện thoại", "items": {"type": "string", "format": "phone-vn"}}),
        {"sdt": ["0912345678"]},
    )
    assert element(html, name="sdt.0") == {
        **element(html, id="f-sdt-0"),
        "type": "tel",
        "value": "0912345678",
    }
    assert '<label for="f-sdt-1">Điện thoại 2</label>' in html


def test_ui_order_with_a_wildcard_places_the_remaining_fields() -> None:
    schema = obj(a={"type": "string"}, b={"type": "string"}, c={"type": "string"}, d={"type": "string"})
    html = render(schema, ui={"ui:order": ["c", "*", "a"]})
    names = [attrs["name"] for tag, attrs in elements(html) if tag == "input"]
    assert names == ["c", "b", "d", "a"]


def test_ui_order_without_a_wildcard_appends_unlisted_fields_and_ignores_unknown_ones() -> None:
    schema = obj(a={"type": "string"}, b={"type": "string"}, c={"type": "string"})
    html = render(schema, ui={"ui:order": ["b", "zz"]})
    assert [attrs["name"] for tag, attrs in elements(html) if tag == "input"] == ["b", "a", "c"]


def test_defaults_fill_fields_only_when_the_data_lacks_them() -> None:
    schema = obj(qt={"type": "string", "default": "Việt Nam"}, n={"type": "integer", "default": 1})
    assert element(render(schema), name="qt")["value"] == "Việt Nam"
    assert element(render(schema, {"qt": "Lào", "n": 0}), name="qt")["value"] == "Lào"
    assert element(render(schema, {"n": 0}), name="n")["value"] == "0"


def test_ui_title_and_ui_description_override_the_schema() -> None:
    html = render(
        obj(a={"type": "string", "title": "A", "description": "d"}),
        ui={"a": {"ui:title": "Tên", "ui:description": "Mô tả"}},
    )
    assert '<label for="f-a">Tên</label>' in html and ">Mô tả</p>" in html


def test_read_only_rendering_locks_every_control() -> None:
    schema = obj(a={"type": "string"}, g=GENDER, b={"type": "boolean"}, o=obj(c={"type": "string"}))
    html = render(schema, {"a": "x", "g": "nam", "b": True, "o": {"c": "y"}}, readonly=True)
    assert "readonly" in element(html, name="a") and "readonly" in element(html, name="o.c")
    assert "disabled" in element(html, name="g") and "disabled" in element(html, name="b")


def test_a_read_only_or_disabled_object_locks_its_children() -> None:
    schema = obj(o=obj(c={"type": "string"}, g=GENDER), p=obj(d={"type": "string"}))
    html = render(schema, ui={"o": {"ui:readonly": True}, "p": {"ui:disabled": True}})
    assert "readonly" in element(html, name="o.c") and "disabled" in element(html, name="o.g")
    assert "disabled" in element(html, name="p.d")


def test_local_references_are_followed_and_sibling_titles_win() -> None:
    schema = {
        "type": "object",
        "properties": {"chu_ho": {"$ref": "#/$defs/nguoi", "title": "Chủ hộ"}},
        "$defs": {
            "nguoi": {"type": "object", "title": "Người", "properties": {"ho_ten": {"type": "string"}}}
        },
    }
    html = render(schema)
    assert "<legend>Chủ hộ</legend>" in html and element(html, name="chu_ho.ho_ten")


def test_a_recursive_schema_renders_a_bounded_number_of_levels() -> None:
    schema = {
        "$ref": "#/$defs/n",
        "$defs": {
            "n": {"type": "object", "properties": {"con": {"$ref": "#/$defs/n"}, "t": {"type": "string"}}}
        },
    }
    html = render(schema)
    assert html.count('type="text"') == 20


XSS = ["<script>alert(1)</script>", '" onmouseover="alert(1)', "'><img src=x onerror=alert(1)>"]


def assert_inert(html: str) -> None:
    for tag, attrs in elements(html):
        assert tag not in ("script", "img")
        assert not [name for name in attrs if name.startswith("on")]


@pytest.mark.parametrize("payload", XSS)
def test_hostile_titles_descriptions_help_and_placeholders_are_escaped(payload: str) -> None:
    schema = {
        **obj(a={"type": "string", "title": payload, "description": payload}, o={**obj(), "title": payload}),
        "required": ["a"],
    }
    ui = {"a": {"ui:help": payload, "ui:placeholder": payload}}
    html = render(schema, ui=ui)
    assert_inert(html)
    assert element(html, name="a")["placeholder"] == payload
    assert payload not in html


@pytest.mark.parametrize("payload", XSS)
def test_hostile_values_are_escaped_in_inputs_textareas_and_array_rows(payload: str) -> None:
    schema = obj(
        a={"type": "string"}, t={"type": "string"}, ds={"type": "array", "items": {"type": "string"}}
    )
    html = render(schema, {"a": payload, "t": payload, "ds": [payload]}, ui={"t": {"ui:widget": "textarea"}})
    assert_inert(html)
    assert element(html, name="a")["value"] == payload and element(html, name="ds.0")["value"] == payload
    assert payload not in html


@pytest.mark.parametrize("payload", XSS)
def test_hostile_enum_values_and_titles_are_escaped(payload: str) -> None:
    schema = obj(s={"type": "string", "oneOf": [{"const": payload, "title": payload}]}, e={"enum": [payload]})
    html = render(schema, {"s": payload}, ui={"e": {"ui:widget": "radio"}})
    assert_inert(html)
    assert element(html, id="f-e-0")["value"] == payload
    assert payload not in html


@pytest.mark.parametrize("payload", XSS)
def test_hostile_error_messages_and_keys_are_escaped(payload: str) -> None:
    html = render(obj(a={"type": "string"}), {}, {"a": [payload], "": [payload], payload: [payload]})
    assert_inert(html)
    assert payload not in html


def test_a_hostile_prefix_cannot_break_out_of_attributes() -> None:
    html = render(obj(a={"type": "string"}), prefix='x" onfocus="alert(1)')
    assert_inert(html)
    assert element(html, name='x" onfocus="alert(1).a')["id"] == "f-x--onfocus--alert-1--a"


def test_every_household_control_has_exactly_one_label_and_every_id_is_unique(
    household, household_data
) -> None:
    household_data["owner"]["so_dinh_danh"] = "123"
    try:
        validate(household, household_data)
    except FormInvalid as exc:
        errors = exc.errors
    html = str(render_form(household, household_data, errors))
    ids = Counter(attrs["id"] for _tag, attrs in elements(html) if "id" in attrs)
    assert [element_id for element_id, count in ids.items() if count > 1] == []
    labels = labels_for(html)
    for tag, attrs in elements(html):
        if tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            assert labels[attrs["id"]] == 1, attrs
    for element_id in (
        value for _tag, attrs in elements(html) for value in (attrs.get("aria-describedby") or "").split()
    ):
        assert element_id in ids


def test_the_household_registration_renders_its_structure(household, household_data) -> None:
    html = str(render_form(household, household_data))
    names = [attrs["name"] for tag, attrs in elements(html) if "name" in attrs]
    assert names[:2] == ["ten_ho_kinh_doanh", "owner.ho_ten"]
    assert names[-1] == "cam_ket"
    assert element(html, name="owner.so_dinh_danh")["value"] == "001188012345"
    assert element(html, name="owner.ngay_sinh")["type"] == "date"
    assert element(html, name="owner.dien_thoai")["type"] == "tel"
    capital = element(html, name="von_kinh_doanh")
    assert (capital["type"], capital["min"], capital["value"]) == ("number", "0", "150000000")
    assert element(html, name="nganh_nghe.1.ma_vsic")["value"] == "5610"
    assert "data-template" in element(html, id="f-nganh_nghe-2")
    assert element(html, id="f-owner-gioi_tinh-1")["checked"] is None
    assert "<legend>Chủ hộ kinh doanh" in html and "<legend>Ngành nghề 1</legend>" in html


def test_ui_keys_may_also_be_given_inside_ui_options() -> None:
    ui = {"dc": {"ui:options": {"widget": "textarea", "rows": 2, "title": "Địa chỉ"}}}
    html = render(obj(dc={"type": "string"}), ui=ui)
    assert element(html, name="dc")["rows"] == "2"
    assert '<label for="f-dc">Địa chỉ</label>' in html


def test_a_boolean_select_offers_yes_and_no() -> None:
    html = render(obj(co={"type": "boolean"}), {"co": True}, ui={"co": {"ui:widget": "select"}})
    assert '<option value="true" selected>Có</option>' in html
    assert '<option value="false">Không</option>' in html
