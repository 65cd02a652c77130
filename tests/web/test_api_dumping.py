"""web/api/dumping.py: a Dumper returns what marshmallow's Schema.dump returns, for every schema of
the API and for objects, dicts, missing attributes, None and values of other types than declared."""

from __future__ import annotations

import inspect
import random
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from marshmallow import Schema, fields, post_dump, pre_dump

from web.api import schemas
from web.api.dumping import Dumper

API_SCHEMAS = sorted((cls for _name, cls in inspect.getmembers(schemas, inspect.isclass)
                      if issubclass(cls, Schema) and cls.__module__ == schemas.__name__), key=lambda cls: cls.__name__)
ICT = timezone(timedelta(hours=7))


def _sample(field: fields.Field, rng: random.Random, depth: int = 0) -> Any:
    """A value for `field`: mostly of its type, sometimes None or a value marshmallow converts."""
    if rng.random() < 0.15:
        return None
    kind = type(field)
    if isinstance(field, fields.Nested):
        nested = field.schema
        return _object(nested, rng, depth + 1) if depth < 2 else None
    if kind is fields.List:
        return [_sample(field.inner, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if isinstance(field, fields.Date):
        return date(2026, 12, rng.randint(1, 31))
    if isinstance(field, fields.DateTime):
        return rng.choice([datetime(2026, 12, 3, 8, 30, tzinfo=UTC), datetime(2026, 12, 3, 15, 0, 5, 123456, tzinfo=ICT),
                           datetime(2026, 1, 2, 3, 4, 5)])
    if isinstance(field, fields.Integer):
        return rng.choice([0, 7, 2**40, True, "12", 3.9])
    if isinstance(field, fields.Float):
        return rng.choice([1.5, 2, "0.25"])
    if isinstance(field, fields.Boolean):
        return rng.choice([True, False, 0, 1, "yes", "", [1]])
    if isinstance(field, fields.Dict) and field.value_field is not None:
        return {"khóa": _sample(field.value_field, rng, depth + 1)}
    if isinstance(field, (fields.Dict, fields.Raw)):
        return rng.choice([{"a": 1, "b": [1, "hai"]}, {}, {"chữ": "Tiếng Việt"}])
    return rng.choice(["Hồ sơ đăng ký hộ kinh doanh", "", 42, "x" * 300, b"bytes \xc3\xa1"])


def _object(schema: Schema, rng: random.Random, depth: int = 0) -> Any:
    """An object with some of the schema's fields (by attribute name), as a namespace, a dict or a
    dataclass-like object, with an unknown attribute or two."""
    values = {field.attribute or name: _sample(field, rng, depth) for name, field in schema.fields.items()
              if rng.random() < 0.85}
    values["not_in_the_schema"] = "ignored"
    return rng.choice([lambda: SimpleNamespace(**values), lambda: dict(values)])()


@pytest.mark.parametrize("schema_class", API_SCHEMAS, ids=lambda cls: cls.__name__)
def test_dumps_what_marshmallow_dumps(schema_class):
    rng = random.Random(schema_class.__name__)
    schema = schema_class()
    dumper = Dumper(schema)
    for _ in range(150):
        obj = _object(schema, rng)
        assert dumper.dump(obj) == schema.dump(obj, many=False)
    many = [_object(schema, rng) for _ in range(20)]
    assert dumper.dump(many, many=True) == schema.dump(many, many=True)
    assert dumper.dump(None, many=True) == schema.dump(None, many=True)


def test_the_api_hot_schemas_take_the_fast_way():
    for schema_class in (schemas.TaskOut, schemas.DossierOut, schemas.TrackOut):
        assert Dumper(schema_class())._plans is not None, schema_class.__name__


@dataclass
class _Task:
    id: str
    title: str
    created_at: datetime
    assignee_id: int | None = None


def test_dataclass_with_defaults_keys_and_data_key():
    class Out(Schema):
        id = fields.String(required=True)
        name = fields.String(attribute="title", data_key="ten")
        created = fields.DateTime(attribute="created_at")
        assignee_id = fields.Integer(allow_none=True)
        missing_with_default = fields.String(dump_default="mặc định")
        missing_with_callable = fields.Integer(dump_default=lambda: 5)
        absent = fields.String()
        stamped = fields.DateTime(format="%d/%m/%Y", attribute="created_at", dump_only=True)
        count = fields.Integer(as_string=True, attribute="assignee_id", dump_only=True)

    task = _Task("t-1", "Tiếp nhận hồ sơ", datetime(2026, 12, 3, 9, 0, tzinfo=ICT), 12)
    schema = Out()
    dumped = Dumper(schema).dump(task)
    assert dumped == schema.dump(task)
    assert dumped == {"id": "t-1", "ten": "Tiếp nhận hồ sơ", "created": "2026-12-03T09:00:00+07:00",
                      "assignee_id": 12, "missing_with_default": "mặc định", "missing_with_callable": 5,
                      "stamped": "03/12/2026", "count": "12"}
    assert list(dumped) == list(schema.dump(task))  # the same order of keys


def test_schemas_marshmallow_must_dump_itself():
    """Hooks, a field that computes its value, a dotted path, a custom accessor: marshmallow's own way."""

    class Hooked(Schema):
        name = fields.String()

        @pre_dump
        def upper(self, obj, **_):
            return {"name": obj["name"].upper()}

        @post_dump
        def mark(self, data, **_):
            return {**data, "marked": True}

    class Computed(Schema):
        name = fields.String()
        length = fields.Method("length_of")
        first = fields.Function(lambda obj: obj["name"][:1])

        def length_of(self, obj):
            return len(obj["name"])

    class Dotted(Schema):
        city = fields.String(attribute="address.city")

    class Accessor(Schema):
        name = fields.String()

        def get_attribute(self, obj, attr, default):
            return f"<{obj[attr]}>"

    for schema_class, obj in ((Hooked, {"name": "hà nội"}), (Computed, {"name": "Huế"}),
                              (Dotted, {"address": {"city": "Đà Nẵng"}}), (Accessor, {"name": "x"})):
        schema = schema_class()
        dumper = Dumper(schema)
        assert dumper._plans is None, schema_class.__name__
        assert dumper.dump(obj) == schema.dump(obj)
        assert dumper.dump([obj, obj], many=True) == schema.dump([obj, obj], many=True)


def test_an_empty_attribute_is_read_as_marshmallow_reads_it():
    class Odd(Schema):
        name = fields.String(attribute="")

    obj = {"name": "theo tên", "": "theo khóa rỗng"}
    assert Dumper(Odd()).dump(obj) == Odd().dump(obj) == {"name": "theo khóa rỗng"}


def test_a_schema_of_another_dict_class_gets_it():
    class Ordered(Schema):
        dict_class = OrderedDict

        zeta = fields.String()
        alpha = fields.Integer()

    obj = {"alpha": 1, "zeta": "z"}
    dumped = Dumper(Ordered()).dump(obj)
    assert type(dumped) is type(Ordered().dump(obj)) and list(dumped.items()) == list(Ordered().dump(obj).items())
