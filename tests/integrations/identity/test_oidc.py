"""The OIDC client through full code flows against the provider simulator, over real HTTP.

The test plays the citizen's browser: it opens the authorization URL without following
redirects, reads ``code`` and ``state`` from the ``Location`` header and hands them to the
client, exactly as the web app's callback view will.
"""

from __future__ import annotations

import time
import unicodedata
from datetime import date
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.identity import IdentityError, IdentityUnavailable, OidcClient
from integrations.identity.simulator import IdentityProviderSimulator

from .conftest import CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, browse_login, client_config


def login(client: OidcClient, username: str):
    callback = browse_login(client, username)
    return client.complete_login(
        callback.params, state_expected=callback.state, nonce_expected=callback.nonce
    )


def test_a_citizen_logs_in_through_the_whole_code_flow(provider, make_client):
    client = make_client()
    callback = browse_login(client, "congdan")

    assert callback.location.startswith(REDIRECT_URI + "?")
    assert callback.params["state"] == callback.state
    identity = client.exchange_code(
        callback.params["code"],
        state=callback.params["state"],
        state_expected=callback.state,
        nonce_expected=callback.nonce,
    )

    assert identity.subject == "3f2c9a54-7b1e-4d0a-9c55-1a2b3c4d5e01"
    assert identity.account_type == "citizen"
    assert identity.id_number == "001190000001"
    assert identity.full_name == "Nguyễn Thị Ánh Tuyết"
    assert identity.email == "anhtuyet.nguyen@example.vn"
    assert identity.phone == "0912345678"
    assert identity.address == "Số 12 ngõ 34 phố Đội Cấn, phường Ngọc Hà, thành phố Hà Nội"
    assert identity.birth_date == date(1990, 1, 15)
    assert identity.gender == "nữ"
    assert identity.assurance_level == "IAL2"
    assert identity.raw_claims["TechID"] == "CD000000000001"
    assert identity.raw_claims["acr"] == "LoA1"
    assert identity.tokens is not None and provider.token(identity.tokens.access_token).username == "congdan"


def test_the_authorization_request_carries_what_the_national_sso_expects(provider, make_client):
    callback = browse_login(make_client(), "congdan")

    authorize = next(r for r in provider.requests if r.path == "/oauth2/authorize")
    assert authorize.args["response_type"] == "code"
    assert authorize.args["client_id"] == CLIENT_ID
    assert authorize.args["redirect_uri"] == REDIRECT_URI
    assert authorize.args["scope"] == "openid"
    assert authorize.args["acr_values"] == "LoA1"
    assert authorize.args["state"] == callback.state
    assert authorize.args["nonce"] == callback.nonce


def test_the_code_is_exchanged_with_the_form_fields_of_the_national_sso(provider, make_client):
    login(make_client(), "congdan")

    token = next(r for r in provider.requests if r.path == "/oauth2/token")
    assert token.method == "POST"
    assert token.form["grant_type"] == "authorization_code"
    assert token.form["redirect_uri"] == REDIRECT_URI
    assert (token.form["client_id"], token.form["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
    userinfo = next(r for r in provider.requests if r.path == "/oauth2/userinfo")
    assert userinfo.method == "POST"
    assert userinfo.headers["Authorization"].startswith("Bearer ")


def test_a_business_account_has_its_business_claims(make_client):
    identity = login(make_client(), "doanhnghiep")

    assert identity.account_type == "business"
    assert identity.organization_name == "Công ty TNHH Thương mại và Dịch vụ Đức Thịnh"
    assert identity.tax_code == "0100000003"
    assert identity.full_name == "Lê Thị Hương"  # the legal representative
    assert identity.id_number == "001180000003"
    assert identity.birth_date is None and identity.gender is None
    assert identity.assurance_level == "LoA2"


def test_an_organisation_and_a_second_citizen_are_told_apart(make_client):
    client = make_client()

    organisation = login(client, "tochuc")
    citizen = login(client, "congdan2")

    assert organisation.account_type == "organization"
    assert organisation.organization_name == "Hợp tác xã Nông nghiệp Hòa Bình"
    assert (citizen.account_type, citizen.gender, citizen.birth_date) == ("citizen", "nam", date(1985, 7, 30))
    assert citizen.assurance_level == "LoA1"


def test_userinfo_keeps_vietnamese_names_intact(provider, make_client):
    client = make_client()
    identity = login(client, "congdan2")

    raw = httpx.post(
        f"{provider.url}/oauth2/userinfo", headers={"Authorization": f"Bearer {identity.tokens.access_token}"}
    )
    assert raw.headers["Content-Type"].startswith("application/json")
    assert "Trần Văn Đức".encode() in raw.content  # sent as UTF-8, not \\u escapes
    assert raw.json()["DiaChi"] == "Thôn Đông, xã Hưng Đạo, tỉnh Hưng Yên"
    assert identity.full_name == "Trần Văn Đức"
    assert unicodedata.is_normalized("NFC", identity.full_name)


def test_a_state_that_does_not_match_the_session_is_refused_before_the_code_is_used(provider, make_client):
    client = make_client()
    callback = browse_login(client, "congdan")

    with pytest.raises(IdentityError) as caught:
        client.complete_login(
            callback.params, state_expected="state-cua-phien-khac", nonce_expected=callback.nonce
        )

    assert caught.value.reason == "state_mismatch"
    assert "đăng nhập lại" in caught.value.message_vi
    assert not any(r.path == "/oauth2/token" for r in provider.requests)
    with pytest.raises(IdentityError) as missing:
        client.complete_login(callback.params, state_expected=None, nonce_expected=callback.nonce)
    assert missing.value.reason == "state_mismatch"


def test_a_code_used_twice_is_refused_and_what_it_issued_is_revoked(provider, make_client):
    client = make_client()
    callback = browse_login(client, "congdan")
    first = client.complete_login(
        callback.params, state_expected=callback.state, nonce_expected=callback.nonce
    )
    assert client.introspect(first.tokens.access_token)["active"] is True

    with pytest.raises(IdentityError) as caught:
        client.complete_login(callback.params, state_expected=callback.state, nonce_expected=callback.nonce)

    assert caught.value.reason == "invalid_grant"
    assert "đã được sử dụng" in caught.value.message_vi or "không hợp lệ" in caught.value.message_vi
    assert client.introspect(first.tokens.access_token)["active"] is False


def test_a_code_older_than_its_lifetime_is_refused(provider, make_client):
    client = make_client()
    callback = browse_login(client, "congdan")
    provider.advance_clock(provider.code_ttl + 1)

    with pytest.raises(IdentityError) as caught:
        client.complete_login(callback.params, state_expected=callback.state, nonce_expected=callback.nonce)

    assert caught.value.reason == "invalid_grant"


def test_an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(provider):
    client = OidcClient(client_config(provider, redirect_uri="https://ke-gian.example/callback"))

    url = httpx.URL(client.authorization_url("s", "n")).copy_merge_params({"login_as": "congdan"})
    response = httpx.get(url, follow_redirects=False)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "redirect_uri" in response.text
    assert provider.codes_issued == 0


def test_a_code_exchanged_with_another_redirect_uri_than_authorized_is_refused(provider):
    other = "http://127.0.0.1:5000/dang-nhap/callback-khac"
    provider.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI, other])
    callback = browse_login(OidcClient(client_config(provider)), "congdan")

    with pytest.raises(IdentityError) as caught:
        OidcClient(client_config(provider, redirect_uri=other)).complete_login(
            callback.params, state_expected=callback.state, nonce_expected=callback.nonce
        )

    assert caught.value.reason == "invalid_grant"


@pytest.mark.parametrize(
    "corruption, reason",
    [
        ("signature", "invalid_id_token"),
        ("foreign_key", "invalid_id_token"),
        ("alg_none", "invalid_id_token"),
        ("audience", "audience_mismatch"),
        ("issuer", "issuer_mismatch"),
        ("nonce", "nonce_mismatch"),
        ("expired", "expired_id_token"),
    ],
)
def test_a_tampered_or_misdirected_id_token_is_refused(provider, make_client, corruption, reason):
    client = make_client()
    provider.corrupt_next_id_token(corruption)

    with pytest.raises(IdentityError) as caught:
        login(client, "congdan")

    assert caught.value.reason == reason
    assert not any(r.path == "/oauth2/userinfo" for r in provider.requests)


def test_an_id_token_altered_after_the_exchange_fails_verification(provider, make_client):
    client = make_client()
    identity = login(client, "congdan")
    head, payload, signature = identity.tokens.id_token.split(".")
    forged = f"{head}.{payload[:-4] + ('AAAA' if payload[-4:] != 'AAAA' else 'BBBB')}.{signature}"

    assert client.verify_id_token(identity.tokens.id_token, nonce_expected=identity.raw_claims["nonce"])[
        "sub"
    ]
    with pytest.raises(IdentityError) as caught:
        client.verify_id_token(forged, nonce_expected=identity.raw_claims["nonce"])
    assert caught.value.reason == "invalid_id_token"


def test_the_nonce_of_another_login_is_refused(make_client):
    client = make_client()
    callback = browse_login(client, "congdan")

    with pytest.raises(IdentityError) as caught:
        client.complete_login(callback.params, state_expected=callback.state, nonce_expected="nonce-cu")

    assert caught.value.reason == "nonce_mismatch"


def test_an_expired_access_token_is_reported_inactive_by_introspection(provider, make_client):
    client = make_client()
    identity = login(client, "congdan")
    answer = client.introspect(identity.tokens.access_token)
    assert (answer["active"], answer["client_id"]) == (True, CLIENT_ID)
    assert answer["exp"] > time.time()

    provider.advance_clock(provider.token_ttl + 1)

    assert client.introspect(identity.tokens.access_token) == {"active": False}
    with pytest.raises(IdentityError):
        client.userinfo(identity.tokens.access_token)


def test_a_revoked_token_is_inactive_and_revoking_again_is_harmless(make_client):
    client = make_client()
    identity = login(client, "congdan")

    client.revoke(identity.tokens.access_token, token_type_hint="access_token")
    client.revoke(identity.tokens.access_token)

    assert client.introspect(identity.tokens.access_token)["active"] is False
    assert client.introspect(identity.tokens.refresh_token)["active"] is True


def test_logout_redirects_back_with_state_and_ends_the_provider_session(provider, make_client):
    client = make_client()
    identity = login(client, "congdan")
    url = client.logout_url(identity.tokens.id_token, "http://127.0.0.1:5000/", state="tam-biet")

    response = httpx.get(url, follow_redirects=False)

    assert response.status_code == 302
    back = urlsplit(response.headers["Location"])
    assert back.netloc == "127.0.0.1:5000" and parse_qs(back.query) == {"state": ["tam-biet"]}
    assert provider.logouts[-1].sub == identity.subject
    assert client.introspect(identity.tokens.access_token)["active"] is False


def test_logout_to_a_foreign_site_is_refused(make_client):
    client = make_client()
    identity = login(client, "congdan")

    response = httpx.get(
        client.logout_url(identity.tokens.id_token, "https://ke-gian.example/"), follow_redirects=False
    )

    assert response.status_code == 400


def test_a_human_picks_a_demo_account_on_the_login_page(provider, make_client):
    client = make_client()
    url = client.authorization_url("trang-thai", "so-dung-mot-lan")

    page = httpx.get(url)
    assert page.status_code == 200
    assert "Nguyễn Thị Ánh Tuyết" in page.text and "Công ty TNHH Thương mại và Dịch vụ Đức Thịnh" in page.text
    hidden = dict(httpx.QueryParams(urlsplit(url).query))
    chosen = httpx.post(url.split("?")[0], data={**hidden, "username": "congdan2"}, follow_redirects=False)
    params = dict(parse_qs(urlsplit(chosen.headers["Location"]).query))

    identity = client.complete_login(
        {k: v[0] for k, v in params.items()}, state_expected="trang-thai", nonce_expected="so-dung-mot-lan"
    )
    assert identity.full_name == "Trần Văn Đức"


def test_cancelling_on_the_login_page_comes_back_as_access_denied(make_client):
    client = make_client()
    url = client.authorization_url("s1", "n1")
    hidden = dict(httpx.QueryParams(urlsplit(url).query))

    cancelled = httpx.post(url.split("?")[0], data={**hidden, "action": "cancel"}, follow_redirects=False)
    params = {k: v[0] for k, v in parse_qs(urlsplit(cancelled.headers["Location"]).query).items()}

    assert params["state"] == "s1"
    with pytest.raises(IdentityError) as caught:
        client.complete_login(params, state_expected="s1", nonce_expected="n1")
    assert caught.value.reason == "access_denied"
    assert "hủy" in caught.value.message_vi


def test_a_rotated_signing_key_is_fetched_again(provider, make_client):
    client = make_client()
    login(client, "congdan")  # keys cached
    provider.rotate_key()

    assert login(client, "congdan2").full_name == "Trần Văn Đức"
    assert sum(r.path == "/oauth2/jwks" for r in provider.requests) == 2


def test_endpoints_configured_by_hand_work_without_discovery(provider, closed_port):
    base = provider.url
    client = OidcClient(
        client_config(
            provider,
            discovery_url=f"http://127.0.0.1:{closed_port}/khong-co",
            authorization_endpoint=f"{base}/oauth2/authorize",
            token_endpoint=f"{base}/oauth2/token",
            userinfo_endpoint=f"{base}/oauth2/userinfo",
            jwks_uri=f"{base}/oauth2/jwks",
            userinfo_method="GET",
            token_auth_method="client_secret_basic",
        )
    )

    assert login(client, "doanhnghiep").account_type == "business"
    token = next(r for r in provider.requests if r.path == "/oauth2/token")
    assert token.headers["Authorization"].startswith("Basic ") and "client_secret" not in token.form
    assert next(r for r in provider.requests if r.path == "/oauth2/userinfo").method == "GET"


def test_a_provider_that_is_down_is_reported_as_unavailable(provider, closed_port):
    client = OidcClient(client_config(provider, issuer=f"http://127.0.0.1:{closed_port}/oauth2/token"))

    with pytest.raises(IdentityUnavailable) as caught:
        client.authorization_url("s", "n")

    assert caught.value.reason == "unavailable"
    assert "Không kết nối được" in caught.value.message_vi


def test_a_failing_token_endpoint_is_unavailable_not_a_bad_login(provider, make_client):
    client = make_client()
    callback = browse_login(client, "congdan")
    provider.fail_next(1, status=503)

    with pytest.raises(IdentityUnavailable) as caught:
        client.complete_login(callback.params, state_expected=callback.state, nonce_expected=callback.nonce)

    assert "503" in caught.value.message_vi


def test_a_provider_slower_than_the_timeout_is_unavailable(provider, make_client):
    client = make_client(timeout=0.3)
    client.authorization_url("s", "n")  # discovery cached
    provider.delay_next(1, seconds=1.0)

    started = time.monotonic()
    with pytest.raises(IdentityUnavailable):
        client.introspect("bat-ky")
    assert time.monotonic() - started < 0.9


def test_a_wrong_client_secret_is_an_administrator_problem(provider, make_client):
    client = make_client(client_secret="sai")
    callback = browse_login(client, "congdan")

    with pytest.raises(IdentityError) as caught:
        client.complete_login(callback.params, state_expected=callback.state, nonce_expected=callback.nonce)

    assert caught.value.reason == "invalid_client"
    assert "quản trị viên" in caught.value.message_vi


def test_identities_never_print_personal_data(make_client):
    identity = login(make_client(), "congdan")

    text = repr(identity)
    assert identity.subject in text
    for secret in ("001190000001", "Nguyễn", "0912345678", identity.tokens.access_token):
        assert secret not in text


def test_check_config_is_ok_against_the_simulator(provider, make_client):
    report = make_client().check_config()

    assert report.ok is True
    assert provider.issuer in report.detail


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"client_secret": "sai"}, "client_id/client_secret"),
        ({"issuer": "http://127.0.0.1:1/oauth2/token"}, "Không kết nối được"),
    ],
)
def test_check_config_is_not_ok_with_a_wrong_secret_or_an_unreachable_provider(make_client, overrides, words):
    report = make_client(**overrides).check_config()

    assert report.ok is False
    assert words in report.detail


def test_check_config_notices_an_issuer_that_differs_from_discovery(provider, make_client):
    report = make_client(
        issuer="https://xacthuc.dichvucong.gov.vn/oauth2/token",
        discovery_url=f"{provider.issuer}/.well-known/openid-configuration",
    ).check_config()

    assert report.ok is False
    assert "issuer" in report.detail


@pytest.mark.parametrize(
    "bad",
    [
        {"issuer": "xacthuc.dichvucong.gov.vn"},
        {"client_id": ""},
        {"client_secret": None},
        {"redirect_uri": "/callback"},
        {"scope": "profile"},
        {"userinfo_method": "PUT"},
        {"token_auth_method": "private_key_jwt"},
        {"timeout": 0},
        {"leeway": -1},
        {"verify_tls": "no"},
        {"token_endpoint": "khong-phai-url"},
        {"clientid": "typo"},
    ],
)
def test_an_invalid_configuration_is_refused_when_the_client_is_built(bad):
    config = {
        "issuer": "https://xacthuc.dichvucong.gov.vn/oauth2/token",
        "client_id": "motcua",
        "client_secret": "bi-mat",
        "redirect_uri": "https://motcua.example.vn/dang-nhap/callback",
        **bad,
    }

    with pytest.raises(ValueError):
        OidcClient({k: v for k, v in config.items() if v is not None})


def test_provider_simulator_fixture_is_a_real_openid_provider(provider: IdentityProviderSimulator):
    """Guard against the fixtures silently testing something else than OIDC."""
    discovery = httpx.get(f"{provider.issuer}/.well-known/openid-configuration").json()

    assert discovery["issuer"] == provider.issuer
    assert httpx.get(discovery["jwks_uri"]).json()["keys"][0]["kty"] == "RSA"
