"""Fixtures: the OIDC provider simulator on loopback, a client pointed at it, and a scripted browser."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from integrations.identity import OidcClient
from integrations.identity.simulator import IdentityProviderSimulator

REDIRECT_URI = "http://127.0.0.1:5000/dang-nhap/callback"
CLIENT_ID = "motcua-tinh-demo"
CLIENT_SECRET = "bi-mat-cua-tinh"


@pytest.fixture
def provider() -> Iterator[IdentityProviderSimulator]:
    with IdentityProviderSimulator(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT_URI]
    ) as sim:
        yield sim


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def client_config(provider: IdentityProviderSimulator, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT_URI,
        "timeout": 2,
    }
    config.update(overrides)
    return config


@pytest.fixture
def make_client(provider: IdentityProviderSimulator) -> Callable[..., OidcClient]:
    def make(**overrides: Any) -> OidcClient:
        return OidcClient(client_config(provider, **overrides))

    return make


@dataclass
class Callback:
    """Where the provider sent the browser back, split into its parts."""

    location: str
    params: dict[str, str]
    state: str
    nonce: str


def browse_login(client: OidcClient, username: str | None = None, **extra_query: str) -> Callback:
    """Play the browser: open the authorization URL and read the redirect (never follow it)."""
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    url = client.authorization_url(state, nonce)
    query = {**({"login_as": username} if username else {}), **extra_query}
    response = httpx.get(httpx.URL(url).copy_merge_params(query), follow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return Callback(location, params, state, nonce)
