"""Validating a submission against its form.

Everything that reaches a workflow passes through :func:`validate`, whether it came from an
HTML post (via :func:`forms.parse_form`) or from the JSON API. Submissions are untrusted, so
their size and nesting are bounded before jsonschema walks them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import FormInvalid
from .form import Form
from .messages import translate
from .schema_tools import MAX_DEPTH
from .steps import step_at

__all__ = ["DEFAULT_MAX_BYTES", "MAX_DEPTH", "clean", "collect_errors", "validate"]

#: Default ceiling on a submission's JSON size; attachments travel separately, not inside form data.
DEFAULT_MAX_BYTES = 1024 * 1024


def validate(
    form: Form,
    data: Mapping[str, Any],
    *,
    step: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> dict[str, Any]:
    """Return ``data`` with strings stripped, or raise :class:`FormInvalid`.

    Stripping is the only change made: a value of the wrong type is reported, never coerced,
    so what the workflow stores is exactly what the applicant confirmed.

    ``step`` (1-based, forms with ``ui:steps``) reports only problems with that step's fields,
    so an applicant can move on while later steps are still empty; ``data`` may be the whole
    draft, since conditions can depend on answers from other steps. Only a validation without
    ``step`` accepts a submission.
    """
    current = step_at(form.steps, step)
    if not isinstance(data, Mapping):
        raise FormInvalid({"": ["Dữ liệu biểu mẫu phải là một đối tượng JSON"]})
    _check_limits(data, max_bytes, max_depth)
    cleaned = clean(data)
    errors = collect_errors(form, cleaned)
    if current is not None:
        errors = {key: messages for key, messages in errors.items() if current.owns(key)}
    if errors:
        raise FormInvalid(errors)
    return cleaned


def collect_errors(form: Form, data: Any) -> dict[str, list[str]]:
    """Messages per field path, without duplicates.

    A field that is missing gets only "Vui lòng nhập …": a blank box also fails ``minLength``
    or ``format``, but telling the applicant so would only repeat the same problem.
    """
    errors: dict[str, list[str]] = {}
    missing: set[str] = set()
    for error in form.validator.iter_errors(data):
        is_missing = error.validator in ("required", "dependentRequired")
        for key, message in translate(error, form.schema, form.ui_schema):
            bucket = errors.setdefault(key, [])
            if is_missing and key not in missing:
                missing.add(key)
                bucket.clear()
            if (is_missing or key not in missing) and message not in bucket:
                bucket.append(message)
    return errors


def clean(value: Any) -> Any:
    """A copy of ``value`` with every string stripped (keys untouched)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Mapping):
        return {key: clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item) for item in value]
    return value


def _check_limits(data: Mapping[str, Any], max_bytes: int, max_depth: int) -> None:
    """Refuse oversized or deeply nested data before anything recursive touches it."""
    if _depth_exceeds(data, max_depth):
        raise FormInvalid({"": [f"Dữ liệu biểu mẫu lồng nhau quá sâu (tối đa {max_depth} cấp)"]})
    try:
        size = len(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode())
    except (TypeError, ValueError) as exc:
        raise FormInvalid({"": ["Dữ liệu biểu mẫu không phải JSON hợp lệ"]}) from exc
    if size > max_bytes:
        raise FormInvalid({"": [f"Dữ liệu biểu mẫu quá lớn (tối đa {_size_text(max_bytes)})"]})


def _depth_exceeds(data: Any, limit: int) -> bool:
    """True when containers nest more than ``limit`` levels (the top object is level 1).

    Iterative, so hostile input nested thousands deep (or a cyclic structure) cannot exhaust
    the Python stack.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, Mapping) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, Mapping | list | tuple))
    return False


def _size_text(size: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} byte"
