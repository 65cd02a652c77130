"""Online fee payment: the workflow asks the national payment platform for a payment (a service
task `dvcqg_payment/init_payment`), the citizen pays on the platform's page, and the platform's
signed confirm callback completes the dossier's payment task (an applicant task with the
property `paymentTask="true"`). Callbacks are verified (MaXacThuc) and replays refused.

A payment that failed, or that the citizen left unpaid, can be tried again ("Thanh toán lại") while
the task still waits: a new attempt with its own MaThamChieu, the old one kept as `superseded`.
Attempts: pending | paid | failed | superseded (replaced by a newer attempt, or the fee was paid by
another one; a late confirm for it is still honoured, so money paid is never lost)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import history
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, DossierNotFound, InvalidInput
from engine.models import Dossier, OutboxMessage, Payment
from engine.services.accounts import Actor

log = logging.getLogger(__name__)

#: The service task operation that opens a payment on the platform.
INIT = ("dvcqg_payment", "init_payment")
#: Attempts a citizen may replace with a new one: failed, or left unpaid (the platform's page may
#: have expired; a late confirm of the old one is still honoured).
RETRYABLE = ("pending", "failed")


def record_started(session: Session, message: OutboxMessage, result: dict[str, Any], now: datetime) -> None:
    """Keep the platform's reference so its callback finds the dossier."""
    session.add(Payment(dossier_id=message.dossier_id, reference=result["reference"],
                        amount=int(result.get("amount") or message.payload.get("amount") or 0),
                        redirect_url=result["redirect_url"], state="pending", created_at=now))


def _config(ctx: EngineContext) -> dict[str, Any]:
    return dict(ctx.settings.connectors.get("dvcqg_payment") or {})


def confirm(ctx: EngineContext, body: dict[str, Any]) -> dict[str, str]:
    """Handle the platform's confirm callback; return the signed reply it expects."""
    from integrations.portal import confirm_reply, verify_confirm_callback

    config = _config(ctx)
    secret, partner = config.get("secret", ""), config.get("partner_code", "")
    with transaction(ctx.sessions) as session:
        def seen(reference: str) -> bool:
            return session.scalar(select(Payment.state).where(Payment.reference == reference)) in ("paid", "failed")

        result = verify_confirm_callback(body, secret, seen, partner_code=partner or None)
        payment = session.scalar(select(Payment).where(Payment.reference == result.reference)) \
            if result.reference else None
        failed = None
        if result.accepted and payment is not None:
            failed = _settle(ctx, session, payment, result)
        elif result.accepted:
            log.warning("payment confirm for unknown reference %s", result.reference)
    if failed is not None:  # the money is recorded; the step it completes waits for an admin's retry
        from engine.incidents import record_instance_error

        record_instance_error(ctx, *failed)
    return confirm_reply(result, partner_code=partner, secret=secret)


def _settle(ctx: EngineContext, session: Session, payment: Payment, result: Any) -> tuple[int, Exception] | None:
    """Record the platform's answer; a paid fee completes the waiting payment step. Returns the
    instance id and the error when the workflow failed on it (the payment is kept all the same)."""
    from engine.services.accounts import SYSTEM
    from engine.services.instances import complete_marked_or_hold

    now = datetime.now(UTC)
    payment.state = "paid" if result.paid else "failed"
    payment.transaction_id = result.transaction_id
    payment.paid_at = now if result.paid else None
    dossier = session.get(Dossier, payment.dossier_id)
    data = {"reference": payment.reference, "amount": payment.amount, "state": payment.state}
    if result.paid:
        others = list(session.scalars(select(Payment).where(Payment.dossier_id == dossier.id,
                                                            Payment.id != payment.id)))
        if any(other.state == "paid" for other in others):
            # An attempt the citizen replaced was paid as well: the desk refunds one of them.
            log.warning("dossier %s: payment %s paid after another attempt was paid", dossier.code,
                        payment.reference)
            data["duplicate"] = True
        for other in others:  # the fee is paid: no other attempt is offered any more
            if other.state == "pending":
                other.state = "superseded"
    history.record(session, dossier, "payment", actor=SYSTEM, status=dossier.status, at=now, data=data)
    if not result.paid:  # a failed payment leaves the task open: the citizen may try again
        return None
    return complete_marked_or_hold(ctx, session, dossier, "paymentTask",
                                   {"da_thanh_toan": True, "ma_giao_dich": result.transaction_id,
                                    "so_tien_da_nop": payment.amount})


def payment_of(ctx: EngineContext, dossier_code: str) -> Payment | None:
    with ctx.sessions() as session:
        return session.scalar(select(Payment).join(Dossier, Dossier.id == Payment.dossier_id)
                              .where(Dossier.code == dossier_code).order_by(Payment.id.desc()))


@dataclass(frozen=True)
class Attempt:
    """One payment attempt on the platform (one MaThamChieu)."""

    reference: str
    amount: int
    redirect_url: str
    state: str
    transaction_id: str | None
    created_at: datetime
    paid_at: datetime | None


@dataclass(frozen=True)
class FeePayment:
    """Where a dossier's online fee stands, as its applicant's pages show it."""

    #: the dossier's attempts, oldest first
    attempts: tuple[Attempt, ...]
    #: the agency still waits for this fee (the dossier asks for payment and nothing is paid)
    due: bool
    #: a new attempt is being opened on the platform (or its INIT awaits an admin's retry as an
    #: incident): no page to send the citizen to yet
    starting: bool

    @property
    def current(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def paid(self) -> Attempt | None:
        return next((a for a in self.attempts if a.state == "paid"), None)

    @property
    def payable(self) -> Attempt | None:
        """The attempt whose platform page the citizen should go to now."""
        current = self.current
        return current if self.due and not self.starting and current and current.state == "pending" else None

    @property
    def retryable(self) -> Attempt | None:
        """The attempt a "Thanh toán lại" would replace, when trying again is allowed."""
        current = self.current
        return current if self.due and not self.starting and current and current.state in RETRYABLE else None


@dataclass(frozen=True)
class PaymentRetry:
    """What a "Thanh toán lại" did: `started` is False when an earlier click already started it."""

    started: bool
    fee: FeePayment


def fee_payment(ctx: EngineContext, actor: Actor, dossier_code: str) -> FeePayment | None:
    """The online fee of a dossier `actor` may read (None: it never asked the platform for one)."""
    from engine.services.dossiers import can_read

    with ctx.sessions() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == dossier_code))
        if dossier is None or not can_read(actor, dossier):
            raise DossierNotFound(dossier_code)
        return _fee(session, dossier)


def retry_offers(ctx: EngineContext, actor: Actor) -> dict[str, str]:
    """The citizen's own dossiers whose last payment attempt failed: code -> the attempt's
    reference (what "Thanh toán lại" replaces). Unpaid pending attempts keep their own link."""
    if actor.role != "citizen":
        return {}
    with ctx.sessions() as session:
        waiting = session.scalars(select(Dossier).where(Dossier.owner_id == actor.id,
                                                        Dossier.status == "payment_requested"))
        offers = {}
        for dossier in waiting:
            fee = _fee(session, dossier)
            if fee is not None and fee.retryable is not None and fee.retryable.state == "failed":
                offers[dossier.code] = fee.retryable.reference
        return offers


def retry_payment(ctx: EngineContext, actor: Actor, dossier_code: str, replaces: str) -> PaymentRetry:
    """Open a new payment attempt for a dossier whose attempt `replaces` failed or was left unpaid.

    Only the applicant, only while the payment task waits. `replaces` names the attempt the
    citizen saw: a second click (or a stale page) finds it already replaced and starts nothing,
    and the new attempt's key is derived from it, so even two clicks racing make one attempt."""
    from integrations import ConnectorError

    with ctx.sessions() as session:
        _own_dossier(session, actor, dossier_code)  # first: a stranger learns not even the platform's state
    try:
        ctx.connectors.operation("/".join(INIT))
    except (ConnectorError, LookupError) as exc:
        raise Conflict(f"payment platform unavailable: {exc}",
                       message_vi="Nền tảng thanh toán hiện không sẵn sàng. Vui lòng thử lại sau.") from exc
    try:
        with transaction(ctx.sessions) as session:
            dossier = _own_dossier(session, actor, dossier_code)
            row = _start_retry(ctx, session, dossier, actor, replaces)
            fee = _fee(session, dossier)
    except (Conflict, IntegrityError):  # a concurrent click won the race: report what it did
        with ctx.sessions() as session:
            dossier = _own_dossier(session, actor, dossier_code)
            fee = _fee(session, dossier)
            if fee is None or not _replaced(session, dossier, replaces):
                raise
            return PaymentRetry(False, fee)
    if row is None:
        return PaymentRetry(False, fee)
    ctx.notify_outbox([row])
    return PaymentRetry(True, fee)


def _own_dossier(session: Session, actor: Actor, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or actor.role != "citizen" or dossier.owner_id != actor.id:
        raise DossierNotFound(code)  # same answer as a missing dossier: a code alone reveals nothing
    return dossier


def _retry_key(dossier: Dossier, replaces: str) -> str:
    return f"{dossier.code}:thanh-toan-lai:{replaces}"


def _replaced(session: Session, dossier: Dossier, replaces: str) -> bool:
    key = _retry_key(dossier, replaces)
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None


def _start_retry(ctx: EngineContext, session: Session, dossier: Dossier, actor: Actor,
                 replaces: str) -> OutboxMessage | None:
    """Queue the new INIT and mark the replaced attempt; None when this attempt was already replaced."""
    if _replaced(session, dossier, replaces):
        return None
    step = _step(session, dossier)
    fee = _fee(session, dossier, step)
    if fee is None or not fee.due or not _payment_task_open(ctx, session, dossier):
        raise Conflict(f"dossier {dossier.code} does not wait for a payment",
                       message_vi="Hồ sơ không còn chờ nộp phí, lệ phí trực tuyến.")
    if fee.starting:
        return None  # a new attempt is already being opened
    old = session.scalar(select(Payment).where(Payment.dossier_id == dossier.id, Payment.reference == replaces))
    if old is None or fee.current is None or old.reference != fee.current.reference:
        raise InvalidInput({"thay_cho": ["Giao dịch cần thanh toán lại không phải giao dịch mới nhất của hồ sơ; "
                                         "vui lòng tải lại trang."]})
    if old.state not in RETRYABLE:
        raise Conflict(f"payment {replaces} is {old.state}",
                       message_vi="Giao dịch này không thể thanh toán lại; vui lòng tải lại trang.")
    now = datetime.now(UTC)
    row = OutboxMessage(dossier_id=dossier.id, task_id=None, connector=INIT[0], operation=INIT[1],
                        payload=dict(step.payload), idempotency_key=_retry_key(dossier, replaces), waits=False,
                        state="pending", attempts=0, next_attempt_at=now, created_at=now,
                        context={"on_done": "record_payment", "replaces": replaces})
    session.add(row)
    previous = old.state
    if old.state == "pending":
        old.state = "superseded"
    history.record(session, dossier, "payment_retry", actor=actor, status=dossier.status, at=now,
                   data={"replaces": replaces, "state": previous, "amount": old.amount})
    session.flush()
    return row


def _payment_task_open(ctx: EngineContext, session: Session, dossier: Dossier) -> bool:
    """The workflow itself says whether the payment task waits (the status alone could be stale)."""
    from engine.services.instances import load_runner

    _instance, runner = load_runner(ctx, session, dossier)
    return any(task.properties.get("paymentTask") == "true" for task in runner.open_human_tasks())


def _step(session: Session, dossier: Dossier) -> OutboxMessage | None:
    """The service task call that opened the current payment step (the workflow waits on it)."""
    return session.scalar(select(OutboxMessage).where(
        OutboxMessage.dossier_id == dossier.id, OutboxMessage.connector == INIT[0],
        OutboxMessage.operation == INIT[1], OutboxMessage.waits.is_(True)).order_by(OutboxMessage.id.desc()))


def _fee(session: Session, dossier: Dossier, step: OutboxMessage | None = None) -> FeePayment | None:
    """The dossier's attempts (one online fee per dossier, as every procedure asks today) and whether
    a new one is on its way: queued, in flight, or an incident an admin is to retry."""
    step = step or _step(session, dossier)
    if step is None:
        return None
    rows = session.scalars(select(Payment).where(Payment.dossier_id == dossier.id).order_by(Payment.id))
    attempts = tuple(Attempt(p.reference, p.amount, p.redirect_url, p.state, p.transaction_id, p.created_at,
                             p.paid_at) for p in rows)
    starting = session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.dossier_id == dossier.id, OutboxMessage.connector == INIT[0],
        OutboxMessage.operation == INIT[1], OutboxMessage.id > step.id,
        OutboxMessage.state.in_(("pending", "running", "incident")))) is not None
    due = dossier.status == "payment_requested" and not any(a.state == "paid" for a in attempts)
    return FeePayment(attempts, due=due, starting=starting)


__all__ = ["Attempt", "FeePayment", "PaymentRetry", "confirm", "fee_payment", "payment_of", "record_started",
           "retry_offers", "retry_payment"]
