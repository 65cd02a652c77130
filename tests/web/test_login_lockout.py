"""The login page and the API's token endpoint are throttled alike: a locked username gets the same
Vietnamese message whether it exists or not, and the client address (through ProxyFix when
MOTCUA_PROXY_HOPS is set) is throttled on its own."""

from __future__ import annotations

import dataclasses

from tests.web.conftest import csrf_of
from web import create_app

LOCKED = "Đăng nhập không thành công quá nhiều lần. Vui lòng thử lại sau 15 phút."
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


def app_with(ctx, **settings):
    return create_app(ctx=dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, **settings)),
                      start_worker=False)


def page_login(client, username: str, password: str, **kwargs):
    token = csrf_of(client.get("/dang-nhap", **kwargs).get_data(as_text=True))
    return client.post("/dang-nhap", data={"username": username, "password": password, "csrf_token": token},
                       **kwargs)


def test_the_login_page_locks_a_username_known_or_not_with_one_message(client):
    for username in ("tiepnhan", "khong-co-tai-khoan-nay"):
        answers = [page_login(client, username, "sai") for _ in range(5)]
        texts = [a.get_data(as_text=True) for a in answers]
        assert [a.status_code for a in answers] == [401] * 5
        assert all(WRONG in t for t in texts[:4]) and LOCKED in texts[4], username

    refused = page_login(client, "tiepnhan", "demo")
    assert refused.status_code == 401 and LOCKED in refused.get_data(as_text=True)
    assert client.get("/cong-viec").status_code == 302, "not logged in"


def test_the_token_endpoint_shares_the_count_with_the_page(client, api):
    for _ in range(4):
        assert page_login(client, "chuyenvien", "sai").status_code == 401

    fifth = api.post("/api/v1/auth/token", json={"username": "chuyenvien", "password": "sai"})
    right = api.post("/api/v1/auth/token", json={"username": "chuyenvien", "password": "demo"})

    assert fifth.status_code == right.status_code == 401
    assert fifth.get_json() == right.get_json() == {"error": "LoginThrottled", "message": LOCKED}


def test_addresses_behind_the_proxy_are_throttled_apart(ctx):
    client = app_with(ctx, proxy_hops=1, login_ip_max_failures=3).test_client()
    guesser = {"headers": {"X-Forwarded-For": "203.0.113.7"}}
    for username in ("tiepnhan", "chuyenvien", "lanhdao"):
        page_login(client, username, "sai", **guesser)

    assert LOCKED in page_login(client, "congdan", "demo", **guesser).get_data(as_text=True)
    other = page_login(client, "congdan", "demo", headers={"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 302
