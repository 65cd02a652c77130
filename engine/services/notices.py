"""Whether the citizen's notices (e-mail, SMS) reached them: the delivery status on the outbox row and
in the dossier's history, so an official can see "đã đến máy người nhận" instead of guessing.

E-mail ends at the relay: its 250 answer ("accepted") is all SMTP ever tells, so that status is final.
SMS has a second act: the gateway accepts, the operator delivers later. The clock sweep asks the
gateway for the delivery report of recent messages until it is final (`poll_sms_status`).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine import history
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict
from engine.models import Dossier, OutboxMessage
from engine.services.accounts import SYSTEM

log = logging.getLogger(__name__)

SMS = "sms"
#: The SMS connector's `status` answers delivered, pending or failed; the first and last are final.
SMS_FINAL = frozenset({"delivered", "failed"})
#: Still waiting for the operator: says nothing new over the gateway's "accepted".
SMS_WAITING = "pending"

CHANNEL_LABELS = {"email": "thư điện tử", "sms": "SMS"}
LABELS = {
    ("email", "accepted"): "Máy chủ thư đã nhận",
    ("email", "refused"): "Máy chủ thư từ chối",
    ("sms", "accepted"): "Đã gửi tới nhà mạng",
    ("sms", "pending"): "Đã gửi tới nhà mạng",
    ("sms", "delivered"): "Đã đến máy người nhận",
    ("sms", "failed"): "Không gửi được tới máy người nhận",
}
#: engine/notifications/templates kinds, as an official names them
NOTICE_NAMES = {"tiep-nhan": "Tiếp nhận hồ sơ", "yeu-cau-bo-sung": "Yêu cầu bổ sung", "tu-choi": "Từ chối",
                "co-ket-qua": "Có kết quả", "xin-loi": "Xin lỗi, hẹn lại"}


def label(channel: str, status: str) -> str:
    return LABELS.get((channel, status), f"Trạng thái «{status}»")


def mask(channel: str, address: str) -> str:
    """The recipient as the history shows it: `c***@example.vn`, `091****678` (personal data minimised)."""
    if channel == "email":
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}" if local else "***"
    digits = re.sub(r"\D", "", address)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 6) + digits[-3:]


def record_sent(session: Session, message: OutboxMessage, result: dict[str, Any], now: datetime) -> None:
    """Outbox follow-up (`on_done: record_notice`) of an e-mail or SMS notice the relay/gateway took."""
    if message.connector == "email":
        status = "accepted" if result.get("accepted") else "refused"
    else:
        status = str(result.get("status") or "accepted").lower()[:20]
    message.delivery_status = status
    message.delivery_checked_at = now
    _record(session, message, "notice", now)


def _record(session: Session, message: OutboxMessage, kind: str, now: datetime, **extra: Any) -> None:
    if message.dossier_id is None:
        return
    dossier = session.get(Dossier, message.dossier_id)
    channel, status = message.connector, message.delivery_status or ""
    template = (message.context or {}).get("template")
    data = {"outbox": message.id, "channel": channel, "channel_label": CHANNEL_LABELS.get(channel, channel),
            "template": template, "notice": NOTICE_NAMES.get(template, template or "thông báo"),
            "to": mask(channel, str(message.payload.get("to") or "")), "delivery_status": status,
            "label": label(channel, status), **extra}
    history.record(session, dossier, kind, actor=SYSTEM, status=dossier.status, data=data, at=now)


def poll_sms_status(ctx: EngineContext, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Ask the gateway for the delivery report of recent SMS notices not final yet; record changes.

    Never raises a connector error: a gateway that is down ends this round (asked again at the next
    sweep, the status unchanged); a refusal about one message is asked again after the interval.
    """
    from integrations import ConnectorError, ConnectorUnavailable

    now = now or datetime.now(UTC)
    counts = {"checked": 0, "changed": 0}
    if SMS not in ctx.connectors.available():
        return counts
    connector = ctx.connectors.get(SMS)
    for row_id, key, result in _due(ctx, now, limit):
        message_id = (result or {}).get("message_id")
        if not message_id:
            _apply(ctx, row_id, None, now)  # nothing to ask about; do not pick it again at once
            continue
        try:
            report = connector.call("status", {"message_id": message_id},
                                    idempotency_key=f"{key}:status:{now:%Y%m%dT%H%M%S}")
        except ConnectorUnavailable as exc:
            log.warning("SMS delivery reports unavailable, next sweep asks again: %s", exc)
            break
        except ConnectorError as exc:
            log.warning("SMS delivery report of outbox %s refused: %s", row_id, exc)
            _apply(ctx, row_id, None, now)
            continue
        counts["checked"] += 1
        try:
            counts["changed"] += _apply(ctx, row_id, str(report.get("state") or ""), now)
        except Conflict as exc:  # the dossier moved meanwhile: the report is asked again next sweep
            log.info("SMS delivery report of outbox %s not recorded: %s", row_id, exc)
    return counts


def _due(ctx: EngineContext, now: datetime, limit: int) -> list[tuple[int, str, dict[str, Any] | None]]:
    settings = ctx.settings
    since = now - timedelta(hours=settings.sms_status_window_hours)
    checked_before = now - timedelta(seconds=settings.sms_status_interval_seconds)
    row = OutboxMessage
    query = (select(row.id, row.idempotency_key, row.result)
             .where(row.connector == SMS, row.operation == "send", row.state == "done",
                    row.delivery_status.is_not(None), row.delivery_status.not_in(SMS_FINAL),
                    row.created_at >= since,
                    or_(row.delivery_checked_at.is_(None), row.delivery_checked_at <= checked_before))
             .order_by(func.coalesce(row.delivery_checked_at, row.created_at)).limit(limit))
    with ctx.sessions() as session:
        return [tuple(r) for r in session.execute(query)]


def _apply(ctx: EngineContext, row_id: int, state: str | None, now: datetime) -> bool:
    """Store a report (None: only that the gateway was asked); True when the status changed."""
    with transaction(ctx.sessions) as session:
        row = session.get(OutboxMessage, row_id)
        row.delivery_checked_at = now
        previous = row.delivery_status
        if not state or state == SMS_WAITING or state == previous or previous in SMS_FINAL:
            return False
        row.delivery_status = state[:20]
        _record(session, row, "notice_status", now, previous=previous)
        return True
