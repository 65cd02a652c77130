"""A real SMTP server on loopback, for tests, demos and provinces checking their settings.

It speaks genuine SMTP (aiosmtpd), so the e-mail connector is exercised exactly as against
a production relay, and it adds what a production relay cannot give on demand:

* **idempotency**: a message whose ``Message-ID`` (or ``X-Idempotency-Key``) was already
  received is answered ``250`` but not stored again, which is how a well-behaved receiver
  turns the outbox's at-least-once retries into exactly one effect;
* **fault injection** for tests and incident drills: :meth:`SmtpSimulator.fail_next`
  answers the next end-of-DATA with a chosen code (451 -> retried, 550 -> given up);
  :meth:`SmtpSimulator.delay_next` holds the reply back to provoke client timeouts. A
  delayed message is stored *before* the pause, like a relay that queued the mail but whose
  "250" never reached the client (RFC 1047): the retry that follows must not duplicate it;
* optional AUTH (``users={"login": "password"}``), without TLS since it only listens on
  loopback, so a configuration with a username can be checked too.

Run it stand-alone with :func:`serve` (``python -m integrations.notify.smtp_simulator``).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, TextIO

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .. import simulation

__all__ = ["Delivery", "SmtpSimulator", "main", "serve"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One stored message with its SMTP envelope (who the relay was told to deliver to)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


class _Controller(Controller):
    """aiosmtpd's controller, made to work with port 0 (let the OS pick a free port).

    The stock controller keeps ``port == 0`` and its start-up self-test connects to that;
    we read the bound address back from the listening socket instead, which also avoids
    the race of "find a free port, close it, bind it again".
    """

    def _trigger_server(self) -> None:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        self.port = port
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        with socket.create_connection((host, port), 1.0) as sock:
            sock.recv(1024)


class SmtpSimulator:
    """SMTP server in a background thread; use as a context manager or ``start()``/``stop()``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        users: Mapping[str, str] | None = None,
        on_message: Callable[[Delivery], None] | None = None,
        server_hostname: str = "motcua-smtp-simulator",
    ) -> None:
        self.host = host
        self._requested_port = port
        self._users = dict(users or {})
        self._on_message = on_message
        self._server_hostname = server_hostname
        self._cond = threading.Condition()
        self._deliveries: list[Delivery] = []
        self._seen: set[str] = set()
        self._duplicates = 0
        self._failures: list[tuple[int, str]] = []
        self._delays: list[float] = []
        self._delay_every = 0.0
        self._controller: _Controller | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> SmtpSimulator:
        """Start listening; returns self. ``.port`` is the real port afterwards."""
        if self._controller is not None:
            raise RuntimeError("SMTP simulator already running")
        kwargs: dict[str, Any] = {}
        if self._users:
            # AUTH is offered without TLS: the simulator is meant for loopback only.
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        controller = _Controller(
            _Handler(self),
            hostname=self.host,
            port=self._requested_port,
            server_hostname=self._server_hostname,
            **kwargs,
        )
        controller.start()
        self._controller = controller
        log.info("SMTP simulator listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        """Stop listening and cancel conversations in progress (including delayed replies)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the one the OS picked if 0 was asked); the requested one before start."""
        return self._controller.port if self._controller is not None else self._requested_port

    # -- what arrived ------------------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Stored messages with their envelopes, oldest first (a snapshot)."""
        with self._cond:
            return list(self._deliveries)

    @property
    def messages(self) -> list[EmailMessage]:
        """Stored messages, oldest first (a snapshot; duplicates are not in it)."""
        with self._cond:
            return [d.message for d in self._deliveries]

    @property
    def duplicates(self) -> int:
        """How many messages were acknowledged but not stored because already received."""
        with self._cond:
            return self._duplicates

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Block until at least ``count`` messages are stored; ``TimeoutError`` otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._deliveries) >= count, timeout):
                raise TimeoutError(
                    f"expected {count} message(s) within {timeout}s, got {len(self._deliveries)}"
                )
            return [d.message for d in self._deliveries]

    def clear(self) -> None:
        """Forget stored messages, seen ids and pending faults (between tests or drills)."""
        with self._cond:
            self._deliveries.clear()
            self._seen.clear()
            self._duplicates = 0
            self._failures.clear()
            self._delays.clear()

    # -- fault injection ---------------------------------------------------------------

    def fail_next(
        self, n: int = 1, code: int = 451, message: str = "4.3.0 Simulated temporary failure"
    ) -> None:
        """Answer the next ``n`` end-of-DATA with ``code message``; those messages are not stored."""
        if not 400 <= code <= 599:
            raise ValueError("code must be an SMTP error code (400-599)")
        with self._cond:
            self._failures.extend([(code, message)] * n)

    def delay_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """Hold back the reply to the next ``n`` end-of-DATA for ``seconds``."""
        with self._cond:
            self._delays.extend([float(seconds)] * n)

    def delay_every(self, seconds: float) -> None:
        """Hold back the reply to every end-of-DATA for ``seconds`` (0 stops), after the ones queued by
        :meth:`delay_next`: a slow relay, so that a chaos drill can kill a worker inside the call."""
        with self._cond:
            self._delay_every = max(0.0, float(seconds))

    # -- server side (called on the simulator's event loop) ----------------------------

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        ok = login in self._users and self._users[login] == auth_data.password.decode("utf-8", "replace")
        return AuthResult(success=ok, handled=False)

    def _receive(self, envelope: Envelope) -> tuple[str, float]:
        """Decide the reply to one message and store it if due; returns (reply, delay)."""
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        keys = [f"{h}:{message[h].strip()}" for h in ("Message-ID", "X-Idempotency-Key") if message[h]]
        delivery = None
        with self._cond:
            delay = self._delays.pop(0) if self._delays else self._delay_every
            if self._failures:
                code, text = self._failures.pop(0)
                return f"{code} {text}", delay
            if keys and any(k in self._seen for k in keys):
                self._duplicates += 1
                return "250 2.0.0 OK: already received, not stored again", delay
            self._seen.update(keys)
            delivery = Delivery(str(envelope.mail_from), tuple(envelope.rcpt_tos), message)
            self._deliveries.append(delivery)
            self._cond.notify_all()
        if self._on_message is not None:
            try:
                self._on_message(delivery)
            except Exception:
                log.exception("on_message callback failed")
        return "250 2.0.0 OK: stored", delay

    def _auth_missing(self, session: Session) -> bool:
        return bool(self._users) and not session.authenticated


class _Handler:
    """aiosmtpd handler hooks; all state lives in the :class:`SmtpSimulator`."""

    def __init__(self, simulator: SmtpSimulator) -> None:
        self.simulator = simulator

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if self.simulator._auth_missing(session):
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply, delay = self.simulator._receive(envelope)
        if delay:
            await asyncio.sleep(delay)
        return reply


def serve(
    host: str = "127.0.0.1",
    port: int = 1025,
    *,
    users: Mapping[str, str] | None = None,
    stop_event: threading.Event | None = None,
    out: TextIO | None = None,
) -> None:
    """Run a simulator until interrupted (Ctrl-C) or ``stop_event`` is set; print each message.

    This is what ``motcua`` exposes for provinces to point their e-mail settings at before
    touching their real relay.
    """
    stream = out or sys.stdout

    def show(delivery: Delivery) -> None:
        msg = delivery.message
        print(
            f"[{time.strftime('%H:%M:%S')}] {delivery.mail_from} -> {', '.join(delivery.rcpt_tos)}: "
            f"{msg['Subject']} ({msg['Message-ID']})",
            file=stream,
            flush=True,
        )

    simulation.serve(
        SmtpSimulator(host, port, users=users, on_message=show),
        lambda sim: f"SMTP simulator listening on {sim.host}:{sim.port} (Ctrl-C to stop)",
        "SMTP simulator stopped",
        stop_event=stop_event,
        out=stream,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m integrations.notify.smtp_simulator [--host H] [--port P] [--user login:password]``."""
    parser = simulation.cli_parser("motcua SMTP simulator (loopback test relay)", 1025)
    parser.add_argument("--user", action="append", default=[], metavar="LOGIN:PASSWORD")
    args = parser.parse_args(argv)
    if any(":" not in u for u in args.user):
        parser.error("--user expects LOGIN:PASSWORD")
    users = dict(u.split(":", 1) for u in args.user)
    serve(args.host, args.port, users=users)


if __name__ == "__main__":
    main()
