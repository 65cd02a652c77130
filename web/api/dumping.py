"""marshmallow's `Schema.dump`, with the per-field machinery worked out once per schema.

For each value it writes, marshmallow goes through `Field.serialize`, `Field.get_value`,
`Schema.get_attribute`, `utils.get_value` and `_get_value_for_key` before the field's own
`_serialize`: about 4 µs a field on this kind of machine, so an inbox page of 50 tasks of 15 fields
spent a third of its web CPU there (bench/RESULTS.md, 2026-12-03). A `Dumper` reads the schema's
bound fields once and then does, per object, what marshmallow does, in one loop: the attribute (or
key) by name, the field's `dump_default` when it is missing, the field's `_serialize`, the output
under the field's data_key. Strings, integers and ISO datetimes, nearly all of what the API returns,
are converted inline exactly as marshmallow's fields do; every other field type (nested schemas,
lists, dicts, booleans) goes through its own `_serialize`.

A schema or field that changes how marshmallow reaches values (dump hooks, an overridden
`get_attribute`, `serialize` or `get_value`, a dotted attribute path, a field that reads no attribute)
is dumped by marshmallow itself: the result is marshmallow's in every case, only faster where it can be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import ensure_text_type, missing

#: how the value of a field is written: (field name, attribute or key read, output key, field, inline
#: conversion or None)
_Plan = tuple[str, str, str, fields.Field, Callable[[Any], Any] | None]


def _text(value: Any) -> Any:
    return value if value is None or type(value) is str else ensure_text_type(value)


def _integer(value: Any) -> Any:
    return None if value is None else int(value)


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _inline(field: fields.Field) -> Callable[[Any], Any] | None:
    """The conversion of a field type whose `_serialize` is known to be exactly this; else None."""
    kind = type(field)
    if kind is fields.String:
        return _text
    if kind is fields.Integer and not field.as_string:
        return _integer
    if kind is fields.DateTime and (field.format or field.DEFAULT_FORMAT) in ("iso", "iso8601"):
        return _iso
    return None


def _key(field: fields.Field, name: str) -> Any:
    """What marshmallow reads a field's value by: its `attribute` if set (even an empty one), else its name."""
    return name if field.attribute is None else field.attribute


def _plain(field: fields.Field, name: str) -> bool:
    """The field takes its value the way `Dumper` does: one attribute or key by name, no dotted path."""
    kind, key = type(field), _key(field, name)
    return (kind.serialize is fields.Field.serialize and kind.get_value is fields.Field.get_value
            and field._CHECK_ATTRIBUTE and isinstance(key, str) and "." not in key)


class Dumper:
    """`dump(obj, many)` as `schema.dump(obj, many=many)` returns it."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._dict = schema.dict_class  # a property of the schema's options: read once
        kind = type(schema)
        own_way = (schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP]
                   or kind.get_attribute is not Schema.get_attribute or kind._serialize is not Schema._serialize
                   or kind.dump is not Schema.dump
                   or not all(_plain(field, name) for name, field in schema.dump_fields.items()))
        self._plans: list[_Plan] | None = None if own_way else [  # None: marshmallow's own way
            (name, _key(field, name), field.data_key if field.data_key is not None else name, field, _inline(field))
            for name, field in schema.dump_fields.items()]

    def dump(self, obj: Any, many: bool = False) -> Any:
        if self._plans is None:
            return self.schema.dump(obj, many=many)
        if many and obj is not None:
            return [self._one(item) for item in obj]
        return self._one(obj)

    def _one(self, obj: Any) -> Any:
        out = self._dict()
        keyed = hasattr(obj, "__getitem__")
        for name, attribute, key, field, convert in self._plans:  # type: ignore[union-attr]
            value = _value_of(obj, attribute) if keyed else getattr(obj, attribute, missing)
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            out[key] = convert(value) if convert is not None else field._serialize(value, name, obj)
        return out


def _value_of(obj: Any, key: str) -> Any:
    """marshmallow.utils._get_value_for_key for an object that can be indexed (a dict, a row)."""
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)
