"""Fixtures: a real SMTP simulator on loopback and a port where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integrations.notify.email import EmailConnector
from integrations.notify.smtp_simulator import SmtpSimulator

SENDER = "UBND Xã Demo <motcua@ubnd.demo.gov.vn>"


@pytest.fixture
def simulator() -> Iterator[SmtpSimulator]:
    with SmtpSimulator() as sim:
        yield sim


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def make_connector() -> Callable[..., EmailConnector]:
    def make(port: int, **overrides: Any) -> EmailConnector:
        config: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": port,
            "sender": SENDER,
            "timeout": 2,
            "helo_name": "motcua.test",
        }
        config.update(overrides)
        return EmailConnector(config)

    return make
