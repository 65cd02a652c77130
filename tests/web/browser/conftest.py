"""Browser fixtures: the real app on a real HTTP server, driven by Playwright in Debian's Chromium.

The app runs as `make run` runs it: a werkzeug server in a thread on a free loopback port and the
in-process outbox worker, on the test `ctx` (a migrated SQLite database with the catalogue and the
demo accounts, dossier tables emptied per test). Browser tests run on SQLite only, the embedded
mode a person starts; the PostgreSQL paths are covered below the browser.

Playwright's own browser builds are never downloaded: it launches Debian's Chromium
(`apt-get install chromium`, which `make test` does when missing and it runs as root). Without
Chromium the tests are skipped; with CI=true they fail.

Screenshots: `screenshot(name)` always writes the page to the test's tmp dir and, with
MOTCUA_SCREENSHOTS=1, copies it to docs/screenshots/<name>.png (committed, shown in the README).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright
from werkzeug.serving import make_server

from engine.config import PROJECT_ROOT
from tests.conftest import service_missing
from web import create_app

CHROMIUM = Path(os.environ.get("MOTCUA_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
KEEP_SCREENSHOTS = os.environ.get("MOTCUA_SCREENSHOTS", "") == "1"
#: A laptop-sized window; the pages must also work on a phone, which tests set per context.
VIEWPORT = {"width": 1280, "height": 800}
HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Before pytest parametrizes `backend_context` over every backend: a parametrize mark on the
    # test itself takes precedence over the fixture's own params.
    if "backend_context" in metafunc.fixturenames:
        metafunc.definition.add_marker(pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
    # Last: Playwright's sync API runs an event loop in the main thread while it is started, and
    # code that calls asyncio.run() there (pyHanko's signing) must not run meanwhile.
    items.sort(key=lambda item: item.path.is_relative_to(HERE))


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, launched once per test module (Playwright stops after it)."""
    if not CHROMIUM.exists():
        service_missing("Chromium (apt-get install chromium)", FileNotFoundError(str(CHROMIUM)))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_server(ctx) -> Iterator[str]:
    """The app served over real HTTP with its in-process worker; yields the base URL."""
    app = create_app(ctx=ctx, start_worker=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="motcua-test-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        app.extensions["motcua_worker"].stop()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser context (no cookies) on the live server; relative URLs go to it."""
    context = chromium.new_context(base_url=live_server, viewport=VIEWPORT, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def console_errors(page) -> list[str]:
    """What the page reported as errors: console errors (a CSP violation is one) and uncaught exceptions."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture
def screenshot(page, tmp_path) -> Callable[..., Path]:
    """`screenshot(name)`: the whole page as PNG (kept in docs/screenshots/ with MOTCUA_SCREENSHOTS=1);
    `screenshot(name, of=other)` for a page of another browser context (another person's)."""

    def take(name: str, of: Page | None = None) -> Path:
        path = tmp_path / f"{name}.png"
        (of or page).screenshot(path=str(path), full_page=True, animations="disabled")
        if KEEP_SCREENSHOTS:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / path.name)
        return path

    return take
