"""Loading a form definition: a JSON Schema plus its UI schema, checked once.

A procedure package ships its forms as data (SpiffArena's ``x-schema.json`` and
``x-uischema.json``). A broken schema must fail when the package is loaded, with a message a
procedure author can act on, rather than when a citizen submits the form.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError

from .formats import FORMAT_CHECKER
from .schema_tools import MAX_DEPTH, field_kind, primary_type, resolve
from .steps import Step, parse_steps
from .support import check_support

__all__ = ["Form", "FormValidator", "load_form"]


def _required(validator: Any, required: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """``required`` that reports at the missing field's own path and treats a blank string as missing.

    On a paper form an empty box means "not filled in"; accepting ``""`` for a required field
    would let an applicant skip it. Reporting at ``owner.ho_ten`` rather than ``owner`` puts
    the message next to the box that needs filling.
    """
    if not validator.is_type(instance, "object") or not isinstance(required, list):
        return
    for name in required:
        if name not in instance or instance[name] == "":
            yield ValidationError(f"{name!r} is a required property", path=(name,))


def _properties(validator: Any, properties: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """jsonschema's ``properties``, except a ``false`` subschema reports at the property's path.

    jsonschema drops the path for ``false`` schemas, which would pin "Trường không được phép"
    on the parent instead of the field.
    """
    if not validator.is_type(instance, "object"):
        return
    for name, subschema in properties.items():
        if name not in instance:
            continue
        if subschema is False:
            yield ValidationError(
                f"{name!r} is not allowed", validator=None, path=(name,), schema_path=(name,)
            )
        else:
            yield from validator.descend(instance[name], subschema, path=name, schema_path=name)


FormValidator = validators.extend(Draft202012Validator, {"required": _required, "properties": _properties})


@dataclass(frozen=True, eq=False)
class Form:
    """A loaded form. Build it with :func:`load_form`, which checks the schema first."""

    schema: Mapping[str, Any]
    ui_schema: Mapping[str, Any] = field(default_factory=dict)
    validator: Any = field(init=False, repr=False)
    steps: tuple[Step, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Compiling once per form keeps validating a submission cheap; the dataclass is frozen
        # so the validator can never drift from the schema it was built for.
        object.__setattr__(self, "validator", FormValidator(self.schema, format_checker=FORMAT_CHECKER))
        object.__setattr__(self, "steps", parse_steps(self.schema, self.ui_schema))

    @property
    def has_files(self) -> bool:
        """True when a field takes a file, so the page's ``<form>`` needs ``enctype="multipart/form-data"``."""
        return _has_files(self.schema, resolve(self.schema, self.schema), self.ui_schema, 0)


def _has_files(root: Mapping[str, Any], schema: Mapping[str, Any], ui: Any, depth: int) -> bool:
    if depth > MAX_DEPTH or not isinstance(schema, Mapping):
        return False
    ui = ui if isinstance(ui, Mapping) else {}
    kind = field_kind(root, schema, ui)
    if kind == "file":
        return True
    if kind == "array":
        return _has_files(root, resolve(root, schema.get("items")), ui.get("items"), depth + 1)
    if kind == "object":
        properties = schema.get("properties") or {}
        return any(
            _has_files(root, resolve(root, sub), ui.get(name), depth + 1) for name, sub in properties.items()
        )
    return False


def load_form(schema: Mapping[str, Any], ui_schema: Mapping[str, Any] | None = None) -> Form:
    """Check ``schema`` is a usable form schema and return a :class:`Form`.

    Raises ``ValueError`` naming the offending keyword and where it is when the schema is not
    valid JSON Schema 2020-12, is not an object schema, uses a non-local or dangling ``$ref``,
    has a property name containing ``.`` (dots separate path segments in field names), uses a
    keyword, format, widget or UI option this package would ignore (see ``forms.support``), or
    has ``ui:steps`` that do not cover every field exactly once.
    """
    if not isinstance(schema, Mapping):
        raise ValueError(f"form schema must be a JSON object, got {type(schema).__name__}")
    if ui_schema is not None and not isinstance(ui_schema, Mapping):
        raise ValueError(f"form UI schema must be a JSON object, got {type(ui_schema).__name__}")
    try:
        FormValidator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
        raise ValueError(f"invalid JSON Schema at {where}: {exc.message}") from exc
    _check_references(schema)
    if primary_type(resolve(schema, schema)) != "object":
        raise ValueError('a form schema must describe an object ("type": "object")')
    _check_property_names(schema)
    check_support(schema, ui_schema or {})
    return Form(copy.deepcopy(dict(schema)), copy.deepcopy(dict(ui_schema or {})))


def _subschemas(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every mapping inside the schema with its JSON pointer, iteratively (schemas may be large)."""
    stack: list[tuple[str, Any]] = [("#", schema)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, Mapping):
            yield where, node
            stack.extend((f"{where}/{key}", value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((f"{where}/{index}", value) for index, value in enumerate(node))


def _check_references(schema: Mapping[str, Any]) -> None:
    for where, node in _subschemas(schema):
        if isinstance(node.get("$ref"), str):
            try:
                resolve(schema, node)
            except ValueError as exc:
                raise ValueError(f"bad $ref at {where}: {exc}") from exc


def _check_property_names(schema: Mapping[str, Any]) -> None:
    for where, node in _subschemas(schema):
        properties = node.get("properties")
        if not where.endswith("/properties") and isinstance(properties, Mapping):
            for name in properties:
                if "." in name:
                    raise ValueError(f"property name {name!r} at {where} must not contain '.'")
