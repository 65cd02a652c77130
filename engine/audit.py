"""Verify the audit trail: every dossier's hash-chained history (engine/history.py), in batches.

`history.verify_chain` checks one dossier with one query; this walks all of them a batch of
dossiers at a time (one query per batch, events in (dossier, seq) order through the unique index)
and also checks the chain's head stored on the dossier row, so that cutting events off the end of
a history is caught too, not only editing or removing one in the middle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from engine.context import EngineContext
from engine.history import event_digest
from engine.models import Dossier, Event


@dataclass(frozen=True)
class BrokenLink:
    dossier_id: int
    code: str
    #: the first event whose link does not hold (for a cut-off end: one past the last event kept)
    seq: int
    #: "hash" (content changed), "link" (previous hash or sequence broken), "head" (end cut off)
    reason: str


@dataclass
class AuditResult:
    dossiers: int = 0
    events: int = 0
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.broken


def verify_all(ctx: EngineContext, *, batch: int = 2000,
               progress: Callable[[int], None] | None = None) -> AuditResult:
    """Check every dossier's chain; report the first broken link of each broken one."""
    result = AuditResult()
    after = 0
    with ctx.sessions() as session:
        while True:
            heads = session.execute(select(Dossier.id, Dossier.code, Dossier.event_seq, Dossier.event_hash)
                                    .where(Dossier.id > after).order_by(Dossier.id).limit(batch)).all()
            if not heads:
                return result
            events = session.execute(
                select(Event.dossier_id, Event.seq, Event.kind, Event.at, Event.actor_id, Event.status, Event.data,
                       Event.origin, Event.prev_hash, Event.hash)
                .where(Event.dossier_id.between(heads[0].id, heads[-1].id))
                .order_by(Event.dossier_id, Event.seq))
            by_dossier: dict[int, list[Any]] = {}
            for event in events:
                by_dossier.setdefault(event.dossier_id, []).append(event)
            for head in heads:
                chain = by_dossier.get(head.id, [])
                result.events += len(chain)
                broken = check_chain(head, chain)
                if broken is not None:
                    result.broken.append(broken)
            result.dossiers += len(heads)
            after = heads[-1].id
            if progress is not None:
                progress(result.dossiers)


def check_chain(head: Any, events: Iterable[Any]) -> BrokenLink | None:
    """The first broken link of one dossier's history (`head`: its id, code, event_seq, event_hash)."""
    prev, seq = "", 0
    for event in events:
        seq += 1
        if event.seq != seq or event.prev_hash != prev:
            return BrokenLink(head.id, head.code, min(event.seq, seq), "link")
        expected = event_digest(prev, event.dossier_id, event.seq, event.kind, event.at, event.actor_id,
                                event.status, event.data, event.origin)
        if event.hash != expected:
            return BrokenLink(head.id, head.code, event.seq, "hash")
        prev = event.hash
    if (head.event_seq, head.event_hash) != (seq, prev):
        return BrokenLink(head.id, head.code, seq + 1, "head")
    return None


def count_dossiers(ctx: EngineContext) -> int:
    with ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Dossier)) or 0)
