"""The loopback server harness every HTTP simulator is built on, and their stand-alone runner.

Simulators are real HTTP servers (werkzeug's threaded server serving a Flask app), so the
connectors are tested through the same sockets, timeouts and status codes as in production.

* :class:`LoopbackServer`: lifecycle only -- ``start``/``stop`` in a daemon thread, context
  manager, port 0 (the OS picks a free port, read back from the socket), ``.url``. A port that
  is taken raises :class:`OSError` (werkzeug's ``make_server`` would exit the process).
* :class:`FaultInjectingServer`: adds the request log and the fault injection every simulator
  offers: ``fail_next`` (before the request had its effect or, with ``after_effect=True``,
  after it: the work was done but the answer got lost) and ``delay_next``.
* :func:`serve` and :func:`cli_parser`: running one simulator from a terminal until Ctrl-C.

A leaf module: the standard library, Flask and werkzeug only.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Self, TextIO, TypeVar

from flask import Flask, Response, g, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

__all__ = [
    "FaultInjectingServer",
    "LoopbackServer",
    "ReceivedRequest",
    "check_port_free",
    "cli_parser",
    "serve",
]

_S = TypeVar("_S", bound=AbstractContextManager[Any])


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`OSError` when ``host:port`` cannot be bound (port 0 always can).

    Checked before werkzeug binds because its ``make_server`` calls ``sys.exit`` when the
    port is taken, which would end a test run or a whole ``make run``.
    """
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers themselves do
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OSError(exc.errno, f"port {host}:{port} is already in use") from exc
            raise


class LoopbackServer:
    """Lifecycle of a simulator: subclasses provide the Flask app in :meth:`create_app`."""

    #: Short name used in the Flask app, the thread and error messages.
    name = "simulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def create_app(self) -> Flask:  # pragma: no cover - abstract
        raise NotImplementedError

    def start(self) -> Self:
        """Start serving in a daemon thread; port 0 lets the OS pick a free port."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} already running")
        check_port_free(self.host, self._requested_port)
        try:
            server = make_server(self.host, self._requested_port, self.create_app(), threaded=True)
        except SystemExit as exc:  # taken between the check and the bind
            raise OSError(errno.EADDRINUSE, f"cannot listen on {self.host}:{self._requested_port}") from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop to notice
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

    def wait_forever(self) -> None:
        """Block the calling thread until interrupted (for stand-alone runs)."""
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the one the OS picked if 0 was asked); the requested one before start."""
        return self._server.server_port if self._server is not None else self._requested_port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``: what a connector's URL setting points at."""
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as the simulator saw it (including refused and repeated ones)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FaultInjectingServer(LoopbackServer):
    """A :class:`LoopbackServer` whose app (:attr:`app`, built at construction) logs and fails.

    Subclasses add routes to :attr:`app`; they may override :meth:`_received` (what the
    request log holds) and :meth:`_failure_response` (the body of an injected failure).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._lock = threading.RLock()
        self._failures: list[tuple[int, bool]] = []
        self._delays: list[float] = []
        self._log: list[Any] = []
        self.app = Flask(f"motcua-{self.name}")
        self.app.json.ensure_ascii = False  # type: ignore[attr-defined]
        self.app.before_request(self._before)
        self.app.after_request(self._after)

    def create_app(self) -> Flask:
        return self.app

    @property
    def requests(self) -> list[Any]:
        """Every request received, oldest first (including failed and repeated ones)."""
        with self._lock:
            return list(self._log)

    def fail_next(self, n: int = 1, status: int = 500, *, after_effect: bool = False) -> None:
        """Answer the next ``n`` requests with HTTP ``status``.

        With ``after_effect`` the request is handled first (stored, recorded, cached under
        its idempotency key) and only the answer is replaced, like a gateway that timed out
        after the backend committed: the retry must not have a second effect.
        """
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        with self._lock:
            self._failures.extend([(status, after_effect)] * n)

    def delay_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """Hold the answer to the next ``n`` requests for ``seconds`` (after handling them)."""
        with self._lock:
            self._delays.extend([float(seconds)] * n)

    def _received(self) -> Any:
        """The request log's entry for the current request."""
        body: Any = request.get_json(silent=True)
        if body is None:
            body = request.form.to_dict() or request.get_data(as_text=True)
        return ReceivedRequest(request.method, request.path, dict(request.headers), body)

    def _failure_response(self, status: int) -> Response:
        response = jsonify(
            {"error": "server_error", "error_description": f"Lỗi hệ thống (mô phỏng, HTTP {status})"}
        )
        response.status_code = status
        return response

    def _before(self) -> Response | None:
        received = self._received()
        with self._lock:
            self._log.append(received)
            g.sim_failure = self._failures.pop(0) if self._failures else None
            g.sim_delay = self._delays.pop(0) if self._delays else 0.0
        failure = g.sim_failure
        if failure is not None and not failure[1]:
            return self._failure_response(failure[0])
        return None

    def _after(self, response: Response) -> Response:
        failure = getattr(g, "sim_failure", None)
        if failure is not None and failure[1]:
            response = self._failure_response(failure[0])
        delay = getattr(g, "sim_delay", 0.0)
        if delay:
            time.sleep(delay)
        return response


def serve(
    simulator: _S,
    banner: Callable[[_S], str],
    stopped: str | None = None,
    *,
    stop_event: threading.Event | None = None,
    out: TextIO | None = None,
) -> None:
    """Run ``simulator`` until Ctrl-C or ``stop_event``; print ``banner(simulator)`` once it listens."""
    stream = out or sys.stdout
    stop = stop_event or threading.Event()
    with simulator as running:
        print(banner(running), file=stream, flush=True)
        try:
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
    if stopped is not None:
        print(stopped, file=stream, flush=True)


def cli_parser(description: str, port: int) -> argparse.ArgumentParser:
    """The command line of a stand-alone simulator: ``--host`` and ``--port``, the caller adds the rest."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    return parser
