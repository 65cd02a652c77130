"""Fixtures: the portal and payment simulators on loopback, connectors pointed at them, a callback receiver."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from integrations.portal.dvcqg import DvcqgConnector
from integrations.portal.dvcqg_simulator import PortalSimulator
from integrations.portal.payment import DvcqgPaymentConnector
from integrations.portal.payment_signing import ConfirmResult, confirm_reply, verify_confirm_callback
from integrations.portal.payment_simulator import PaymentSimulator

MADONVI = "000.00.21.H12"
PARTNER = "H12"
SECRET = "bi-mat-tinh-H12"


def dossier(**overrides: Any) -> dict[str, Any]:
    """A full dossier snapshot as the engine sends it to ``dvcqg/sync_dossier``."""
    data: dict[str, Any] = {
        "code": "000.00.21.H12-261125-0007",
        "procedure_code": "1.001193.000.00.00.H12",
        "procedure_name": "Đăng ký khai sinh",
        "channel": "online",
        "applicant": {
            "name": "Nguyễn Văn Ánh",
            "id_number": "001090000001",
            "kind": 1,
            "phone": "0912345678",
            "email": "anh@example.vn",
        },
        "summary": "Đăng ký khai sinh cho con",
        "submitted_at": "2026-11-25T01:15:00+00:00",
        "received_at": "2026-11-25T01:30:00+00:00",
        "due_at": "2026-11-27T10:00:00+00:00",
        "status": 2,
        "agency_name": "UBND xã Hòa Bình",
        "documents": [{"id": "77", "name": "Tờ khai.pdf", "url": "https://motcua.example/files/77"}],
        "fees": [{"code": "LP01", "name": "Lệ phí đăng ký khai sinh", "amount": 8000, "kind": "charge"}],
    }
    data.update(overrides)
    return data


def progress(**overrides: Any) -> dict[str, Any]:
    """One status-change event as the engine sends it to ``dvcqg/sync_progress``."""
    data: dict[str, Any] = {
        "code": "000.00.21.H12-261125-0007",
        "actor": "Trần Thị Bích",
        "title": "Công chức một cửa",
        "department": "Bộ phận một cửa",
        "at": "2026-11-25T01:30:00+00:00",
        "note": "Tiếp nhận hồ sơ",
        "status": 2,
        "started_at": "2026-11-25T01:30:00+00:00",
        "due_at": "2026-11-27T10:00:00+00:00",
    }
    data.update(overrides)
    return data


@pytest.fixture
def portal() -> Iterator[PortalSimulator]:
    with PortalSimulator(madonvi=MADONVI) as sim:
        yield sim


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def make_dvcqg() -> Callable[..., DvcqgConnector]:
    def make(adapter_url: str, **overrides: Any) -> DvcqgConnector:
        config: dict[str, Any] = {
            "adapter_url": adapter_url,
            "username": "motcua",
            "password": "mat-khau",
            "madonvi": MADONVI,
            "timeout": 2,
        }
        config.update(overrides)
        return DvcqgConnector(config)

    return make


@pytest.fixture
def payments() -> Iterator[PaymentSimulator]:
    with PaymentSimulator(partner_code=PARTNER, secret=SECRET) as sim:
        yield sim


@pytest.fixture
def make_payment() -> Callable[..., DvcqgPaymentConnector]:
    def make(sim: PaymentSimulator | None = None, **overrides: Any) -> DvcqgPaymentConnector:
        base = sim.url if sim is not None else "http://127.0.0.1:9"
        config: dict[str, Any] = {
            "init_url": f"{base}/api/pg/init",
            "query_url": f"{base}/api/pg/query",
            "bill_url": f"{base}/api/pg/bill",
            "partner_code": PARTNER,
            "secret": SECRET,
            "timeout": 2,
        }
        config.update(overrides)
        return DvcqgPaymentConnector(config)

    return make


class CallbackReceiver:
    """What the web app's confirm route does, minus the database: verify, record once, reply signed."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.confirmed: set[str] = set()
        self.results: list[ConfirmResult] = []
        self._lock = threading.Lock()
        app = Flask("callback-receiver")

        @app.post("/DvcPayment/Confirm")
        def confirm() -> Any:
            with self._lock:
                result = verify_confirm_callback(
                    request.get_json(force=True), self.secret, self.confirmed, partner_code=PARTNER
                )
                if result.accepted:
                    self.confirmed.add(result.reference)
                self.results.append(result)
            return jsonify(confirm_reply(result, partner_code=PARTNER, secret=self.secret))

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/DvcPayment/Confirm"

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    with CallbackReceiver() as rec:
        yield rec
