"""Reading a posted HTML form back into JSON data shaped by the form's schema.

Browsers post flat text fields (``owner.ho_ten``, ``nganh_nghe.0.ten``). Parsing walks the
schema, not the post, so unknown names (the CSRF token, anything injected) are ignored, and
it follows the same widget decisions as rendering so each field is read as it was shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from .form import Form
from .schema_tools import (
    MAX_DEPTH,
    Schema,
    choices,
    effective_lock,
    field_kind,
    primary_type,
    resolve,
    ui_child,
)
from .steps import step_at
from .uploads import file_limits, read_upload
from .values import from_local_datetime, from_text, to_text

__all__ = ["FormData", "merge_step", "parse_form", "posted_rows", "read_post"]

MISSING: Any = object()
_UNCHECKED = frozenset({"", "false", "off", "0"})
_INDEX = re.compile(r"[0-9]+")


class FormData(Protocol):
    """What parse_form needs from a post: werkzeug's ``MultiDict`` (``request.form``) fits."""

    def getlist(self, key: str) -> list[Any]: ...

    def keys(self) -> Any: ...


def parse_form(
    form: Form,
    formdata: FormData | Mapping[str, Any],
    *,
    prefix: str = "",
    step: int | None = None,
    files: FormData | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Typed JSON data from a post, ready for :func:`forms.validate`.

    Integers and numbers are converted (text that is not a number is kept so validation can
    say so), checkboxes become booleans, ``x.0.y`` names become arrays of objects, and blank
    fields are left out so ``required`` reports them. Array rows left untouched are dropped.
    Disabled controls are not posted by browsers and stay absent.

    ``step`` reads only that step's fields (combine them with the saved draft through
    :func:`merge_step`). ``files`` is the post's files (werkzeug ``request.files``): each file
    chosen for a file field becomes an :class:`forms.Upload`, already checked against the
    field's type and size limits; see :func:`forms.upload_errors` and :func:`forms.store_uploads`.
    Without a new file, a file field keeps the reference of the file stored earlier.
    """
    return read_post(form, formdata, prefix=prefix, step=step, files=files)


def read_post(
    form: Form,
    formdata: FormData | Mapping[str, Any],
    *,
    prefix: str = "",
    step: int | None = None,
    files: FormData | Mapping[str, Any] | None = None,
    keep_blank_rows: bool = False,
) -> dict[str, Any]:
    """:func:`parse_form`, optionally keeping blank array rows so a page can be shown as it was posted."""
    current = step_at(form.steps, step)
    parser = _Parser(form.schema, formdata, prefix.strip("."), files, keep_blank_rows)
    only = current.fields if current else None
    result = parser.object(form.schema, form.ui_schema, (), readonly=False, disabled=False, only=only)
    return result if isinstance(result, dict) else {}


def merge_step(
    form: Form, draft: Mapping[str, Any], step_data: Mapping[str, Any], step: int
) -> dict[str, Any]:
    """The draft with step ``step``'s fields replaced by ``step_data`` (fields cleared on the page go)."""
    current = step_at(form.steps, step)
    if current is None:
        raise ValueError("merge_step needs a step number")
    fields = current.fields
    kept = {key: value for key, value in draft.items() if key not in fields}
    return {**kept, **{key: value for key, value in step_data.items() if key in fields}}


def posted_rows(
    formdata: FormData | Mapping[str, Any], path: tuple[Any, ...], *, prefix: str = ""
) -> list[int]:
    """The row numbers posted for the array at ``path``, in order (a script may leave gaps)."""
    return _Parser({}, formdata, prefix.strip("."), None, False).indices(path)


class _Parser:
    def __init__(self, root: Schema, formdata: Any, prefix: str, files: Any, keep_blank: bool) -> None:
        self.root = root
        self.formdata = formdata
        self.prefix = prefix
        self.files = files
        self.keep_blank = keep_blank
        self.keys = [str(key) for key in formdata.keys()]
        self.keys += [str(key) for key in files.keys()] if files is not None else []

    def name(self, path: tuple[Any, ...]) -> str:
        key = ".".join(str(part) for part in path)
        return f"{self.prefix}.{key}" if self.prefix else key

    def texts(self, path: tuple[Any, ...]) -> list[str]:
        """Posted strings for a field, stripped, with browser CRLF line ends normalised."""
        name = self.name(path)
        if hasattr(self.formdata, "getlist"):
            raw = self.formdata.getlist(name)
        else:
            value = self.formdata.get(name)
            raw = value if isinstance(value, list) else [] if value is None else [value]
        return [value.replace("\r\n", "\n").strip() for value in raw if isinstance(value, str)]

    def indices(self, path: tuple[Any, ...]) -> list[int]:
        """Row numbers posted for an array, in order; gaps left by removed rows are fine."""
        start = f"{self.name(path)}."
        found = {
            int(head)
            for key in self.keys
            if key.startswith(start) and _INDEX.fullmatch(head := key[len(start) :].split(".", 1)[0])
        }
        return sorted(found)

    def object(
        self,
        schema: Any,
        ui: Schema,
        path: tuple[Any, ...],
        *,
        readonly: bool,
        disabled: bool,
        only: tuple[str, ...] | None = None,
    ) -> Any:
        schema = resolve(self.root, schema)
        required = set(schema.get("required") or [])
        result: dict[str, Any] = {}
        for key, sub in (schema.get("properties") or {}).items():
            if only is not None and key not in only:
                continue
            value = self.value(sub, ui_child(ui, key), (*path, key), key in required, (readonly, disabled))
            if value is not MISSING:
                result[key] = value
        return result

    def value(
        self, schema: Any, ui: Schema, path: tuple[Any, ...], required: bool, lock: tuple[bool, bool]
    ) -> Any:
        if len(path) > MAX_DEPTH or schema is False:
            return MISSING
        schema = resolve(self.root, schema)
        kind = field_kind(self.root, schema, ui)
        readonly, disabled = effective_lock(schema, ui, kind, readonly=lock[0], disabled=lock[1])
        if disabled:
            return MISSING
        if kind == "object":
            result = self.object(schema, ui, path, readonly=readonly, disabled=disabled)
            # A required group is kept even if empty so its own required fields are reported.
            return result if required or not self.pristine(result, schema) else MISSING
        if kind == "array":
            return self.array(schema, ui, path, readonly)
        if kind in ("checkboxes", "multiselect"):
            return self.multiple(schema, ui, path)
        if kind == "checkbox":
            return any(text.lower() not in _UNCHECKED for text in self.texts(path))
        if kind == "file":
            upload = self.upload(ui, path)
            if upload is not None:
                return upload
        return self.scalar(schema, ui, path, kind)

    def upload(self, ui: Schema, path: tuple[Any, ...]) -> Any:
        """The file chosen for a file field, checked against its limits, or None."""
        if self.files is None:
            return None
        name = self.name(path)
        posted = self.files.getlist(name) if hasattr(self.files, "getlist") else [self.files.get(name)]
        for storage in posted:
            upload = read_upload(storage, file_limits(ui)) if storage is not None else None
            if upload is not None:
                return upload
        return None

    def array(self, schema: Schema, ui: Schema, path: tuple[Any, ...], readonly: bool) -> Any:
        items, items_ui = resolve(self.root, schema.get("items")), ui_child(ui, 0)
        result = []
        for index in self.indices(path):
            item = self.value(items, items_ui, (*path, index), False, (readonly, False))
            if self.keep_blank:
                result.append(_blank_item(items, self.root) if item is MISSING else item)
            elif item is not MISSING and not self.pristine(item, items):
                result.append(item)
        return result or MISSING

    def multiple(self, schema: Schema, ui: Schema, path: tuple[Any, ...]) -> Any:
        items = resolve(self.root, schema.get("items"))
        allowed = choices(self.root, items, ui_child(ui, 0)) or []
        result = [_choose(text, allowed, items) for text in self.texts(path) if text]
        return result or MISSING

    def scalar(self, schema: Schema, ui: Schema, path: tuple[Any, ...], kind: str) -> Any:
        texts = [text for text in self.texts(path) if text]
        if not texts:
            return MISSING
        text = texts[0]
        if schema.get("format") == "date-time" and primary_type(schema) in (None, "string"):
            text = from_local_datetime(text)
        return _choose(text, choices(self.root, schema, ui) or [], schema)

    def pristine(self, value: Any, schema: Any) -> bool:
        """True when a row or group holds nothing but what an untouched form would post."""
        schema = resolve(self.root, schema)
        if isinstance(value, dict):
            properties = schema.get("properties") or {}
            return all(self.pristine(item, properties.get(key)) for key, item in value.items())
        if isinstance(value, list):
            return not value
        default = schema.get("default", False if isinstance(value, bool) else MISSING)
        return type(value) is type(default) and value == default


def _choose(text: str, allowed: list[tuple[Any, str]], schema: Schema) -> Any:
    """The enum value whose text was posted, else the text converted by the field's type."""
    for value, _label in allowed:
        if to_text(value) == text:
            return value
    return from_text(text, primary_type(schema))


def _blank_item(schema: Schema, root: Schema) -> Any:
    """What an untouched row holds when a page is shown again as posted."""
    return {} if primary_type(resolve(root, schema)) == "object" else ""
