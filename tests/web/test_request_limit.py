"""The largest request body the app reads is a setting (MOTCUA_MAX_REQUEST_MB, 20 MiB by default): a
bigger body is answered 413 (structured JSON on the API, a Vietnamese page for people) before it is
read, whatever the route."""

from __future__ import annotations

import dataclasses
import io

import pytest

from engine.config import Settings
from web import create_app

sqlite_only = pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)
MIB = 1024 * 1024


def app_with(ctx, **settings):
    return create_app(ctx=dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, **settings)),
                      start_worker=False)


def upload(client, size: int):
    """A file of `size` bytes to the public PDF verification (the API, no login needed)."""
    return client.post("/api/v1/verify", data={"file": (io.BytesIO(b"%PDF-1.7\n" + b"0" * size), "x.pdf")},
                       content_type="multipart/form-data")


def test_the_limit_is_read_from_the_environment_with_a_documented_default():
    assert Settings.from_env({}).max_request_mb == 20
    assert Settings.from_env({"MOTCUA_MAX_REQUEST_MB": "50"}).max_request_mb == 50


@pytest.mark.parametrize("value", ["0", "-3", "vài chục", "2.5"])
def test_a_limit_that_is_not_a_positive_whole_number_stops_the_start_up(value):
    with pytest.raises(ValueError, match="MOTCUA_MAX_REQUEST_MB"):
        Settings.from_env({"MOTCUA_MAX_REQUEST_MB": value})


@sqlite_only
def test_a_body_over_the_configured_limit_is_refused_and_one_under_it_is_read(ctx):
    small, default = app_with(ctx, max_request_mb=1).test_client(), app_with(ctx).test_client()

    refused = upload(small, 2 * MIB)

    assert refused.status_code == 413 and refused.get_json()["error"]
    assert upload(small, MIB // 2).status_code == 200, "read, and answered (no valid signature)"
    assert upload(default, 2 * MIB).status_code == 200, "the default 20 MiB lets it through"


@sqlite_only
def test_a_person_over_the_limit_gets_a_vietnamese_page(ctx):
    client = app_with(ctx, max_request_mb=1).test_client()
    page = client.post("/xac-thuc", data={"file": (io.BytesIO(b"0" * (2 * MIB)), "x.pdf")},
                       content_type="multipart/form-data")

    assert page.status_code == 413 and page.mimetype == "text/html"
    assert "Dữ liệu gửi lên quá lớn." in page.get_data(as_text=True)
