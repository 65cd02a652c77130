"""The OIDC provider simulator on its own, spoken to as raw HTTP (no client library in the way)."""

from __future__ import annotations

import io
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from integrations.identity.simulator import IdentityProviderSimulator, serve

from .conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI

AUTH = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


def authorize(provider: IdentityProviderSimulator, **params: str) -> httpx.Response:
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "st",
        "nonce": "no",
        **params,
    }
    return httpx.get(f"{provider.url}/oauth2/authorize", params=query, follow_redirects=False)


def query_of(response: httpx.Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def tokens_for(provider: IdentityProviderSimulator, username: str = "congdan") -> dict:
    code = query_of(authorize(provider, login_as=username))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, **AUTH}
    response = httpx.post(provider.issuer, data=form)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()


def test_discovery_is_served_at_the_root_and_under_the_wso2_issuer(provider):
    root = httpx.get(f"{provider.url}/.well-known/openid-configuration").json()
    wso2 = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()

    assert root == wso2
    assert root["issuer"] == provider.issuer == f"{provider.url}/oauth2/token"
    assert root["token_endpoint"] == provider.issuer
    assert root["end_session_endpoint"].endswith("/oidc/logout")
    assert {"HoVaTen", "SoDinhDanh", "LoaiTaiKhoan", "MaSoDoanhNghiep"} <= set(root["claims_supported"])


def test_the_jwks_publishes_the_public_rsa_key_only(provider):
    [key] = httpx.get(f"{provider.url}/oauth2/jwks").json()["keys"]

    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert "d" not in key and "p" not in key


def test_the_id_token_is_rs256_signed_for_the_client_with_nonce_and_at_hash(provider):
    answer = tokens_for(provider)
    keys = KeySet.import_key_set(httpx.get(f"{provider.url}/oauth2/jwks").json())

    token = jwt.decode(answer["id_token"], keys)

    assert token.header["alg"] == "RS256"
    assert token.claims["iss"] == provider.issuer
    assert token.claims["aud"] == CLIENT_ID
    assert token.claims["nonce"] == "no"
    assert token.claims["acr"] == "LoA1"
    assert token.claims["at_hash"] and token.claims["exp"] > time.time()
    assert set(answer) == {"access_token", "refresh_token", "scope", "id_token", "token_type", "expires_in"}


def test_an_unknown_client_gets_an_error_page_not_a_redirect(provider):
    response = authorize(provider, client_id="la", login_as="congdan")

    assert response.status_code == 400
    assert "client_id" in response.text


@pytest.mark.parametrize(
    "params, error",
    [({"response_type": "token"}, "unsupported_response_type"), ({"scope": "profile"}, "invalid_scope")],
)
def test_a_malformed_request_goes_back_to_the_client_with_an_error_and_the_state(provider, params, error):
    response = authorize(provider, login_as="congdan", **params)

    assert response.status_code == 302
    assert query_of(response)["error"] == error
    assert query_of(response)["state"] == "st"


def test_login_as_preselects_an_account_until_cleared(provider):
    provider.login_as("doanhnghiep")
    assert "code" in query_of(authorize(provider))

    provider.login_as(None)
    page = authorize(provider)
    assert page.status_code == 200 and "Chọn tài khoản" in page.text
    with pytest.raises(KeyError):
        provider.login_as("khong-co")


def test_the_token_endpoint_refuses_a_wrong_secret_and_an_unknown_grant(provider):
    wrong = httpx.post(
        provider.issuer,
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": CLIENT_ID,
            "client_secret": "sai",
        },
    )
    unknown = httpx.post(provider.issuer, data={"grant_type": "password", **AUTH})

    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert "WWW-Authenticate" in wrong.headers
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unsupported_grant_type")


def test_a_refresh_token_gives_new_tokens_once(provider):
    first = tokens_for(provider)
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], **AUTH}

    renewed = httpx.post(provider.issuer, data=form)
    again = httpx.post(provider.issuer, data=form)

    assert renewed.status_code == 200 and renewed.json()["access_token"] != first["access_token"]
    assert again.json()["error"] == "invalid_grant"


def test_userinfo_without_a_valid_token_is_401_with_a_bearer_challenge(provider):
    response = httpx.post(f"{provider.url}/oauth2/userinfo", headers={"Authorization": "Bearer gia"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "invalid_token"


def test_revoking_a_refresh_token_also_ends_its_access_token(provider):
    answer = tokens_for(provider)

    httpx.post(f"{provider.url}/oauth2/revoke", data={"token": answer["refresh_token"], **AUTH})

    assert provider.token(answer["access_token"]).revoked is True
    introspected = httpx.post(
        f"{provider.url}/oauth2/introspect", data={"token": answer["access_token"], **AUTH}
    )
    assert introspected.json() == {"active": False}


def test_introspection_and_revocation_need_client_authentication(provider):
    answer = tokens_for(provider)

    refused = httpx.post(f"{provider.url}/oauth2/introspect", data={"token": answer["access_token"]})
    not_revoked = httpx.post(f"{provider.url}/oauth2/revoke", data={"token": answer["access_token"]})

    assert refused.status_code == 401 and not_revoked.status_code == 401
    assert provider.token(answer["access_token"]).revoked is False


def test_fail_next_and_delay_next_apply_to_any_endpoint(provider):
    provider.fail_next(1, status=503)
    failed = httpx.get(f"{provider.url}/oauth2/jwks")
    provider.delay_next(1, seconds=0.3)
    started = time.monotonic()
    slow = httpx.get(f"{provider.url}/oauth2/jwks")

    assert failed.status_code == 503
    assert slow.status_code == 200 and time.monotonic() - started >= 0.3
    assert len(provider.requests) == 2


def test_serve_runs_until_stopped_and_says_where():
    stop, out = threading.Event(), io.StringIO()
    thread = threading.Thread(target=serve, kwargs={"port": 0, "stop_event": stop, "out": out})
    thread.start()
    deadline = time.monotonic() + 5
    while "issuer" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)

    assert "/oauth2/token" in out.getvalue()
    assert "stopped" in out.getvalue()
