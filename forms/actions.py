"""Adding and removing array rows without JavaScript.

Each repeating group has a "Thêm" button and each row a "Xóa" button, all submit buttons named
``_action`` with values ``add:<field name>`` and ``remove:<row name>``. Pressing one posts the
page; :func:`apply_action` reads the post as it was shown (blank rows included), adds or removes
the row, and the page renders the result again instead of saving or submitting anything.
A script may later do the same in the browser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .form import Form
from .parsing import FormData, posted_rows, read_post
from .schema_tools import effective_lock, field_kind, resolve, schema_at, ui_at, ui_get
from .steps import step_at
from .widgets import ACTION_FIELD

__all__ = ["ACTION_FIELD", "FormAction", "apply_action", "form_action"]

_ACTION = re.compile(r"(add|remove):([^\s]{1,500})")
_INDEX = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True)
class FormAction:
    """A row button pressed: ``verb`` is ``add``, ``remove`` or ``invalid`` (a malformed value);
    ``target`` is the posted field path without the prefix."""

    verb: str
    target: tuple[str | int, ...]


def form_action(formdata: FormData | Mapping[str, Any], *, prefix: str = "") -> FormAction | None:
    """The row button pressed in this post, or None when the page's own submit button was used.

    Values are checked for shape only; :func:`apply_action` checks them against the form.
    """
    raw = formdata.get(ACTION_FIELD) if hasattr(formdata, "get") else None
    if not isinstance(raw, str):
        return None
    found = _ACTION.fullmatch(raw.strip())
    if found is None:
        return FormAction("invalid", ())
    verb, name = found.groups()
    head = f"{prefix.strip('.')}." if prefix.strip(".") else ""
    if not name.startswith(head):
        return FormAction("invalid", ())
    parts = name[len(head) :].split(".")
    return FormAction(verb, tuple(int(part) if _INDEX.fullmatch(part) else part for part in parts))


def apply_action(
    form: Form, formdata: FormData | Mapping[str, Any], *, prefix: str = "", step: int | None = None
) -> dict[str, Any] | None:
    """The data to show again after a row button, or None for an ordinary submission.

    A post carrying ``_action`` is never a submission, even if the action is stale or forged
    (a row that no longer exists, a full list, a read-only group): the page is shown as
    posted and nothing else happens.
    """
    action = form_action(formdata, prefix=prefix)
    if action is None:
        return None
    data = read_post(form, formdata, prefix=prefix, step=step, keep_blank_rows=True)
    current = step_at(form.steps, step)
    if action.verb == "invalid" or not action.target or (current and action.target[0] not in current.fields):
        return data
    path = _as_parsed(formdata, prefix, action.target)
    if path is None:
        return data
    if action.verb == "add":
        _add_row(form, data, path)
    elif isinstance(path[-1], int) and len(path) > 1:
        _remove_row(form, data, path[:-1], path[-1])
    return data


def _as_parsed(formdata: Any, prefix: str, target: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The posted path with each row number turned into its position (rows may have gaps)."""
    result: list[str | int] = []
    for depth, part in enumerate(target):
        if isinstance(part, int):
            posted = posted_rows(formdata, tuple(target[:depth]), prefix=prefix)
            if part not in posted:
                return None
            part = posted.index(part)
        result.append(part)
    return tuple(result)


def _editable_array(form: Form, path: tuple[str | int, ...]) -> Mapping[str, Any] | None:
    """The array schema at ``path`` if its rows may change, else None."""
    schema = schema_at(form.schema, list(path))
    ui = ui_at(form.ui_schema, list(path))
    if schema is None or field_kind(form.schema, schema, ui) != "array":
        return None
    for depth in range(len(path) + 1):
        node = schema_at(form.schema, list(path[:depth])) or {}
        node_ui = ui_at(form.ui_schema, list(path[:depth]))
        if any(effective_lock(node, node_ui, field_kind(form.schema, node, node_ui))):
            return None
    return schema


def _add_row(form: Form, data: dict[str, Any], path: tuple[str | int, ...]) -> None:
    schema = _editable_array(form, path)
    if schema is None or ui_get(ui_at(form.ui_schema, list(path)), "addable", True) is False:
        return
    rows = _rows(data, path, create=True)
    if rows is not None and len(rows) < schema.get("maxItems", float("inf")):
        items = resolve(form.schema, schema.get("items"))
        rows.append({} if field_kind(form.schema, items, {}) == "object" else "")


def _remove_row(form: Form, data: dict[str, Any], path: tuple[str | int, ...], index: int) -> None:
    if _editable_array(form, path) is None:
        return
    if ui_get(ui_at(form.ui_schema, list(path)), "removable", True) is False:
        return
    rows = _rows(data, path, create=False)
    if rows is not None and index < len(rows):
        del rows[index]


def _rows(data: dict[str, Any], path: tuple[str | int, ...], *, create: bool) -> list[Any] | None:
    node: Any = data
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, dict) and isinstance(part, str):
            if part not in node and create:
                node[part] = [] if last else {}
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node if isinstance(node, list) else None
