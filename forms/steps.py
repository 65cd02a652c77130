"""Multi-step forms: ``ui:steps`` splits a long application into pages.

Each step names some of the form's top-level fields; together the steps must cover every field
exactly once, so nothing an applicant must fill in can fall between pages. Steps are numbered
from 1, as the applicant sees them ("Bước 2/4").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .schema_tools import Schema, resolve
from .values import plain_text

__all__ = ["Step", "parse_steps", "step_at"]

_STEP_KEYS = frozenset({"title", "description", "fields"})


@dataclass(frozen=True)
class Step:
    """One page of a multi-step form."""

    number: int
    title: str
    fields: tuple[str, ...]
    description: str = ""

    def owns(self, path_key: str) -> bool:
        """True when the dotted field path (``owner.ho_ten``) belongs to this step."""
        head = path_key.split(".", 1)[0]
        return bool(path_key) and head in self.fields


def parse_steps(schema: Schema, ui: Mapping[str, Any]) -> tuple[Step, ...]:
    """The steps ``ui:steps`` declares, or ``()``; ``ValueError`` says what is wrong with them."""
    raw = ui.get("ui:steps")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise ValueError("ui:steps must be a non-empty list of {title, fields}")
    properties = list(resolve(schema, schema).get("properties") or {})
    steps: list[Step] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(raw, start=1):
        step = _parse_step(number, entry, properties)
        for name in step.fields:
            if name in seen:
                raise ValueError(f"ui:steps[{number - 1}]: {name!r} is already in step {seen[name]}")
            seen[name] = number
        steps.append(step)
    missing = [name for name in properties if name not in seen]
    if missing:
        raise ValueError(f"ui:steps: fields in no step would never be shown: {', '.join(missing)}")
    return tuple(steps)


def _parse_step(number: int, entry: Any, properties: list[str]) -> Step:
    where = f"ui:steps[{number - 1}]"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be an object with title and fields")
    unknown = set(entry) - _STEP_KEYS
    if unknown:
        raise ValueError(f"{where}: unsupported keys {', '.join(sorted(unknown))}")
    title, description, fields = entry.get("title"), entry.get("description", ""), entry.get("fields")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"{where}: title must be non-empty text")
    if not isinstance(description, str):
        raise ValueError(f"{where}: description must be text")
    if not isinstance(fields, list) or not fields or not all(isinstance(name, str) for name in fields):
        raise ValueError(f"{where}: fields must be a non-empty list of field names")
    for name in fields:
        if name not in properties:
            raise ValueError(f"{where}: {name!r} is not a top-level field of the form")
    return Step(number, plain_text(title), tuple(fields), plain_text(description))


def step_at(steps: tuple[Step, ...], number: int | None) -> Step | None:
    """Step ``number`` (1-based), None for the whole form; ``ValueError`` if there is no such step."""
    if number is None:
        return None
    if not steps:
        raise ValueError("this form has no ui:steps")
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= len(steps):
        raise ValueError(f"step must be between 1 and {len(steps)}, got {number!r}")
    return steps[number - 1]
