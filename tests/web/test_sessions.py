"""Page sessions: the cookie's flags, a new session at login (no fixation, no old CSRF secret), an
idle timeout and an absolute lifetime."""

from __future__ import annotations

import dataclasses
import time
from email.utils import parsedate_to_datetime

import pytest
from flask.sessions import SecureCookieSessionInterface

from engine.config import Settings
from tests.web.conftest import csrf_of
from web import create_app

COOKIE = "session"


def app_with(ctx, **settings):
    return create_app(ctx=dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, **settings)),
                      start_worker=False)


def log_in(client, username: str = "tiepnhan", password: str = "demo"):
    token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    return client.post("/dang-nhap", data={"username": username, "password": password, "csrf_token": token})


def session_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")[1:]]
    return {p.partition("=")[0].lower(): p.partition("=")[2] for p in parts}


def expires_in(flags: dict[str, str]) -> float:
    """Seconds until the cookie's Expires attribute."""
    return parsedate_to_datetime(flags["expires"]).timestamp() - time.time()


def test_the_login_cookie_is_httponly_samesite_lax_and_expires_with_the_idle_timeout(client):
    response = log_in(client)

    assert response.status_code == 302
    flags = attributes(session_cookie_header(response))
    assert "httponly" in flags and flags["samesite"] == "Lax" and flags["path"] == "/"
    assert 29 * 60 < expires_in(flags) <= 30 * 60  # the default idle timeout
    assert "secure" not in flags, "the embedded demo on http:// must not set a cookie its browser drops"


def test_secure_cookies_add_the_secure_flag(ctx):
    client = app_with(ctx, secure_cookies=True, session_idle_minutes=10).test_client()

    flags = attributes(session_cookie_header(log_in(client)))

    assert "secure" in flags and "httponly" in flags and flags["samesite"] == "Lax"
    assert 9 * 60 < expires_in(flags) <= 10 * 60


@pytest.mark.parametrize(("env", "secure"), [
    ({}, False),  # embedded demo on http://127.0.0.1
    ({"MOTCUA_PUBLIC_URL": "https://motcua.example.gov.vn"}, True),  # embedded behind TLS
    ({"MOTCUA_MODE": "production", "MOTCUA_SECRET_KEY": "k"}, True),  # production, even on http://
    ({"MOTCUA_MODE": "production", "MOTCUA_SECRET_KEY": "k", "MOTCUA_SECURE_COOKIES": "0"}, False),
    ({"MOTCUA_SECURE_COOKIES": "1"}, True),
])
def test_cookies_are_secure_unless_the_embedded_demo_runs_on_plain_http(env, secure):
    assert Settings.from_env(env).cookies_secure is secure


def test_login_starts_a_new_session_so_a_planted_one_and_its_csrf_secret_are_dropped(client):
    planted = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    with client.session_transaction() as before:
        old_secret = before["csrf"]
        before["planted"] = "by an attacker"

    assert log_in(client).status_code == 302

    with client.session_transaction() as after:
        assert "planted" not in after and after.get("csrf") != old_secret
    assert client.post("/dang-xuat", data={"csrf_token": planted}).status_code == 400, "the old token is dead"
    assert client.get("/cong-viec").status_code == 200, "still logged in"


def test_a_session_idle_longer_than_the_timeout_is_logged_out(client):
    log_in(client)
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 31 * 60

    assert client.get("/cong-viec").status_code == 302
    with client.session_transaction() as session:
        assert "user_id" not in session


def test_a_session_in_use_stays_but_ends_at_its_absolute_lifetime(client):
    log_in(client)
    with client.session_transaction() as session:
        session["since"] = int(time.time()) - 11 * 3600  # 11 h into a 12 h lifetime, active meanwhile
        session["seen"] = int(time.time()) - 60

    assert client.get("/cong-viec").status_code == 200
    with client.session_transaction() as session:
        assert int(time.time()) - session["seen"] < 5, "each request restarts the idle clock"
        session["since"] = int(time.time()) - 12 * 3600 - 1

    assert client.get("/cong-viec").status_code == 302


def test_a_session_from_before_these_rules_is_ended(client):
    """A cookie signed before login sessions carried their timestamps has neither: it ends."""
    log_in(client)
    with client.session_transaction() as session:
        del session["since"], session["seen"]

    assert client.get("/cong-viec").status_code == 302


def test_static_files_never_carry_the_session_cookie(client):
    """A Set-Cookie would keep shared caches from keeping the long-lived static files."""
    log_in(client)
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 5 * 60  # due for renewal on the next page

    static = client.get("/static/style.css")
    page = client.get("/cong-viec")

    assert static.status_code == 200 and static.headers.getlist("Set-Cookie") == []
    assert page.status_code == 200 and session_cookie_header(page)


def test_the_signing_serializer_is_built_once_per_key_set(app, client, monkeypatch):
    built = []
    build = SecureCookieSessionInterface.get_signing_serializer

    def counting(self, flask_app):
        built.append(flask_app.secret_key)
        return build(self, flask_app)

    monkeypatch.setattr(SecureCookieSessionInterface, "get_signing_serializer", counting)

    assert log_in(client).status_code == 302
    assert client.get("/cong-viec").status_code == 200
    assert client.get("/api/v1/procedures").status_code == 200
    assert built == [app.secret_key]  # opened and saved six times or more, built once
    assert app.session_interface.get_signing_serializer(app) is app.session_interface.get_signing_serializer(app)


def test_a_rotated_secret_key_signs_anew_and_its_fallback_still_opens_old_sessions(app, client):
    assert log_in(client).status_code == 302
    old_key = app.secret_key
    first = app.session_interface.get_signing_serializer(app)
    app.config.update(SECRET_KEY="a-rotated-key-" + "x" * 32)

    assert app.session_interface.get_signing_serializer(app) is not first
    response = client.get("/cong-viec")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]  # not the new key's
    app.config.update(SECRET_KEY_FALLBACKS=[old_key])
    assert client.get("/cong-viec").status_code == 200  # signed with the old key, which still opens it
