"""Rendering a form as accessible HTML fields.

The output holds fields only: the page supplies the ``<form>`` element, its action and the
CSRF token, so the same fields can sit inside any page layout. Templates live in
``forms/templates/forms/`` and always autoescape, because titles, help texts, enum labels and
values can all come from procedure authors or applicants.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .form import Form
from .review import build_review
from .steps import step_at
from .values import to_text
from .widgets import ACTION_FIELD, Field, build_fields

__all__ = ["html_attrs", "render_form", "render_review"]

_ATTRIBUTE_NAME = re.compile(r"[a-zA-Z_:][-a-zA-Z0-9_:.]*")
_TEMPLATES = {
    "multiselect": "select",
    "radio": "group",
    "checkboxes": "group",
    "hidden": "input",
}


def html_attrs(attrs: Mapping[str, Any]) -> Markup:
    """`` name="value"`` pairs, escaped; ``True`` gives a bare attribute, ``None``/``False`` none."""
    parts: list[Markup] = []
    for name, value in attrs.items():
        if value is None or value is False:
            continue
        if not _ATTRIBUTE_NAME.fullmatch(name):
            raise ValueError(f"invalid HTML attribute name {name!r}")
        parts.append(
            Markup(" {}").format(name) if value is True else Markup(' {}="{}"').format(name, to_text(value))
        )
    return Markup("").join(parts)


_ENV = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["attrs"] = html_attrs
_ENV.globals["action_field"] = ACTION_FIELD


def render_form(
    form: Form,
    data: Mapping[str, Any] | None = None,
    errors: Mapping[str, Any] | None = None,
    *,
    prefix: str = "",
    readonly: bool = False,
    step: int | None = None,
    progress: bool = True,
) -> Markup:
    """HTML for the form's fields, filled from ``data`` and annotated with ``errors``.

    ``errors`` is :attr:`FormInvalid.errors`; messages whose field is not shown (form-level,
    hidden or on another step) appear in the summary above the fields. ``prefix`` namespaces
    the input names (``prefix.owner.ho_ten``) when several forms share a page; pass the same
    prefix to :func:`forms.parse_form`. ``readonly`` shows a submitted dossier without edit
    controls. ``step`` (1-based, for forms with ``ui:steps``) renders only that step's fields
    under a "Bước 2/4: …" progress heading; ``ValueError`` if there is no such step.
    ``progress=False`` leaves that heading and the list of steps out, for a page that shows its own
    (the submission wizard's steps go on past the form's).
    """
    current = step_at(form.steps, step)
    only = current.fields if current else None
    fields, summary = build_fields(form, data or {}, errors, prefix, readonly, only)
    shown_progress = None
    if current is not None and progress:
        shown_progress = {
            "number": current.number,
            "total": len(form.steps),
            "title": current.title,
            "description": current.description,
            "steps": form.steps,
        }
    html = _ENV.get_template("forms/form.html").render(
        fields=fields, summary=summary, progress=shown_progress, render=_render_field
    )
    return Markup(html)


def render_review(
    form: Form,
    data: Mapping[str, Any],
    *,
    step_url: Callable[[int], str] | None = None,
    skip_empty: bool = False,
) -> Markup:
    """A read-only summary of every answer (``<dl>`` lists), one section per step if the form has steps.

    Choices show their titles, dates ``dd/mm/yyyy``, timestamps Vietnam time, yes/no "Có"/"Không";
    unanswered fields read "Chưa khai" unless ``skip_empty``. ``step_url(n)`` gives each step
    a "Sửa" link back to that step.
    """
    sections = build_review(form, data or {}, step_url, skip_empty)
    return Markup(_ENV.get_template("forms/review.html").render(sections=sections))


def _render_field(built: Field) -> Markup:
    name = _TEMPLATES.get(built.kind, built.kind)
    return Markup(_ENV.get_template(f"forms/{name}.html").render(f=built, render=_render_field))
