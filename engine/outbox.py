"""The outbox worker: execute connector calls decided inside transactions, reliably.

Same functions in both run modes: the in-process thread (embedded) and Celery (production) call
`deliver` and `drain`. A call is claimed with a lease, made outside any transaction with the row's
idempotency key, and its outcome recorded in a new transaction: success resumes the waiting
workflow; a transient failure backs off exponentially with jitter; after the last attempt (or a
permanent rejection) the row becomes an incident an admin can retry, or skip with a reason. A script
that fails on the result leaves the result held on the instance, with an incident there
(engine/incidents.py). A worker that dies mid-call
leaves the lease to expire; the next attempt carries the same key, so the effect happens once.
"""

from __future__ import annotations

import binascii
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, exists, or_, select, true, update
from sqlalchemy.orm import aliased

from engine import history, paperwork
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import (
    Conflict,
    Forbidden,
    MotcuaError,
    NotFound,
    TaskConflict,
    TaskNotFound,
    Unavailable,
    WorkflowError,
)
from engine.incidents import record_instance_error, require_admin, skip_reason
from engine.models import Dossier, OutboxMessage, WorkflowInstance
from engine.services import exchange, notices, payments
from engine.services.accounts import SYSTEM, Actor
from engine.services.instances import apply_report, hold_input, load_runner, lock_workflow

if TYPE_CHECKING:
    from integrations import ConnectorPending

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    id: int
    state: str
    error: str | None = None


#: Connectors whose calls for one dossier must arrive in the order they were decided (the national
#: portal's progress list is a history: a later status must not overtake an earlier one).
ORDERED = frozenset({"dvcqg"})


def _due_clause(now: datetime):
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        earlier.dossier_id == OutboxMessage.dossier_id, earlier.connector == OutboxMessage.connector,
        earlier.id < OutboxMessage.id, earlier.state.in_(("pending", "running", "incident")))
    due = or_(
        (OutboxMessage.state == "pending") & (OutboxMessage.next_attempt_at <= now),
        (OutboxMessage.state == "running") & (OutboxMessage.locked_until <= now),
    )
    return due & or_(OutboxMessage.connector.not_in(ORDERED), ~blocked)


def _not_suspended():
    """Calls of a dossier an admin suspended wait, attempts kept, until they resume it (one probe of
    workflow_instance's unique dossier index per due row)."""
    return ~exists().where(WorkflowInstance.dossier_id == OutboxMessage.dossier_id,
                           WorkflowInstance.suspended_at.is_not(None))


def _in_pool(ctx: EngineContext, queue: str | None):
    """Rows whose connector the settings route to `queue` (engine/jobs.py): a worker pool executes only
    its own calls, whatever message reached it. None: every row (the embedded worker, tests)."""
    return _pool_clause(queue, ctx.settings.outbox_routes)


def _pool_clause(queue: str | None, routes: tuple[tuple[str, str], ...]):
    if queue is None:
        return true()
    (_star, fallback), *table = routes
    own = OutboxMessage.connector.in_([c for c, q in table if q == queue])
    if queue != fallback:
        return own
    return own | OutboxMessage.connector.not_in([c for c, _q in table])


@lru_cache(maxsize=64)
def _claim_statement(queue: str | None, routes: tuple[tuple[str, str], ...]):
    """The claim as one conditional UPDATE ... RETURNING, built once per pool: the row, if it is still
    due (not done, not leased by a live worker), not held back by an earlier call of an ordered
    connector or a suspended dossier, and of this pool, becomes `running` with a lease. Two workers
    handed the same row: the second waits for the first's COMMIT (a few milliseconds), then PostgreSQL
    re-checks the row, finds the lease and updates nothing."""
    now = bindparam("now", type_=OutboxMessage.__table__.c.next_attempt_at.type)
    return (update(OutboxMessage)
            .where(OutboxMessage.id == bindparam("message_id"), _due_clause(now), _not_suspended(),
                   _pool_clause(queue, routes))
            .values(state="running", attempts=OutboxMessage.attempts + 1, locked_until=bindparam("lease"))
            .returning(OutboxMessage))


def _claim(ctx: EngineContext, message_id: int, now: datetime, queue: str | None = None) -> OutboxMessage | None:
    """Lease the row to this worker, in one statement and one round trip before the COMMIT; the row
    comes back detached, with every column."""
    lease = now + timedelta(seconds=ctx.settings.outbox_lease_seconds)
    with transaction(ctx.sessions, pipelined=True) as session:
        message = session.scalar(_claim_statement(queue, ctx.settings.outbox_routes),
                                 {"message_id": message_id, "now": now, "lease": lease},
                                 execution_options={"synchronize_session": False})
        if message is not None:
            session.expunge(message)
        return message


def due_ids(ctx: EngineContext, limit: int = 100, queue: str | None = None) -> list[int]:
    now = datetime.now(UTC)
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxMessage.id).where(_due_clause(now), _not_suspended(),
                                                                   _in_pool(ctx, queue))
                                    .order_by(OutboxMessage.next_attempt_at).limit(limit)))


def drain(ctx: EngineContext, limit: int = 100, queue: str | None = None) -> list[Outcome]:
    """Deliver every due message, or only those of one queue's pool (the periodic sweep; also catches
    up after a broker outage)."""
    return [outcome for message_id in due_ids(ctx, limit, queue) if (outcome := deliver(ctx, message_id, queue))]


def deliver(ctx: EngineContext, message_id: int, queue: str | None = None) -> Outcome | None:
    """Execute one outbox message if it is due (and of `queue`'s pool, if given); return None when it
    is not (done, leased elsewhere, or another pool's call)."""
    from integrations import ConnectorPending, ConnectorRejected, ConnectorUnavailable

    now = datetime.now(UTC)
    message = _claim(ctx, message_id, now, queue)
    if message is None:
        return None
    try:
        if message.connector == paperwork.CONNECTOR:
            result = _internal(ctx, message)
        else:
            connector = ctx.connectors.get(message.connector)
            payload = _with_documents(ctx, message)
            result = connector.call(message.operation, payload, idempotency_key=message.idempotency_key)
    except ConnectorPending as exc:
        return _pending(ctx, message, exc)
    except Unavailable as exc:  # our file store, rendering the document or reading the call's documents
        return _waiting_on_the_store(ctx, message, exc)
    except ConnectorUnavailable as exc:
        return _failed(ctx, message, exc, permanent=False)
    except (ConnectorRejected, LookupError) as exc:
        return _failed(ctx, message, exc, permanent=True)
    return _succeeded(ctx, message, result if isinstance(result, dict) else {"result": result})


def _internal(ctx: EngineContext, message: OutboxMessage) -> dict:
    """Engine jobs that ride the outbox for its retries and incidents (document rendering)."""
    from integrations import ConnectorRejected, ConnectorUnavailable

    try:
        return paperwork.render_job(ctx, message)
    except Conflict as exc:  # the dossier moved while we rendered: try again later
        raise ConnectorUnavailable(exc.message_vi, detail=str(exc)) from exc
    except Unavailable:  # the file store: the job waits for it (deliver)
        raise
    except MotcuaError as exc:
        raise ConnectorRejected(exc.message_vi, detail=str(exc)) from exc
    except OSError as exc:
        raise ConnectorUnavailable("Không ghi được tệp kết quả.", detail=str(exc)) from exc


def _with_documents(ctx: EngineContext, message: OutboxMessage) -> dict:
    """The payload, with the dossier's documents the call attaches (context `attach`) read in now."""
    kinds = (message.context or {}).get("attach")
    if not kinds:
        return message.payload
    return {**message.payload, "attachments": [*(message.payload.get("attachments") or []),
                                               *paperwork.attachments_for(ctx, message.dossier_id, kinds)]}


def _pending(ctx: EngineContext, message: OutboxMessage, exc: ConnectorPending) -> Outcome:
    """In progress elsewhere: ask again later without spending an attempt, up to the pending limit."""
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        row = session.get(OutboxMessage, message.id)
        expired = now - row.created_at > timedelta(hours=ctx.settings.outbox_pending_hours)
        if not expired:
            row.attempts -= 1
            row.state = "pending"
            row.locked_until = None
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.next_attempt_at = now + timedelta(seconds=exc.retry_after)
    if expired:
        return _failed(ctx, message, exc, permanent=True)
    log.info("outbox %s %s/%s pending: %s", message.id, message.connector, message.operation, exc)
    return Outcome(message.id, "pending", str(exc))


def _waiting_on_the_store(ctx: EngineContext, message: OutboxMessage, exc: Unavailable) -> Outcome:
    """Our file store is out of reach (a document to render or to attach, a signed copy to keep). That
    is not the call's fault: it waits like a pending call, spending no attempt, so an outage longer
    than the attempts' back-off makes no incidents (until outbox_pending_hours). It is asked again
    after a quarter of the time it has waited so far, between the back-off's base and cap: seconds
    after a short outage, and a long one does not keep the workers asking.

    A row already past the pending limit (an incident retried days later, the calls of a dossier
    resumed after a suspension) has no waiting left: it takes the ordinary back-off and attempts."""
    from integrations import ConnectorPending

    waited = (datetime.now(UTC) - message.created_at).total_seconds()
    settings = ctx.settings
    if waited > settings.outbox_pending_hours * 3600:
        return _failed(ctx, message, exc, permanent=False)
    wait = min(settings.outbox_backoff_cap, max(settings.outbox_backoff_base, waited / 4))
    return _pending(ctx, message, ConnectorPending(exc.message_vi, detail=f"{type(exc).__name__}: {exc}",
                                                   retry_after=wait))


def _backoff(ctx: EngineContext, attempts: int) -> float:
    base = ctx.settings.outbox_backoff_base * (2 ** (attempts - 1))
    return min(ctx.settings.outbox_backoff_cap, base) * random.uniform(0.5, 1.0)


def _failed(ctx: EngineContext, message: OutboxMessage, exc: Exception, *, permanent: bool) -> Outcome:
    now = datetime.now(UTC)
    error = f"{type(exc).__name__}: {exc}"
    with transaction(ctx.sessions) as session:
        row = session.get(OutboxMessage, message.id)
        row.last_error = error[:2000]
        row.locked_until = None
        if permanent or row.attempts >= ctx.settings.outbox_max_attempts:
            row.state = "incident"
            if row.dossier_id is not None:
                dossier = session.get(Dossier, row.dossier_id)
                history.record(session, dossier, "incident", status=dossier.status,
                               data={"outbox": row.id, "operation": f"{row.connector}/{row.operation}",
                                     "attempts": row.attempts, "error": error[:500]})
        else:
            row.state = "pending"
            row.next_attempt_at = now + timedelta(seconds=_backoff(ctx, row.attempts))
        state = row.state
    log.warning("outbox %s %s/%s attempt %s failed: %s", message.id, message.connector, message.operation,
                message.attempts, error)
    return Outcome(message.id, state, error)


def _succeeded(ctx: EngineContext, message: OutboxMessage, result: dict) -> Outcome:
    if (message.context or {}).get("on_done") == "store_signed":
        try:
            paperwork.keep_signed_file(ctx, result)
        except Unavailable as exc:  # asked again later under the same key: the signer's cached result
            return _waiting_on_the_store(ctx, message, exc)
        except (binascii.Error, KeyError, TypeError, ValueError) as exc:  # no PDF in the signer's answer
            return _failed(ctx, message, exc, permanent=True)
    for _attempt in range(5):
        try:
            created = _record_success(ctx, message, result)
        except Conflict:
            continue  # an official moved the same dossier meanwhile: reload and resume again
        except WorkflowError as exc:  # a script after the result failed: the whole run was rolled back
            return _held_on_failure(ctx, message, result, exc)
        ctx.notify_outbox(created)
        return Outcome(message.id, "done")
    raise TaskConflict(f"outbox {message.id}: could not resume the workflow after 5 attempts")


def _record_success(ctx: EngineContext, message: OutboxMessage, result: dict, *,
                    hold: bool = False) -> list[OutboxMessage]:
    """The call's result: its follow-up (store a signed file, record a payment...), then the waiting
    service task completes with it, or it is held on the instance (suspended, or `hold` after the
    workflow failed on it). Returns the calls the resumed workflow decided, to announce. Pipelined: the
    row's read carries the BEGIN, and what the transaction changes goes out with the COMMIT (one
    statement, engine/db.py) when the dossier and instance it resumes are the only versioned rows."""
    now = datetime.now(UTC)
    with transaction(ctx.sessions, pipelined=True) as session:
        # locked: a worker whose lease ran out and the one that claimed the row after it may both finish
        # the call; the second waits here, finds it done, and its follow-up does not run twice
        row = session.get(OutboxMessage, message.id, with_for_update=True)
        if row.state == "done":
            return []
        row.state = "done"
        row.result = _stored_result(row, result)
        row.finished_at = now
        row.locked_until = None
        follow_up = (row.context or {}).get("on_done")
        if follow_up == "store_signed":
            paperwork.store_signed(ctx, session, row, result)
        elif follow_up == "record_payment":
            payments.record_started(session, row, result, now)
        elif follow_up == "record_exchange_sent":
            exchange.record_sent(session, row, result, now)
        elif follow_up == "record_notice":
            notices.record_sent(session, row, result, now)
        if not (row.waits and row.dossier_id is not None):
            return []
        dossier, instance = lock_workflow(session, dossier_id=row.dossier_id)  # a completion goes first
        history.record(session, dossier, "connector_done", actor=SYSTEM, status=dossier.status,
                       data={"outbox": row.id, "operation": f"{row.connector}/{row.operation}"}, at=now)
        instance, runner = load_runner(ctx, session, dossier, instance)
        if hold or instance.suspended_at is not None:  # the result waits on the instance (resume, retry)
            hold_input(instance, {"service_task": row.task_id, "result": result})
            return []
        report = runner.complete_service_task(row.task_id, result)
        outbox = apply_report(ctx, session, dossier, instance, runner, report, SYSTEM)
        session.flush()
        return list(outbox)


def _held_on_failure(ctx: EngineContext, message: OutboxMessage, result: dict, exc: WorkflowError) -> Outcome:
    """The call succeeded but the workflow failed on its result (a script after the service task).
    The result is not thrown away: its follow-up runs (a signed file is stored, a payment recorded),
    it is held on the instance, and the instance carries the incident (engine/incidents.py): retry
    applies the same result again, skip passes over the failing script. The call is not made again."""
    _record_success(ctx, message, result, hold=True)
    error = _incident_on_instance(ctx, message.id, exc)
    log.warning("outbox %s %s/%s: the workflow failed on the result: %s", message.id, message.connector,
                message.operation, error)
    return Outcome(message.id, "done", error)


def _incident_on_instance(ctx: EngineContext, message_id: int, exc: WorkflowError) -> str:
    """The workflow failed on what a call delivered, now held on its instance: the incident goes there."""
    with ctx.sessions() as session:
        instance_id = session.scalar(select(WorkflowInstance.id).join(
            OutboxMessage, OutboxMessage.dossier_id == WorkflowInstance.dossier_id).where(OutboxMessage.id == message_id))
    return record_instance_error(ctx, instance_id, exc)


def _stored_result(row: OutboxMessage, result: dict) -> dict:
    """What to keep of a result in the row: file contents live in the file store, not here."""
    return {k: (f"<{len(v)} bytes base64>" if k.endswith("_b64") and isinstance(v, str) else v)
            for k, v in result.items()}


def retry_incident(ctx: EngineContext, actor: Actor, message_id: int) -> None:
    """An admin sends an incident back to the queue with a fresh attempt budget."""
    if actor.role not in ("admin", "system"):
        raise Forbidden("only admins retry incidents", message_vi="Chỉ quản trị viên được chạy lại sự cố.")
    with transaction(ctx.sessions) as session:
        row = session.get(OutboxMessage, message_id)
        if row is None or row.state != "incident":
            raise NotFound(f"no incident {message_id}", message_vi="Không tìm thấy sự cố này.")
        row.state = "pending"
        row.attempts = 0
        row.next_attempt_at = datetime.now(UTC)
        if row.dossier_id is not None:
            dossier = session.get(Dossier, row.dossier_id)
            history.record(session, dossier, "incident_retried", actor=actor, status=dossier.status,
                           data={"outbox": row.id})
    ctx.notify_outbox([row])


def skip_incident(ctx: EngineContext, actor: Actor, message_id: int, reason: str | None) -> None:
    """An admin gives up on a failed call, for a stated reason: the call is not made again.

    The row becomes 'skipped', its `result` {"skipped": true, "reason": ..., "by": <admin's user id>}.
    A workflow waiting on the call (row.waits) goes on: the service task completes with that same
    dict as its result, so the BPMN finds `<resultVariable>["skipped"]` true and no connector data;
    the engine's follow-ups of a real result (storing a signed file, recording a payment) do not
    happen. If a script then fails on that result, the skip stands and the result is held on the
    instance, whose incident the admin retries or skips in turn (engine/incidents.py)."""
    require_admin(actor, "Chỉ quản trị viên được bỏ qua sự cố.")
    reason = skip_reason(reason)
    result = {"skipped": True, "reason": reason, "by": actor.id}
    try:
        created = _record_skip(ctx, actor, message_id, result)
    except WorkflowError as exc:
        _record_skip(ctx, actor, message_id, result, hold=True)
        _incident_on_instance(ctx, message_id, exc)
        return
    ctx.notify_outbox(created)


def _record_skip(ctx: EngineContext, actor: Actor, message_id: int, result: dict, *,
                 hold: bool = False) -> list[OutboxMessage]:
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        row = session.get(OutboxMessage, message_id)
        if row is None or row.state != "incident":
            raise NotFound(f"no incident {message_id}", message_vi="Không tìm thấy sự cố này.")
        row.state, row.result, row.finished_at, row.locked_until = "skipped", result, now, None
        if row.dossier_id is None:
            return []
        dossier = session.get(Dossier, row.dossier_id)
        history.record(session, dossier, "incident_skipped", actor=actor, status=dossier.status, at=now,
                       data={"outbox": row.id, "operation": f"{row.connector}/{row.operation}",
                             "reason": result["reason"]})
        if not row.waits:
            return []
        instance, runner = load_runner(ctx, session, dossier)
        if hold or instance.suspended_at is not None:
            hold_input(instance, {"service_task": row.task_id, "result": result})
            return []
        try:
            report = runner.complete_service_task(row.task_id, result)
        except (TaskNotFound, TaskConflict):  # the workflow left the task meanwhile (a boundary event)
            return []
        outbox = apply_report(ctx, session, dossier, instance, runner, report, actor, now=now)
        session.flush()
        return list(outbox)


def incidents(ctx: EngineContext) -> list[OutboxMessage]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.state == "incident")
                                    .order_by(OutboxMessage.id)))
