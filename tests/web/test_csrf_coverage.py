"""Every page that accepts a POST refuses one without the CSRF token, found by walking the app's
URL map: a form added tomorrow is covered by this test without anyone remembering to list it."""

from __future__ import annotations

import pytest
from werkzeug.routing import IntegerConverter

from web import create_app

#: Deliberately unprotected page endpoints (none today). An entry here needs a reason next to it.
EXEMPT: dict[str, str] = {}


def page_posts(app) -> list[tuple[str, str]]:
    """(endpoint, a concrete URL) of every non-API rule accepting POST."""
    found = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint in EXEMPT:
            continue
        values = {name: 1 if isinstance(rule._converters[name], IntegerConverter) else "x1"
                  for name in rule.arguments}
        found.append((rule.endpoint, rule.build(values, append_unknown=False)[1]))
    return found


@pytest.fixture
def posts(ctx):
    return page_posts(create_app(ctx=ctx, start_worker=False))


def test_the_walk_finds_the_forms_we_know(posts):
    endpoints = {endpoint for endpoint, _url in posts}
    assert {"pages.login", "pages.logout", "pages.task", "pages.submit", "pages.rate_tracked",
            "pages.studio_editor_save", "pages.admin"} <= endpoints
    assert len(endpoints) >= 25


def test_every_page_post_without_a_token_is_refused(client, posts):
    client.get("/dang-nhap")  # the session has a CSRF secret; the posts below just do not send it
    accepted = []
    for endpoint, url in posts:
        for kwargs in ({"data": {"x": "1"}}, {"json": {"x": 1}}, {"data": {"csrf_token": ""}}):
            response = client.post(url, **kwargs)
            if response.status_code != 400:
                accepted.append((endpoint, url, kwargs, response.status_code))
    assert accepted == []


def test_a_logged_in_session_does_not_make_a_tokenless_post_acceptable(client, login, posts):
    login("tiepnhan")
    accepted = [(endpoint, response.status_code) for endpoint, url in posts
                if (response := client.post(url, data={"x": "1"})).status_code != 400]
    assert accepted == []
    assert client.get("/cong-viec").status_code == 200, "the refused posts did not end the session"

