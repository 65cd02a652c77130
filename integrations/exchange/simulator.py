"""A loopback national document axis (VXP transport + edXML checks) for tests, drills and setup.

What it reproduces (CONNECTORS.md, "Document axis"): a mailbox per ``systemId`` (agencies
register with a secret key); ``sendEdoc`` checks the package (prefix, schema-like rules,
From = caller, registered receivers) and answers ``OK`` + ``DocId`` or ``FAIL`` + a
Vietnamese ``ErrorDesc``; items stay listed by ``getReceivedEdocList`` until acknowledged
``done`` (or ``fail``) with ``updateStatus``; status packages 01-06 go back to the
document's sender, a recall request 13 goes to its receivers and only then may they answer
15 (agree) or 16 (refuse).

What a real axis cannot give on demand: idempotency keys honoured on every call (a repeat
returns the first answer and has no second effect, even when that answer was delayed past
the client's timeout), fault injection (:meth:`ExchangeSimulator.fail_next`,
:meth:`~ExchangeSimulator.delay_next`, :meth:`~ExchangeSimulator.reject_next`), a way to
drop any bytes, malformed or not, into a mailbox (:meth:`~ExchangeSimulator.inject`), and
inspection of mailboxes and document histories. Run alone with :func:`serve`.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from flask import Flask, Response, request

from .. import simulation
from ..simulation import LoopbackServer
from .desk_app import desk_blueprint
from .edxml import parse_package, parse_status
from .model import VN_TZ, Limits, PackageInvalid
from .peer_desk import PeerDesk
from .records import AxisRefused, DocumentRecord, MailItem

__all__ = ["AxisRefused", "DocumentRecord", "ExchangeSimulator", "MailItem", "main", "serve"]

log = logging.getLogger(__name__)
_TIME = "%d/%m/%Y %H:%M:%S"


@dataclass
class _Agency:
    code: str
    secret: str
    name: str
    pcode: str = ""
    mail: str = ""


class ExchangeSimulator(PeerDesk, LoopbackServer):
    """The axis as a Flask app on loopback; ``start()``/``stop()`` or a context manager.

    It also plays the other agencies (:class:`~.peer_desk.PeerDesk`): ``/desk/<OrganId>`` pages,
    :meth:`reply`, :meth:`send_status` and :meth:`auto_reply`.
    """

    name = "vdxp-simulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        agencies: Mapping[str, str] | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(host, port)
        self.limits = limits or Limits()
        self._lock = threading.RLock()
        self._agencies: dict[str, _Agency] = {}
        self._mail: list[MailItem] = []
        self._documents: dict[str, DocumentRecord] = {}
        self._replies: dict[tuple[str, str, str], tuple[int, bytes]] = {}
        self._faults: list[tuple[str, Any]] = []
        self._delays: list[float] = []
        self.requests: list[tuple[str, str]] = []  # (operation, systemId) of every call, for tests
        self._init_desk()
        for code, secret in (agencies or {}).items():
            self.register_agency(code, secret)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        super().start()
        self._resume_auto_replies()
        log.info("exchange simulator listening on %s (peer agency desk: %s/desk/)", self.url, self.url)
        return self

    def stop(self) -> None:
        self._pause_auto_replies()
        super().stop()

    # -- set-up, faults, inspection ---------------------------------------------------------

    def register_agency(
        self, code: str, secret_key: str, name: str = "", *, pcode: str = "", mail: str = ""
    ) -> None:
        """Give an agency (OrganId) a mailbox and the secret key it authenticates with."""
        with self._lock:
            self._agencies[code] = _Agency(code, secret_key, name or code, pcode, mail)

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """Answer the next ``n`` calls with HTTP ``status`` and no effect."""
        with self._lock:
            self._faults.extend([("http", status)] * n)

    def reject_next(
        self, n: int = 1, error_desc: str = "Hệ thống trục liên thông từ chối gói tin (giả lập)"
    ) -> None:
        """Answer the next ``n`` calls with ``FAIL`` + ``error_desc`` and no effect."""
        with self._lock:
            self._faults.extend([("fail", error_desc)] * n)

    def delay_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """Process the next ``n`` calls normally but hold their answers back ``seconds``."""
        with self._lock:
            self._delays.extend([float(seconds)] * n)

    def inject(
        self, to: str, data: bytes, *, sender: str = "000.00.00.G22", messagetype: str = "edoc"
    ) -> str:
        """Drop raw bytes into ``to``'s mailbox, unchecked (a malformed package from elsewhere)."""
        doc_id = str(uuid.uuid4())
        with self._lock:
            self._mail.append(MailItem(doc_id, sender, to, messagetype, bytes(data), datetime.now(VN_TZ)))
        return doc_id

    def mailbox(self, code: str, *, messagetype: str | None = None) -> list[MailItem]:
        """Every item addressed to ``code``, acknowledged or not, oldest first (a snapshot)."""
        with self._lock:
            return [
                MailItem(**vars(m))
                for m in self._mail
                if m.receiver == code and messagetype in (None, m.messagetype)
            ]

    def document(self, document_id: str) -> DocumentRecord | None:
        with self._lock:
            return self._documents.get(document_id)

    def remember_document(self, record: DocumentRecord) -> DocumentRecord:
        """Know a document that reached a mailbox another way (:meth:`inject`), so statuses about
        it route; the axis's own record wins when there is one."""
        with self._lock:
            return self._documents.setdefault(record.document_id, record)

    def agencies(self) -> dict[str, str]:
        """OrganId -> name of every agency with a mailbox."""
        with self._lock:
            return {code: agency.name for code, agency in self._agencies.items()}

    def acknowledge(self, code: str, doc_id: Any, state: Any, error_desc: str = "") -> None:
        """What ``updateStatus`` does: mark ``code``'s item ``done``, ``fail`` or ``processing``."""
        if state not in ("done", "fail", "processing"):
            raise AxisRefused("status phải là done, fail hoặc processing")
        with self._lock:
            item = self._item(code, doc_id)
            item.state = state
            item.error_desc = error_desc

    def clear(self) -> None:
        """Forget mail, documents, remembered answers and pending faults; keep the agencies."""
        with self._lock:
            self._mail.clear()
            self._documents.clear()
            self._replies.clear()
            self._faults.clear()
            self._delays.clear()
            self.requests.clear()
            self._forget_desk()

    # -- HTTP side ------------------------------------------------------------------------

    def create_app(self) -> Flask:
        app = Flask(__name__)
        app.config["MAX_CONTENT_LENGTH"] = (
            self.limits.max_package_bytes + 64 * 1024
        )  # larger bodies: HTTP 413
        ops = {
            "sendEdoc": self._send_edoc,
            "getReceivedEdocList": self._list,
            "getEdoc": self._get,
            "updateStatus": self._update,
            "getAgenciesList": self._agencies_list,
        }
        app.register_blueprint(desk_blueprint(self))

        @app.post("/<op>")
        def dispatch(op: str) -> Response:
            handler = ops.get(op)
            if handler is None:
                return _json({"status": "FAIL", "ErrorDesc": f"Không có dịch vụ '{op}'"}, 404)
            return self._handle(op, handler)

        return app

    def _handle(self, op: str, handler: Any) -> Response:
        system_id = request.headers.get("systemId", "")
        with self._lock:
            self.requests.append((op, system_id))
            fault = self._faults.pop(0) if self._faults else None
            delay = self._delays.pop(0) if self._delays else 0.0
        if fault and fault[0] == "http":
            return _json({"status": "FAIL", "ErrorDesc": "Lỗi hệ thống trục liên thông (giả lập)"}, fault[1])
        agency = self._agencies.get(system_id)
        if agency is None or request.headers.get("secretKey", "") != agency.secret:
            return _json(
                {"status": "FAIL", "ErrorDesc": "Sai mã hệ thống (systemId) hoặc khóa bí mật (secretKey)"},
                401,
            )
        if fault:
            return _json({"status": "FAIL", "ErrorDesc": fault[1]})
        replay_key = (system_id, op, request.headers.get("Idempotency-Key", ""))
        with self._lock:
            stored = self._replies.get(replay_key) if replay_key[2] else None
            if stored is None:
                try:
                    answer = {"status": "OK", "ErrorDesc": "", **handler(system_id)}
                except AxisRefused as exc:
                    answer = {"status": "FAIL", "ErrorDesc": str(exc)}
                stored = (200, json.dumps(answer, ensure_ascii=False).encode("utf-8"))
                if replay_key[2]:
                    self._replies[replay_key] = stored
        if delay:
            time.sleep(delay)  # the effect already happened: only the answer is late
        return Response(stored[1], stored[0], mimetype="application/json")

    def _send_edoc(self, system_id: str) -> dict[str, Any]:
        if request.headers.get("from") != system_id:
            raise AxisRefused(f"Mã đơn vị gửi (from) phải là systemId {system_id}")
        if request.headers.get("servicetype") != "eDoc":
            raise AxisRefused("servicetype phải là 'eDoc'")
        messagetype = request.headers.get("messagetype") or ""
        to = [t.strip() for t in request.headers.get("to", "").split(",") if t.strip()]
        return {"DocId": self.deliver(system_id, messagetype, request.get_data(), to)}

    def deliver(self, system_id: str, messagetype: str, data: bytes, to: Sequence[str] = ()) -> str:
        """Check and route ``data`` as if ``system_id`` had called ``sendEdoc``; the new ``DocId``.

        The one routing path of the axis: the HTTP API and the peer desk both go through it.
        :class:`AxisRefused` (with the ``ErrorDesc``) when the axis would answer ``FAIL``.
        """
        to = list(to)
        with self._lock:
            try:
                if messagetype == "edoc":
                    targets, record = self._route_edoc(system_id, data, to)
                elif messagetype == "status":
                    targets, record = self._route_status(system_id, data, to), None
                else:
                    raise AxisRefused("messagetype phải là 'edoc' hoặc 'status'")
            except PackageInvalid as exc:
                raise AxisRefused("Gói tin edXML không hợp lệ: " + "; ".join(exc.problems)) from None
            unknown = [t for t in targets if t not in self._agencies]
            if unknown:
                raise AxisRefused(f"Đơn vị nhận {', '.join(unknown)} chưa đăng ký trên trục liên thông")
            doc_id = str(uuid.uuid4())
            now = datetime.now(VN_TZ)
            for target in targets:
                self._mail.append(MailItem(doc_id, system_id, target, messagetype, bytes(data), now))
            if record is not None:
                record.doc_id = doc_id
                self._documents[record.document_id] = record
            return doc_id

    def _route_edoc(self, system_id: str, data: bytes, to: list[str]) -> tuple[list[str], DocumentRecord]:
        envelope, _ = parse_package(data, limits=self.limits)
        if envelope.sender.organ_id != system_id:
            raise AxisRefused(
                f"Cơ quan gửi trong gói tin ({envelope.sender.organ_id}) khác systemId {system_id}"
            )
        receivers = [r.organ_id for r in envelope.receivers]
        if to and set(to) != set(receivers):
            raise AxisRefused("Danh sách nơi nhận (to) không khớp với các phần tử To của gói tin")
        return receivers, DocumentRecord(envelope.document_id, system_id, receivers, "")

    def _route_status(self, system_id: str, data: bytes, to: list[str]) -> list[str]:
        """Status 01-06 and 15/16 go to the document's sender, a recall request 13 to its receivers."""
        message = parse_status(data, limits=self.limits)
        if message.sender.organ_id != system_id:
            raise AxisRefused(f"Cơ quan gửi trạng thái ({message.sender.organ_id}) khác systemId {system_id}")
        document_id = message.response_for.document_id
        doc = self._documents.get(document_id)
        if doc is None:
            raise AxisRefused(f"Không tìm thấy văn bản {document_id} trên trục liên thông")
        code = message.status_code
        if code == "13":
            if system_id != doc.sender:
                raise AxisRefused("Chỉ cơ quan đã gửi văn bản mới được yêu cầu thu hồi")
            allowed = doc.receivers
        else:
            if system_id not in doc.receivers:
                raise AxisRefused(f"Đơn vị {system_id} không phải nơi nhận văn bản {document_id}")
            if code in ("15", "16") and doc.recall != "requested":
                raise AxisRefused(f"Văn bản {document_id} không có yêu cầu thu hồi đang chờ trả lời")
            allowed = [doc.sender]
        if any(t not in allowed for t in to):
            raise AxisRefused(f"Nơi nhận gói tin trạng thái phải là: {', '.join(allowed)}")
        doc.statuses.append((system_id, code))
        doc.recall = {"13": "requested", "15": "accepted", "16": "refused"}.get(code, doc.recall)
        return to or list(allowed)

    def _body(self) -> dict[str, Any]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise AxisRefused("Nội dung yêu cầu phải là JSON")
        return body

    def _list(self, system_id: str) -> dict[str, Any]:
        body = self._body()
        start, end = _when(body, "fromDate"), _when(body, "toDate")
        data = [
            {"DocId": m.doc_id, "from": m.sender, "messagetype": m.messagetype, "created_time": f"{m.created_time:{_TIME}}"}
            for m in self._mail
            if m.receiver == system_id and m.messagetype == body.get("messagetype", "edoc")
            and m.state in ("pending", "processing") and start <= m.created_time <= end
        ]  # fmt: skip
        return {"data": data}

    def _item(self, system_id: str, doc_id: Any) -> MailItem:
        for item in self._mail:
            if item.doc_id == doc_id and item.receiver == system_id:
                return item
        raise AxisRefused(f"Không tìm thấy văn bản có DocId {doc_id} trong hộp thư của {system_id}")

    def _get(self, system_id: str) -> dict[str, Any]:
        item = self._item(system_id, self._body().get("docId"))
        return {"DocId": item.doc_id, "data": base64.b64encode(item.data).decode("ascii")}

    def _update(self, system_id: str) -> dict[str, Any]:
        body = self._body()
        self.acknowledge(system_id, body.get("docId"), body.get("status"), str(body.get("ErrorDesc") or ""))
        return {"DocId": body.get("docId")}

    def _agencies_list(self, system_id: str) -> dict[str, Any]:
        return {
            "data": [
                {"code": a.code, "pcode": a.pcode, "name": a.name, "mail": a.mail}
                for a in self._agencies.values()
            ]
        }


def _when(body: dict[str, Any], key: str) -> datetime:
    """A ``dd/MM/yyyy HH:mm:ss`` bound of the listing; open-ended when absent."""
    if not body.get(key):
        return datetime.min.replace(tzinfo=VN_TZ) if key == "fromDate" else datetime.max.replace(tzinfo=VN_TZ)
    try:
        return datetime.strptime(str(body[key]), _TIME).replace(tzinfo=VN_TZ)
    except ValueError:
        raise AxisRefused(f"{key} phải có dạng dd/MM/yyyy HH:mm:ss") from None


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/json")


def serve(
    host: str = "127.0.0.1",
    port: int = 8090,
    *,
    agencies: Mapping[str, str] | None = None,
    auto_replies: Mapping[str, float] | None = None,
    stop_event: threading.Event | None = None,
) -> None:
    """Run a simulator until interrupted or ``stop_event`` is set (for provinces' dry runs);
    ``auto_replies`` (OrganId -> seconds) turns on those agencies' auto-responders."""
    simulator = ExchangeSimulator(host, port, agencies=agencies)
    for code, seconds in (auto_replies or {}).items():
        simulator.auto_reply(code, seconds)
    simulation.serve(
        simulator,
        lambda sim: (
            f"Exchange (VXP/edXML) simulator listening on {sim.url}, "
            f"peer agency desk at {sim.url}/desk/ (Ctrl-C to stop)"
        ),
        "Exchange simulator stopped",
        stop_event=stop_event,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m integrations.exchange.simulator [--host H] [--port P] --agency ORGANID:SECRET ...
    [--auto-reply ORGANID:SECONDS ...]``."""
    parser = simulation.cli_parser("motcua national document axis simulator (VXP/edXML)", 8090)
    parser.add_argument("--agency", action="append", default=[], metavar="ORGANID:SECRET")
    parser.add_argument(
        "--auto-reply", action="append", default=[], metavar="ORGANID:SECONDS",
        help="answer every document the agency receives with a fixed reply after SECONDS",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if any(":" not in a for a in args.agency):
        parser.error("--agency expects ORGANID:SECRET")
    auto_replies: dict[str, float] = {}
    for value in args.auto_reply:
        code, _, seconds = value.partition(":")
        try:
            auto_replies[code] = float(seconds)
        except ValueError:
            parser.error("--auto-reply expects ORGANID:SECONDS")
    agencies = dict(a.split(":", 1) for a in args.agency)
    if set(auto_replies) - set(agencies):
        parser.error("--auto-reply: ORGANID must be an agency given with --agency")
    serve(args.host, args.port, agencies=agencies, auto_replies=auto_replies)


if __name__ == "__main__":
    main()
