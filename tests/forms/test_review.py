"""The review page: every answer read back as the applicant understands it, nothing editable."""

from __future__ import annotations

import re

from markupsafe import Markup

from forms import load_form, render_review

from .browser import elements

PERSON = {
    "type": "object",
    "title": "Người khai",
    "properties": {
        "ho_ten": {"type": "string", "title": "Họ và tên"},
        "gioi_tinh": {
            "type": "string",
            "title": "Giới tính",
            "oneOf": [{"const": "nam", "title": "Nam"}, {"const": "nu", "title": "Nữ"}],
        },
        "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"},
    },
}
SCHEMA = {
    "type": "object",
    "properties": {
        "nguoi_khai": PERSON,
        "nop_luc": {"type": "string", "format": "date-time", "title": "Nộp lúc"},
        "von": {"type": "integer", "title": "Vốn (đồng)"},
        "nam": {"type": "integer", "title": "Năm thành lập"},
        "ty_le": {"type": "number", "title": "Tỷ lệ"},
        "cam_ket": {"type": "boolean", "title": "Cam kết"},
        "nganh": {"type": "array", "title": "Ngành", "items": {"enum": ["a", "b"]}},
        "dia_chi": {"type": "string", "title": "Địa chỉ"},
        "thanh_vien": {
            "type": "array",
            "title": "Thành viên",
            "items": {
                "type": "object",
                "title": "Thành viên",
                "properties": {"ten": {"type": "string", "title": "Tên"}},
            },
        },
        "ma_noi_bo": {"type": "string"},
        "email": {"type": "string", "title": "Thư điện tử"},
    },
}
UI = {
    "nganh": {"ui:widget": "checkboxes", "items": {"ui:enumNames": ["Bán lẻ", "Ăn uống"]}},
    "dia_chi": {"ui:widget": "textarea"},
    "ma_noi_bo": {"ui:widget": "hidden"},
}
DATA = {
    "nguoi_khai": {"ho_ten": "Trần Thị Bình", "gioi_tinh": "nu", "ngay_sinh": "1988-04-30"},
    "nop_luc": "2024-05-01T01:30:00Z",
    "von": 150000000,
    "nam": 1990,
    "ty_le": 2.5,
    "cam_ket": True,
    "nganh": ["a", "b"],
    "dia_chi": "Số 1\nHà Nội",
    "thanh_vien": [{"ten": "An"}, {"ten": "Chi"}],
    "ma_noi_bo": "X-1",
}


def text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def pairs(html: str) -> list[tuple[str, str]]:
    """(term, answer) texts of the definition lists, tags stripped."""
    found = re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", html, flags=re.DOTALL)
    return [(term, text(value)) for term, value in found]


def test_the_review_is_a_read_only_definition_list() -> None:
    html = render_review(load_form(SCHEMA, UI), DATA)
    assert isinstance(html, Markup)
    tags = {tag for tag, _attrs in elements(html)}
    assert "dl" in tags and not tags & {"input", "select", "textarea", "button", "form"}


def test_answers_are_shown_as_a_person_reads_them() -> None:
    found = dict(pairs(str(render_review(load_form(SCHEMA, UI), DATA))))
    assert found["Giới tính"] == "Nữ"
    assert found["Ngày sinh"] == "30/04/1988"
    assert found["Nộp lúc"] == "01/05/2024 08:30"
    assert found["Vốn (đồng)"] == "150.000.000"
    assert found["Năm thành lập"] == "1990"
    assert found["Tỷ lệ"] == "2,5"
    assert found["Cam kết"] == "Có"
    assert found["Ngành"] == "Bán lẻ, Ăn uống"
    assert found["Thư điện tử"] == "Chưa khai"


def test_groups_nest_and_rows_are_numbered() -> None:
    html = str(render_review(load_form(SCHEMA, UI), DATA))
    assert re.search(
        r"<dt>Người khai</dt>\s*<dd class=\"review-group\">\s*<dl class=\"form-review\">\s*<dt>Họ và tên</dt>",
        html,
    )
    assert '<p class="review-row-title">Thành viên 2</p>' in html and "<dd><bdi>Chi</bdi></dd>" in html


def test_multi_line_text_keeps_its_lines_and_hidden_fields_are_left_out() -> None:
    html = str(render_review(load_form(SCHEMA, UI), DATA))
    assert "<dd><bdi>Số 1<br>Hà Nội</bdi></dd>" in html
    assert "X-1" not in html and "ma_noi_bo" not in html


def test_unanswered_fields_can_be_left_out() -> None:
    html = str(render_review(load_form(SCHEMA, UI), DATA, skip_empty=True))
    assert "Thư điện tử" not in html and "Chưa khai" not in html


def test_a_multi_step_form_is_reviewed_step_by_step_with_links_back() -> None:
    ui = {
        **UI,
        "ui:steps": [
            {"title": "Người khai", "fields": ["nguoi_khai", "email", "ma_noi_bo"]},
            {
                "title": "Nội dung",
                "fields": [
                    name for name in SCHEMA["properties"] if name not in ("nguoi_khai", "email", "ma_noi_bo")
                ],
            },
        ],
    }
    html = str(render_review(load_form(SCHEMA, ui), DATA, step_url=lambda number: f"/nop?buoc={number}"))
    assert '<h3 id="review-step-1">Bước 1: Người khai</h3>' in html
    assert '<a href="/nop?buoc=2">Sửa<span class="visually-hidden"> bước 2: Nội dung</span></a>' in html
    first, second = html.split('<section class="review-step"')[1:]
    assert "Họ và tên" in first and "Thư điện tử" in first and "Vốn" not in first
    assert "Vốn" in second


def test_values_the_schema_does_not_know_are_shown_as_given() -> None:
    html = str(
        render_review(load_form(SCHEMA, UI), {"nguoi_khai": {"gioi_tinh": "khac", "ngay_sinh": "30/04/1988"}})
    )
    found = dict(pairs(html))
    assert found["Giới tính"] == "khac" and found["Ngày sinh"] == "30/04/1988"
