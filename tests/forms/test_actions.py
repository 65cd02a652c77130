"""Repeating groups work without JavaScript: row buttons post the page and it comes back changed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from forms import ACTION_FIELD, FormAction, apply_action, form_action, load_form, parse_form, render_form

from .browser import element, elements, submit

MEMBER = {
    "type": "object",
    "title": "Thành viên",
    "required": ["ho_ten"],
    "properties": {"ho_ten": {"type": "string", "title": "Họ tên"}, "chu_ho": {"type": "boolean"}},
}
HOUSEHOLD = {
    "type": "object",
    "required": ["ten"],
    "properties": {
        "ten": {"type": "string"},
        "tv": {"type": "array", "title": "Thành viên hộ", "maxItems": 3, "items": MEMBER},
    },
}


def buttons(html: str) -> list[dict[str, Any]]:
    """Submit buttons a person can press (not those inside a row <template>)."""
    shown = re.sub(r"<template>.*?</template>", "", html, flags=re.DOTALL)
    return [attrs for tag, attrs in elements(shown) if tag == "button" and attrs.get("name") == ACTION_FIELD]


def press(form, data: dict[str, Any], value: str, typed: list[tuple[str, str]] | None = None, **kw: Any):
    """Render, type into some fields, press the button ``value`` and apply it as the server would."""
    html = str(render_form(form, data, prefix=kw.get("prefix", "")))
    posted = submit(html, click=(ACTION_FIELD, value))
    for name, text in typed or []:
        posted.setlist(name, [text])
    return apply_action(form, posted, **kw)


def test_an_add_button_and_remove_buttons_are_submit_buttons_that_skip_browser_validation() -> None:
    html = str(render_form(load_form(HOUSEHOLD), {"tv": [{"ho_ten": "An"}]}))
    add = element(html, value="add:tv")
    assert (add["type"], add["name"], add["data-action"]) == ("submit", "_action", "add-item")
    assert "formnovalidate" in add and add["aria-controls"] == "f-tv-items"
    assert [button["value"] for button in buttons(html)] == ["remove:tv.0", "add:tv"]
    assert "Thêm Thành viên</button>" in html and '<span class="visually-hidden"> Thành viên 1</span>' in html


def test_pressing_enter_submits_the_form_rather_than_adding_or_removing_a_row() -> None:
    html = str(render_form(load_form(HOUSEHOLD), {"tv": [{"ho_ten": "An"}]}))
    first_submit = next(attrs for tag, attrs in elements(html) if tag == "button")
    assert "name" not in first_submit and first_submit["class"] == "form-default-submit visually-hidden"
    assert first_submit["tabindex"] == "-1" and first_submit["aria-hidden"] == "true"


def test_a_form_without_row_buttons_needs_no_default_button() -> None:
    assert "form-default-submit" not in str(render_form(load_form({"type": "object", "properties": {}})))


def test_add_shows_the_page_again_with_what_was_typed_and_one_more_empty_row() -> None:
    form = load_form(HOUSEHOLD)
    data = press(form, {"tv": [{"ho_ten": "An"}]}, "add:tv", [("ten", "Hộ A"), ("tv.0.ho_ten", "An Nguyễn")])
    assert data == {"ten": "Hộ A", "tv": [{"ho_ten": "An Nguyễn", "chu_ho": False}, {}]}
    html = str(render_form(form, data))
    assert element(html, name="tv.1.ho_ten").get("value") is None
    assert "<legend>Thành viên 2</legend>" in html


def test_adding_twice_keeps_the_empty_row_added_before() -> None:
    form = load_form(HOUSEHOLD)
    data = press(form, {}, "add:tv")
    assert data == {"tv": [{}]}
    assert press(form, data, "add:tv") == {"tv": [{}, {}]}


def test_a_row_left_empty_is_dropped_when_the_form_is_finally_submitted() -> None:
    form = load_form(HOUSEHOLD)
    html = str(render_form(form, {"ten": "Hộ A", "tv": [{"ho_ten": "An"}, {}]}))
    assert parse_form(form, submit(html)) == {"ten": "Hộ A", "tv": [{"ho_ten": "An", "chu_ho": False}]}


def test_remove_drops_exactly_the_pressed_row() -> None:
    form = load_form(HOUSEHOLD)
    rows = [{"ho_ten": "An"}, {"ho_ten": "Bình"}, {"ho_ten": "Chi"}]
    data = press(form, {"tv": rows}, "remove:tv.1")
    assert [row["ho_ten"] for row in data["tv"]] == ["An", "Chi"]


def test_remove_finds_the_row_even_when_a_script_left_gaps_in_the_numbering() -> None:
    form = load_form(HOUSEHOLD)
    posted = MultiDict(
        [
            ("tv.0.ho_ten", "An"),
            ("tv.4.ho_ten", "Bình"),
            ("tv.9.ho_ten", "Chi"),
            (ACTION_FIELD, "remove:tv.4"),
        ]
    )
    assert [row["ho_ten"] for row in apply_action(form, posted)["tv"]] == ["An", "Chi"]


def test_nested_rows_are_added_inside_the_right_parent_row() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ho": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "ten": {"type": "string"},
                        "con": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    }
    form = load_form(schema)
    data = press(form, {"ho": [{"ten": "A"}, {"ten": "B", "con": ["x"]}]}, "add:ho.1.con")
    assert data["ho"][1]["con"] == ["x", ""]
    assert "con" not in data["ho"][0]


def test_the_add_button_disappears_once_max_items_is_reached_and_a_forged_add_changes_nothing() -> None:
    form = load_form(HOUSEHOLD)
    full = {"tv": [{"ho_ten": name} for name in ("An", "Bình", "Chi")]}
    html = str(render_form(form, full))
    assert "add:tv" not in [button["value"] for button in buttons(html)]
    posted = submit(html, extra=[(ACTION_FIELD, "add:tv")])
    assert len(apply_action(form, posted)["tv"]) == 3


@pytest.mark.parametrize(
    "value",
    [
        "add:ten",
        "add:khong_co",
        "remove:tv",
        "remove:tv.7",
        "xoa:tv.0",
        "add:",
        "add:tv.0.ho_ten",
        "'><script>",
    ],
)
def test_a_stale_or_forged_action_shows_the_page_as_posted_and_never_submits(value: str) -> None:
    form = load_form(HOUSEHOLD)
    posted = MultiDict([("ten", "Hộ A"), ("tv.0.ho_ten", "An"), (ACTION_FIELD, value)])
    assert apply_action(form, posted) == {"ten": "Hộ A", "tv": [{"ho_ten": "An", "chu_ho": False}]}


def test_rows_of_a_read_only_or_locked_group_cannot_be_changed_by_a_forged_action() -> None:
    form = load_form(HOUSEHOLD, {"tv": {"ui:readonly": True}})
    html = str(render_form(form, {"tv": [{"ho_ten": "An"}]}))
    assert buttons(html) == [] and "form-default-submit" not in html
    posted = MultiDict([("tv.0.ho_ten", "An"), (ACTION_FIELD, "remove:tv.0")])
    assert apply_action(form, posted)["tv"] == [{"ho_ten": "An"}]  # the locked checkbox is not posted
    form = load_form(HOUSEHOLD, {"tv": {"ui:options": {"addable": False, "removable": False}}})
    assert buttons(str(render_form(form, {"tv": [{"ho_ten": "An"}]}))) == []
    posted = MultiDict([("tv.0.ho_ten", "An"), (ACTION_FIELD, "add:tv")])
    assert apply_action(form, posted)["tv"] == [{"ho_ten": "An", "chu_ho": False}]


def test_an_ordinary_submission_is_not_an_action() -> None:
    form = load_form(HOUSEHOLD)
    assert apply_action(form, submit(render_form(form, {"tv": [{"ho_ten": "An"}]}))) is None
    assert form_action(MultiDict()) is None


def test_actions_respect_the_prefix_of_a_shared_page() -> None:
    form = load_form(HOUSEHOLD)
    assert form_action(MultiDict([(ACTION_FIELD, "add:b2.tv")]), prefix="b2") == FormAction("add", ("tv",))
    assert form_action(MultiDict([(ACTION_FIELD, "add:tv")]), prefix="b2") == FormAction("invalid", ())
    data = press(form, {"tv": [{"ho_ten": "An"}]}, "add:b2.tv", prefix="b2")
    assert data == {"tv": [{"ho_ten": "An", "chu_ho": False}, {}]}


def test_a_required_list_with_min_items_starts_with_rows_to_fill_in() -> None:
    schema = {**HOUSEHOLD, "required": ["tv"]}
    schema["properties"] = {**HOUSEHOLD["properties"], "tv": {**HOUSEHOLD["properties"]["tv"], "minItems": 2}}
    html = str(render_form(load_form(schema)))
    assert "required" in element(html, name="tv.0.ho_ten") and "required" in element(html, name="tv.1.ho_ten")
    optional = str(render_form(load_form(HOUSEHOLD)))
    assert [attrs for tag, attrs in elements(optional) if attrs.get("name") == "tv.0.ho_ten"] == [
        {"type": "text", "id": "f-tv-0-ho_ten", "name": "tv.0.ho_ten", "aria-required": "true"}
    ]  # only the template row, inside <template>


names = st.lists(
    st.text(alphabet="abcdefghij ", min_size=1, max_size=8).map(str.strip).filter(bool), max_size=5
)


@settings(max_examples=60, deadline=None)
@given(names, st.data())
def test_any_row_removed_or_added_leaves_the_other_rows_in_order(
    rows: list[str], data: st.DataObject
) -> None:
    form = load_form(
        {**HOUSEHOLD, "properties": {**HOUSEHOLD["properties"], "tv": {"type": "array", "items": MEMBER}}}
    )
    shown = {"tv": [{"ho_ten": name} for name in rows]}
    added = press(form, shown, "add:tv")
    assert [row.get("ho_ten") for row in added["tv"]] == [*rows, None]
    if rows:
        index = data.draw(st.integers(0, len(rows) - 1))
        removed = press(form, shown, f"remove:tv.{index}")
        assert [row["ho_ten"] for row in removed.get("tv", [])] == rows[:index] + rows[index + 1 :]
