"""A tiny stand-in for a browser submitting rendered form fields.

It applies the HTML rules that matter for a round trip: only checked checkboxes and radios
are posted, disabled controls (or controls inside a disabled fieldset) are not, nothing inside
a ``<template>`` is, a select posts its selected options (or its first option), a textarea
drops the newline right after its start tag and posts CRLF line ends, and a submit button is
posted only when it is the one pressed.
"""

from __future__ import annotations

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

_NOT_POSTED = frozenset({"file", "button", "submit", "reset", "image"})


class _Submission(HTMLParser):
    def __init__(self, click: tuple[str, str] | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.click = click
        self.clicked = False
        self.templates = 0
        self.pairs: list[tuple[str, str]] = []
        self.disabled_fieldsets: list[bool] = []
        self.select: dict | None = None
        self.option: dict | None = None
        self.textarea: dict | None = None

    @property
    def inside_disabled(self) -> bool:
        return any(self.disabled_fieldsets)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        disabled = "disabled" in found or self.inside_disabled
        if tag == "template":
            self.templates += 1
        elif self.templates:
            return
        elif tag == "button":
            self._button(found, disabled)
        elif tag == "fieldset":
            self.disabled_fieldsets.append("disabled" in found)
        elif tag == "input":
            self._input(found, disabled)
        elif tag == "select":
            self.select = {
                "name": found.get("name"),
                "multiple": "multiple" in found,
                "disabled": disabled,
                "options": [],
            }
        elif tag == "option" and self.select is not None:
            self.option = {"value": found.get("value"), "selected": "selected" in found, "text": ""}
            self.select["options"].append(self.option)
        elif tag == "textarea":
            self.textarea = {"name": found.get("name"), "disabled": disabled, "text": ""}

    def _button(self, found: dict, disabled: bool) -> None:
        pressed = (found.get("name"), found.get("value") or "")
        if (found.get("type") or "submit") == "submit" and not disabled and pressed == self.click:
            self.clicked = True
            self.pairs.append((pressed[0], pressed[1]))

    def _input(self, found: dict, disabled: bool) -> None:
        kind = (found.get("type") or "text").lower()
        name = found.get("name")
        if not name or disabled or kind in _NOT_POSTED:
            return
        if kind in ("checkbox", "radio"):
            if "checked" in found:
                self.pairs.append((name, found.get("value") or "on"))
            return
        self.pairs.append((name, found.get("value") or ""))

    def handle_data(self, data: str) -> None:
        if self.templates:
            return
        if self.option is not None:
            self.option["text"] += data
        if self.textarea is not None:
            self.textarea["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "template" and self.templates:
            self.templates -= 1
        elif self.templates:
            return
        elif tag == "fieldset" and self.disabled_fieldsets:
            self.disabled_fieldsets.pop()
        elif tag == "option":
            self.option = None
        elif tag == "select" and self.select is not None:
            self._finish_select(self.select)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = self.textarea["text"]
            text = text[1:] if text.startswith("\n") else text
            if self.textarea["name"] and not self.textarea["disabled"]:
                self.pairs.append((self.textarea["name"], text.replace("\n", "\r\n")))
            self.textarea = None

    def _finish_select(self, select: dict) -> None:
        if not select["name"] or select["disabled"]:
            return
        chosen = [option for option in select["options"] if option["selected"]]
        if not chosen and not select["multiple"] and select["options"]:
            chosen = select["options"][:1]
        for option in chosen:
            value = option["value"] if option["value"] is not None else option["text"]
            self.pairs.append((select["name"], value))


def submit(
    html: str, extra: list[tuple[str, str]] | None = None, *, click: tuple[str, str] | None = None
) -> MultiDict:
    """What a browser would post for ``html`` (plus ``extra`` pairs, e.g. a CSRF token).

    ``click`` is the ``(name, value)`` of the submit button pressed; it must exist and be enabled.
    """
    parser = _Submission(click)
    parser.feed(str(html))
    parser.close()
    assert click is None or parser.clicked, f"no enabled submit button {click} to press"
    return MultiDict(parser.pairs + (extra or []))


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Every start tag with its (unescaped) attributes, in document order."""
    parser = _Elements()
    parser.feed(str(html))
    parser.close()
    return parser.elements


def element(html: str, **wanted: str) -> dict[str, str | None]:
    """The attributes of the only element whose attributes include ``wanted``."""
    found = [attrs for _tag, attrs in elements(html) if all(attrs.get(k) == v for k, v in wanted.items())]
    assert len(found) == 1, f"expected one element with {wanted}, found {len(found)}"
    return found[0]
