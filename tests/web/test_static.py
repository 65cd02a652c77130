"""Static files: the front-end packages built from npm by `make install` (web/frontend → web/static/vendor,
never committed) are served from our own origin and every page loads them deferred, with no inline script;
pages name every static file with its content hash, and a request carrying the current hash is cached
for a year while any other keeps revalidating."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import web
from tests.conftest import IN_CI
from web.static_files import LONG_CACHE, StaticVersions

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
    assert re.search(rf'<script src="{re.escape(HTMX)}\?v=[0-9a-f]{{12}}" defer></script>', html)
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == []
    # htmx's own defaults would add an inline <style> and eval event handlers, both refused by the CSP
    assert '"includeIndicatorStyles": false' in html and '"allowEval": false' in html


def test_the_accessibility_checker_is_for_the_tests_and_never_served(client):
    assert not list(VENDOR.glob("axe*")), "axe-core must stay in web/frontend/node_modules"
    assert client.get("/static/vendor/axe.min.js").status_code == 404
    assert "axe.min.js" not in client.get("/").get_data(as_text=True)


# --- versioned URLs and long caching ----------------------------------------------------------------

STATIC = Path(web.__file__).parent / "static"
LINKED = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def short_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_every_static_file_a_page_names_carries_the_hash_of_its_content(client):
    urls = LINKED.findall(client.get("/").get_data(as_text=True))

    assert {urlsplit(url).path for url in urls} >= {"/static/style.css", "/static/favicon.svg",
                                                     "/static/uploads.js"}
    for url in urls:
        parts = urlsplit(url)
        assert parse_qs(parts.query) == {"v": [short_hash(STATIC / parts.path.removeprefix("/static/"))]}, url


def test_a_versioned_request_is_cached_for_a_year_and_never_revalidated(client):
    url = "/static/style.css?v=" + short_hash(STATIC / "style.css")

    response = client.get(url)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == LONG_CACHE
    assert "no-cache" not in response.headers["Cache-Control"]


@pytest.mark.parametrize("query", ["", "?v=000000000000", "?v="])
def test_an_unversioned_or_outdated_request_keeps_revalidating_with_its_etag(client, query):
    response = client.get("/static/style.css" + query)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache" and response.headers.get("ETag")
    again = client.get("/static/style.css" + query, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_changed_file_gets_a_new_version_at_the_next_page(tmp_path):
    asset = tmp_path / "site.css"
    asset.write_text("body { color: black; }")
    versions = StaticVersions(tmp_path)
    before = versions.version("site.css")
    assert before == short_hash(asset) and versions.version("site.css") == before

    asset.write_text("body { color: navy; }")  # same size: the modification time tells them apart
    os.utime(asset, ns=(asset.stat().st_atime_ns, asset.stat().st_mtime_ns + 1_000_000_000))

    assert versions.version("site.css") == short_hash(asset) != before


def test_no_version_is_offered_for_a_missing_file_or_a_path_outside_the_folder(tmp_path):
    (tmp_path / "secret.txt").write_text("not static")
    (tmp_path / "static").mkdir()
    versions = StaticVersions(tmp_path / "static")

    assert versions.version("nothing.css") is None
    assert versions.version("../secret.txt") is None


def test_templates_name_static_files_only_through_static_url():
    templates = Path(web.__file__).parent / "templates"
    offenders = [str(path.relative_to(templates)) for path in templates.rglob("*.html")
                 if not path.is_relative_to(templates / "studio")
                 and re.search(r"url_for\(\s*['\"](?:pages\.)?static['\"]|[\"']/static/", path.read_text("utf-8"))]
    assert offenders == []
