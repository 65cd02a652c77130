"""Which gateway decisions can happen together on one path: a small, sound-enough data flow.

Walking a flow graph path by path, lint rules would otherwise follow paths no dossier can take
(a second gateway testing the same data as the first, a loop back keyed on a variable a script just
set). `Decisions` remembers what the path has established: constants assigned by scripts
(`bo_sung_tu = "tiep_nhan"`) and conditions taken at gateways, and says when a condition is
certainly false. Anything it cannot read is unknown, never false; data a user task's form or a
non-constant assignment may change is forgotten.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

_UNKNOWN = object()


@dataclass(frozen=True)
class Decisions:
    constants: tuple[tuple[str, Any], ...] = ()
    facts: tuple[tuple[str, bool], ...] = ()  # (expression source, value)
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def possible(self, condition: str | None) -> bool:
        tree = _parse(condition)
        return tree is None or _decide(tree, dict(self.constants), dict(self.facts)) is not False

    def taking(self, condition: str | None) -> Decisions:
        tree = _parse(condition)
        if tree is None:
            return self
        constants, facts = dict(self.constants), dict(self.facts)
        _assert(tree, True, constants, facts)
        return Decisions(tuple(constants.items()), tuple(facts.items()))

    def after_script(self, script: str | None) -> Decisions:
        tree = _parse(script, "exec")
        if tree is None:
            return self
        constants, facts = dict(self.constants), dict(self.facts)
        for node in ast.walk(tree):
            for target in _targets(node):
                constants.pop(target, None)
                facts = {k: v for k, v in facts.items() if target not in _names(k)}
            if isinstance(node, ast.Assign) and node in tree.body and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Constant):
                constants[node.targets[0].id] = node.value.value
        return Decisions(tuple(constants.items()), tuple(facts.items()))

    def forgetting(self, names: set[str]) -> Decisions:
        if not names:
            return self
        return Decisions(tuple((k, v) for k, v in self.constants if k not in names),
                         tuple((k, v) for k, v in self.facts if not _names(k) & names))


def _parse(source: str | None, mode: str = "eval") -> ast.AST | None:
    if not source or not source.strip():
        return None
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError:
        return None
    return tree.body if mode == "eval" else tree


def _names(source: str) -> set[str]:
    try:
        return {n.id for n in ast.walk(ast.parse(source, mode="eval")) if isinstance(n, ast.Name)}
    except SyntaxError:
        return set()


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
        return [n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)]
    return []


def _value(node: ast.AST, constants: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id, _UNKNOWN)
    return _UNKNOWN


def _decide(node: ast.AST, constants: dict[str, Any], facts: dict[str, bool]) -> bool | None:
    key = ast.unparse(node)
    if key in facts:
        return facts[key]
    if isinstance(node, ast.BoolOp):
        values = [_decide(v, constants, facts) for v in node.values]
        absorbing = isinstance(node.op, ast.Or)  # True absorbs an `or`, False an `and`
        if absorbing in values:
            return absorbing
        return None if None in values else not absorbing
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        value = _decide(node.operand, constants, facts)
        return None if value is None else not value
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
        left, right = _value(node.left, constants), _value(node.comparators[0], constants)
        if left is _UNKNOWN or right is _UNKNOWN:
            return None
        return (left == right) == isinstance(node.ops[0], ast.Eq)
    value = _value(node, constants)
    return None if value is _UNKNOWN else bool(value)


def _assert(node: ast.AST, value: bool, constants: dict[str, Any], facts: dict[str, bool]) -> None:
    facts[ast.unparse(node)] = value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _assert(node.operand, not value, constants, facts)
    elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And) == value:
        for part in node.values:  # all parts of a true `and` hold; no part of a false `or` does
            _assert(part, value, constants, facts)
    elif isinstance(node, ast.Compare) and value and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq) \
            and isinstance(node.left, ast.Name) and isinstance(node.comparators[0], ast.Constant):
        constants[node.left.id] = node.comparators[0].value
