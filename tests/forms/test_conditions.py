"""Conditional requirements are stated next to the field and described for a page script."""

from __future__ import annotations

import json
from typing import Any

import pytest

from forms import FormInvalid, load_form, parse_form, render_form, validate

from .browser import element, submit

RESULT = {
    "type": "string",
    "title": "Kết quả",
    "oneOf": [
        {"const": "tiep_nhan", "title": "Tiếp nhận"},
        {"const": "bo_sung", "title": "Yêu cầu bổ sung"},
        {"const": "tu_choi", "title": "Từ chối"},
    ],
}
DESK = {
    "type": "object",
    "required": ["ket_qua"],
    "properties": {
        "ket_qua": RESULT,
        "ly_do": {"type": "string", "title": "Lý do"},
        "giay_to_thieu": {"type": "array", "title": "Giấy tờ thiếu", "items": {"type": "string"}},
    },
    "allOf": [
        {
            "if": {"properties": {"ket_qua": {"const": "tu_choi"}}, "required": ["ket_qua"]},
            "then": {"required": ["ly_do"]},
        },
        {
            "if": {"properties": {"ket_qua": {"const": "bo_sung"}}, "required": ["ket_qua"]},
            "then": {"required": ["ly_do", "giay_to_thieu"]},
        },
    ],
}


def box(html: str, name: str) -> dict[str, Any]:
    """The wrapper of a conditional field, which a page script shows or hides."""
    return element(html, **{"data-field": name})


def required_when(html: str, name: str) -> Any:
    return json.loads(box(html, name)["data-required-when"])


def test_if_then_is_rendered_as_text_and_as_data_attributes_on_the_field() -> None:
    html = str(render_form(load_form(DESK)))
    assert element(html, id="f-ly_do-condition")["class"] == "field-condition"
    assert 'id="f-ly_do-condition">Bắt buộc khi “Kết quả” là “Từ chối” hoặc “Yêu cầu bổ sung”.</p>' in html
    assert element(html, name="ly_do")["aria-describedby"] == "f-ly_do-condition"
    assert box(html, "ly_do")["data-conditional"] == "client"
    assert required_when(html, "ly_do") == [[{"field": "ket_qua", "in": ["tu_choi", "bo_sung"]}]]
    assert required_when(html, "giay_to_thieu") == [[{"field": "ket_qua", "in": ["bo_sung"]}]]
    assert element(html, id="f-giay_to_thieu")["aria-describedby"] == "f-giay_to_thieu-condition"


def test_the_condition_is_enforced_on_the_server_at_the_field() -> None:
    form = load_form(DESK)
    with pytest.raises(FormInvalid) as caught:
        validate(form, parse_form(form, submit(render_form(form, {"ket_qua": "bo_sung"}))))
    assert caught.value.errors == {
        "ly_do": ["Vui lòng nhập Lý do"],
        "giay_to_thieu": ["Vui lòng nhập Giấy tờ thiếu"],
    }
    assert validate(form, {"ket_qua": "tiep_nhan"}) == {"ket_qua": "tiep_nhan"}


def test_else_requires_the_field_when_the_answer_differs() -> None:
    schema = {
        "type": "object",
        "properties": {
            "quoc_tich": {"type": "string", "title": "Quốc tịch"},
            "cccd": {"type": "string", "format": "cccd"},
            "ho_chieu": {"type": "string", "title": "Hộ chiếu"},
        },
        "if": {"properties": {"quoc_tich": {"const": "Việt Nam"}}, "required": ["quoc_tich"]},
        "then": {"required": ["cccd"]},
        "else": {"required": ["ho_chieu"]},
    }
    html = str(render_form(load_form(schema)))
    assert "Bắt buộc khi “Quốc tịch” không phải “Việt Nam”." in html
    assert required_when(html, "ho_chieu") == [[{"field": "quoc_tich", "notIn": ["Việt Nam"]}]]
    assert required_when(html, "cccd") == [[{"field": "quoc_tich", "in": ["Việt Nam"]}]]
    with pytest.raises(FormInvalid) as caught:
        validate(load_form(schema), {"quoc_tich": "Lào"})
    assert caught.value.errors == {"ho_chieu": ["Vui lòng nhập Hộ chiếu"]}


def test_a_ticked_checkbox_condition_reads_naturally() -> None:
    schema = {
        "type": "object",
        "properties": {"uy_quyen": {"type": "boolean", "title": "Nộp qua người được ủy quyền"}, "nguoi": {}},
        "if": {"properties": {"uy_quyen": {"const": True}}, "required": ["uy_quyen"]},
        "then": {"required": ["nguoi"]},
    }
    html = str(render_form(load_form(schema)))
    assert "Bắt buộc khi “Nộp qua người được ủy quyền” được chọn." in html
    assert required_when(html, "nguoi") == [[{"field": "uy_quyen", "in": ["true"]}]]


def test_dependent_required_is_stated_as_filled_in() -> None:
    schema = {
        "type": "object",
        "properties": {"ngay_hen": {"type": "string", "format": "date", "title": "Ngày hẹn"}, "van_ban": {}},
        "dependentRequired": {"ngay_hen": ["van_ban"]},
    }
    html = str(render_form(load_form(schema), prefix="b1"))
    assert "Bắt buộc khi đã khai “Ngày hẹn”." in html
    assert required_when(html, "b1.van_ban") == [[{"field": "b1.ngay_hen", "filled": True}]]


def test_conditions_inside_a_group_name_their_sibling_fields_by_full_name() -> None:
    person = {
        "type": "object",
        "properties": {"quoc_tich": {"enum": ["VN", "LA"]}, "dan_toc": {"type": "string"}},
        "if": {"properties": {"quoc_tich": {"const": "VN"}}, "required": ["quoc_tich"]},
        "then": {"required": ["dan_toc"]},
    }
    html = str(render_form(load_form({"type": "object", "properties": {"me": person}})))
    assert required_when(html, "me.dan_toc") == [[{"field": "me.quoc_tich", "in": ["VN"]}]]


@pytest.mark.parametrize(
    "condition",
    [
        {"properties": {"so_tang": {"minimum": 7}}, "required": ["so_tang"]},
        {"anyOf": [{"required": ["so_tang"]}]},
        {"properties": {"so_tang": {"const": 7}}},  # absent so_tang would make this true
    ],
)
def test_a_condition_too_rich_to_describe_is_left_to_the_server(condition: dict) -> None:
    schema = {
        "type": "object",
        "properties": {"so_tang": {"type": "integer"}, "pccc": {"type": "string"}},
        "if": condition,
        "then": {"required": ["pccc"]},
    }
    html = str(render_form(load_form(schema)))
    wrapper = box(html, "pccc")
    assert wrapper["data-conditional"] == "server" and "data-required-when" not in wrapper
    assert "Có thể bắt buộc, tùy các thông tin khác đã khai." in html


def test_an_always_required_field_gets_no_condition() -> None:
    schema = {**DESK, "required": ["ket_qua", "ly_do"]}
    html = str(render_form(load_form(schema)))
    assert "f-ly_do-condition" not in html
