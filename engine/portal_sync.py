"""Keeping the national public-service portal (Cổng DVCQG) in step: every status change of a dossier
queues the full dossier record and one progress entry, delivered in order per dossier by the
outbox (the portal's progress list is a history). `reconcile` compares what the portal holds with
ours and re-sends the difference."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.db import transaction
from engine.models import Dossier, OutboxMessage
from engine.statuses import PORTAL_STATUS, label

log = logging.getLogger(__name__)
CONNECTOR = "dvcqg"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def snapshot(ctx: EngineContext, session: Session, dossier: Dossier, meta: dict[str, Any]) -> dict[str, Any]:
    """The dossier as the portal connector's `sync_dossier` payload (integrations/portal/README.md).
    The agency's name comes from the context's cache (no query mid-completion, no early flush)."""
    record: dict[str, Any] = {
        "code": dossier.code, "procedure_code": meta.get("portal_code") or meta.get("code"),
        "procedure_name": meta["name"], "channel": dossier.channel,
        "applicant": {"name": dossier.applicant_name, "kind": dossier.applicant_kind,
                      "id_number": dossier.applicant_id_number, "phone": dossier.applicant_phone,
                      "email": dossier.applicant_email},
        "submitted_at": _iso(dossier.submitted_at), "status": PORTAL_STATUS[dossier.status],
        "agency_name": ctx.agency_name(session, dossier.agency_code) or dossier.agency_code,
    }
    record["applicant"] = {k: v for k, v in record["applicant"].items() if v is not None}
    optional = {"received_at": dossier.received_at, "due_at": dossier.due_at, "finished_at": dossier.finished_at,
                "returned_at": dossier.finished_at if dossier.status == "returned" else None,
                "refused_at": dossier.finished_at if dossier.status == "refused" else None}
    record.update({key: _iso(value) for key, value in optional.items() if value is not None})
    if "received_at" not in record:
        record["received_at"] = record["submitted_at"]
    if meta.get("field"):
        record["field_name"] = meta["field"]
    return record


def _row(dossier: Dossier, operation: str, payload: dict[str, Any], key: str, now: datetime) -> OutboxMessage:
    wall = datetime.now(UTC)
    return OutboxMessage(dossier_id=dossier.id, task_id=None, connector=CONNECTOR, operation=operation,
                         payload=payload, idempotency_key=key, waits=False, state="pending", attempts=0,
                         next_attempt_at=min(now, wall), created_at=wall)


def status_rows(ctx: EngineContext, session: Session, dossier: Dossier, meta: dict[str, Any], status: str,
                actor: Any, now: datetime, available: set[str]) -> list[OutboxMessage]:
    """The dossier record and the progress entry for one status change (nothing if the portal
    connector is off, or the procedure has no national code to report under)."""
    if CONNECTOR not in available or not (meta.get("portal_code") or meta.get("code")):
        return []
    progress = {"code": dossier.code, "at": now.isoformat(), "note": label(status), "status": PORTAL_STATUS[status],
                "actor": getattr(actor, "full_name", None) or "Hệ thống",
                "department": dossier.agency_code}
    if dossier.due_at:
        progress["due_at"] = dossier.due_at.isoformat()
    key = f"{dossier.code}:portal:{dossier.event_seq}:{status}"
    return [_row(dossier, "sync_dossier", snapshot(ctx, session, dossier, meta), f"{key}:dossier", now),
            _row(dossier, "sync_progress", progress, f"{key}:progress", now)]


def reconcile(ctx: EngineContext, *, limit: int = 500) -> dict[str, int]:
    """Ask the portal for each recent dossier and re-send those it lacks or holds with another status."""
    connector = ctx.connectors.get(CONNECTOR)
    with ctx.sessions() as session:
        dossiers = list(session.scalars(select(Dossier).order_by(Dossier.id.desc()).limit(limit)))
    counts = {"checked": 0, "missing": 0, "different": 0}
    for dossier in dossiers:
        counts["checked"] += 1
        answer = connector.call("lookup_dossier", {"code": dossier.code},
                                idempotency_key=f"{dossier.code}:reconcile:{datetime.now(UTC).timestamp()}")
        remote = answer.get("dossier") if answer.get("found") else None
        if remote is not None and int(remote.get("status") or 0) == PORTAL_STATUS[dossier.status]:
            continue
        counts["missing" if remote is None else "different"] += 1
        with transaction(ctx.sessions) as session:
            row = session.get(Dossier, dossier.id)
            meta = ctx.versions.get(session, row.procedure_version_id).meta
            now = datetime.now(UTC)
            session.add(_row(row, "sync_dossier", snapshot(ctx, session, row, meta),
                             f"{row.code}:portal:reconcile:{now.timestamp()}", now))
    log.info("portal reconciliation: %s", counts)
    return counts
