"""A Flask app on loopback in a daemon thread, with the fault injection every simulator offers.

The provider simulator builds on it; keeping lifecycle, request log and faults here leaves
:mod:`.simulator` about OpenID Connect only.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Self

from flask import Flask, Response, g, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["LoopbackServer", "ReceivedRequest"]


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as the simulator saw it (for the inspection API)."""

    method: str
    path: str
    headers: dict[str, str]
    args: dict[str, str]
    form: dict[str, str]


class LoopbackServer:
    """Lifecycle (``start``/``stop``, context manager, port 0), request log and faults."""

    name = "simulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._lock = threading.RLock()
        self._failures: list[int] = []
        self._delays: list[float] = []
        self._log: list[ReceivedRequest] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.app = Flask(f"motcua-{self.name}")
        self.app.json.ensure_ascii = False  # type: ignore[attr-defined]
        self.app.before_request(self._before)
        self.app.after_request(self._after)

    def start(self) -> Self:
        """Start serving in a daemon thread; port 0 lets the OS pick a free port."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} already running")
        self._server = make_server(self.host, self._requested_port, self.app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_port if self._server is not None else self._requested_port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received, oldest first (including refused ones)."""
        with self._lock:
            return list(self._log)

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next ``n`` requests with HTTP ``status`` without handling them."""
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        with self._lock:
            self._failures.extend([status] * n)

    def delay_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """Hold the answer to the next ``n`` requests for ``seconds`` (after handling them)."""
        with self._lock:
            self._delays.extend([float(seconds)] * n)

    def _before(self) -> Response | None:
        received = ReceivedRequest(
            request.method,
            request.path,
            dict(request.headers),
            request.args.to_dict(),
            request.form.to_dict(),
        )
        with self._lock:
            self._log.append(received)
            failure = self._failures.pop(0) if self._failures else None
            g.sim_delay = self._delays.pop(0) if self._delays else 0.0
        if failure is not None:
            response = jsonify(
                {"error": "server_error", "error_description": f"Lỗi hệ thống (mô phỏng, HTTP {failure})"}
            )
            response.status_code = failure
            return response
        return None

    def _after(self, response: Response) -> Response:
        delay: Any = getattr(g, "sim_delay", 0.0)
        if delay:
            time.sleep(delay)
        return response
