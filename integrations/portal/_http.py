"""HTTP plumbing shared by the portal connectors and their simulators.

Client side: one place that turns what ``httpx`` can go through (refused connections,
timeouts, 5xx, 429) into the outbox contract, so both national-portal connectors classify
failures the same way. Server side: :class:`HttpSimulator`, a Flask app served by werkzeug
on loopback in a daemon thread, with the fault injection every simulator must offer
(``fail_next`` before or after the request had its effect, ``delay_next``).
"""

from __future__ import annotations

import functools
import re
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Self

import httpx
from flask import Flask, Response, g, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from ..base import ConnectorRejected, ConnectorUnavailable

__all__ = [
    "HttpSimulator",
    "ReceivedRequest",
    "check_timeout",
    "check_url",
    "new_client",
    "json_body",
    "post",
    "reject_client_error",
]

_URL_RE = re.compile(r"https?://[^\s/]+(/\S*)?")


def check_url(config: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    """A setting that must be an absolute http(s) URL; ``ValueError`` otherwise (configure time)."""
    value = config.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _URL_RE.fullmatch(value):
        raise ValueError(f"'{key}' must be an http(s) URL, got {value!r}")
    return value


def check_timeout(config: dict[str, Any], default: float = 10) -> float:
    value = config.get("timeout", default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"'timeout' must be a positive number of seconds, got {value!r}")
    return float(value)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one costs tens of milliseconds."""
    return ssl.create_default_context()


def new_client(timeout: float, *, verify_tls: bool = True) -> httpx.Client:
    """An ``httpx`` client for one operation (connections reused within it, not across calls)."""
    return httpx.Client(timeout=timeout, verify=_tls_context() if verify_tls else False)


def post(
    client: httpx.Client,
    url: str,
    *,
    where_vi: str,
    what_vi: str,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST and classify transport failures; the caller handles 2xx and 4xx answers.

    Connection errors, timeouts, 5xx and 429 are transient: the remote side may come back,
    and the idempotency key sent with the request makes the retry safe.
    """
    try:
        response = client.post(url, json=json, headers=headers)
    except httpx.TimeoutException as exc:
        raise ConnectorUnavailable(
            f"{where_vi} không trả lời kịp khi {what_vi}, sẽ thử lại", detail=f"{url}: {exc!r}"
        ) from exc
    except httpx.TransportError as exc:
        raise ConnectorUnavailable(
            f"Không kết nối được {where_vi} khi {what_vi}, sẽ thử lại", detail=f"{url}: {exc!r}"
        ) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ConnectorUnavailable(
            f"{where_vi} tạm thời lỗi (HTTP {response.status_code}) khi {what_vi}, sẽ thử lại",
            detail=f"{url}: {response.text[:300]}",
            code=response.status_code,
        )
    return response


def reject_client_error(response: httpx.Response, *, where_vi: str, what_vi: str) -> None:
    """Any other non-2xx answer is permanent: the request as written will never be accepted."""
    if 200 <= response.status_code < 300:
        return
    raise ConnectorRejected(
        f"{where_vi} từ chối yêu cầu (HTTP {response.status_code}) khi {what_vi}: {_short(response)}",
        detail=f"{response.request.url}: {response.text[:300]}",
        code=response.status_code,
    )


def json_body(response: httpx.Response, *, where_vi: str, what_vi: str) -> Any:
    """The decoded JSON answer; a non-JSON 2xx (a proxy's error page) is treated as transient."""
    try:
        return response.json()
    except ValueError as exc:
        raise ConnectorUnavailable(
            f"{where_vi} trả lời không phải JSON khi {what_vi}, sẽ thử lại",
            detail=response.text[:300],
            code=response.status_code,
        ) from exc


def _short(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("message", "MoTaLoi", "error"):
            if body.get(key):
                return str(body[key])[:200]
    return response.text[:200]


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the simulator saw it (for the inspection API)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class HttpSimulator:
    """Base of the HTTP simulators: lifecycle, request log and fault injection.

    Subclasses add their routes in :meth:`_add_routes`. A *failure* can be injected either
    before the request is handled (nothing happened on the remote side) or, with
    ``after_effect=True``, after it (the work was done but the answer got lost) -- the
    second case is the one that proves a retry with the same idempotency key has one effect.
    """

    #: Short name used in the Flask app and log lines.
    name = "simulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._lock = threading.RLock()
        self._failures: list[tuple[int, bool]] = []
        self._delays: list[float] = []
        self._log: list[ReceivedRequest] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.app = Flask(f"motcua-{self.name}")
        self.app.json.ensure_ascii = False  # type: ignore[attr-defined]
        self.app.before_request(self._before)
        self.app.after_request(self._after)
        self._add_routes(self.app)

    def _add_routes(self, app: Flask) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving in a daemon thread; port 0 lets the OS pick a free port."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} already running")
        server = make_server(self.host, self._requested_port, self.app, threaded=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"{self.name}-http", daemon=True
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

    # -- inspection and faults -----------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received, oldest first (including failed and repeated ones)."""
        with self._lock:
            return list(self._log)

    def fail_next(self, n: int = 1, status: int = 500, *, after_effect: bool = False) -> None:
        """Answer the next ``n`` requests with HTTP ``status``.

        With ``after_effect`` the request is handled first (stored, recorded, cached under
        its idempotency key) and only the answer is replaced, like a gateway that timed out
        after the backend committed.
        """
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        with self._lock:
            self._failures.extend([(status, after_effect)] * n)

    def delay_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """Hold the answer to the next ``n`` requests for ``seconds`` (after handling them)."""
        with self._lock:
            self._delays.extend([float(seconds)] * n)

    def _record(self) -> None:
        body: Any = request.get_json(silent=True)
        if body is None:
            body = request.form.to_dict() or request.get_data(as_text=True)
        with self._lock:
            self._log.append(ReceivedRequest(request.method, request.path, dict(request.headers), body))

    def _before(self) -> Response | None:
        self._record()
        with self._lock:
            g.sim_failure = self._failures.pop(0) if self._failures else None
            g.sim_delay = self._delays.pop(0) if self._delays else 0.0
        failure = g.sim_failure
        if failure is not None and not failure[1]:
            time.sleep(g.sim_delay)
            return _failure_response(failure[0])
        return None

    def _after(self, response: Response) -> Response:
        failure = getattr(g, "sim_failure", None)
        if failure is not None and failure[1]:
            response = _failure_response(failure[0])
        delay = getattr(g, "sim_delay", 0.0)
        if delay and not (failure is not None and not failure[1]):
            time.sleep(delay)
        return response


def _failure_response(status: int) -> Response:
    response = jsonify({"error_code": "-1", "message": f"Lỗi hệ thống (mô phỏng, HTTP {status})"})
    response.status_code = status
    if status == 429:
        response.headers["Retry-After"] = "1"
    return response
