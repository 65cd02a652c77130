"""Erase one dossier's personal data in the caller's transaction, keeping what statistics and the
audit trail need (engine/retention.py decides which dossiers and when).

Erased: the applicant's name, ID number, phone and e-mail on the dossier row; every value of the
workflow's data except the engine's own facts (`dossier`, `peers`) and yes/no flags, in the
workflow and in each of its tasks (data and recorded changes); the connector calls' payloads and
text results; the names of files and their verification codes (the files themselves are deleted
from the store after the commit, by the caller); the subjects of exchanged documents; the
applicant's rating comment; the applicant's name on the history events they caused (the name is
not hashed, so the chain holds).

Kept: codes, procedure, agency, channel, statuses, times, timeliness, milestones, task rows, rating
scores, payments, attachment kinds and sizes, event rows (hash-chained), the access log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import history
from engine.models import (
    Attachment,
    Dossier,
    Event,
    ExchangeMessage,
    OutboxMessage,
    Rating,
    WorkflowInstance,
)
from engine.privacy import ERASED, mask_text

#: The event each erasure records in the dossier's history.
ERASED_EVENT = "personal_data_erased"
#: Workflow data the engine put there itself and that names no person (start_data in
#: engine/services/dossiers.py): the dossier's code, procedure, agency, channel; the peer agencies.
KEPT_DATA_KEYS = frozenset({"dossier", "peers"})
#: Connector-call context keys that only steer the engine's follow-up.
KEPT_CONTEXT_KEYS = ("on_done", "template")
_MARK = {"personal_data_erased": True}


@dataclass
class Erased:
    """What one erasure changed, for the history event and the command's counts."""

    attachments: int = 0
    outbox: int = 0
    exchange: int = 0
    events: int = 0
    #: digests of the files the caller deletes from the store once the transaction committed
    files: set[str] = field(default_factory=set)


def scrub_data(data: Any) -> Any:
    """Workflow data without personal values: engine facts and yes/no flags stay, the rest goes."""
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items()
            if key in KEPT_DATA_KEYS or value is None or isinstance(value, bool)}


def scrub_state(raw: bytes) -> bytes:
    """A serialized instance (engine/runtime/state.py) with its data scrubbed everywhere: the
    workflow's, each task's, each task's recorded change (`delta`), and those of subprocesses."""
    state = orjson.loads(raw)
    _scrub_workflow(state)
    for sub in (state.get("subprocesses") or {}).values():
        _scrub_workflow(sub)
    return orjson.dumps(state)


def _scrub_workflow(workflow: dict[str, Any]) -> None:
    workflow["data"] = scrub_data(workflow.get("data"))
    if "correlations" in workflow:
        workflow["correlations"] = {}
    if "bpmn_events" in workflow:
        workflow["bpmn_events"] = []
    for task in (workflow.get("tasks") or {}).values():
        task["data"] = scrub_data(task.get("data"))
        task["internal_data"] = scrub_data(task.get("internal_data"))
        delta = task.get("delta")
        if isinstance(delta, dict):
            delta["updates"] = scrub_data(delta.get("updates"))


def _numbers_only(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A connector result reduced to its numbers and flags (ids, sizes, amounts, accepted...)."""
    if value is None:
        return None
    kept = {key: item for key, item in value.items()
            if item is None or isinstance(item, bool | int | float)}
    return {**kept, **_MARK}


def erase_dossier(session: Session, dossier: Dossier, *, actor: Any, now: datetime,
                  retention_years: int) -> Erased:
    """Erase `dossier`'s personal data and record it in its history; the caller commits.

    On PostgreSQL the caller's transaction must allow updating event rows (`motcua.purge`), since
    the applicant's name is cleared from the events they caused."""
    done = Erased()
    _erase_row(dossier)
    _erase_instance(session, dossier.id)
    _erase_attachments(session, dossier.id, done)
    _erase_calls(session, dossier.id, done)
    _erase_exchange(session, dossier.id, done)
    session.execute(update(Rating).where(Rating.dossier_id == dossier.id, Rating.comment.is_not(None))
                    .values(comment=None))
    if dossier.owner_id is not None:
        result = session.execute(update(Event).where(
            Event.dossier_id == dossier.id, Event.actor_id == dossier.owner_id, Event.actor_name.is_not(None),
            Event.actor_name != ERASED).values(actor_name=ERASED))
        done.events = result.rowcount or 0
    history.record(session, dossier, ERASED_EVENT, actor=actor, status=dossier.status, at=now, data={
        "retention_years": retention_years, "attachments": done.attachments, "calls": done.outbox,
        "exchange": done.exchange, "events": done.events})
    return done


def _erase_row(dossier: Dossier) -> None:
    dossier.applicant_name = ERASED
    dossier.applicant_name_folded = None
    dossier.applicant_id_number = None
    dossier.applicant_phone = None
    dossier.applicant_email = None


def _erase_instance(session: Session, dossier_id: int) -> None:
    instance = session.scalar(select(WorkflowInstance).where(WorkflowInstance.dossier_id == dossier_id))
    if instance is None:  # sample dossiers (motcua seed) have no instance
        return
    instance.state = scrub_state(instance.state)
    instance.held_inputs = None
    if instance.error:
        instance.error = mask_text(instance.error)


def _erase_attachments(session: Session, dossier_id: int, done: Erased) -> None:
    for attachment in session.scalars(select(Attachment).where(Attachment.dossier_id == dossier_id)):
        attachment.filename = ERASED
        attachment.verification_code = None
        done.files.add(attachment.sha256)
        done.attachments += 1


def _erase_calls(session: Session, dossier_id: int, done: Erased) -> None:
    for call in session.scalars(select(OutboxMessage).where(OutboxMessage.dossier_id == dossier_id)):
        call.payload = dict(_MARK)
        call.result = _numbers_only(call.result)
        context = {key: call.context[key] for key in KEPT_CONTEXT_KEYS if key in (call.context or {})}
        call.context = context or None
        if call.last_error:
            call.last_error = mask_text(call.last_error)
        done.outbox += 1


def refused_files(detail: dict[str, Any] | None) -> set[str]:
    """Digests of the files refused from a received package, named only in its message's detail."""
    return {f["sha256"].lower() for f in (detail or {}).get("refused") or () if f.get("sha256")}


def _erase_exchange(session: Session, dossier_id: int, done: Erased) -> None:
    for message in session.scalars(select(ExchangeMessage).where(ExchangeMessage.dossier_id == dossier_id)):
        if message.kind == "edoc":  # status messages carry only the peer's status
            # files refused at reception (engine/services/exchange.py) are in the store by digest, named
            # only here: they go with the rest, or nothing would ever find them again
            done.files |= refused_files(message.detail)
            message.subject = ERASED if message.subject else None
            message.detail = dict(_MARK)
        if message.raw_sha256:
            done.files.add(message.raw_sha256)
        done.exchange += 1
