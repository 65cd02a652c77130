"""The periodic work, one function for both run modes (the embedded worker thread, Celery beat)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from engine.context import EngineContext
from engine.overdue import apologize_for_late_dossiers, escalate_overdue_tasks
from engine.services import exchange, notices
from engine.timers import fire_due_timers
from integrations import ConnectorError

log = logging.getLogger(__name__)


def clock_sweep(ctx: EngineContext, *, now: datetime | None = None) -> dict[str, int]:
    """Fire due timers, escalate overdue steps, apologise ahead of missed appointments, fetch exchange
    packages, ask for SMS delivery reports."""
    now = now or datetime.now(UTC)
    result = {"timers": len(fire_due_timers(ctx, now=now)),
              "escalated": len(escalate_overdue_tasks(ctx, now=now)),
              "apologies": len(apologize_for_late_dossiers(ctx, now=now))}
    try:
        result.update({f"exchange_{k}": v for k, v in exchange.fetch_and_route(ctx).items()})
    except ConnectorError as exc:  # the axis is down: try again at the next sweep
        log.warning("document exchange fetch failed: %s", exc)
    if notices.SMS in ctx.connectors.available():  # polling never raises: a gateway down waits a sweep
        result.update({f"sms_{k}": v for k, v in notices.poll_sms_status(ctx, now=now).items()})
    if any(result.values()):
        log.info("clock sweep: %s", result)
    return result
