"""A loopback OpenID Connect provider shaped like the national SSO (WSO2 paths, CONNECTORS.md §2).

It is a real provider, not a stub: discovery, a JWKS with an RSA key generated at start,
RS256-signed ID tokens, single-use authorization codes bound to client and
``redirect_uri`` (a reused code also revokes what it issued, RFC 6749 §4.1.2), exact
``redirect_uri`` matching, ``state`` echo, token expiry, userinfo with the Vietnamese claim
sets per account type, introspection, revocation and RP-initiated logout. Tests drive it
without a browser (``login_as`` or ``?login_as=``); humans in ``make run`` get a small
login page listing the demo accounts. For drills: :meth:`~IdentityProviderSimulator.fail_next`,
:meth:`~IdentityProviderSimulator.delay_next`, a movable clock
(:meth:`~IdentityProviderSimulator.advance_clock`) and deliberately broken ID tokens
(:meth:`~IdentityProviderSimulator.corrupt_next_id_token`).

The rules live in :mod:`.provider`; this module is the HTTP face.
Run it stand-alone with :func:`serve` (``python -m integrations.identity.simulator``).
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from authlib.common.urls import add_params_to_uri
from flask import Flask, Response, jsonify, redirect, render_template_string, request

from .. import simulation
from ..simulation import FaultInjectingServer
from .demo_accounts import ACCOUNT_LABELS, DEMO_ACCOUNTS, LOGIN_PAGE, MESSAGE_PAGE
from .provider import CORRUPTIONS, IssuedToken, Logout, OAuthRefusal, ProviderState, RelyingParty

__all__ = ["CORRUPTIONS", "IdentityProviderSimulator", "IssuedToken", "Logout", "main", "serve"]

_ISSUER_PATH = "/oauth2/token"  # WSO2 signs with its token endpoint as issuer


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as the simulator saw it (for the inspection API)."""

    method: str
    path: str
    headers: dict[str, str]
    args: dict[str, str]
    form: dict[str, str]


class IdentityProviderSimulator(FaultInjectingServer):
    """The provider; ``issuer`` (``{url}/oauth2/token``) is what a client's ``issuer`` points at.

    Set-up, drills and inspection are delegated to :attr:`state` (a :class:`ProviderState`);
    the methods below are the ones tests and drills use most.
    """

    name = "oidc-simulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_id: str = "motcua",
        client_secret: str = "motcua-bi-mat",
        redirect_uris: Iterable[str] = (),
        post_logout_redirect_uris: Iterable[str] = (),
        accounts: Mapping[str, Mapping[str, Any]] | None = None,
        code_ttl: float = 60.0,
        token_ttl: float = 3600.0,
        id_token_ttl: float = 3600.0,
    ) -> None:
        super().__init__(host, port)
        self.state = ProviderState(
            accounts or DEMO_ACCOUNTS, code_ttl=code_ttl, token_ttl=token_ttl, id_token_ttl=id_token_ttl
        )
        self.state.register_client(client_id, client_secret, redirect_uris, post_logout_redirect_uris)
        self._preselected: str | None = None
        self._add_routes(self.app)

    # -- set-up, drills, inspection ----------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.url + _ISSUER_PATH

    @property
    def accounts(self) -> dict[str, dict[str, Any]]:
        """Demo accounts by username: the userinfo claim sets."""
        return self.state.accounts

    @property
    def code_ttl(self) -> float:
        return self.state.code_ttl

    @property
    def token_ttl(self) -> float:
        return self.state.token_ttl

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        post_logout_redirect_uris: Iterable[str] = (),
    ) -> None:
        """Register (or replace) a relying party; ``redirect_uri`` must match one exactly."""
        self.state.register_client(client_id, client_secret, redirect_uris, post_logout_redirect_uris)

    def login_as(self, username: str | None) -> None:
        """Log the next authorize requests in as ``username`` without a page (``None``: show the page)."""
        if username is not None and username not in self.accounts:
            raise KeyError(f"unknown demo account {username!r}")
        self._preselected = username

    def advance_clock(self, seconds: float) -> None:
        """Move the provider's clock (negative: back), to expire codes and tokens without waiting."""
        self.state.advance_clock(seconds)

    def corrupt_next_id_token(self, kind: str) -> None:
        """Break the next ID token one way out of :data:`CORRUPTIONS` (the client must refuse it)."""
        self.state.corrupt_next_id_token(kind)

    def rotate_key(self) -> None:
        """Sign with a new key from now on; the old one stays published, as in a real rollover."""
        self.state.rotate_key()

    @property
    def tokens(self) -> list[IssuedToken]:
        return self.state.tokens

    def token(self, value: str) -> IssuedToken | None:
        return self.state.token(value)

    @property
    def logouts(self) -> list[Logout]:
        return self.state.logouts

    @property
    def codes_issued(self) -> int:
        return self.state.codes_issued

    # -- HTTP --------------------------------------------------------------------------------

    def _received(self) -> ReceivedRequest:
        return ReceivedRequest(
            request.method,
            request.path,
            dict(request.headers),
            request.args.to_dict(),
            request.form.to_dict(),
        )

    def _add_routes(self, app: Flask) -> None:
        for rule in ("/.well-known/openid-configuration", f"{_ISSUER_PATH}/.well-known/openid-configuration"):
            app.add_url_rule(rule, rule, self._discovery_view)
        app.add_url_rule("/oauth2/jwks", "jwks", lambda: jsonify(self.state.jwks()))
        app.add_url_rule("/oauth2/authorize", "authorize", self._authorize_view, methods=["GET", "POST"])
        app.add_url_rule(_ISSUER_PATH, "token", self._token_view, methods=["POST"])
        app.add_url_rule("/oauth2/userinfo", "userinfo", self._userinfo_view, methods=["GET", "POST"])
        app.add_url_rule("/oauth2/introspect", "introspect", self._introspect_view, methods=["POST"])
        app.add_url_rule("/oauth2/revoke", "revoke", self._revoke_view, methods=["POST"])
        app.add_url_rule("/oidc/logout", "logout", self._logout_view, methods=["GET", "POST"])
        app.register_error_handler(OAuthRefusal, _oauth_error)

    def _discovery_view(self) -> Response:
        base = self.url
        return jsonify(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{base}/oauth2/authorize",
                "token_endpoint": f"{base}{_ISSUER_PATH}",
                "userinfo_endpoint": f"{base}/oauth2/userinfo",
                "jwks_uri": f"{base}/oauth2/jwks",
                "introspection_endpoint": f"{base}/oauth2/introspect",
                "revocation_endpoint": f"{base}/oauth2/revoke",
                "end_session_endpoint": f"{base}/oidc/logout",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"],
                "scopes_supported": ["openid"],
                "acr_values_supported": ["LoA1", "LoA2"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "claims_supported": sorted({"sub", *(k for a in self.accounts.values() for k in a)}),
            }
        )

    def _authorize_view(self) -> Response | tuple[str, int]:
        params = request.values
        client = self.state.client(params.get("client_id", ""))
        if client is None:  # never redirect to an unverified URI: show the error here
            return _page(
                "Lỗi đăng nhập", "Ứng dụng (client_id) chưa được đăng ký với hệ thống xác thực.", 400
            )
        redirect_uri, state = params.get("redirect_uri", ""), params.get("state")
        if redirect_uri not in client.redirect_uris:
            return _page(
                "Lỗi đăng nhập", "Địa chỉ chuyển hướng (redirect_uri) không khớp địa chỉ đã đăng ký.", 400
            )
        if params.get("response_type") != "code":
            return _back(redirect_uri, state, error="unsupported_response_type")
        if "openid" not in params.get("scope", "").split():
            return _back(redirect_uri, state, error="invalid_scope", error_description="Thiếu phạm vi openid")
        if request.method == "POST" and params.get("action") == "cancel":
            return _back(
                redirect_uri, state, error="access_denied", error_description="Người dùng hủy đăng nhập"
            )
        username = (
            params.get("username")
            if request.method == "POST"
            else params.get("login_as") or self._preselected
        )
        if username not in self.accounts:
            return self._login_page(client, "Tài khoản không tồn tại." if username else "")
        return _back(redirect_uri, state, code=self.state.issue_code(client, redirect_uri, username, params))

    def _login_page(self, client: RelyingParty, error: str) -> tuple[str, int]:
        accounts = []
        for username, claims in self.accounts.items():
            label = ACCOUNT_LABELS.get(str(claims.get("LoaiTaiKhoan")), "Tài khoản")
            detail = claims.get("TenDoanhNghiep") or claims.get("DiaChi") or ""
            accounts.append((username, f"{label}: {claims.get('HoVaTen', username)}", detail))
        hidden = [
            (k, v) for k, v in request.values.items(multi=True) if k not in ("username", "action", "login_as")
        ]
        html = render_template_string(
            LOGIN_PAGE,
            accounts=accounts,
            params=hidden,
            error=error,
            client_id=client.client_id,
            action=request.path,
        )
        return html, 200

    def _token_view(self) -> Response:
        client = self._authenticate_client()
        grant = request.form.get("grant_type")
        if grant == "authorization_code":
            answer = self.state.exchange_code(
                client, request.form.get("code", ""), request.form.get("redirect_uri"), self.issuer
            )
        elif grant == "refresh_token":
            answer = self.state.refresh(client, request.form.get("refresh_token", ""), self.issuer)
        else:
            raise OAuthRefusal("unsupported_grant_type", f"Không hỗ trợ grant_type '{grant}'")
        return _no_store(jsonify(answer))

    def _authenticate_client(self) -> RelyingParty:
        """``client_secret_basic`` (Authorization header) or ``client_secret_post`` (form fields)."""
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = None
        return self.state.authenticate(client_id, secret)

    def _userinfo_view(self) -> Response:
        header = request.headers.get("Authorization", "")
        value = header[7:] if header.startswith("Bearer ") else request.form.get("access_token", "")
        return _no_store(jsonify(self.state.userinfo(value)))

    def _introspect_view(self) -> Response:
        self._authenticate_client()
        return jsonify(self.state.introspect(request.form.get("token", "")))

    def _revoke_view(self) -> Response:
        self.state.revoke(self._authenticate_client(), request.form.get("token", ""))
        return Response("", 200)  # RFC 7009: unknown tokens count as revoked too

    def _logout_view(self) -> Response | tuple[str, int]:
        params = request.values
        target = params.get("post_logout_redirect_uri")
        try:
            self.state.end_session(params.get("id_token_hint", ""), target)
        except OAuthRefusal as refusal:
            return _page("Lỗi đăng xuất", refusal.description, 400)
        if not target:
            return _page("Đã đăng xuất", "Bạn đã đăng xuất khỏi hệ thống xác thực.", 200)
        state = params.get("state")
        return redirect(add_params_to_uri(target, [("state", state)] if state else []), 302)


def _back(redirect_uri: str, state: str | None, **params: str) -> Response:
    """Send the browser back to the client, echoing ``state`` as RFC 6749 requires."""
    pairs = list(params.items()) + ([("state", state)] if state else [])
    return redirect(add_params_to_uri(redirect_uri, pairs), 302)


def _oauth_error(refusal: OAuthRefusal) -> tuple[Response, int]:
    response = _no_store(jsonify({"error": refusal.error, "error_description": refusal.description}))
    if refusal.status == 401:
        scheme = "Bearer" if refusal.error == "invalid_token" else "Basic"
        response.headers["WWW-Authenticate"] = f'{scheme} error="{refusal.error}"'
    return response, refusal.status


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template_string(MESSAGE_PAGE, title=title, message=message), status


def serve(
    host: str = "127.0.0.1",
    port: int = 8090,
    *,
    redirect_uris: Sequence[str] = ("http://127.0.0.1:5000/dang-nhap/callback",),
    stop_event: threading.Event | None = None,
    out: TextIO | None = None,
) -> None:
    """Run a provider until interrupted (Ctrl-C) or ``stop_event`` is set."""
    simulation.serve(
        IdentityProviderSimulator(host, port, redirect_uris=redirect_uris),
        lambda provider: (
            f"OIDC provider simulator: issuer {provider.issuer}\n"
            f"  client_id 'motcua', client_secret 'motcua-bi-mat', redirect_uris {list(redirect_uris)}\n"
            f"  demo accounts: {', '.join(provider.accounts)} (Ctrl-C to stop)"
        ),
        "OIDC provider simulator stopped",
        stop_event=stop_event,
        out=out,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m integrations.identity.simulator [--host H] [--port P] [--redirect-uri URI]...``."""
    parser = simulation.cli_parser("motcua national-account (OIDC) provider simulator", 8090)
    parser.add_argument("--redirect-uri", action="append", default=[])
    args = parser.parse_args(argv)
    serve(
        args.host, args.port, redirect_uris=args.redirect_uri or ("http://127.0.0.1:5000/dang-nhap/callback",)
    )


if __name__ == "__main__":
    main()
