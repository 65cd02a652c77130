"""OpenID Connect client for the national account (Cổng DVCQG SSO / VNeID), CONNECTORS.md §2.

Why this runs inside the web request and not through the outbox: the authorization-code
flow *is* a browser conversation. The citizen's browser comes back to our ``redirect_uri``
with a code that is single-use and lives for seconds; it must be exchanged, and the ID
token checked, before we can answer that very request with a logged-in session. Queuing it
would leave the citizen staring at a page while the code expires. So the calls are
synchronous, bounded by short timeouts, and failures become :class:`IdentityError` with a
Vietnamese message the login page shows (the outbox's retry/incident model does not apply).

Protocol work is done with Authlib (authorization URL, token request bodies, client
authentication, OpenID ``CodeIDToken`` claim rules: issuer, audience, ``azp``, nonce,
``at_hash``, expiry) and joserfc, the JOSE engine Authlib itself now delegates to
(``authlib.jose`` is deprecated), for the RS256 signature against the provider's JWKS.
Transport is plain ``httpx`` with explicit timeouts, like every other connector.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx
from authlib.common.urls import add_params_to_uri, url_encode
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from ..base import HealthReport
from ._http import PROVIDER, error_code, json_object, refusal, send
from .claims import Identity, IdentityError, Tokens, identity_from_claims
from .config import ENDPOINTS, OidcSettings, parse_settings

__all__ = ["OidcClient"]

#: Asymmetric algorithms only: ``none`` and HMAC (keyed with our own client secret) are refused.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256")
_JWKS_TTL = 3600.0
_CLAIM_REASONS = {
    "iss": "issuer_mismatch",
    "aud": "audience_mismatch",
    "azp": "audience_mismatch",
    "nonce": "nonce_mismatch",
}


class OidcClient:
    """One relying party (our app) at one provider; thread-safe, cheap to keep for the process.

    Discovery and the JWKS are fetched on first need and cached; the JWKS is fetched again
    when a token names a key id we do not know (the provider rotated its keys).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.settings: OidcSettings = parse_settings(config)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: tuple[float, KeySet] | None = None

    # -- the login flow --------------------------------------------------------------------

    def authorization_url(self, state: str, nonce: str) -> str:
        """Where to send the browser: the provider's login page for our client.

        ``state`` (anti-CSRF) and ``nonce`` (anti-replay of the ID token) must be random and
        kept in the user's session until the callback.
        """
        if not state or not nonce:
            raise ValueError("state and nonce must be non-empty random strings")
        s = self.settings
        return prepare_grant_uri(
            self._endpoint("authorization_endpoint"),
            client_id=s.client_id,
            response_type="code",
            redirect_uri=s.redirect_uri,
            scope=s.scope,
            state=state,
            acr_values=s.acr_values,
            nonce=nonce,
        )

    def complete_login(
        self, params: Mapping[str, str], *, state_expected: str | None, nonce_expected: str | None
    ) -> Identity:
        """Handle the callback's query string: a provider error, or ``code`` + ``state``."""
        if params.get("error"):
            cancelled = params["error"] == "access_denied"
            raise IdentityError(
                "Bạn đã hủy đăng nhập bằng tài khoản định danh"
                if cancelled
                else f"{PROVIDER} báo lỗi: {params.get('error_description') or params['error']}",
                reason="access_denied" if cancelled else "provider_error",
                detail=f"{params['error']}: {params.get('error_description', '')}",
            )
        return self.exchange_code(
            params.get("code", ""),
            state=params.get("state"),
            state_expected=state_expected,
            nonce_expected=nonce_expected,
        )

    def exchange_code(
        self, code: str, *, state: str | None, state_expected: str | None, nonce_expected: str | None
    ) -> Identity:
        """Check ``state``, trade the code for tokens, verify the ID token, read userinfo.

        ``state`` is what came back on the callback, ``state_expected`` and
        ``nonce_expected`` what this browser's session stored when it was sent away.
        """
        if not state or not state_expected or not hmac.compare_digest(state, state_expected):
            raise IdentityError(
                "Phiên đăng nhập không hợp lệ hoặc đã hết hạn, vui lòng đăng nhập lại",
                reason="state_mismatch",
                detail="state missing or different from the one stored in the session",
            )
        if not code:
            raise IdentityError("Thiếu mã xác thực (code) từ hệ thống xác thực", reason="invalid_response")
        tokens = self._fetch_tokens(code)
        id_claims = self.verify_id_token(
            tokens.id_token, nonce_expected=nonce_expected, access_token=tokens.access_token
        )
        profile = self.userinfo(tokens.access_token)
        if str(profile.get("sub", "")) != str(id_claims["sub"]):
            raise IdentityError(
                "Thông tin tài khoản không khớp với mã định danh đăng nhập",
                reason="subject_mismatch",
                detail="userinfo sub differs from id_token sub",
            )
        return identity_from_claims({**id_claims, **profile}, tokens=tokens)

    def verify_id_token(
        self, id_token: str, *, nonce_expected: str | None, access_token: str | None = None
    ) -> dict[str, Any]:
        """The ID token's claims once signature, issuer, audience, nonce and times are checked."""
        if not nonce_expected:
            raise IdentityError("Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại", reason="nonce_mismatch")
        s = self.settings
        registry = JWSRegistry(algorithms=list(SIGNING_ALGORITHMS))
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), registry=registry)
            except InvalidKeyIdError:
                token = jwt.decode(id_token, self._key_set(force=True), registry=registry)
            claims = CodeIDToken(
                token.claims,
                token.header,
                {
                    "iss": {"essential": True, "value": s.issuer},
                    "aud": {"essential": True, "value": s.client_id},
                },
                {"nonce": nonce_expected, "client_id": s.client_id, "access_token": access_token},
            )
            claims.validate(leeway=s.leeway)
        except ExpiredTokenError as exc:
            raise IdentityError(
                "Phiên xác thực đã hết hạn, vui lòng đăng nhập lại",
                reason="expired_id_token",
                detail=repr(exc),
            ) from exc
        except ClaimError as exc:
            reason = _CLAIM_REASONS.get(exc.claim, "invalid_id_token")
            raise IdentityError(
                "Thông tin xác thực không hợp lệ, vui lòng đăng nhập lại", reason=reason, detail=repr(exc)
            ) from exc
        except (JoseError, ValueError, TypeError) as exc:
            raise IdentityError(
                "Chữ ký của thông tin xác thực không hợp lệ, vui lòng đăng nhập lại",
                reason="invalid_id_token",
                detail=repr(exc),
            ) from exc
        return dict(claims)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        """The account's claims (``HoVaTen``, ``SoDinhDanh``...), asked with the access token."""
        url = self._endpoint("userinfo_endpoint")
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        response = self._send(self.settings.userinfo_method, url, "lấy thông tin tài khoản", headers=headers)
        if response.status_code != 200:
            raise IdentityError(
                f"{PROVIDER} không trả thông tin tài khoản (HTTP {response.status_code})",
                reason="invalid_response",
                detail=response.text[:300],
            )
        return json_object(response, "thông tin tài khoản")

    def logout_url(self, id_token: str, post_logout_redirect: str, *, state: str | None = None) -> str:
        """Where to send the browser to end the SSO session too (RP-initiated logout)."""
        params = [("id_token_hint", id_token), ("post_logout_redirect_uri", post_logout_redirect)]
        if state:
            params.append(("state", state))
        return add_params_to_uri(self._endpoint("end_session_endpoint"), params)

    # -- token management (also used by the ``vneid`` connector) --------------------------

    def introspect(
        self, token: str, *, token_type_hint: str | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """RFC 7662 introspection: ``{"active": bool, "client_id", "exp", ...}``."""
        fields = {"token": token, **({"token_type_hint": token_type_hint} if token_type_hint else {})}
        response = self._post_form("introspection_endpoint", fields, "kiểm tra token", idempotency_key)
        if response.status_code != 200:
            raise refusal(response, "kiểm tra token")
        answer = json_object(response, "kết quả kiểm tra token")
        if not isinstance(answer.get("active"), bool):
            raise IdentityError(
                f"{PROVIDER} trả lời kiểm tra token thiếu 'active'",
                reason="invalid_response",
                detail=repr(answer)[:300],
            )
        return answer

    def revoke(self, token: str, *, token_type_hint: str | None = None) -> None:
        """RFC 7009 revocation; revoking an unknown or already revoked token also succeeds."""
        fields = {"token": token, **({"token_type_hint": token_type_hint} if token_type_hint else {})}
        response = self._post_form("revocation_endpoint", fields, "thu hồi token")
        if response.status_code != 200:
            raise refusal(response, "thu hồi token")

    def check_config(self) -> HealthReport:
        """Fetch discovery and keys afresh, then prove the client credentials on the token endpoint.

        The credential probe exchanges a code that cannot exist: ``invalid_grant`` means the
        provider accepted our ``client_id``/``client_secret``; ``invalid_client`` means not.
        """
        with self._lock:
            self._metadata, self._keys = None, None
        probe_timeout = min(self.settings.timeout, 5.0)
        try:
            keys = self._key_set(timeout=probe_timeout)
            response = self._send(
                "POST",
                self._endpoint("token_endpoint"),
                "kiểm tra cấu hình",
                timeout=probe_timeout,
                **self._form(
                    {
                        "grant_type": "authorization_code",
                        "code": "motcua-probe",
                        "redirect_uri": self.settings.redirect_uri,
                    }
                ),
            )
        except IdentityError as exc:
            return HealthReport(ok=False, detail=exc.message_vi)
        except Exception as exc:  # a health probe reports, it never raises
            return HealthReport(
                ok=False, detail=f"Lỗi không mong đợi khi kiểm tra hệ thống xác thực: {exc!r}"
            )
        error = error_code(response)
        if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
            return HealthReport(
                ok=False, detail=f"{PROVIDER} không chấp nhận client_id/client_secret đã cấu hình"
            )
        if error != "invalid_grant":
            return HealthReport(
                ok=False,
                detail=f"{PROVIDER} trả lời bất thường khi kiểm tra "
                f"(HTTP {response.status_code}: {response.text[:120]})",
            )
        return HealthReport(
            ok=True,
            detail=f"Kết nối được {PROVIDER} {self.settings.issuer} "
            f"({len(list(keys))} khóa ký, client '{self.settings.client_id}')",
        )

    # -- helpers ---------------------------------------------------------------------------

    def _fetch_tokens(self, code: str) -> Tokens:
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.settings.redirect_uri}
        response = self._send("POST", self._endpoint("token_endpoint"), "đổi mã xác thực", **self._form(body))
        if response.status_code != 200:
            raise refusal(response, "đổi mã xác thực")
        answer = json_object(response, "token")
        access, id_token = answer.get("access_token"), answer.get("id_token")
        if not isinstance(access, str) or not isinstance(id_token, str):
            raise IdentityError(
                f"{PROVIDER} không trả về access_token/id_token",
                reason="invalid_response",
                detail=f"keys: {sorted(answer)}",
            )
        expires_in = answer.get("expires_in")
        return Tokens(
            access_token=access,
            id_token=id_token,
            refresh_token=answer.get("refresh_token")
            if isinstance(answer.get("refresh_token"), str)
            else None,
            token_type=str(answer.get("token_type") or "Bearer"),
            expires_in=int(expires_in) if isinstance(expires_in, int | float) else None,
            scope=str(answer.get("scope") or ""),
        )

    def _form(self, fields: dict[str, str]) -> dict[str, Any]:
        """Form body with client authentication, built by Authlib (token request rules + ClientAuth)."""
        grant = fields.get("grant_type")
        rest = {k: v for k, v in fields.items() if k != "grant_type"}
        body = prepare_token_request(grant, **rest) if grant else url_encode(list(rest.items()))
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        auth = ClientAuth(
            self.settings.client_id, self.settings.client_secret, self.settings.token_auth_method
        )
        _, headers, body = auth.prepare("POST", "", headers, body)
        return {"content": body.encode("utf-8"), "headers": headers}

    def _post_form(
        self, endpoint: str, fields: dict[str, str], what_vi: str, idempotency_key: str | None = None
    ) -> httpx.Response:
        request = self._form(fields)
        if idempotency_key:  # headers are ASCII: a key that is not travels as its hash
            key = (
                idempotency_key
                if idempotency_key.isascii() and idempotency_key.isprintable()
                else ("h-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40])
            )
            request["headers"]["Idempotency-Key"] = key
        return self._send("POST", self._endpoint(endpoint), what_vi, **request)

    def _endpoint(self, name: str) -> str:
        assert name in ENDPOINTS
        configured = self.settings.endpoints.get(name)
        if configured:
            return configured
        url = self._discovery().get(name)
        if not isinstance(url, str) or not url:
            raise IdentityError(
                f"{PROVIDER} không công bố địa chỉ '{name}'; cần cấu hình thủ công",
                reason="invalid_response",
                detail=f"discovery has no {name}",
            )
        return url

    def _discovery(self, timeout: float | None = None) -> dict[str, Any]:
        with self._lock:
            if self._metadata is not None:
                return self._metadata
        response = self._send("GET", self.settings.discovery_url, "đọc cấu hình OpenID", timeout=timeout)
        if response.status_code != 200:
            raise refusal(response, "đọc cấu hình OpenID")
        metadata = json_object(response, "cấu hình OpenID")
        if metadata.get("issuer") != self.settings.issuer:
            raise IdentityError(
                f"{PROVIDER} công bố issuer '{metadata.get('issuer')}' khác cấu hình '{self.settings.issuer}'",
                reason="issuer_mismatch",
                detail=self.settings.discovery_url,
            )
        with self._lock:
            self._metadata = metadata
        return metadata

    def _key_set(self, *, force: bool = False, timeout: float | None = None) -> KeySet:
        with self._lock:
            cached = self._keys
        if cached is not None and not force and time.monotonic() - cached[0] < _JWKS_TTL:
            return cached[1]
        if "jwks_uri" not in self.settings.endpoints:
            self._discovery(timeout)
        response = self._send("GET", self._endpoint("jwks_uri"), "tải khóa công khai (JWKS)", timeout=timeout)
        if response.status_code != 200:
            raise refusal(response, "tải khóa công khai (JWKS)")
        try:
            keys = KeySet.import_key_set(json_object(response, "JWKS"))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise IdentityError(
                f"{PROVIDER} công bố khóa công khai không hợp lệ",
                reason="invalid_response",
                detail=repr(exc),
            ) from exc
        with self._lock:
            self._keys = (time.monotonic(), keys)
        return keys

    def _send(
        self, method: str, url: str, what_vi: str, *, timeout: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        return send(
            method,
            url,
            what_vi,
            timeout=timeout or self.settings.timeout,
            verify_tls=self.settings.verify_tls,
            **kwargs,
        )
