"""Keeping the law's time: escalate tasks whose step budget ran out, apologise before a dossier
misses its appointment (Phiếu xin lỗi và hẹn lại ngày trả kết quả: once, before the due date),
both run by the periodic sweep. A dossier that got an apology is still counted late if it is."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select

from engine import history, notifications, paperwork
from engine.context import EngineContext
from engine.db import transaction
from engine.documents.qr import tracking_url
from engine.errors import Conflict
from engine.models import Dossier, OutboxMessage, Task, User
from engine.services.accounts import SYSTEM
from engine.services.instances import load_runner

log = logging.getLogger(__name__)
AT_RISK = ("received", "processing")
DEFAULT_APOLOGY = {"lead": {"value": 1, "unit": "working_days"}, "extension": {"value": 2, "unit": "working_days"}}


def _email(dossier: Dossier, key: str, to: list[str], subject: str, text: str, now: datetime) -> OutboxMessage:
    return OutboxMessage(dossier_id=dossier.id, task_id=None, connector="email", operation="send",
                         payload={"to": to, "subject": subject, "text": text}, idempotency_key=key, waits=False,
                         state="pending", attempts=0, next_attempt_at=min(now, datetime.now(UTC)),
                         created_at=datetime.now(UTC))


def escalate_overdue_tasks(ctx: EngineContext, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Notify the assignee (or the role's officials) and the agency's leaders of each task past its
    step due date, once per task. Returns the ids of the tasks escalated."""
    now = now or datetime.now(UTC)
    with ctx.sessions() as session:
        ids = list(session.scalars(select(Task.id).where(Task.state == "open", Task.due_at < now,
                                                         Task.escalated_at.is_(None), Task.role != "applicant")
                                   .order_by(Task.due_at).limit(limit)))
    done = []
    for task_id in ids:
        try:
            if _escalate(ctx, task_id, now):
                done.append(task_id)
        except Conflict:
            continue  # the dossier moved meanwhile; the next sweep looks again
    return done


def _escalate(ctx: EngineContext, task_id: str, now: datetime) -> bool:
    with transaction(ctx.sessions) as session:
        task = session.get(Task, task_id)
        if task is None or task.state != "open" or task.escalated_at is not None:
            return False
        dossier = task.dossier
        people = select(User).where(User.active.is_(True), User.agency_code == task.agency_code)
        assignees = [session.get(User, task.assignee_id)] if task.assignee_id else \
            list(session.scalars(people.where(User.role == task.role)))
        leaders = list(session.scalars(people.where(User.role == "leader")))
        recipients = sorted({u.email for u in assignees + leaders if u is not None and u.email})
        task.escalated_at = now
        history.record(session, dossier, "task_overdue", actor=SYSTEM, status=dossier.status, at=now,
                       data={"task": task.id, "title": task.title, "due_at": task.due_at.isoformat(),
                             "notified": len(recipients)})
        rows = [_email(dossier, f"{dossier.code}:overdue:{task.id}", recipients,
                       f"[Quá hạn] Hồ sơ {dossier.code}: bước «{task.title}»",
                       f"Bước «{task.title}» của hồ sơ {dossier.code} đã quá hạn xử lý "
                       f"(hạn: {task.due_at.isoformat()}). Đề nghị xử lý ngay hoặc báo cáo lãnh đạo.", now)
                ] if recipients else []
        session.add_all(rows)
        session.flush()
    ctx.notify_outbox(rows)
    return True


def apologize_for_late_dossiers(ctx: EngineContext, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Issue the apology with a new appointment for dossiers that cannot make their due date, once."""
    now = now or datetime.now(UTC)
    calendar = ctx.calendar()
    horizon = calendar.add_working_days(now, 5)  # candidates; each procedure's own lead is checked below
    with ctx.sessions() as session:
        candidates = list(session.scalars(
            select(Dossier.id).where(Dossier.status.in_(AT_RISK), Dossier.finished_at.is_(None),
                                     Dossier.new_appointment_at.is_(None), Dossier.due_at.is_not(None),
                                     or_(Dossier.due_at <= horizon))
            .order_by(Dossier.due_at).limit(limit)))
    done = []
    for dossier_id in candidates:
        try:
            code = _apologize(ctx, dossier_id, now)
        except Conflict:
            continue
        if code:
            done.append(code)
    return done


def _apologize(ctx: EngineContext, dossier_id: int, now: datetime) -> str | None:
    calendar = ctx.calendar()
    with transaction(ctx.sessions) as session:
        dossier = session.get(Dossier, dossier_id)
        if dossier.status not in AT_RISK or dossier.new_appointment_at is not None or dossier.due_at is None:
            return None
        meta = ctx.versions.get(session, dossier.procedure_version_id).meta
        rule: dict[str, Any] = {**DEFAULT_APOLOGY, **(meta.get("apology") or {})}
        lead = rule["lead"]
        if calendar.deadline(now, lead["value"], lead["unit"]) < dossier.due_at:
            return None  # still time: the apology must come at least `lead` before the due date
        if now >= dossier.due_at:
            return None  # too late to apologise in advance; the dossier will simply count as late
        extension = rule["extension"]
        dossier.new_appointment_at = calendar.deadline(dossier.due_at, extension["value"], extension["unit"])
        _instance, runner = load_runner(ctx, session, dossier)
        reason = meta.get("apology_reason") or "Hồ sơ cần thêm thời gian xem xét, xác minh theo quy định."
        rows = [paperwork.request(ctx, session, dossier, meta, "phieu-xin-loi", runner.data, SYSTEM, now,
                                  reason=reason)]
        rows[0].payload["context"]["dossier"]["new_appointment_at"] = dossier.new_appointment_at.isoformat()
        # The citizen hears it by e-mail and SMS (whichever they gave and the province enabled).
        rows += notifications.messages(
            dossier, "xin-loi", {"procedure_name": meta["name"], "reason": reason,
                                 "tracking_url": tracking_url(ctx.settings.public_url, dossier.code)},
            set(ctx.connectors.available()), min(now, datetime.now(UTC)))
        session.add_all(rows)
        history.record(session, dossier, "apology", actor=SYSTEM, status=dossier.status, at=now,
                       data={"old_due": dossier.due_at.isoformat(),
                             "new_appointment": dossier.new_appointment_at.isoformat(), "reason": reason})
        session.flush()
        code = dossier.code
    ctx.notify_outbox(rows)
    log.info("apology issued for %s", code)
    return code
