"""Fixtures: two agencies on a loopback document axis, connectors for each, sample documents."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from integrations.exchange.model import Attachment, EdocEnvelope, Organ, Signer
from integrations.exchange.simulator import ExchangeSimulator
from integrations.exchange.vdxp import VdxpConnector

XA = "000.00.01.H99"  # UBND xã (sender in most tests)
HUYEN = "000.00.00.H99"  # UBND huyện (receiver)
SECRETS = {XA: "bi-mat-cua-xa", HUYEN: "bi-mat-cua-huyen"}
NAMES = {XA: "UBND xã Xuân Phương", HUYEN: "UBND huyện Bắc Từ Liêm"}
SUBJECT = "V/v chuyển hồ sơ đăng ký khai sinh của công dân Nguyễn Thị Ánh Nguyệt"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF"


def envelope(**overrides: Any) -> EdocEnvelope:
    values: dict[str, Any] = dict(
        sender=Organ(XA, NAMES[XA]),
        receivers=[Organ(HUYEN, NAMES[HUYEN])],
        code_number="15",
        code_notation="UBND-VP",
        promulgation_place="Xuân Phương",
        promulgation_date=date(2025, 8, 12),
        subject=SUBJECT,
        content="Ủy ban nhân dân xã chuyển hồ sơ để huyện giải quyết theo thẩm quyền.",
        signer=Signer("TM. ỦY BAN NHÂN DÂN", "Chủ tịch", "Lê Thị Hồng Đào"),
        due_date=date(2025, 8, 20),
        priority=1,
    )
    values.update(overrides)
    return EdocEnvelope(**values)


def attachments() -> list[Attachment]:
    return [
        Attachment("a1", "Kết quả giải quyết.pdf", "application/pdf", PDF),
        Attachment("a2", "tờ khai.xml", "application/xml", "<tokhai>Bé Ngọc Hân</tokhai>".encode()),
    ]


@pytest.fixture
def simulator() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(agencies=SECRETS) as sim:
        for code, name in NAMES.items():
            sim.register_agency(code, SECRETS[code], name)
        yield sim


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def make_connector() -> Callable[..., VdxpConnector]:
    def make(base_url: str, system_id: str = XA, **overrides: Any) -> VdxpConnector:
        config: dict[str, Any] = {
            "base_url": base_url,
            "system_id": system_id,
            "secret_key": SECRETS.get(system_id, "khong-biet"),
            "organ_name": NAMES.get(system_id, "Cơ quan thử"),
            "timeout": 2,
            "check_timeout": 1,
        }
        config.update(overrides)
        return VdxpConnector(config)

    return make
