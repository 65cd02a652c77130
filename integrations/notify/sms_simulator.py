"""A loopback brandname-SMS gateway for tests, demos and provinces checking their settings.

It speaks the same JSON API the :mod:`~integrations.notify.sms` connector expects from a
real gateway (``POST /sms/send``, ``GET /sms/status/{message_id}``, ``GET /sms/account``,
``Authorization: Bearer <api_key>``, answer codes ``"00"``/``"01"``/.../``"99"`` with
Vietnamese messages) and adds what a real gateway cannot give on demand:

* **idempotency** on ``request_id``: a repeated request returns the first answer and sends
  nothing more, even when the first answer was lost (``fail_next(after_effect=True)``);
* **delivery reports**: a message is ``pending`` for ``delivery_delay`` seconds, then
  ``delivered`` (or ``failed`` for numbers listed with :meth:`SmsSimulator.fail_delivery_to`);
* **fault injection**: HTTP errors (:meth:`~SmsSimulator.fail_next`), gateway codes in a
  200 answer (:meth:`~SmsSimulator.fail_next_code`), slow answers (:meth:`~SmsSimulator.delay_next`);
* **inspection**: :attr:`~SmsSimulator.messages`, :meth:`~SmsSimulator.wait_for`, :attr:`~SmsSimulator.requests`.

Run it stand-alone with :func:`serve` (``python -m integrations.notify.sms_simulator``).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Response, jsonify, request

from .. import simulation
from ..simulation import FaultInjectingServer, ReceivedRequest
from .sms import MAX_SEGMENTS, encode_info

__all__ = ["ReceivedRequest", "SmsMessage", "SmsSimulator", "main", "serve"]

log = logging.getLogger(__name__)

_PHONE_RE = re.compile(r"84[35789]\d{8}")
_FIELDS = ("brandname", "phone", "message", "request_id")


@dataclass
class SmsMessage:
    """One message the gateway accepted (duplicates by ``request_id`` are not repeated here)."""

    message_id: str
    request_id: str
    brandname: str
    phone: str
    message: str
    encoding: str
    segments: int
    received_at: datetime
    deliver_after: float  # monotonic time at which the operator's report arrives
    outcome: str = "delivered"
    forced_state: str | None = field(default=None, repr=False)

    @property
    def state(self) -> str:
        """``pending`` until the report arrives, then ``delivered`` or ``failed``."""
        if self.forced_state is not None:
            return self.forced_state
        return self.outcome if time.monotonic() >= self.deliver_after else "pending"


class SmsSimulator(FaultInjectingServer):
    """The gateway in a daemon thread; use as a context manager or ``start()``/``stop()``."""

    name = "sms-simulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str = "sms-demo-key",
        brandnames: Iterable[str] = ("UBND-DEMO",),
        delivery_delay: float = 0.5,
        require_unaccented: bool = False,
        balance: int | None = None,
        on_message: Callable[[SmsMessage], None] | None = None,
    ) -> None:
        super().__init__(host, port)
        self.api_key = api_key
        self.brandnames = list(brandnames)
        self.delivery_delay = delivery_delay
        self.require_unaccented = require_unaccented
        self.balance = balance  # None: unlimited; else segments left
        self._on_message = on_message
        self._cond = threading.Condition(self._lock)  # one lock for the log, faults and messages
        self._messages: dict[str, SmsMessage] = {}
        self._answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self._failing_phones: set[str] = set()
        self._code_failures: list[tuple[str, str]] = []
        self._replays = 0
        self.app.add_url_rule("/sms/send", "send", self._send_view, methods=["POST"])
        self.app.add_url_rule("/sms/status/<message_id>", "status", self._status_view, methods=["GET"])
        self.app.add_url_rule("/sms/account", "account", self._account_view, methods=["GET"])

    # -- inspection ----------------------------------------------------------------------

    @property
    def messages(self) -> list[SmsMessage]:
        """Accepted messages, oldest first (a snapshot)."""
        with self._cond:
            return list(self._messages.values())

    @property
    def replays(self) -> int:
        """How many sends were answered from the idempotency cache (nothing sent again)."""
        with self._cond:
            return self._replays

    def wait_for(self, count: int, timeout: float = 5.0) -> list[SmsMessage]:
        """Block until at least ``count`` messages were accepted; ``TimeoutError`` otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"expected {count} SMS within {timeout}s, got {len(self._messages)}")
            return list(self._messages.values())

    def clear(self) -> None:
        """Forget messages, cached answers, logs and pending faults."""
        with self._cond:
            stores = (self._messages, self._answers, self._log, self._failures, self._code_failures)
            for store in (*stores, self._delays, self._failing_phones):
                store.clear()
            self._replays = 0

    # -- delivery and faults -------------------------------------------------------------

    def fail_delivery_to(self, *phones: str) -> None:
        """Messages to these numbers (``84...``) end ``failed`` instead of ``delivered``."""
        with self._cond:
            self._failing_phones.update(phones)

    def set_state(self, message_id: str, state: str) -> None:
        """Force the delivery state a message reports (``pending``, ``delivered``, ``failed``, or any
        word a real gateway uses, such as ``EXPIRED``, to try the connector's ``states`` mapping)."""
        if not isinstance(state, str) or not state.strip():
            raise ValueError("state must be a non-empty word")
        with self._cond:
            self._messages[message_id].forced_state = state

    def fail_next_code(self, n: int = 1, code: str = "99", message: str = "Hệ thống đang bận") -> None:
        """Answer the next ``n`` sends with a gateway error ``code`` in an HTTP 200 answer."""
        with self._cond:
            self._code_failures.extend([(code, message)] * n)

    # -- HTTP ------------------------------------------------------------------------------

    def _received(self) -> ReceivedRequest:
        body: Any = request.get_json(silent=True)
        return ReceivedRequest(request.method, request.path, dict(request.headers), body)

    def _failure_response(self, status: int) -> Response:
        return _answer(status, "99", f"Lỗi hệ thống (mô phỏng, HTTP {status})")

    def _before(self) -> Response | None:
        refused = super()._before()
        if refused is None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return _answer(401, "02", "Sai khóa API hoặc chưa xác thực")
        return refused

    def _send_view(self) -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or any(
            not isinstance(body.get(k), str) or not body[k] for k in _FIELDS
        ):
            return _answer(400, "05", "Thiếu hoặc sai trường dữ liệu (brandname, phone, message, request_id)")
        with self._cond:
            cached = self._answers.get(body["request_id"])
            if cached is not None:
                self._replays += 1
                return _answer(cached[0], **cached[1])
            if self._code_failures:
                code, text = self._code_failures.pop(0)
                return _answer(200, code, text)
            status, answer = self._accept(body)
            if answer["code"] == "00":  # refusals are not cached: a corrected retry may pass
                self._answers[body["request_id"]] = (status, answer)
        return _answer(status, **answer)

    def _accept(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Check one send like the gateway would and store it; called under the lock."""
        if body["brandname"] not in self.brandnames:
            return 200, {"code": "03", "message": f"Brandname '{body['brandname']}' chưa được đăng ký"}
        if not _PHONE_RE.fullmatch(body["phone"]):
            return 200, {"code": "01", "message": "Số điện thoại không hợp lệ"}
        encoding, length, segments = encode_info(body["message"])
        if encoding == "ucs2" and self.require_unaccented:
            return 200, {"code": "04", "message": "Nội dung có dấu không được hỗ trợ, vui lòng gửi không dấu"}
        if segments > MAX_SEGMENTS:
            return 200, {"code": "04", "message": f"Nội dung quá dài ({length} ký tự, {segments} tin)"}
        if self.balance is not None and self.balance < segments:
            return 200, {"code": "06", "message": "Tài khoản không đủ hạn mức"}
        if self.balance is not None:
            self.balance -= segments
        message = SmsMessage(
            message_id=uuid.uuid4().hex,
            request_id=body["request_id"],
            brandname=body["brandname"],
            phone=body["phone"],
            message=body["message"],
            encoding=encoding,
            segments=segments,
            received_at=datetime.now(UTC),
            deliver_after=time.monotonic() + self.delivery_delay,
            outcome="failed" if body["phone"] in self._failing_phones else "delivered",
        )
        self._messages[message.message_id] = message
        self._cond.notify_all()
        if self._on_message is not None:
            try:
                self._on_message(message)
            except Exception:  # a printing callback must not turn an accepted SMS into a 500
                log.exception("on_message callback failed")
        return 200, {
            "code": "00",
            "message_id": message.message_id,
            "status": "accepted",
            "segments": segments,
            "message": "Tiếp nhận tin nhắn thành công",
        }

    def _status_view(self, message_id: str) -> Response:
        with self._cond:
            message = self._messages.get(message_id)
            if message is None:
                return _answer(404, "08", "Không tìm thấy tin nhắn")
            state = message.state
        updated = datetime.now(UTC) if state != "pending" else message.received_at
        return _answer(
            200,
            "00",
            "Thành công",
            message_id=message_id,
            state=state,
            updated_at=updated.isoformat(timespec="seconds"),
        )

    def _account_view(self) -> Response:
        return _answer(200, "00", "Thành công", brandnames=self.brandnames, balance=self.balance)


def _answer(http_status: int, code: str, message: str = "", **extra: Any) -> Response:
    response = jsonify({"code": code, "message": message, **extra})
    response.status_code = http_status
    return response


def serve(
    host: str = "127.0.0.1",
    port: int = 8025,
    *,
    api_key: str = "sms-demo-key",
    brandnames: Iterable[str] = ("UBND-DEMO",),
    stop_event: threading.Event | None = None,
    out: TextIO | None = None,
) -> None:
    """Run a gateway until interrupted (Ctrl-C) or ``stop_event`` is set; print each SMS."""
    stream = out or sys.stdout

    def show(message: SmsMessage) -> None:
        print(
            f"[{time.strftime('%H:%M:%S')}] {message.brandname} -> {message.phone} "
            f"({message.segments} tin {message.encoding}): {message.message}",
            file=stream,
            flush=True,
        )

    simulation.serve(
        SmsSimulator(host, port, api_key=api_key, brandnames=brandnames, on_message=show),
        lambda sim: f"SMS simulator listening on {sim.url} (api_key '{api_key}', Ctrl-C to stop)",
        "SMS simulator stopped",
        stop_event=stop_event,
        out=stream,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m integrations.notify.sms_simulator [--host H] [--port P] [--api-key K] [--brandname B]``."""
    parser = simulation.cli_parser("motcua brandname-SMS gateway simulator", 8025)
    parser.add_argument("--api-key", default="sms-demo-key")
    parser.add_argument("--brandname", action="append", default=[])
    args = parser.parse_args(argv)
    serve(args.host, args.port, api_key=args.api_key, brandnames=args.brandname or ("UBND-DEMO",))


if __name__ == "__main__":
    main()
