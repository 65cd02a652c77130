"""Serving a simulator's Flask app on loopback from a background thread.

Simulators are real HTTP servers (werkzeug's threaded server), so the connectors are tested
through the same sockets, timeouts and status codes as in production. Port 0 lets the OS
pick a free port; the bound one is read back from the socket.
"""

from __future__ import annotations

import threading
from typing import Self

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["LoopbackServer"]


class LoopbackServer:
    """Base of the HTTP simulators: subclasses build their app in :meth:`create_app`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def create_app(self) -> Flask:
        raise NotImplementedError

    def start(self) -> Self:
        """Start serving; returns self (``.url`` is known afterwards)."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} already running")
        server = make_server(self.host, self._requested_port, self.create_app(), threaded=True)
        server.daemon_threads = True  # a delayed reply must not keep stop() waiting
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() waits for the loop to notice
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
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
        return self._server.server_port if self._server is not None else self._requested_port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43125``."""
        return f"http://{self.host}:{self.port}"
