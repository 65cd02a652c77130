"""One dossier's audit trail for an admin: its hash-chained history (checked as it is read) and who
read its personal data, both newest first. It shows none of the applicant's data itself, so reading
it is not an access to be logged."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import func, select

from engine.audit import check_chain
from engine.context import EngineContext
from engine.errors import DossierNotFound, Forbidden, InvalidInput
from engine.models import AccessLog, Dossier, Event
from engine.services.accounts import Actor
from engine.statuses import label

PAGE_SIZE = 50
#: a summary is a glance at the event's data, not the data itself
SUMMARY_LENGTH = 160

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    pages: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    kind: str
    at: datetime
    actor_name: str | None
    status: str | None
    status_label: str | None
    origin: str | None
    summary: str
    data: dict[str, Any]
    #: this event is where the chain breaks
    broken: bool = False


@dataclass(frozen=True)
class AccessEntry:
    at: datetime
    actor_name: str | None
    actor_role: str | None
    what: str
    origin: str | None


@dataclass(frozen=True)
class DossierAudit:
    code: str
    status_label: str
    events: Page[AuditEvent]
    accesses: Page[AccessEntry]
    #: the first broken link, None while the chain holds
    broken_seq: int | None
    #: "hash" (content changed), "link" (an event removed or reordered), "head" (the end cut off)
    broken_reason: str | None

    @property
    def chain_intact(self) -> bool:
        return self.broken_seq is None


def summarize(data: dict[str, Any]) -> str:
    """"key: value" pairs of the event's data on one short line."""
    parts = []
    for key, value in sorted(data.items()):
        text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
        parts.append(f"{key}: {text}")
    line = "; ".join(parts)
    return line if len(line) <= SUMMARY_LENGTH else line[:SUMMARY_LENGTH - 1] + "…"


def _pages(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


def _check_page(page: int, name: str) -> None:
    if page < 1:
        raise InvalidInput({name: ["Số trang phải từ 1 trở lên."]})


def dossier_audit(ctx: EngineContext, actor: Actor, code: str, *, event_page: int = 1, access_page: int = 1,
                  page_size: int = PAGE_SIZE) -> DossierAudit:
    """The dossier's events (the whole chain is checked, one page is returned) and its access log."""
    if actor.role != "admin":
        raise Forbidden("admins only")
    _check_page(event_page, "event_page")
    _check_page(access_page, "access_page")
    with ctx.sessions() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        if dossier is None:
            raise DossierNotFound(code)
        chain = list(session.scalars(select(Event).where(Event.dossier_id == dossier.id).order_by(Event.seq)))
        broken = check_chain(dossier, chain)
        newest = chain[::-1][(event_page - 1) * page_size:event_page * page_size]
        events = [AuditEvent(e.seq, e.kind, e.at, e.actor_name, e.status, label(e.status) if e.status else None,
                             e.origin, summarize(e.data or {}), dict(e.data or {}),
                             broken is not None and e.seq == broken.seq)
                  for e in newest]
        total = session.scalar(select(func.count()).select_from(AccessLog).where(AccessLog.dossier_id == dossier.id))
        rows = session.scalars(select(AccessLog).where(AccessLog.dossier_id == dossier.id)
                               .order_by(AccessLog.at.desc(), AccessLog.id.desc())
                               .offset((access_page - 1) * page_size).limit(page_size))
        accesses = [AccessEntry(r.at, r.actor_name, r.actor_role, r.what, r.origin) for r in rows]
        return DossierAudit(
            code=dossier.code, status_label=label(dossier.status),
            events=Page(events, event_page, _pages(len(chain), page_size), len(chain)),
            accesses=Page(accesses, access_page, _pages(total or 0, page_size), total or 0),
            broken_seq=broken.seq if broken else None, broken_reason=broken.reason if broken else None)
