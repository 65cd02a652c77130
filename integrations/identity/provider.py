"""The simulated provider's memory and rules: clients, codes, tokens, signing keys, sessions.

No HTTP here: :mod:`.simulator` turns requests into calls on :class:`ProviderState` and
:class:`OAuthRefusal` into OAuth error answers. Keeping the rules apart makes them easy to
read against the specs they follow (RFC 6749 codes, RFC 7009 revocation, RFC 7662
introspection, OpenID Connect Core ID tokens and RP-initiated logout).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

__all__ = ["CORRUPTIONS", "IssuedToken", "Logout", "OAuthRefusal", "ProviderState", "RelyingParty"]

#: Ways :meth:`ProviderState.corrupt_next_id_token` can break an ID token.
CORRUPTIONS = ("signature", "foreign_key", "alg_none", "audience", "issuer", "nonce", "expired")


class OAuthRefusal(Exception):
    """An OAuth error answer: ``error`` code, Vietnamese ``description``, HTTP ``status``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status = error, description, status


@dataclass
class RelyingParty:
    """A registered client application."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]

    def may_return_to(self, target: str) -> bool:
        """Post-logout target: registered exactly, or (none registered) same origin as a redirect URI."""
        if self.post_logout_redirect_uris:
            return target in self.post_logout_redirect_uris
        origin = urlsplit(target)[:2]
        return any(urlsplit(uri)[:2] == origin for uri in self.redirect_uris)


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    username: str
    nonce: str | None
    scope: str
    acr: str
    expires_at: float
    used: bool = False
    issued: list[str] = field(default_factory=list)


@dataclass
class IssuedToken:
    """An access or refresh token the provider handed out (inspection API)."""

    value: str = field(repr=False)
    kind: str  # "access" | "refresh"
    client_id: str
    username: str
    sub: str
    scope: str
    issued_at: float
    expires_at: float
    revoked: bool = False
    sibling: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Logout:
    """One RP-initiated logout the provider performed."""

    sub: str
    client_id: str
    post_logout_redirect_uri: str | None


class ProviderState:
    """Everything the provider remembers; every public method is atomic under one lock."""

    def __init__(
        self,
        accounts: Mapping[str, Mapping[str, Any]],
        *,
        code_ttl: float,
        token_ttl: float,
        id_token_ttl: float,
    ) -> None:
        self.accounts: dict[str, dict[str, Any]] = copy.deepcopy(dict(accounts))
        self.code_ttl, self.token_ttl, self.id_token_ttl = code_ttl, token_ttl, id_token_ttl
        self._lock = threading.RLock()
        self._clients: dict[str, RelyingParty] = {}
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, IssuedToken] = {}
        self._logouts: list[Logout] = []
        self._keys: list[RSAKey] = [_new_key()]
        self._corruptions: list[str] = []
        self._clock_offset = 0.0

    # -- set-up and drills -------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        with self._lock:
            self._clock_offset += seconds

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uris: Iterable[str],
        post_logout: Iterable[str] = (),
    ) -> None:
        with self._lock:
            self._clients[client_id] = RelyingParty(
                client_id, client_secret, list(redirect_uris), list(post_logout)
            )

    def corrupt_next_id_token(self, kind: str) -> None:
        if kind not in CORRUPTIONS:
            raise ValueError(f"kind must be one of {CORRUPTIONS}")
        with self._lock:
            self._corruptions.append(kind)

    def rotate_key(self) -> None:
        with self._lock:
            self._keys.insert(0, _new_key())

    # -- inspection ----------------------------------------------------------------------------

    def client(self, client_id: str) -> RelyingParty | None:
        with self._lock:
            return self._clients.get(client_id)

    @property
    def tokens(self) -> list[IssuedToken]:
        with self._lock:
            return list(self._tokens.values())

    def token(self, value: str) -> IssuedToken | None:
        with self._lock:
            return self._tokens.get(value)

    @property
    def logouts(self) -> list[Logout]:
        with self._lock:
            return list(self._logouts)

    @property
    def codes_issued(self) -> int:
        with self._lock:
            return len(self._codes)

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [key.as_dict(private=False) for key in self._keys]}

    # -- protocol ------------------------------------------------------------------------------

    def authenticate(self, client_id: str | None, secret: str | None) -> RelyingParty:
        client = self.client(client_id or "")
        if client is None or not secrets.compare_digest(client.client_secret, secret or ""):
            raise OAuthRefusal("invalid_client", "Xác thực ứng dụng thất bại", 401)
        return client

    def issue_code(
        self, client: RelyingParty, redirect_uri: str, username: str, params: Mapping[str, str]
    ) -> str:
        code = secrets.token_urlsafe(24)
        record = _Code(
            client.client_id,
            redirect_uri,
            username,
            params.get("nonce"),
            params.get("scope", "openid"),
            params.get("acr_values", "LoA1"),
            self.now() + self.code_ttl,
        )
        with self._lock:
            self._codes[code] = record
        return code

    def exchange_code(
        self, client: RelyingParty, code: str, redirect_uri: str | None, issuer: str
    ) -> dict[str, Any]:
        """RFC 6749 §4.1.3: single use, bound to client and ``redirect_uri``, short-lived."""
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.client_id != client.client_id:
                raise OAuthRefusal("invalid_grant", "Mã xác thực không hợp lệ")
            if record.used:  # a replayed code: refuse and revoke what the first exchange issued
                for value in record.issued:
                    self._tokens[value].revoked = True
                raise OAuthRefusal("invalid_grant", "Mã xác thực đã được sử dụng")
            record.used = True
            if record.expires_at < self.now():
                raise OAuthRefusal("invalid_grant", "Mã xác thực đã hết hạn")
            if redirect_uri != record.redirect_uri:
                raise OAuthRefusal("invalid_grant", "redirect_uri không khớp với yêu cầu xác thực")
            answer = self._issue(
                client.client_id, record.username, record.scope, record.nonce, record.acr, issuer
            )
            record.issued = [answer["access_token"], answer["refresh_token"]]
            return answer

    def refresh(self, client: RelyingParty, refresh_token: str, issuer: str) -> dict[str, Any]:
        with self._lock:
            old = self._tokens.get(refresh_token)
            if (
                old is None
                or old.kind != "refresh"
                or old.client_id != client.client_id
                or not self._active(old)
            ):
                raise OAuthRefusal("invalid_grant", "Refresh token không hợp lệ hoặc đã hết hạn")
            old.revoked = True
            return self._issue(client.client_id, old.username, old.scope, None, "LoA1", issuer)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        with self._lock:
            token = self._tokens.get(access_token)
            if token is None or token.kind != "access" or not self._active(token):
                raise OAuthRefusal("invalid_token", "Access token không hợp lệ hoặc đã hết hạn", 401)
            return {**copy.deepcopy(self.accounts[token.username]), "sub": token.sub}

    def introspect(self, value: str) -> dict[str, Any]:
        with self._lock:
            token = self._tokens.get(value)
            if token is None or not self._active(token):
                return {"active": False}
            return {
                "active": True,
                "client_id": token.client_id,
                "exp": int(token.expires_at),
                "iat": int(token.issued_at),
                "sub": token.sub,
                "scope": token.scope,
                "token_type": "Bearer" if token.kind == "access" else "Refresh",
                "username": token.username,
            }

    def revoke(self, client: RelyingParty, value: str) -> None:
        """RFC 7009: revoking a refresh token ends its access token too; unknown tokens are ignored."""
        with self._lock:
            token = self._tokens.get(value)
            if token is not None and token.client_id == client.client_id:
                token.revoked = True
                if token.sibling in self._tokens:
                    self._tokens[token.sibling].revoked = True

    def end_session(self, id_token_hint: str, target: str | None) -> Logout:
        """RP-initiated logout: the hint must be our own ID token, the target registered."""
        try:
            with self._lock:
                keys = KeySet(list(self._keys))
            claims = jwt.decode(id_token_hint, keys).claims
        except (JoseError, ValueError):
            raise OAuthRefusal(
                "invalid_request", "Thông tin đăng nhập (id_token_hint) không hợp lệ."
            ) from None
        client = self.client(str(claims.get("aud")))
        if client is None or (target and not client.may_return_to(target)):
            raise OAuthRefusal("invalid_request", "Địa chỉ quay lại sau khi đăng xuất không được đăng ký.")
        logout = Logout(str(claims.get("sub")), client.client_id, target)
        with self._lock:
            for token in self._tokens.values():
                if token.sub == logout.sub and token.client_id == client.client_id:
                    token.revoked = True
            self._logouts.append(logout)
        return logout

    # -- internals -----------------------------------------------------------------------------

    def _active(self, token: IssuedToken) -> bool:
        return not token.revoked and token.expires_at > self.now()

    def _issue(
        self, client_id: str, username: str, scope: str, nonce: str | None, acr: str, issuer: str
    ) -> dict[str, Any]:
        """Access + refresh token and a signed ID token; called under the lock."""
        now, sub = self.now(), str(self.accounts[username]["sub"])
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._tokens[access] = IssuedToken(
            access, "access", client_id, username, sub, scope, now, now + self.token_ttl
        )
        self._tokens[refresh] = IssuedToken(
            refresh,
            "refresh",
            client_id,
            username,
            sub,
            scope,
            now,
            now + self.token_ttl * 24,
            sibling=access,
        )
        claims: dict[str, Any] = {
            "iss": issuer,
            "sub": sub,
            "aud": client_id,
            "azp": client_id,
            "iat": int(now),
            "exp": int(now + self.id_token_ttl),
            "auth_time": int(now),
            "acr": acr,
            "amr": ["BasicAuthenticator"],
            "at_hash": _half_hash(access),
        }
        if nonce:
            claims["nonce"] = nonce
        id_token = self._sign(claims, self._corruptions.pop(0) if self._corruptions else None)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "scope": scope,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": int(self.token_ttl),
        }

    def _sign(self, claims: dict[str, Any], corruption: str | None) -> str:
        key = self._keys[0]
        if corruption == "audience":
            claims["aud"] = claims["azp"] = "ung-dung-khac"
        elif corruption == "issuer":
            claims["iss"] = "https://xacthuc.gia-mao.example/oauth2/token"
        elif corruption == "nonce":
            claims["nonce"] = "nonce-khac"
        elif corruption == "expired":
            claims["iat"], claims["exp"] = claims["iat"] - 7200, claims["iat"] - 3600
        elif corruption == "foreign_key":
            key = _new_key(kid=key.kid)
        elif corruption == "alg_none":
            return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}))}.{_b64(json.dumps(claims))}."
        token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        if corruption == "signature":  # change who it is about, keep the signature
            head, _, rest = token.partition(".")
            token = f"{head}.{_b64(json.dumps({**claims, 'sub': 'ke-mao-danh'}))}.{rest.rpartition('.')[2]}"
        return token


def _new_key(kid: str | None = None) -> RSAKey:
    return RSAKey.generate_key(
        2048, parameters={"kid": kid or secrets.token_hex(8), "use": "sig", "alg": "RS256"}
    )


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).rstrip(b"=").decode("ascii")


def _half_hash(access_token: str) -> str:
    """``at_hash``: left half of SHA-256 of the access token, base64url (OpenID Connect Core §3.1.3.6)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")
