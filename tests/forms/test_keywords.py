"""Every supported keyword and widget, each rendered, validated and sent through a browser.

One row per keyword or widget: how it shows (``render``), a value it refuses with its
Vietnamese message (``bad``), and a value it accepts that survives render → browser post →
parse_form unchanged (``good``). forms/README.md lists the same keywords.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from forms import FormInvalid, load_form, parse_form, render_form, validate

from .browser import element, elements, submit

MISSING: Any = object()


@dataclass
class Case:
    name: str
    schema: Any
    good: Any
    bad: Any = MISSING
    message: str = ""
    ui: dict[str, Any] = field(default_factory=dict)
    required: bool = False
    render: Callable[[str], None] = lambda html: None
    round_trip: bool = True


def control(html: str) -> dict[str, Any]:
    return element(html, id="f-x")


def has(**expected: str | None) -> Callable[[str], None]:
    """The control named ``x`` carries these attributes (``None`` = bare attribute)."""

    def check(html: str) -> None:
        found = control(html)
        assert {key: found.get(key, "absent") for key in expected} == expected, found

    return check


def group(**expected: str | None) -> Callable[[str], None]:
    def check(html: str) -> None:
        found = element(html, id="f-x")
        assert {key: found.get(key, "absent") for key in expected} == expected, found

    return check


def contains(*fragments: str) -> Callable[[str], None]:
    def check(html: str) -> None:
        for fragment in fragments:
            assert fragment in html, fragment

    return check


def lacks(*fragments: str) -> Callable[[str], None]:
    def check(html: str) -> None:
        for fragment in fragments:
            assert fragment not in html, fragment

    return check


GENDER = [{"const": "nam", "title": "Nam"}, {"const": "nu", "title": "Nữ"}]
PERSON = {"type": "object", "properties": {"ten": {"type": "string"}}}

CASES = [
    # --- types
    Case("type string", {"type": "string"}, "Lan", 5, "Phải là chuỗi ký tự", render=has(type="text")),
    Case(
        "type integer", {"type": "integer"}, 42, 1.5, "Phải là số nguyên", render=has(type="number", step="1")
    ),
    Case("type number", {"type": "number"}, 2.5, "2,5", "Phải là số", render=has(type="number", step="any")),
    Case(
        "type boolean",
        {"type": "boolean"},
        True,
        "có",
        "Phải là giá trị đúng hoặc sai",
        render=has(type="checkbox"),
    ),
    Case(
        "type object",
        PERSON,
        {"ten": "An"},
        [],
        "Phải là một nhóm thông tin",
        render=group(**{"class": "field field-object"}),
    ),
    Case(
        "type array",
        {"type": "array", "items": {"type": "string"}},
        ["a", "b"],
        "a",
        "Phải là một danh sách",
        render=lambda html: element(html, name="x.0"),
    ),
    Case(
        "type nullable", {"type": ["integer", "null"]}, 3, "x", "Phải là số nguyên", render=has(type="number")
    ),
    # --- annotations
    Case(
        "title",
        {"type": "string", "title": "Họ tên"},
        "An",
        required=True,
        message="Vui lòng nhập Họ tên",
        render=contains('<label for="f-x">Họ tên<span class="required-marker"'),
    ),
    Case(
        "description",
        {"type": "string", "description": "Như trên CCCD"},
        "An",
        render=lambda html: (
            contains('id="f-x-description">Như trên CCCD</p>')(html),
            has(**{"aria-describedby": "f-x-description"})(html),
        ),
    ),
    Case("default", {"type": "string", "default": "Việt Nam"}, "Việt Nam", render=has(value="Việt Nam")),
    Case("readOnly", {"type": "string", "readOnly": True}, "HS-1", render=has(readonly=None)),
    # --- choices
    Case(
        "enum",
        {"enum": ["a", "b"]},
        "b",
        "c",
        "Giá trị không nằm trong danh sách cho phép",
        render=contains('<option value="b" selected>b</option>'),
    ),
    Case(
        "oneOf const+title",
        {"type": "string", "oneOf": GENDER},
        "nu",
        "x",
        "Giá trị không nằm trong danh sách cho phép",
        render=contains('<option value="nu" selected>Nữ</option>'),
    ),
    Case(
        "anyOf const+title",
        {"type": "integer", "anyOf": [{"const": 1, "title": "Một"}, {"const": 2, "title": "Hai"}]},
        2,
        3,
        "Giá trị không nằm trong danh sách cho phép",
        render=contains('<option value="2" selected>Hai</option>'),
    ),
    Case(
        "const",
        {"type": "boolean", "const": True},
        True,
        False,
        "Vui lòng đánh dấu vào ô này",
        required=True,
        render=has(type="checkbox", required=None),
    ),
    # --- formats
    Case(
        "format date",
        {"type": "string", "format": "date"},
        "1975-04-30",
        "30/04/1975",
        "Ngày không hợp lệ (định dạng YYYY-MM-DD)",
        render=has(type="date"),
    ),
    Case(
        "format date-time",
        {"type": "string", "format": "date-time"},
        "2024-05-01T08:30:00+07:00",
        "mai",
        "Ngày giờ không hợp lệ",
        render=has(type="datetime-local", value="2024-05-01T08:30:00"),
    ),
    Case(
        "format email",
        {"type": "string", "format": "email"},
        "an@ubnd.vn",
        "an@",
        "Địa chỉ email không hợp lệ",
        render=has(type="email"),
    ),
    Case(
        "format uri",
        {"type": "string", "format": "uri"},
        "https://hokinhdoanh.vn",
        "javascript:alert(1)",
        "Địa chỉ web không hợp lệ (bắt đầu bằng http:// hoặc https://)",
        render=has(type="url"),
    ),
    Case(
        "format cccd",
        {"type": "string", "format": "cccd"},
        "001090012345",
        "0010900",
        "Số định danh cá nhân phải gồm đúng 12 chữ số",
        render=has(inputmode="numeric", pattern="[0-9]{12}"),
    ),
    Case(
        "format phone-vn",
        {"type": "string", "format": "phone-vn"},
        "0912 345 678",
        "12345",
        "Số điện thoại không hợp lệ",
        render=has(type="tel"),
    ),
    Case(
        "format tax-code",
        {"type": "string", "format": "tax-code"},
        "0101234567-001",
        "123",
        "Mã số thuế phải gồm 10 hoặc 13 chữ số",
        render=has(pattern="[0-9]{10}(-?[0-9]{3})?"),
    ),
    Case(
        "format data-url",
        {"type": "string", "format": "data-url"},
        "tep/giay-to.pdf",
        render=lambda html: (
            has(type="file")(html),
            contains('type="hidden" name="x" value="tep/giay-to.pdf"')(html),
        ),
    ),
    # --- strings
    Case(
        "minLength",
        {"type": "string", "minLength": 3},
        "abc",
        "ab",
        "Cần ít nhất 3 ký tự",
        render=has(minlength="3"),
    ),
    Case(
        "maxLength",
        {"type": "string", "maxLength": 2},
        "ab",
        "abc",
        "Tối đa 2 ký tự",
        render=has(maxlength="2"),
    ),
    Case(
        "pattern",
        {"type": "string", "pattern": "^[0-9]{4}$"},
        "4711",
        "47a1",
        "Không đúng định dạng",
        render=has(pattern="^[0-9]{4}$"),
    ),
    # --- numbers
    Case("minimum", {"type": "integer", "minimum": 1}, 1, 0, "Phải lớn hơn hoặc bằng 1", render=has(min="1")),
    Case(
        "maximum",
        {"type": "number", "maximum": 2.5},
        2.5,
        3,
        "Phải nhỏ hơn hoặc bằng 2,5",
        render=has(max="2.5"),
    ),
    Case(
        "exclusiveMinimum",
        {"type": "integer", "exclusiveMinimum": 0},
        1,
        0,
        "Phải lớn hơn 0",
        render=has(min="1"),
    ),
    Case(
        "exclusiveMaximum",
        {"type": "integer", "exclusiveMaximum": 10},
        9,
        10,
        "Phải nhỏ hơn 10",
        render=has(max="9"),
    ),
    Case(
        "multipleOf",
        {"type": "integer", "multipleOf": 1000},
        2000,
        1500,
        "Phải là bội số của 1.000",
        render=has(step="1000"),
    ),
    # --- objects
    Case(
        "required",
        {"type": "string"},
        "x",
        required=True,
        message="Vui lòng nhập trường này",
        render=has(required=None, **{"aria-required": "true"}),
    ),
    Case(
        "properties",
        {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
        {"a": "x", "b": 2},
        render=lambda html: (element(html, name="x.a"), element(html, name="x.b")),
    ),
    Case(
        "additionalProperties",
        {**PERSON, "additionalProperties": False},
        {"ten": "An"},
        {"ten": "An", "z": 1},
        "Trường không được phép: z",
    ),
    # --- arrays
    Case(
        "items",
        {"type": "array", "items": PERSON},
        [{"ten": "An"}, {"ten": "Bình"}],
        render=lambda html: element(html, name="x.1.ten"),
    ),
    Case(
        "minItems",
        {"type": "array", "minItems": 2, "items": PERSON},
        [{"ten": "An"}, {"ten": "Bình"}],
        [{"ten": "An"}],
        "Cần ít nhất 2 mục",
        required=True,
    ),
    Case(
        "maxItems",
        {"type": "array", "maxItems": 1, "items": PERSON},
        [{"ten": "An"}],
        [{"ten": "a"}, {"ten": "b"}],
        "Tối đa 1 mục",
        render=lacks("add:x"),  # no add button once full
    ),
    Case(
        "uniqueItems",
        {"type": "array", "uniqueItems": True, "items": {"enum": ["a", "b"]}},
        ["a", "b"],
        ["a", "a"],
        "Các mục không được trùng nhau",
        ui={"ui:widget": "checkboxes"},
    ),
    # --- references
    Case(
        "$ref/$defs",
        {"$ref": "#/$defs/ten", "title": "Tên riêng"},
        "An",
        5,
        "Phải là chuỗi ký tự",
        render=contains('<label for="f-x">Tên riêng</label>'),
    ),
    # --- widgets
    Case(
        "widget text",
        {"type": "number"},
        2.5,
        ui={"ui:widget": "text"},
        render=has(type="text", inputmode="decimal"),
    ),
    Case(
        "widget textarea",
        {"type": "string"},
        "Dòng 1\nDòng 2",
        ui={"ui:widget": "textarea", "ui:options": {"rows": 3}},
        render=has(rows="3"),
    ),
    Case(
        "widget password",
        {"type": "string"},
        "bí mật",
        ui={"ui:widget": "password"},
        render=lambda html: has(value="absent")(html),  # never echoed
        round_trip=False,
    ),
    Case(
        "widget email", {"type": "string"}, "an@ubnd.vn", ui={"ui:widget": "email"}, render=has(type="email")
    ),
    Case("widget date", {"type": "string"}, "2024-01-02", ui={"ui:widget": "date"}, render=has(type="date")),
    Case("widget updown", {"type": "integer"}, 3, ui={"ui:widget": "updown"}, render=has(type="number")),
    Case(
        "widget hidden",
        {"type": "integer"},
        7,
        ui={"ui:widget": "hidden"},
        render=has(type="hidden", value="7"),
    ),
    Case(
        "widget select",
        {"type": "string", "oneOf": GENDER},
        "nam",
        ui={"ui:widget": "select"},
        render=contains('<option value="">— Chọn —</option>'),
    ),
    Case(
        "widget radio",
        {"type": "string", "oneOf": GENDER},
        "nu",
        ui={"ui:widget": "radio"},
        render=group(role="radiogroup"),
    ),
    Case(
        "widget radio boolean",
        {"type": "boolean"},
        False,
        ui={"ui:widget": "radio"},
        render=contains('<label for="f-x-0">Có</label>', '<label for="f-x-1">Không</label>'),
    ),
    Case(
        "widget checkbox", {"type": "boolean"}, True, ui={"ui:widget": "checkbox"}, render=has(checked=None)
    ),
    Case(
        "widget checkboxes",
        {"type": "array", "items": {"enum": ["a", "b", "c"]}},
        ["a", "c"],
        ui={"ui:widget": "checkboxes"},
        render=group(role="group"),
    ),
    Case(
        "widget file",
        {"type": "string"},
        "tep/1.pdf",
        ui={"ui:widget": "file", "ui:options": {"accept": "image/*"}},
        render=has(type="file", accept="image/*"),
    ),
    # --- UI schema
    Case(
        "ui:title",
        {"type": "string", "title": "A"},
        "x",
        ui={"ui:title": "Tên"},
        required=True,
        message="Vui lòng nhập Tên",
        render=contains(">Tên<span"),
    ),
    Case(
        "ui:description",
        {"type": "string"},
        "x",
        ui={"ui:description": "Mô tả"},
        render=contains(">Mô tả</p>"),
    ),
    Case(
        "ui:help",
        {"type": "string"},
        "x",
        ui={"ui:help": "Ví dụ"},
        render=has(**{"aria-describedby": "f-x-help"}),
    ),
    Case(
        "ui:placeholder",
        {"type": "string"},
        "x",
        ui={"ui:placeholder": "Nguyễn Văn A"},
        render=has(placeholder="Nguyễn Văn A"),
    ),
    Case("ui:readonly", {"type": "string"}, "x", ui={"ui:readonly": True}, render=has(readonly=None)),
    Case(
        "ui:enumNames",
        {"enum": [1, 2]},
        2,
        ui={"ui:enumNames": ["Một", "Hai"]},
        render=contains('<option value="2" selected>Hai</option>'),
    ),
    Case(
        "ui:options inline",
        {"enum": ["a", "b"]},
        "a",
        ui={"ui:widget": "radio", "ui:options": {"inline": True}},
        render=contains('class="option option-inline"'),
    ),
    Case(
        "ui:options maxSize",
        {"type": "string", "format": "data-url"},
        "tep/1.pdf",
        ui={"ui:options": {"maxSize": 5 * 1024 * 1024}},
        render=has(**{"data-max-size": str(5 * 1024 * 1024)}),
    ),
    Case(
        "ui:options addable",
        {"type": "array", "items": PERSON},
        [{"ten": "An"}],
        ui={"ui:options": {"addable": False}},
        render=lacks("add:x"),
    ),
    Case(
        "ui:options removable",
        {"type": "array", "items": PERSON},
        [{"ten": "An"}],
        ui={"ui:options": {"removable": False}},
        render=lacks("remove:x"),
    ),
]


def form_for(case: Case):
    schema = {"type": "object", "properties": {"x": case.schema}, "required": ["x"] if case.required else []}
    if case.name == "$ref/$defs":
        schema["$defs"] = {"ten": {"type": "string"}}
    return load_form(schema, {"x": case.ui} if case.ui else None)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_keyword_and_widget_renders_as_documented(case: Case) -> None:
    html = str(render_form(form_for(case), {"x": case.good}))
    case.render(html)
    ids = [attrs["id"] for _tag, attrs in elements(html) if "id" in attrs]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_keyword_and_widget_accepts_a_good_value_and_refuses_a_bad_one(case: Case) -> None:
    form = form_for(case)
    assert validate(form, {"x": case.good}) == {"x": case.good}
    if not case.message:
        return
    with pytest.raises(FormInvalid) as caught:
        validate(form, {} if case.bad is MISSING else {"x": case.bad})
    assert case.message in caught.value.errors.get("x", []), caught.value.errors


@pytest.mark.parametrize("case", [case for case in CASES if case.round_trip], ids=lambda case: case.name)
def test_each_keyword_and_widget_survives_a_browser_round_trip(case: Case) -> None:
    form = form_for(case)
    posted = submit(render_form(form, {"x": case.good}), extra=[("csrf_token", "t")])
    assert parse_form(form, posted) == {"x": case.good}


def test_the_catalogue_covers_every_supported_keyword_and_widget() -> None:
    from forms.support import SCHEMA_KEYWORDS, WIDGETS

    named = " ".join(case.name for case in CASES)
    validated_elsewhere = {  # test_validation.py checks these; they do not change rendering
        *("allOf", "not", "contains", "minContains", "maxContains", "patternProperties", "propertyNames"),
        *("minProperties", "maxProperties", "unevaluatedProperties", "$comment", "examples", "$schema"),
        *(
            "if",
            "then",
            "else",
            "dependentRequired",
            "enumNames",
            "format",
        ),  # test_conditions.py, test_rendering.py
    }
    missing = [keyword for keyword in SCHEMA_KEYWORDS - validated_elsewhere if keyword not in named]
    assert missing == []
    assert [widget for widget in WIDGETS if f"widget {widget}" not in named] == []
