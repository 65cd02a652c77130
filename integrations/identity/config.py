"""Settings of the national-account (OIDC) login, validated once at start-up.

Kept apart from the client so the registry's connector and the web app's login share one
validation: a wrong province setting stops the start-up instead of the first citizen's login.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ENDPOINTS", "OidcSettings", "parse_settings"]

#: Endpoints that discovery provides and a province may override one by one.
ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "introspection_endpoint",
    "revocation_endpoint",
    "end_session_endpoint",
)
_KEYS = frozenset(
    {
        "issuer",
        "discovery_url",
        "client_id",
        "client_secret",
        "redirect_uri",
        "scope",
        "acr_values",
        "userinfo_method",
        "token_auth_method",
        "timeout",
        "leeway",
        "verify_tls",
        *ENDPOINTS,
    }
)
_URL_RE = re.compile(r"https?://[^\s/?#]+(/[^\s#]*)?")


@dataclass(frozen=True)
class OidcSettings:
    """Validated settings; see :func:`parse_settings` for the meaning of each key."""

    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str
    acr_values: str | None
    userinfo_method: str
    token_auth_method: str
    timeout: float
    leeway: int
    verify_tls: bool
    endpoints: dict[str, str]


def parse_settings(config: Mapping[str, Any]) -> OidcSettings:
    """Check the settings; ``ValueError`` naming the first wrong one.

    Keys: ``issuer`` (the ``iss`` the provider signs with; WSO2 uses ``…/oauth2/token``),
    ``client_id``, ``client_secret``, ``redirect_uri`` (registered with the provider),
    ``scope`` (default ``openid``), ``acr_values`` (default ``LoA1``; empty to omit),
    ``discovery_url`` (default ``{issuer}/.well-known/openid-configuration``), optional
    endpoint overrides (``authorization_endpoint``, ``token_endpoint``, ``userinfo_endpoint``,
    ``jwks_uri``, ``introspection_endpoint``, ``revocation_endpoint``, ``end_session_endpoint``)
    for providers whose discovery document is incomplete, ``userinfo_method`` (``POST``, as
    the national SSO wants, or ``GET``), ``token_auth_method`` (``client_secret_post``, the
    national SSO's form fields, or ``client_secret_basic``), ``timeout`` seconds (10),
    ``leeway`` seconds of clock skew tolerated on tokens (60), ``verify_tls`` (true).
    """
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    issuer = _url(config, "issuer")
    discovery = _url(
        config, "discovery_url", default=issuer.rstrip("/") + "/.well-known/openid-configuration"
    )
    endpoints = {key: _url(config, key) for key in ENDPOINTS if config.get(key) is not None}
    strings = {}
    for key in ("client_id", "client_secret"):
        value = config.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"'{key}' is required")
        strings[key] = value
    scope = config.get("scope", "openid")
    if not isinstance(scope, str) or "openid" not in scope.split():
        raise ValueError(f"'scope' must be a space-separated string containing 'openid', got {scope!r}")
    acr = config.get("acr_values", "LoA1")
    if acr is not None and not isinstance(acr, str):
        raise ValueError(f"'acr_values' must be a string, got {acr!r}")
    userinfo_method = config.get("userinfo_method", "POST")
    if userinfo_method not in ("POST", "GET"):
        raise ValueError(f"'userinfo_method' must be POST or GET, got {userinfo_method!r}")
    auth_method = config.get("token_auth_method", "client_secret_post")
    if auth_method not in ("client_secret_post", "client_secret_basic"):
        raise ValueError(
            f"'token_auth_method' must be client_secret_post or client_secret_basic, got {auth_method!r}"
        )
    timeout = config.get("timeout", 10)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ValueError(f"'timeout' must be a positive number of seconds, got {timeout!r}")
    leeway = config.get("leeway", 60)
    if not isinstance(leeway, int) or isinstance(leeway, bool) or not 0 <= leeway <= 600:
        raise ValueError(f"'leeway' must be an integer 0-600 (seconds), got {leeway!r}")
    verify_tls = config.get("verify_tls", True)
    if not isinstance(verify_tls, bool):
        raise ValueError(f"'verify_tls' must be true or false, got {verify_tls!r}")
    return OidcSettings(
        issuer=issuer,
        discovery_url=discovery,
        client_id=strings["client_id"],
        client_secret=strings["client_secret"],
        redirect_uri=_url(config, "redirect_uri"),
        scope=scope,
        acr_values=acr or None,
        userinfo_method=userinfo_method,
        token_auth_method=auth_method,
        timeout=float(timeout),
        leeway=leeway,
        verify_tls=verify_tls,
        endpoints=endpoints,
    )


def _url(config: Mapping[str, Any], key: str, *, default: str | None = None) -> str:
    value = config.get(key, default)
    if not isinstance(value, str) or not _URL_RE.fullmatch(value):
        raise ValueError(f"'{key}' must be an http(s) URL, got {value!r}")
    return value
