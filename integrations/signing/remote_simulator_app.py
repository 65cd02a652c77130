"""The official's phone for the remote-signing simulator: the page a leader opens to approve.

It stands in for the CA's mobile app (VNPT SmartCA, Viettel MySign, ...): the signer sees the
requests waiting for them, opens one, and approves it with their PIN or refuses it. Served by
the simulator's own Flask app under ``/app``; the rules (PIN check, lock-out, expiry) live in
:class:`~.remote_simulator.RemoteSigningSimulator`, this module only translates HTTP.

Provinces test against the simulator, so the page is built like a product page: Jinja2
autoescaping (descriptions come from the caller), a per-app CSRF token in every form, a CSP
without any script (the frame in :mod:`integrations.operator_pages`), and the list refreshes
itself with a meta refresh (no JavaScript).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, redirect, request, url_for

from ..operator_pages import OperatorPages
from .remote_simulator import MAX_WRONG_PINS, Transaction, WrongPin

if TYPE_CHECKING:
    from .remote_simulator import RemoteSigningSimulator

__all__ = ["PHONE", "is_phone_request", "phone_blueprint"]

#: The blueprint's name and where it is mounted.
PHONE = "phone"
PREFIX = "/app"
#: Seconds between two reloads of the list of requests.
REFRESH_SECONDS = 5
#: How many decided requests the list still shows.
RECENT = 10

_VN_TZ = dt.timezone(dt.timedelta(hours=7), "Asia/Ho_Chi_Minh")


def phone_blueprint(simulator: RemoteSigningSimulator) -> Blueprint:
    """The phone's pages for ``simulator``, mounted at ``/app``, with a CSRF token of their own."""
    pages = OperatorPages(PHONE, __name__, url_prefix=PREFIX, folder="remote_signing_app")
    bp, page, message = pages.blueprint, pages.page, pages.message

    @bp.errorhandler(404)
    def not_found(_error: Exception) -> tuple[str, int]:
        return message("Không tìm thấy", "Không có người ký hoặc yêu cầu ký này.", 404)

    @bp.get("/")
    def signers() -> Any:
        ids = simulator.signer_ids
        if len(ids) == 1:
            return redirect(url_for(".inbox", signer_id=ids[0]))
        people = [
            {
                "id": signer_id,
                "name": simulator.signer_name(signer_id),
                "pending": sum(
                    tx.status == "pending_approval" for tx in simulator.transactions_of(signer_id)
                ),
            }
            for signer_id in ids
        ]
        return page("signers.html", signers=people, refresh=REFRESH_SECONDS)

    @bp.get("/<signer_id>")
    def inbox(signer_id: str) -> Any:
        _known(simulator, signer_id)
        txs = simulator.transactions_of(signer_id)
        done = next((tx for tx in txs if tx.transaction_id == request.args.get("done")), None)
        return page(
            "inbox.html",
            signer_id=signer_id,
            signer_name=simulator.signer_name(signer_id),
            pending=[_view(simulator, tx) for tx in reversed(txs) if tx.status == "pending_approval"],
            decided=[_view(simulator, tx) for tx in txs if tx.status != "pending_approval"][:RECENT],
            done=_view(simulator, done) if done is not None else None,
            refresh=REFRESH_SECONDS,
        )

    @bp.get("/<signer_id>/transactions/<transaction_id>")
    def transaction(signer_id: str, transaction_id: str) -> Any:
        tx = _find(simulator, signer_id, transaction_id)
        return page("transaction.html", signer_id=signer_id, tx=_view(simulator, tx), error=None)

    def not_pending(signer_id: str, transaction_id: str) -> tuple[str, int]:
        tx = _find(simulator, signer_id, transaction_id)
        error = f"Giao dịch không còn chờ xác nhận: {tx.message.lower()}."
        return page("transaction.html", 409, signer_id=signer_id, tx=_view(simulator, tx), error=error)

    @bp.post("/<signer_id>/transactions/<transaction_id>/approve")
    def approve(signer_id: str, transaction_id: str) -> Any:
        _find(simulator, signer_id, transaction_id)
        try:
            simulator.approve_with_pin(transaction_id, request.form.get("pin", ""))
        except WrongPin as wrong:
            if wrong.attempts_left == 0:  # refused: the list says why
                return redirect(url_for(".inbox", signer_id=signer_id, done=transaction_id), 303)
            error = f"Mã PIN không đúng. Bạn còn {wrong.attempts_left} lần thử trước khi yêu cầu ký bị hủy."
            tx = _find(simulator, signer_id, transaction_id)
            return page("transaction.html", 422, signer_id=signer_id, tx=_view(simulator, tx), error=error)
        except ValueError:  # decided or expired meanwhile
            return not_pending(signer_id, transaction_id)
        return redirect(url_for(".inbox", signer_id=signer_id, done=transaction_id), 303)

    @bp.post("/<signer_id>/transactions/<transaction_id>/reject")
    def reject(signer_id: str, transaction_id: str) -> Any:
        _find(simulator, signer_id, transaction_id)
        try:
            simulator.reject(transaction_id)
        except ValueError:
            return not_pending(signer_id, transaction_id)
        return redirect(url_for(".inbox", signer_id=signer_id, done=transaction_id), 303)

    return bp


def is_phone_request(path: str) -> bool:
    """Whether ``path`` is the phone's (exempt from the service's API key and injected faults),
    unknown paths under the prefix included, so they get the page's 404 rather than a 401."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _known(simulator: RemoteSigningSimulator, signer_id: str) -> None:
    if signer_id not in simulator.signer_ids:
        abort(404)


def _find(simulator: RemoteSigningSimulator, signer_id: str, transaction_id: str) -> Transaction:
    """The signer's transaction (404 for another signer's: the phone shows only one's own)."""
    _known(simulator, signer_id)
    try:
        tx = simulator.transaction(transaction_id)
    except KeyError:
        abort(404)
    if tx.signer_id != signer_id:
        abort(404)
    return tx


def _view(simulator: RemoteSigningSimulator, tx: Transaction) -> dict[str, Any]:
    """What the page shows of a transaction: times in Vietnam's time, the hash shortened."""
    age = time.monotonic() - tx.created_at
    created = dt.datetime.now(_VN_TZ) - dt.timedelta(seconds=age)
    digest = tx.hash.hex().upper()
    return {
        "id": tx.transaction_id,
        "description": tx.description,
        "created": created.strftime("%H:%M:%S %d/%m/%Y"),
        "hash_short": f"{digest[:8]}…{digest[-8:]}",
        "hash": digest,
        "time_left": _duration(simulator.transaction_ttl - age),
        "status": tx.status,
        "message": tx.message,
        "wrong_pins": tx.wrong_pins,
        "max_wrong_pins": MAX_WRONG_PINS,
    }


def _duration(seconds: float) -> str:
    """``4 phút 05 giây`` (at most the hours an unusually long expiry needs)."""
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes:02d} phút"
    if minutes:
        return f"{minutes} phút {secs:02d} giây"
    return f"{secs} giây"
