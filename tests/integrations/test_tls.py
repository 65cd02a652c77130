"""Connectors build their TLS context once per process: loading a CA store costs tens of milliseconds of
CPU, which each e-mail over STARTTLS and each remote-signing request used to pay."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from integrations import tls
from integrations.notify.email import EmailConnector
from integrations.notify.smtp_simulator import SmtpSimulator
from integrations.signing.remote import RemoteSigningConnector


@pytest.fixture
def built(monkeypatch):
    """How many verifying contexts get built from here on (the per-process cache emptied first)."""
    count = []
    original = ssl.create_default_context

    def counting(*args, **kwargs):
        count.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    tls.system_context.cache_clear()
    tls.httpx_context.cache_clear()
    yield count
    tls.system_context.cache_clear()
    tls.httpx_context.cache_clear()


def test_contexts_verify_and_are_made_once(built):
    for context in (tls.system_context(), tls.httpx_context()):
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert tls.system_context() is tls.system_context() and tls.httpx_context() is tls.httpx_context()
    assert len(built) == 2


def test_every_starttls_connection_shares_one_context(built):
    with SmtpSimulator() as relay:  # speaks no STARTTLS: each check is refused after taking the context
        connector = EmailConnector({"host": "127.0.0.1", "port": relay.port, "sender": "motcua@example.vn",
                                    "timeout": 2, "helo_name": "motcua.test", "starttls": True})
        reports = [connector.check_config() for _ in range(3)]
    assert [r.ok for r in reports] == [False] * 3
    assert len(built) == 1


def test_remote_signing_clients_share_one_context(built, tmp_path: Path):
    connector = RemoteSigningConnector({"base_url": "https://ky-so.example.vn", "cache_dir": str(tmp_path)})
    for _ in range(3):
        connector._client().close()
    assert len(built) == 1
