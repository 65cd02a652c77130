"""Multi-step forms: one step per page with progress, step-by-step validation, drafts merged by step."""

from __future__ import annotations

from typing import Any

import pytest

from forms import FormInvalid, load_form, merge_step, parse_form, render_form, validate

from .browser import elements, submit

SCHEMA = {
    "type": "object",
    "required": ["ho_ten", "so_dinh_danh", "loai", "cam_ket"],
    "additionalProperties": False,
    "properties": {
        "ho_ten": {"type": "string", "title": "Họ và tên"},
        "so_dinh_danh": {"type": "string", "title": "Số định danh", "format": "cccd"},
        "loai": {
            "title": "Loại",
            "oneOf": [{"const": "ca_nhan", "title": "Cá nhân"}, {"const": "to_chuc", "title": "Tổ chức"}],
        },
        "ma_so_thue": {"type": "string", "title": "Mã số thuế", "format": "tax-code"},
        "ghi_chu": {"type": "string"},
        "cam_ket": {"type": "boolean", "const": True, "title": "Cam kết"},
    },
    "if": {"properties": {"loai": {"const": "to_chuc"}}, "required": ["loai"]},
    "then": {"required": ["ma_so_thue"]},
}
UI = {
    "ui:order": ["ho_ten", "so_dinh_danh", "loai", "ma_so_thue", "ghi_chu", "cam_ket"],
    "ui:steps": [
        {"title": "Người nộp", "fields": ["so_dinh_danh", "ho_ten"], "description": "Như trên CCCD"},
        {"title": "Hồ sơ", "fields": ["loai", "ma_so_thue", "ghi_chu"]},
        {"title": "Cam kết", "fields": ["cam_ket"]},
    ],
}


@pytest.fixture
def form():
    return load_form(SCHEMA, UI)


def names(html: str) -> list[str]:
    return [attrs["name"] for tag, attrs in elements(html) if tag in ("input", "select", "textarea")]


def test_steps_are_numbered_from_one_and_listed_on_the_form(form) -> None:
    assert [(step.number, step.title, step.fields) for step in form.steps] == [
        (1, "Người nộp", ("so_dinh_danh", "ho_ten")),
        (2, "Hồ sơ", ("loai", "ma_so_thue", "ghi_chu")),
        (3, "Cam kết", ("cam_ket",)),
    ]


def test_a_step_renders_only_its_fields_in_step_order_under_a_progress_heading(form) -> None:
    html = str(render_form(form, {}, step=1))
    assert names(html) == ["so_dinh_danh", "ho_ten"]
    assert '<h2 class="form-step-title">Bước 1/3: Người nộp</h2>' in html
    assert '<p class="form-step-description">Như trên CCCD</p>' in html
    assert '<li class="form-step form-step-current" aria-current="step">Người nộp</li>' in html
    html = str(render_form(form, {}, step=2))
    assert "Bước 2/3: Hồ sơ" in html and '<li class="form-step form-step-past">Người nộp</li>' in html
    assert names(html) == ["loai", "ma_so_thue", "ghi_chu"]


def test_without_a_step_the_whole_form_renders_without_progress(form) -> None:
    html = str(render_form(form))
    assert "form-steps" not in html and len(names(html)) == 6


@pytest.mark.parametrize("step", [0, 4, -1, "2", True])
def test_a_step_that_does_not_exist_is_an_error(form, step: Any) -> None:
    with pytest.raises(ValueError, match="step must be between 1 and 3"):
        render_form(form, step=step)


def test_a_form_without_steps_refuses_a_step_number() -> None:
    with pytest.raises(ValueError, match="no ui:steps"):
        validate(load_form({"type": "object", "properties": {}}), {}, step=1)


def test_validating_a_step_reports_only_that_steps_fields(form) -> None:
    with pytest.raises(FormInvalid) as caught:
        validate(form, {"so_dinh_danh": "123"}, step=1)
    assert caught.value.errors == {
        "ho_ten": ["Vui lòng nhập Họ và tên"],
        "so_dinh_danh": ["Số định danh cá nhân phải gồm đúng 12 chữ số"],
    }
    draft = {"ho_ten": "An", "so_dinh_danh": "001090012345"}
    assert validate(form, draft, step=1) == draft


def test_a_step_sees_answers_from_other_steps_for_its_conditions(form) -> None:
    with pytest.raises(FormInvalid) as caught:
        validate(form, {"ho_ten": "An", "loai": "to_chuc"}, step=2)
    assert caught.value.errors == {"ma_so_thue": ["Vui lòng nhập Mã số thuế"]}


def test_the_final_validation_without_a_step_still_checks_everything(form) -> None:
    with pytest.raises(FormInvalid) as caught:
        validate(form, {"ho_ten": "An", "so_dinh_danh": "001090012345", "loai": "ca_nhan", "x": 1})
    assert caught.value.errors == {"": ["Trường không được phép: x"], "cam_ket": ["Vui lòng chọn Cam kết"]}


def test_a_draft_is_saved_step_by_step_and_resumed(form) -> None:
    draft: dict[str, Any] = {}
    answers = {
        1: {"ho_ten": "An", "so_dinh_danh": "001090012345"},
        2: {"loai": "ca_nhan"},
        3: {"cam_ket": True},
    }
    for number, answer in answers.items():
        posted = submit(render_form(form, draft, step=number))
        for key, value in answer.items():
            posted.setlist(key, ["true" if value is True else value])
        step_data = validate(form, parse_form(form, posted, step=number), step=number)
        draft = merge_step(form, draft, step_data, number)
    assert validate(form, draft) == {
        "ho_ten": "An",
        "so_dinh_danh": "001090012345",
        "loai": "ca_nhan",
        "cam_ket": True,
    }


def test_parsing_a_step_leaves_the_other_steps_alone(form) -> None:
    draft = {"ho_ten": "An", "so_dinh_danh": "001090012345", "cam_ket": True, "ghi_chu": "cũ"}
    posted = submit(render_form(form, draft, step=2))  # the applicant clears "ghi_chu"
    posted.setlist("ghi_chu", [""])
    step_data = parse_form(form, posted, step=2)
    assert step_data == {}
    assert merge_step(form, draft, step_data, 2) == {
        "ho_ten": "An",
        "so_dinh_danh": "001090012345",
        "cam_ket": True,
    }


def test_errors_for_fields_of_other_steps_appear_in_the_summary(form) -> None:
    html = str(render_form(form, {}, {"cam_ket": ["Vui lòng đánh dấu vào ô này"]}, step=1))
    assert "<li>Cam kết: Vui lòng đánh dấu vào ô này</li>" in html


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "non-empty list"),
        ([{"title": "A", "fields": ["ho_ten"]}], "fields in no step would never be shown"),
        ([{"title": "A", "fields": ["ho_ten", "khong_co"]}], "'khong_co' is not a top-level field"),
        (
            [{"title": "A", "fields": list(SCHEMA["properties"])}, {"title": "B", "fields": ["ho_ten"]}],
            "already in step 1",
        ),
        ([{"title": "", "fields": list(SCHEMA["properties"])}], "title"),
        ([{"title": "A", "fields": list(SCHEMA["properties"]), "icon": "x"}], "unsupported keys icon"),
        (["ho_ten"], "must be an object"),
    ],
)
def test_steps_that_would_hide_or_repeat_a_field_are_refused_when_the_form_loads(
    steps: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_form(SCHEMA, {"ui:steps": steps})
