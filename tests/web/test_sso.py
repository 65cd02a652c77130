"""Citizens log in with the national e-ID through a real OIDC code flow against the provider simulator."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from integrations.identity.simulator import IdentityProviderSimulator
from tests.conftest import with_connectors
from web import create_app

CALLBACK = "http://localhost/dang-nhap/callback"


@pytest.fixture
def provider():
    with IdentityProviderSimulator(redirect_uris=[CALLBACK]) as simulator:
        yield simulator


@pytest.fixture
def sso_client(ctx, provider):
    config = {"issuer": provider.issuer, "client_id": "motcua", "client_secret": "motcua-bi-mat",
              "redirect_uri": CALLBACK}
    sso_ctx = with_connectors(ctx, vneid=config)
    return create_app(ctx=sso_ctx, start_worker=False).test_client()


def log_in(client, provider, account="congdan"):
    provider.login_as(account)
    start = client.get("/dang-nhap/vneid")
    assert start.status_code == 302
    answer = httpx.get(start.headers["Location"], follow_redirects=False)
    assert answer.status_code in (302, 303)
    callback = urlsplit(answer.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_a_citizen_logs_in_with_the_national_eid_and_gets_an_account(sso_client, provider):
    assert "VNeID" in sso_client.get("/dang-nhap").get_data(as_text=True)
    done = log_in(sso_client, provider)
    assert done.status_code == 302, done.get_data(as_text=True)[-600:]
    page = sso_client.get("/").get_data(as_text=True)
    assert "Nguyễn Thị Ánh Tuyết" in page and "Đăng xuất" in page
    # A second login finds the same account.
    sso_client.post("/dang-xuat", data={"csrf_token": ""})
    assert log_in(sso_client, provider).status_code == 302


def test_a_forged_state_is_refused(sso_client, provider):
    provider.login_as("congdan")
    start = sso_client.get("/dang-nhap/vneid")
    answer = httpx.get(start.headers["Location"], follow_redirects=False)
    callback = urlsplit(answer.headers["Location"])
    forged = callback.query.replace("state=", "state=x")
    refused = sso_client.get(f"{callback.path}?{forged}")
    assert refused.status_code == 400 and "Đăng nhập" in refused.get_data(as_text=True)


def test_without_the_connector_the_button_is_hidden_and_the_route_explains(client):
    assert "VNeID" not in client.get("/dang-nhap").get_data(as_text=True)
    assert client.get("/dang-nhap/vneid").status_code == 302
