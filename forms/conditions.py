"""Conditional requirements (``if``/``then``/``else``, ``dependentRequired``) as hints for the page.

The server enforces these rules through validation. The renderer also states them, in words
next to the field ("Bắt buộc khi …") and as a ``data-required-when`` attribute a script can
use to show or hide the field. Only the common shape is described — an ``if`` that compares
sibling fields with ``const``/``enum`` and lists them in ``required``; anything richer is
marked ``data-conditional="server"`` and left visible.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .schema_tools import Schema, choices, field_title, primary_type, resolve, ui_child
from .values import plain_text, to_text

__all__ = ["Condition", "Test", "condition_attrs", "condition_text", "required_conditions"]

_NEGATION = {"in": "notIn", "notIn": "in", "filled": "blank", "blank": "filled"}
_ANNOTATIONS = frozenset({"title", "description", "$comment"})
_MAX_NESTING = 8


@dataclass(frozen=True)
class Test:
    """One comparison with a sibling field: its value is (not) one of ``values``, or it is (not) filled."""

    field: str
    op: str
    values: tuple[Any, ...] = ()

    def negated(self) -> Test:
        return Test(self.field, _NEGATION[self.op], self.values)


@dataclass
class Condition:
    """When a field becomes required: any alternative whose tests all hold; ``opaque`` if unknown."""

    alternatives: list[tuple[Test, ...]] = field(default_factory=list)
    opaque: bool = False


def required_conditions(root: Schema, node: Schema) -> dict[str, Condition]:
    """Property name → when it is required, for the properties of object ``node`` that are conditional."""
    found: dict[str, Condition] = {}
    dependent = node.get("dependentRequired")
    if isinstance(dependent, Mapping):
        for trigger, names in dependent.items():
            for name in names if isinstance(names, list) else []:
                found.setdefault(name, Condition()).alternatives.append((Test(trigger, "filled"),))
    for branch in _conditional_branches(root, node, 0):
        tests = _if_tests(resolve(root, branch.get("if")))
        for keyword, alternatives in (("then", [tests]), ("else", _negations(tests))):
            for name in _required_in(resolve(root, branch.get(keyword))):
                condition = found.setdefault(name, Condition())
                if tests is None:
                    condition.opaque = True
                else:
                    condition.alternatives.extend(alternatives)
    for condition in found.values():
        condition.alternatives = _merged(condition.alternatives)
    return found


def _merged(alternatives: list[tuple[Test, ...]]) -> list[tuple[Test, ...]]:
    """``x is A`` or ``x is B`` as one test ``x is A or B``, which reads better and means the same."""
    result: list[tuple[Test, ...]] = []
    merged_at: dict[str, int] = {}
    for alternative in alternatives:
        test = alternative[0] if len(alternative) == 1 else None
        if test is None or test.op != "in":
            result.append(alternative)
        elif test.field in merged_at:
            earlier = result[merged_at[test.field]][0]
            values = earlier.values + tuple(value for value in test.values if value not in earlier.values)
            result[merged_at[test.field]] = (Test(test.field, "in", values),)
        else:
            merged_at[test.field] = len(result)
            result.append(alternative)
    return result


def _conditional_branches(root: Schema, node: Schema, depth: int) -> Iterator[Schema]:
    """``node`` and its ``allOf`` members (recursively) that carry an ``if``."""
    if depth > _MAX_NESTING:
        return
    if "if" in node:
        yield node
    for member in node.get("allOf") or []:
        yield from _conditional_branches(root, resolve(root, member), depth + 1)


def _if_tests(condition: Schema) -> tuple[Test, ...] | None:
    """The tests an ``if`` stands for, all of which must hold; None when it is not the common shape."""
    if not condition or set(condition) - _ANNOTATIONS - {"properties", "required"}:
        return None
    required = condition.get("required") or []
    properties = condition.get("properties") or {}
    tests: list[Test] = []
    for name, rule in properties.items():
        values = _compared_values(rule)
        if values is None or name not in required:  # an absent field would make the ``if`` true
            return None
        tests.append(Test(name, "in", values))
    tests.extend(Test(name, "filled") for name in required if name not in properties)
    return tuple(tests) or None


def _compared_values(rule: Any) -> tuple[Any, ...] | None:
    if not isinstance(rule, Mapping) or set(rule) - _ANNOTATIONS - {"const", "enum"} or len(rule) == 0:
        return None
    if "const" in rule and "enum" not in rule:
        return (rule["const"],)
    if "enum" in rule and "const" not in rule and isinstance(rule["enum"], list):
        return tuple(rule["enum"])
    return None


def _negations(tests: tuple[Test, ...] | None) -> list[tuple[Test, ...]]:
    """``not (a and b)`` is ``not a`` or ``not b``: one alternative per negated test."""
    return [(test.negated(),) for test in tests or ()]


def _required_in(branch: Schema) -> list[str]:
    names = branch.get("required")
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def condition_attrs(condition: Condition, input_name: Callable[[str], str]) -> dict[str, str]:
    """``data-conditional`` and, when the rule is simple, ``data-required-when``.

    ``data-required-when`` is a JSON list of alternatives; the field is required when every
    test of one alternative holds. A test is ``{"field": input name, "in" | "notIn": [posted
    values]}`` or ``{"field": …, "filled" | "blank": true}``; an unticked checkbox posts
    ``"false"`` for this purpose.
    """
    if condition.opaque or not condition.alternatives:
        return {"data-conditional": "server"}
    alternatives = [
        [
            {"field": input_name(test.field), test.op: [to_text(value) for value in test.values]}
            if test.values
            else {"field": input_name(test.field), test.op: True}
            for test in alternative
        ]
        for alternative in condition.alternatives
    ]
    return {"data-conditional": "client", "data-required-when": json.dumps(alternatives, ensure_ascii=False)}


def condition_text(root: Schema, node: Schema, ui: Schema, condition: Condition) -> str:
    """The rule in Vietnamese, shown under the field: "Bắt buộc khi “Kết quả” là “Từ chối”."."""
    if condition.opaque or not condition.alternatives:
        return "Có thể bắt buộc, tùy các thông tin khác đã khai."
    phrases = [
        " và ".join(_phrase(root, node, ui, test) for test in alternative)
        for alternative in condition.alternatives
    ]
    return plain_text("Bắt buộc khi " + "; hoặc khi ".join(phrases) + ".")


def _phrase(root: Schema, node: Schema, ui: Schema, test: Test) -> str:
    properties = node.get("properties") or {}
    schema = resolve(root, properties.get(test.field))
    sub_ui = ui_child(ui, test.field)
    title = f"“{field_title(schema, sub_ui, test.field)}”"
    if test.op == "filled":
        return f"đã khai {title}"
    if test.op == "blank":
        return f"chưa khai {title}"
    labels = {to_text(value): label for value, label in choices(root, schema, sub_ui) or []}
    if not labels and primary_type(schema) == "boolean" and len(test.values) == 1:
        ticked = test.values[0] == (test.op == "in")
        return f"{title} {'được' if ticked else 'không được'} chọn"
    named = " hoặc ".join(f"“{labels.get(to_text(value), to_text(value))}”" for value in test.values)
    return f"{title} {'là' if test.op == 'in' else 'không phải'} {named}"
