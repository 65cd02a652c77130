"""Online fee payment: the workflow asks the national payment platform for a payment (a service
task `dvcqg_payment/init_payment`), the citizen pays on the platform's page, and the platform's
signed confirm callback completes the dossier's payment task (an applicant task with the
property `paymentTask="true"`). Callbacks are verified (MaXacThuc) and replays refused."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.context import EngineContext
from engine.db import transaction
from engine.models import Dossier, OutboxMessage, Payment

log = logging.getLogger(__name__)


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
        if result.accepted and payment is not None:
            _settle(ctx, session, payment, result)
        elif result.accepted:
            log.warning("payment confirm for unknown reference %s", result.reference)
    return confirm_reply(result, partner_code=partner, secret=secret)


def _settle(ctx: EngineContext, session: Session, payment: Payment, result: Any) -> None:
    from engine.services.accounts import SYSTEM
    from engine.services.instances import complete_marked_task

    now = datetime.now(UTC)
    payment.state = "paid" if result.paid else "failed"
    payment.transaction_id = result.transaction_id
    payment.paid_at = now if result.paid else None
    dossier = session.get(Dossier, payment.dossier_id)
    history.record(session, dossier, "payment", actor=SYSTEM, status=dossier.status, at=now,
                   data={"reference": payment.reference, "amount": payment.amount, "state": payment.state})
    if result.paid:  # a failed payment leaves the task open: the citizen may try again
        complete_marked_task(ctx, session, dossier, "paymentTask",
                             {"da_thanh_toan": True, "ma_giao_dich": result.transaction_id,
                              "so_tien_da_nop": payment.amount})


def payment_of(ctx: EngineContext, dossier_code: str) -> Payment | None:
    with ctx.sessions() as session:
        return session.scalar(select(Payment).join(Dossier, Dossier.id == Payment.dossier_id)
                              .where(Dossier.code == dossier_code).order_by(Payment.id.desc()))


__all__ = ["confirm", "payment_of", "record_started"]
