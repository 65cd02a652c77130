"""The periodic work, one function for both run modes (the embedded worker thread, Celery beat)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from engine.context import EngineContext
from engine.event_months import keep_months
from engine.overdue import apologize_for_late_dossiers, escalate_overdue_tasks
from engine.reports import rollup
from engine.services import exchange, notices
from engine.timers import fire_due_timers
from integrations import ConnectorError

log = logging.getLogger(__name__)


def clock_sweep(ctx: EngineContext, *, now: datetime | None = None) -> dict[str, int]:
    """Fire due timers, escalate overdue steps, apologise ahead of missed appointments, fetch exchange
    packages, ask for SMS delivery reports, bring the report rollups up to date, keep the history's
    monthly partitions ahead of the clock (PostgreSQL). Each part runs on its
    own: one that fails is logged and tried again at the next sweep, the others still run."""
    now = now or datetime.now(UTC)
    result: dict[str, int] = {}
    _part(result, "timers", lambda: {"timers": len(fire_due_timers(ctx, now=now))})
    _part(result, "escalated", lambda: {"escalated": len(escalate_overdue_tasks(ctx, now=now))})
    _part(result, "apologies", lambda: {"apologies": len(apologize_for_late_dossiers(ctx, now=now))})
    _part(result, "exchange", lambda: {f"exchange_{k}": v for k, v in exchange.fetch_and_route(ctx).items()})
    if notices.SMS in ctx.connectors.available():  # polling never raises: a gateway down waits a sweep
        _part(result, "sms", lambda: {f"sms_{k}": v for k, v in notices.poll_sms_status(ctx, now=now).items()})
    _part(result, "reports", lambda: {"report_dossiers": rollup.refresh(ctx).dossiers})
    _part(result, "event_months", lambda: {"event_months": len(keep_months(ctx.db, now=now))})
    if any(result.values()):
        log.info("clock sweep: %s", result)
    return result


def _part(result: dict[str, int], name: str, run: Callable[[], dict[str, int]]) -> None:
    try:
        result.update(run())
    except ConnectorError as exc:  # an external system is down (the exchange axis): next sweep
        log.warning("clock sweep: %s failed: %s", name, exc)
        result[f"{name}_failed"] = 1
    except Exception:  # noqa: BLE001 - one broken part must not stop the sweep's other work
        log.exception("clock sweep: %s failed", name)
        result[f"{name}_failed"] = 1
