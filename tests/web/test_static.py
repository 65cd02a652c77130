"""Static files: the front-end packages built from npm by `make install` (web/frontend → web/static/vendor,
never committed) are served from our own origin and every page loads them deferred, with no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import web
from tests.conftest import IN_CI

VENDOR = Path(web.__file__).parent / "static" / "vendor"
HTMX = "/static/vendor/htmx.min.js"


@pytest.fixture
def built():
    if not (VENDOR / "htmx.min.js").is_file():
        message = (
            f"{VENDOR / 'htmx.min.js'} is not built: run `make install` (npm ci + web/frontend/build.mjs)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def test_htmx_is_served_from_our_own_origin(client, built):
    response = client.get(HTMX)
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert b"htmx" in response.get_data()[:2000]


def test_pages_load_htmx_deferred_and_carry_no_inline_script(client):
    html = client.get("/").get_data(as_text=True)
    assert f'<script src="{HTMX}" defer></script>' in html
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == []
    # htmx's own defaults would add an inline <style> and eval event handlers, both refused by the CSP
    assert '"includeIndicatorStyles": false' in html and '"allowEval": false' in html


def test_the_accessibility_checker_is_for_the_tests_and_never_served(client):
    assert not list(VENDOR.glob("axe*")), "axe-core must stay in web/frontend/node_modules"
    assert client.get("/static/vendor/axe.min.js").status_code == 404
    assert "axe.min.js" not in client.get("/").get_data(as_text=True)
