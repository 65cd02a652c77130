"""Fixtures: test CAs made once per session, sample PDFs, the remote-signing simulator."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.signing.local import LocalSigningConnector
from integrations.signing.pades import sample_pdf
from integrations.signing.remote import RemoteSigningConnector
from integrations.signing.remote_simulator import Credential, RemoteSigningSimulator
from integrations.signing.test_ca import TestCA, create_test_ca

#: Text of the sample document; tests tamper with it byte by byte.
DOCUMENT_TEXT = "GIAY CHUNG NHAN DANG KY KHAI SINH SO 123/2025"
SIGNER_ID = "lanhdao.ubnd"


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return create_test_ca(tmp_path_factory.mktemp("ca"), organisation="UBND Tỉnh Demo")


@pytest.fixture(scope="session")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A CA nobody in these tests trusts."""
    return create_test_ca(
        tmp_path_factory.mktemp("other-ca"), organisation="Tổ chức lạ", signer_name="Kẻ Mạo Danh"
    )


@pytest.fixture(scope="session")
def remote_credential(ca: TestCA) -> Credential:
    path = ca.issue_signer("remote-signer", "Trần Thị Bình", title="Phó Chủ tịch")
    return Credential.from_pkcs12(path, ca.passphrase)


@pytest.fixture(scope="session")
def pdf() -> bytes:
    return sample_pdf(DOCUMENT_TEXT)


@pytest.fixture
def pdf_b64(pdf: bytes) -> str:
    return base64.b64encode(pdf).decode("ascii")


@pytest.fixture
def local_connector(ca: TestCA, tmp_path: Path) -> Callable[..., LocalSigningConnector]:
    def make(**overrides: Any) -> LocalSigningConnector:
        config: dict[str, Any] = ca.local_signing_config(tmp_path / "cache")
        config.update(overrides)
        return LocalSigningConnector(config)

    return make


@pytest.fixture
def simulator(remote_credential: Credential) -> Iterator[RemoteSigningSimulator]:
    with RemoteSigningSimulator({SIGNER_ID: remote_credential}, api_key="bi-mat") as sim:
        yield sim


@pytest.fixture
def remote_connector(ca: TestCA, tmp_path: Path) -> Callable[..., RemoteSigningConnector]:
    def make(base_url: str, **overrides: Any) -> RemoteSigningConnector:
        config: dict[str, Any] = {
            "base_url": base_url,
            "api_key": "bi-mat",
            "signer_id": SIGNER_ID,
            "cache_dir": str(tmp_path / "remote-cache"),
            "timeout": 2,
            "wait_seconds": 2,
            "poll_interval": 0.05,
            "ca_cert_path": str(ca.ca_cert_path),
        }
        config.update(overrides)
        return RemoteSigningConnector(config)

    return make


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
