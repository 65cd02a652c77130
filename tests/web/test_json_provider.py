"""JSON responses through orjson say byte for byte what Flask's own provider said."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from web.json_provider import OrjsonProvider


@dataclasses.dataclass
class Line:
    code: str
    at: datetime


PAYLOADS = [
    {"z": 1, "a": [None, True, False, 0, -7, 2.5, 1234.125], "m": {"y": "x", "b": {}}},
    [{"name": "Nguyễn Thị Hồng Đào", "note": 'dấu "ngoặc" \\ và\nxuống dòng\t\x01', "emoji": "📄"}],
    {"at": datetime(2026, 12, 1, 3, 4, 5, tzinfo=UTC), "day": date(2026, 12, 1), "id": uuid.UUID(int=7),
     "fee": Decimal("100000.50"), "line": Line("000.00.21.H99-261201-0001", datetime(2026, 1, 2, tzinfo=UTC))},
    {"big": 2**70, "small": -(2**64)},  # beyond orjson: Flask's provider answers
    {1: "one", 2: "two"},  # keys that are not strings: Flask's provider answers
    "chuỗi đơn",
]


@pytest.fixture
def bare() -> Flask:
    return Flask(__name__)


def providers(app: Flask) -> tuple[DefaultJSONProvider, OrjsonProvider]:
    flask_own, ours = DefaultJSONProvider(app), OrjsonProvider(app)
    flask_own.ensure_ascii = ours.ensure_ascii = False  # as the app factory sets it
    return flask_own, ours


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_same_bytes_as_flasks_provider(bare, payload):
    flask_own, ours = providers(bare)
    with bare.app_context():
        expected, answered = flask_own.response(payload), ours.response(payload)
    assert answered.get_data() == expected.get_data()
    assert answered.mimetype == expected.mimetype == "application/json"


def test_what_orjson_encodes_never_reaches_the_standard_library(bare, monkeypatch):
    import flask.json.provider

    def refuse(*_args, **_kwargs):
        raise AssertionError("json.dumps called")

    monkeypatch.setattr(flask.json.provider.json, "dumps", refuse)
    _flask_own, ours = providers(bare)
    with bare.app_context():
        for payload in PAYLOADS[:3]:
            assert ours.response(payload).status_code == 200


def test_what_neither_can_encode_fails_as_before(bare):
    flask_own, ours = providers(bare)
    with bare.app_context(), pytest.raises(TypeError):
        flask_own.response({"x": object()})
    with bare.app_context(), pytest.raises(TypeError):
        ours.response({"x": object()})


def test_debug_mode_keeps_flasks_indented_output(bare):
    bare.debug = True
    flask_own, ours = providers(bare)
    with bare.app_context():
        assert ours.response({"b": 1, "a": [1]}).get_data() == flask_own.response({"b": 1, "a": [1]}).get_data()
        assert b"\n  " in ours.response({"a": 1}).get_data()


def test_the_app_answers_through_orjson(client):
    assert isinstance(client.application.json, OrjsonProvider)
    assert client.application.json.ensure_ascii is False
