"""A loopback DVCQG Payment Platform for tests, drills and provinces checking their settings.

It checks ``MaXacThuc`` on every message it receives and signs what it sends, keeps one
transaction per ``MaThamChieu`` (a repeated ``INIT`` gets the first answer and creates
nothing), serves a payer page, and -- once the "citizen" pays (:meth:`PaymentSimulator.pay`)
-- POSTs the signed confirm to the callback URL the test or province configured, for real,
over HTTP. The awkward cases a real platform produces are on demand: a confirm sent twice
(:meth:`~PaymentSimulator.resend_confirm`), a confirm that never arrives (``deliver=False``,
then ``QUERY`` tells: 1 paid, 3 pending, 4 failed), and ``GET_BILL`` answering a small PDF.

Run it stand-alone with ``python -m integrations.portal.payment_simulator``.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import httpx
from flask import Flask, Response, jsonify, request

from .. import simulation
from ._http import HttpSimulator, new_client
from .hoso import VN_TZ
from .payment import ascii_fold
from .payment_signing import CONFIRM_FIELDS, INIT_FIELDS, QUERY_FIELDS, REPLY_FIELDS, sign_message

__all__ = ["CallbackDelivery", "PaymentSimulator", "main", "receipt_pdf", "serve"]

#: TrangThaiGD by transaction state.
_TRANGTHAI = {"paid": "1", "pending": "3", "failed": "4"}


@dataclass(frozen=True)
class CallbackDelivery:
    """One confirm POSTed to the callback URL and what came back."""

    body: dict[str, Any]
    status: int | None
    reply: dict[str, Any] | None
    reply_valid: bool
    error: str = ""


@dataclass
class _Transaction:
    reference: str
    amount: int
    info: str
    init: dict[str, Any]
    state: str = "pending"
    transaction_id: str = ""
    paid_at: str = ""
    confirm: dict[str, Any] = field(default_factory=dict)


class PaymentSimulator(HttpSimulator):
    """The platform on loopback; point ``init_url``/``query_url``/``bill_url`` of a connector here."""

    name = "dvcqg-payment-simulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        partner_code: str = "H99",
        secret: str = "bi-mat",
        access_token: str | None = None,
        callback_url: str | None = None,
        bank_code: str = "VCB",
        failure_code: str = "99",
    ) -> None:
        self.partner_code, self.secret, self.access_token = partner_code, secret, access_token
        self.callback_url = callback_url
        self.bank_code, self.failure_code = bank_code, failure_code
        self._state = threading.RLock()
        self._transactions: dict[str, _Transaction] = {}
        self._callbacks: list[CallbackDelivery] = []
        self._duplicate_inits = 0
        super().__init__(host, port)

    def _add_routes(self, app: Flask) -> None:
        app.add_url_rule("/api/pg/init", "init", self._init_view, methods=["POST"])
        app.add_url_rule("/api/pg/query", "query", self._query_view, methods=["POST"])
        app.add_url_rule("/api/pg/bill", "bill", self._bill_view, methods=["POST"])
        app.add_url_rule("/pay/<reference>", "payer_page", self._payer_page, methods=["GET"])
        app.add_url_rule("/pay/<reference>", "payer_submit", self._payer_submit, methods=["POST"])

    @property
    def init_url(self) -> str:
        return f"{self.url}/api/pg/init"

    @property
    def query_url(self) -> str:
        return f"{self.url}/api/pg/query"

    @property
    def bill_url(self) -> str:
        return f"{self.url}/api/pg/bill"

    # -- inspection and the citizen's side ---------------------------------------------------

    @property
    def transactions(self) -> dict[str, dict[str, Any]]:
        """Transactions by ``MaThamChieu``: amount, state, transaction id, INIT received."""
        with self._state:
            return {
                ref: {"amount": t.amount, "state": t.state, "transaction_id": t.transaction_id,
                      "paid_at": t.paid_at, "info": t.info, "init": dict(t.init)}
                for ref, t in self._transactions.items()
            }  # fmt: skip

    @property
    def callbacks(self) -> list[CallbackDelivery]:
        """Confirms POSTed to the callback URL, oldest first."""
        with self._state:
            return list(self._callbacks)

    @property
    def duplicate_inits(self) -> int:
        """How many INITs repeated an existing ``MaThamChieu`` (answered, nothing created)."""
        return self._duplicate_inits

    def pay(self, reference: str, outcome: str = "paid", *, deliver: bool = True) -> CallbackDelivery | None:
        """Act as the citizen on the payer page: submit ``outcome`` ("paid" or "failed").

        Goes through the simulator's own HTTP page; with ``deliver`` the platform then POSTs
        the confirm to :attr:`callback_url` and the delivery is returned; without it the
        confirm is "lost" (only ``QUERY`` can tell the outcome).
        """
        if outcome not in ("paid", "failed"):
            raise ValueError("outcome must be 'paid' or 'failed'")
        before = len(self.callbacks)
        with new_client(15, verify_tls=False) as http:
            response = http.post(
                f"{self.url}/pay/{reference}", data={"outcome": outcome, "deliver": "1" if deliver else "0"}
            )
        if response.status_code != 200:
            raise RuntimeError(f"payer page answered {response.status_code}: {response.text[:200]}")
        callbacks = self.callbacks
        return callbacks[-1] if deliver and len(callbacks) > before else None

    def confirm_for(self, reference: str) -> dict[str, Any]:
        """The signed confirm of a finished transaction (delivered or not), e.g. to forge from it."""
        with self._state:
            confirm = dict(self._transactions[reference].confirm)
        if not confirm:
            raise RuntimeError(f"transaction {reference} has no confirm yet")
        return confirm

    def resend_confirm(self, reference: str) -> CallbackDelivery:
        """Send the very same confirm again, as the platform does when it missed our answer."""
        return self._deliver(self.confirm_for(reference))

    def clear(self) -> None:
        with self._state:
            self._transactions.clear()
            self._callbacks.clear()
            self._duplicate_inits = 0

    # -- platform side ---------------------------------------------------------------------

    def _authorized(self) -> bool:
        return not self.access_token or request.headers.get("Authorization") == f"Bearer {self.access_token}"

    def _message(self, kind: str, names: tuple[str, ...]) -> tuple[dict[str, Any] | None, str, str]:
        """The request's message if well formed and authentic; else (None, code, reason)."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or body.get("LoaiBanTin") != kind:
            return None, "3", f"Bản tin không hợp lệ (cần LoaiBanTin {kind})"
        missing = [n for n in names if n not in body]
        if missing or not re.fullmatch(r"\d{14}", str(body.get("ThoiGianGD"))):
            return None, "3", f"Bản tin thiếu hoặc sai trường: {', '.join(missing) or 'ThoiGianGD'}"
        if body.get("MaDoiTac") != self.partner_code:
            return None, "4", "Sai mã đối tác (MaDoiTac)"
        if body.get("MaXacThuc") != sign_message(body, names, self.secret):
            return None, "1", "Sai mã xác thực (MaXacThuc)"
        return body, "0", ""

    def _init_view(self) -> Response | tuple[Response, int]:
        if not self._authorized():
            return jsonify({"error_code": "401", "message": "Chưa xác thực (Authorization)"}), 401
        body, code, reason = self._message("INIT", INIT_FIELDS)
        if body is None:
            return jsonify({"error_code": code, "message": reason})
        reference, amount = str(body["MaThamChieu"]), str(body["SoTien"])
        if not amount.isdigit() or int(amount) <= 0 or not reference.isalnum():
            return jsonify({"error_code": "3", "message": "Số tiền hoặc mã tham chiếu không hợp lệ"})
        with self._state:
            existing = self._transactions.get(reference)
            if existing is not None and existing.amount != int(amount):
                return jsonify(
                    {"error_code": "2", "message": "Mã tham chiếu đã được dùng cho giao dịch khác"}
                )
            if existing is not None:
                self._duplicate_inits += 1
            else:
                self._transactions[reference] = _Transaction(
                    reference, int(amount), body["ThongTinGiaoDich"], body
                )
        inner = {"UrlThanhToan": f"{self.url}/pay/{reference}", "MaThamChieu": reference}
        return jsonify({"error_code": "0", "message": json.dumps(inner, ensure_ascii=False)})

    def _signed(self, answer: dict[str, Any]) -> Response:
        answer["MaXacThuc"] = sign_message(answer, CONFIRM_FIELDS, self.secret)
        return jsonify(answer)

    def _lookup(self, kind: str) -> tuple[_Transaction | None, Response | tuple[Response, int] | None]:
        if not self._authorized():
            return None, (jsonify({"MaLoi": "401", "MoTaLoi": "Chưa xác thực (Authorization)"}), 401)
        body, code, reason = self._message(kind, QUERY_FIELDS)
        reference = str((request.get_json(silent=True) or {}).get("MaThamChieu", ""))
        base = {"LoaiBanTin": kind, "MaDoiTac": self.partner_code, "MaThamChieu": reference}
        if body is None:
            return None, self._signed(
                {**base, "MaLoi": {"1": "02", "4": "03"}.get(code, "99"), "MoTaLoi": reason}
            )
        with self._state:
            transaction = self._transactions.get(reference)
        if transaction is None:
            return None, self._signed({**base, "MaLoi": "01", "MoTaLoi": "Không tìm thấy giao dịch"})
        return transaction, None

    def _query_view(self) -> Response | tuple[Response, int]:
        transaction, refusal = self._lookup("QUERY")
        if transaction is None:
            return refusal  # type: ignore[return-value]
        return self._signed({
            "LoaiBanTin": "QUERY", "MaLoi": "00", "MoTaLoi": "Thành công", "MaDoiTac": self.partner_code,
            "MaThamChieu": transaction.reference, "SoTien": transaction.amount, "MaTienTe": "VND",
            "MaGiaoDich": transaction.transaction_id, "MaNganHang": self.bank_code if transaction.paid_at else "",
            "ThoiGianGD": transaction.paid_at, "ThongTinGiaoDich": transaction.info,
            "TrangThaiGD": _TRANGTHAI[transaction.state],
        })  # fmt: skip

    def _bill_view(self) -> Response | tuple[Response, int]:
        transaction, refusal = self._lookup("GET_BILL")
        if transaction is None:
            return refusal  # type: ignore[return-value]
        if transaction.state != "paid":
            return jsonify(
                {"MaLoi": "04", "MoTaLoi": "Giao dịch chưa thanh toán thành công, chưa có biên lai"}
            )
        lines = [
            "BIEN LAI THU PHI, LE PHI (mo phong)", f"Ma tham chieu: {transaction.reference}",
            f"Ma giao dich: {transaction.transaction_id}", f"So tien: {transaction.amount} VND",
            f"Noi dung: {transaction.info}", f"Thoi gian: {transaction.paid_at}",
        ]  # fmt: skip
        return Response(receipt_pdf(lines), mimetype="application/pdf")

    def _payer_page(self, reference: str) -> Response | tuple[str, int]:
        with self._state:
            transaction = self._transactions.get(reference)
        if transaction is None:
            return "<h1>Không tìm thấy giao dịch</h1>", 404
        ref = html.escape(reference)
        page = (
            f"<!doctype html><html lang='vi'><meta charset='utf-8'><title>Thanh toán {ref}</title>"
            f"<h1>Thanh toán phí, lệ phí</h1><p>Mã tham chiếu: {ref}</p>"
            f"<p>Số tiền: {transaction.amount:,} VND</p><p>Nội dung: {html.escape(transaction.info)}</p>"
            f"<p>Trạng thái: {transaction.state}</p><form method='post'>"
            "<button name='outcome' value='paid'>Thanh toán</button> "
            "<button name='outcome' value='failed'>Hủy giao dịch</button></form></html>"
        )
        return Response(page, mimetype="text/html")

    def _payer_submit(self, reference: str) -> Response | tuple[str, int]:
        outcome = request.form.get("outcome")
        deliver = request.form.get("deliver", "1") != "0"
        with self._state:
            transaction = self._transactions.get(reference)
            if transaction is None:
                return "<h1>Không tìm thấy giao dịch</h1>", 404
            if outcome not in ("paid", "failed") or transaction.state != "pending":
                return "<h1>Giao dịch đã kết thúc hoặc lựa chọn không hợp lệ</h1>", 409
            transaction.state = outcome
            transaction.transaction_id = (
                f"PP{len([t for t in self._transactions.values() if t.transaction_id]) + 1}"
            )
            transaction.paid_at = datetime.now(VN_TZ).strftime("%Y%m%d%H%M%S")
            transaction.confirm = self._confirm_body(transaction)
            confirm = dict(transaction.confirm)
        if deliver:
            self._deliver(confirm)
        title = "Giao dịch thành công" if outcome == "paid" else "Giao dịch không thành công"
        return Response(f"<!doctype html><html lang='vi'><meta charset='utf-8'><h1>{title}</h1></html>",
                        mimetype="text/html")  # fmt: skip

    def _confirm_body(self, transaction: _Transaction) -> dict[str, Any]:
        body: dict[str, Any] = {
            "LoaiBanTin": "CONFIRM", "MaLoi": "00" if transaction.state == "paid" else self.failure_code,
            "MaDoiTac": self.partner_code, "MaThamChieu": transaction.reference, "SoTien": transaction.amount,
            "MaTienTe": "VND", "MaGiaoDich": transaction.transaction_id, "MaNganHang": self.bank_code,
            "ThoiGianGD": transaction.paid_at, "ThongTinGiaoDich": transaction.info,
        }  # fmt: skip
        body["MaXacThuc"] = sign_message(body, CONFIRM_FIELDS, self.secret)
        return body

    def _deliver(self, confirm: dict[str, Any]) -> CallbackDelivery:
        """POST the confirm to the callback URL (for real) and check the signed reply."""
        if not self.callback_url:
            delivery = CallbackDelivery(confirm, None, None, False, "no callback_url configured")
        else:
            try:
                with new_client(5, verify_tls=False) as http:
                    response = http.post(self.callback_url, json=confirm)
                reply = response.json() if response.content else None
            except (httpx.HTTPError, ValueError) as exc:
                delivery = CallbackDelivery(confirm, None, None, False, repr(exc))
            else:
                valid = isinstance(reply, dict) and reply.get("MaXacThuc") == sign_message(
                    reply, REPLY_FIELDS, self.secret
                )
                delivery = CallbackDelivery(confirm, response.status_code, reply, valid)
        with self._state:
            self._callbacks.append(delivery)
        return delivery


def receipt_pdf(lines: list[str]) -> bytes:
    """A one-page PDF (Helvetica, ASCII text) written by hand: no PDF library needed for a receipt stub."""
    text = " ".join(f"({_pdf_string(line)}) Tj T*" for line in lines)
    stream = f"BT /F1 12 Tf 16 TL 50 790 Td {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_string(text: str) -> str:
    return ascii_fold(text).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def serve(
    host: str = "127.0.0.1",
    port: int = 8086,
    *,
    stop_event: threading.Event | None = None,
    out: TextIO | None = None,
    **options: Any,
) -> None:
    """Run a payment simulator until Ctrl-C or ``stop_event``; ``options`` go to :class:`PaymentSimulator`."""
    simulation.serve(
        PaymentSimulator(host, port, **options),
        lambda sim: (
            f"Nền tảng thanh toán mô phỏng: init_url={sim.init_url} query_url={sim.query_url} "
            f"bill_url={sim.bill_url} partner_code={sim.partner_code} secret={sim.secret} "
            f"callback_url={sim.callback_url or '-'} (Ctrl-C để dừng)"
        ),
        "Nền tảng thanh toán mô phỏng đã dừng",
        stop_event=stop_event,
        out=out,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m integrations.portal.payment_simulator [--port P] [--callback-url URL] ...``."""
    parser = simulation.cli_parser("motcua: DVCQG Payment Platform simulator (loopback)", 8086)
    parser.add_argument("--partner-code", default="H99")
    parser.add_argument("--secret", default="bi-mat")
    parser.add_argument("--access-token", default=None)
    parser.add_argument("--callback-url", default=None)
    args = parser.parse_args(argv)
    serve(args.host, args.port, partner_code=args.partner_code, secret=args.secret,
          access_token=args.access_token, callback_url=args.callback_url)  # fmt: skip


if __name__ == "__main__":
    main()
