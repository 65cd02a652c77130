"""The dossier's append-only history (phiếu kiểm soát), hash-chained per dossier.

Each event's hash covers the previous hash and the event's content, so any later edit or deletion
breaks the chain at that point. Where the action came from (engine/origin.py) is stored with the
event and hashed with it. The dossier row holds the chain head, which its optimistic lock
already serializes: no extra query per event. Events are written in one batched INSERT right after
the ORM flush, i.e. after the dossier's versioned UPDATE: a concurrent writer fails on the version
check before it could write a duplicate link.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import event as sa_event
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from engine.models import Dossier, Event
from engine.origin import current_origin


def event_digest(prev_hash: str, dossier_id: int, seq: int, kind: str, at: datetime, actor_id: int | None,
                 status: str | None, data: dict[str, Any], origin: str | None = None) -> str:
    """The event's link. The origin is hashed only when known, so the events written before it was
    recorded keep the digests they were written with."""
    fields = [prev_hash, dossier_id, seq, kind, at.astimezone(UTC).isoformat(), actor_id, status, data]
    if origin is not None:
        fields.append(origin)
    return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()


_PENDING = "motcua_pending_events"


def install(sessions: sessionmaker) -> None:
    """Write recorded events after every flush of sessions made by `sessions`."""
    sa_event.listen(sessions, "after_flush", _write_pending)


def _write_pending(session: Session, _flush_context: Any) -> None:
    rows = take_pending(session)
    if rows:
        session.connection().execute(insert(Event), rows)


def pending(session: Session) -> list[dict[str, Any]]:
    """The event rows recorded in `session` and not written yet (column name -> value)."""
    return session.info.get(_PENDING, [])


def take_pending(session: Session) -> list[dict[str, Any]]:
    """The event rows recorded and not written yet, which the caller now writes itself."""
    return session.info.pop(_PENDING, [])


def record(session: Session, dossier: Dossier, kind: str, *, actor: Any = None, status: str | None = None,
           data: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    at = at or datetime.now(UTC)
    data = data or {}
    seq = dossier.event_seq + 1
    actor_id = getattr(actor, "id", None)
    origin = current_origin()
    digest = event_digest(dossier.event_hash, dossier.id, seq, kind, at, actor_id, status, data, origin)
    session.info.setdefault(_PENDING, []).append(
        {"dossier_id": dossier.id, "seq": seq, "kind": kind, "at": at, "actor_id": actor_id,
         "actor_name": getattr(actor, "full_name", None), "status": status, "data": data,
         "prev_hash": dossier.event_hash, "hash": digest, "origin": origin})
    dossier.event_seq = seq
    dossier.event_hash = digest


def verify_chain(session: Session, dossier_id: int) -> int | None:
    """Return the seq of the first broken link of a dossier's history, or None if intact."""
    prev = ""
    for event in session.scalars(select(Event).where(Event.dossier_id == dossier_id).order_by(Event.seq)):
        expected = event_digest(prev, event.dossier_id, event.seq, event.kind, event.at, event.actor_id,
                                event.status, event.data, event.origin)
        if event.prev_hash != prev or event.hash != expected:
            return event.seq
        prev = event.hash
    return None
