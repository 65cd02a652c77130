"""What must hold after `make chaos` (bench/chaos.py), read from the database and the SMTP simulator.

Each check returns counts and a list of problems (empty = passed). The bounds are the honest ones for
an installation whose processes die mid-request: a request that got no answer (or a 503) may or may
not have been committed, so the data may hold *at most* that many submissions or completions nobody
was told about, never a duplicate; a connector call may be made again after its worker died, never
without a second claim of its row.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine.audit import verify_all
from engine.context import EngineContext
from engine.file_check import check_files
from engine.models import Dossier, Event, OutboxMessage, Task, WorkflowInstance
from engine.runtime.specs import OutboxServiceTask
from engine.services.instances import load_runner

Check = dict[str, Any]
WAITING = ("pending", "running")


def submissions(ctx: EngineContext, acknowledged: list[str], ambiguous: int) -> Check:
    """(1) every acknowledged submission stored exactly once; unacknowledged ones once or not at all."""
    with ctx.sessions() as session:
        stored = Counter(session.scalars(select(Dossier.code)))
        submitted = Counter(session.scalars(select(Dossier.code).join(Event, Event.dossier_id == Dossier.id)
                                            .where(Event.kind == "submitted")))
    acked = Counter(acknowledged)
    extra = len(set(stored) - set(acked))
    problems = [f"{code} stored {n} times" for code, n in stored.items() if n > 1]
    problems += [f"{code} acknowledged {n} times" for code, n in acked.items() if n > 1]
    problems += [f"{code} acknowledged but not stored" for code in set(acked) - set(stored)]
    problems += [f"{code} has {submitted.get(code, 0)} 'submitted' events" for code in stored
                 if submitted.get(code, 0) != 1]
    if extra > ambiguous:
        problems.append(f"{extra} dossiers stored without a 201, but only {ambiguous} submissions went unanswered")
    return {"acknowledged": len(acked), "stored": sum(stored.values()), "stored_unacknowledged": extra,
            "unanswered_submissions": ambiguous, "problems": problems}


def completions(ctx: EngineContext, acknowledged: list[str], ambiguous: int) -> Check:
    """(2) no task completed twice: one task_completed event per done task row, every 200 among them."""
    with ctx.sessions() as session:
        events = Counter(data.get("task") for data in
                         session.scalars(select(Event.data).where(Event.kind == "task_completed")))
        done = set(session.scalars(select(Task.id).where(Task.state == "done")))
    acked = Counter(acknowledged)
    problems = [f"task {task} has {n} task_completed events" for task, n in events.items() if n > 1]
    problems += [f"task {task} acknowledged {n} times" for task, n in acked.items() if n > 1]
    problems += [f"task {task} acknowledged but not completed" for task in set(acked) - set(events)]
    problems += [f"task {task} done without a task_completed event" for task in done - set(events)]
    problems += [f"task {task} has a task_completed event but is not done" for task in set(events) - done]
    silent = len(set(events) - set(acked))
    if silent > ambiguous:
        problems.append(f"{silent} completions without a 200, but only {ambiguous} requests went unanswered")
    return {"acknowledged": len(acked), "task_completed_events": sum(events.values()), "tasks_done": len(done),
            "completed_unacknowledged": silent, "unanswered_completions": ambiguous, "problems": problems}


def connector_effects(ctx: EngineContext, smtp: Any) -> Check:
    """(3) one stored e-mail per done e-mail row (by its Message-ID), none for a row not done, and no
    more calls than claims: each repeated call the relay received (and, recognising the Message-ID,
    did not store again) must be a re-attempt the outbox recorded after a worker died mid-call."""
    from integrations.notify.email import message_id_for

    with ctx.sessions() as session:
        rows = list(session.execute(select(OutboxMessage.idempotency_key, OutboxMessage.state,
                                           OutboxMessage.attempts).where(OutboxMessage.connector == "email")))
    stored = Counter(str(m["Message-ID"]).strip() for m in smtp.messages)
    by_id = {message_id_for(key): (state, attempts) for key, state, attempts in rows}
    problems = [f"Message-ID {mid} stored {n} times" for mid, n in stored.items() if n > 1]
    # a row still running (the drain timed out) may or may not have reached the relay yet
    problems += [f"e-mail row {state} ({mid}) delivered {stored.get(mid, 0)} times" for mid, (state, _a)
                 in by_id.items() if state != "running" and (state == "done") != (stored.get(mid, 0) == 1)]
    problems += [f"Message-ID {mid} stored without an outbox row" for mid in set(stored) - set(by_id)]
    reattempts = sum(attempts - 1 for _k, state, attempts in rows if attempts > 1)
    if smtp.duplicates > reattempts:
        problems.append(f"the relay received {smtp.duplicates} repeated messages but the outbox recorded only "
                        f"{reattempts} re-attempts")
    return {"email_rows": len(rows), "stored_messages": sum(stored.values()), "distinct_message_ids": len(stored),
            "repeated_calls_absorbed": smtp.duplicates, "reattempts_recorded": reattempts, "problems": problems}


def wait_states(ctx: EngineContext, limit: int = 20) -> Check:
    """(4) every dossier waits for something real, and its instance agrees with the task rows."""
    problems: list[str] = []
    counts = Counter()
    with ctx.sessions() as session:
        open_rows: dict[int, set[str]] = {}
        for dossier_id, task_id in session.execute(select(Task.dossier_id, Task.id).where(Task.state == "open")):
            open_rows.setdefault(dossier_id, set()).add(task_id)
        waiting: dict[int, set[str]] = {}
        for dossier_id, task_id, state in session.execute(
                select(OutboxMessage.dossier_id, OutboxMessage.task_id, OutboxMessage.state)
                .where(OutboxMessage.waits.is_(True), OutboxMessage.state.in_((*WAITING, "incident")))):
            waiting.setdefault(dossier_id, set()).add(task_id)
            counts[f"waits_on_{state}_call"] += 1
        for dossier, instance in session.execute(select(Dossier, WorkflowInstance)
                                                 .join(WorkflowInstance, WorkflowInstance.dossier_id == Dossier.id)):
            counts["dossiers"] += 1
            found = _one_dossier(ctx, session, dossier, instance, open_rows.get(dossier.id, set()),
                                 waiting.get(dossier.id, set()), counts)
            problems += found
        counts["without_instance"] = len(set(session.scalars(select(Dossier.id)))
                                         - set(session.scalars(select(WorkflowInstance.dossier_id))))
        if counts["without_instance"]:
            problems.append(f"{counts['without_instance']} dossiers without a workflow instance")
    return {**counts, "problems": problems[:limit] + ([f"... {len(problems) - limit} more"]
                                                      if len(problems) > limit else [])}


def _one_dossier(ctx: EngineContext, session: Any, dossier: Dossier, instance: WorkflowInstance,
                 rows: set[str], calls: set[str], counts: Counter) -> list[str]:
    _instance, runner = load_runner(ctx, session, dossier, instance)
    in_workflow = {task.id for task in runner.open_human_tasks()}
    started = {str(t.id) for t in runner.workflow.get_tasks(state=TaskState.STARTED)
               if isinstance(t.task_spec, OutboxServiceTask)}
    code, problems = dossier.code, []
    if in_workflow != rows:
        problems.append(f"{code}: open tasks in the workflow {sorted(in_workflow)} != open task rows {sorted(rows)}")
    if started != calls:
        problems.append(f"{code}: service tasks waiting {sorted(started)} != waiting outbox calls {sorted(calls)}")
    if instance.completed != (dossier.finished_at is not None) or instance.completed != runner.workflow.completed:
        problems.append(f"{code}: completed flag {instance.completed}, workflow {runner.workflow.completed}, "
                        f"finished_at {dossier.finished_at}")
    if instance.error:
        problems.append(f"{code}: instance incident: {instance.error[:200]}")
    if instance.completed:
        counts["finished"] += 1
    elif rows:
        counts["waiting_for_a_person"] += 1
        if len(rows) > 1:
            counts["more_than_one_open_task"] += 1
    elif calls:
        counts["waiting_for_a_call"] += 1
    elif instance.next_timer_at is not None:
        counts["waiting_for_a_timer"] += 1
    else:
        problems.append(f"{code}: stuck: not finished, no open task, no waiting call, no timer")
    return problems


def audit_chain(ctx: EngineContext) -> Check:
    """(5) every dossier's hash-chained history verifies (what `motcua audit verify` runs)."""
    result = verify_all(ctx)
    return {"dossiers": result.dossiers, "events": result.events,
            "problems": [f"{b.code}: broken at event {b.seq} ({b.reason})" for b in result.broken[:20]]}


def files(ctx: EngineContext) -> Check:
    """(6) every file the records point at is in the store and hashes to its name (`motcua files check
    --full`): nothing a document job or an upload stored was lost to an outage or a killed worker."""
    result = check_files(ctx, full=True)
    return {"store": result.store, "referenced": result.referenced, "read_and_hashed": result.read,
            "problems": [*(f"missing: {sha}" for sha in result.missing), *(f"damaged: {sha}" for sha in result.corrupt)]}


def run_all(ctx: EngineContext, smtp: Any, load: dict[str, Any]) -> dict[str, Check]:
    ambiguous = load["ambiguous"]
    return {"submissions": submissions(ctx, load["codes"], ambiguous.get("submit", 0)),
            "completions": completions(ctx, load["completed"], ambiguous.get("complete", 0)),
            "connector_effects": connector_effects(ctx, smtp),
            "wait_states": wait_states(ctx), "audit_chain": audit_chain(ctx), "files": files(ctx)}
