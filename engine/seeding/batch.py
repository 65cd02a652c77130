"""One seeding worker's share: the dossiers of a run of days, generated and written in batches,
each batch with its report facts (computed from the rows just written, by the same code as the
rollup refresh). Runs in a process of its own when the seeder works in parallel, hence a picklable
`Chunk` and a context built from the settings."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history
from engine.calendar import VN_TZ, WorkingCalendar
from engine.config import Settings
from engine.context import EngineContext, build_context
from engine.db import transaction
from engine.errors import MotcuaError
from engine.models import (
    Attachment,
    CodeCounter,
    Dossier,
    Event,
    OutboxMessage,
    Payment,
    Procedure,
    Rating,
    Task,
)
from engine.procedures.graph import read_graph
from engine.reports import bulk, facts
from engine.reports.indicators import minutes_per_day
from engine.reports.tables import ReportDossier, ReportTask
from engine.seeding import province
from engine.seeding.life import Life, Plan, SeedDossier, play
from engine.seeding.life import Procedure as Seeded
from engine.seeding.templates import TEMPLATES, Template, check
from engine.services.search import fold
from engine.statuses import PORTAL_STATUS

COUNTS = ("dossiers", "events", "tasks", "payments", "ratings", "attachments")


class SeedingImpossible(MotcuaError):
    message_vi = "Không tạo được dữ liệu mẫu."


@dataclass(frozen=True)
class Chunk:
    """A worker's share: `days` [(day, dossiers)], dossier ids from `first_id`, in the period
    [start, end) of the whole seeding (which the adoption ramps are measured against)."""

    days: tuple[tuple[date, int], ...]
    first_id: int
    start: datetime
    end: datetime
    seed: int
    batch: int
    sample: tuple[str, int]
    counters: dict[tuple[str, str], int]


def online_fee(meta: dict[str, Any], day: date) -> int:
    """The fee an online applicant pays on `day`: the first unconditional fee line in force, with an
    online reduction (`rate`, `channel: online`) applied when one is in force."""
    def in_force(fee: dict[str, Any]) -> bool:
        first, last = fee.get("valid_from"), fee.get("valid_to")
        return (not first or date.fromisoformat(first) <= day) and (not last or day <= date.fromisoformat(last))

    fees = [f for f in meta.get("fees") or [] if in_force(f)]
    base = next((int(f["amount"]) for f in fees if (f.get("amount") or 0) > 0
                 and not (f.get("applies_when") or f.get("applies_to") or f.get("channel"))), 0)
    rate = next((float(f["rate"]) for f in fees if f.get("rate") and f.get("channel") == "online"), 1.0)
    return round(base * rate)


def load_procedures(ctx: EngineContext, session: Session) -> list[Seeded]:
    """The shipped procedures the templates follow, checked against their published BPMN."""
    per_day = minutes_per_day(ctx.settings.calendar_config()) / 60
    found = []
    for template in TEMPLATES:
        procedure = session.scalar(select(Procedure).where(Procedure.slug == template.slug))
        if procedure is None or procedure.latest_version_id is None:
            raise SeedingImpossible(f"procedure {template.slug} not loaded",
                                    message_vi=f"Thủ tục {template.slug} chưa được nạp (motcua procedures load).")
        version = ctx.versions.get(session, procedure.latest_version_id)
        graph = read_graph(version.package["bpmn"], version.meta["process_id"])
        check(template, graph)
        found.append(Seeded(template, procedure.id, version.id, version.number, procedure.code, version.meta, graph,
                            online_fee(version.meta, datetime.now(VN_TZ).date()), per_day))
    return found


def run(settings: Settings, chunk: Chunk, progress: Any = None) -> dict[str, int]:
    """A worker process's entry point: its own engine context, then `seed_chunk`."""
    ctx = build_context(settings)
    try:
        return seed_chunk(ctx, chunk, progress)
    finally:
        ctx.db.dispose()


def seed_chunk(ctx: EngineContext, chunk: Chunk, progress: Any = None) -> dict[str, int]:
    """Generate and write the chunk's dossiers; returns how many rows of each kind were written.
    `progress`, if given, is a queue that receives the number of dossiers of each batch written."""
    rng = random.Random(chunk.seed)
    with ctx.sessions() as session:
        procedures = load_procedures(ctx, session)
    calendar = ctx.calendar()
    fees = {p.version_id for p in procedures if facts.charges_fee(p.meta)}
    totals = dict.fromkeys(COUNTS, 0)
    counters = dict(chunk.counters)
    recorder = Session()
    pending: list[Life] = []
    for life in _lives(chunk, procedures, calendar, counters, rng, recorder):
        pending.append(life)
        if len(pending) >= chunk.batch:
            _flush(ctx, chunk, pending, recorder, counters, rng, totals, calendar, fees)
            if progress is not None:
                progress.put(len(pending))
            pending = []
    if pending:
        _flush(ctx, chunk, pending, recorder, counters, rng, totals, calendar, fees)
        if progress is not None:
            progress.put(len(pending))
    return totals


# -- the stream of lives -----------------------------------------------------------------------------

def _moment(day: date, calendar: WorkingCalendar, desk: bool, rng: random.Random) -> datetime:
    """When a dossier of `day` arrives: in office hours at the desk (and mostly online too)."""
    config = calendar.config
    if desk or rng.random() < 0.8:
        (m_start, m_end), (a_start, _a_end) = config.morning, config.afternoon
        morning = (m_end.hour - m_start.hour) * 60 + (m_end.minute - m_start.minute)
        minute = rng.randrange(minutes_per_day(config))
        begin, minute = (m_start, minute) if minute < morning else (a_start, minute - morning)
        local = datetime.combine(day, begin, VN_TZ) + timedelta(minutes=minute, seconds=rng.randrange(60))
    else:
        local = datetime.combine(day, datetime.min.time(), VN_TZ) + timedelta(seconds=rng.randrange(6 * 3600, 23 * 3600))
    return local.astimezone(UTC)


def _lives(chunk: Chunk, procedures: list[Seeded], calendar: WorkingCalendar, counters: dict[tuple[str, str], int],
           rng: random.Random, recorder: Session) -> Iterator[Life]:
    communes = province.commune_agencies()
    commune_weights = province.commune_weights()
    weights = [p.template.weight for p in procedures]
    staff = province.Staff(rng)
    span = (chunk.end - chunk.start).total_seconds()
    next_id = chunk.first_id
    for day, n in chunk.days:
        working = calendar.is_working_day(day)
        ramp = max(0.0, (datetime.combine(day, datetime.min.time(), VN_TZ) - chunk.start).total_seconds() / span)
        drafts = []
        for _ in range(n):
            seeded = rng.choices(procedures, weights)[0]
            online = not working or rng.random() < min(0.95, seeded.template.online * (1 + 0.6 * ramp))
            drafts.append((_moment(day, calendar, not online, rng), seeded, online, ramp))
        drafts.sort(key=lambda draft: draft[0])
        for moment, seeded, online, ramp in drafts:
            template = seeded.template
            agency = province.agency_code(template.handled_by) if isinstance(template.handled_by, int) else \
                rng.choices(communes, commune_weights)[0][0]
            dossier = _dossier(next_id, seeded, agency, online, moment, counters, rng)
            next_id += 1
            life = Life(seeded, cast(Dossier, dossier), recorder, calendar, chunk.end, rng, staff)
            play(life, _plan(template, online, ramp, rng))
            yield life


def _dossier(dossier_id: int, seeded: Seeded, agency: str, online: bool, moment: datetime,
             counters: dict[tuple[str, str], int], rng: random.Random) -> SeedDossier:
    day = moment.astimezone(VN_TZ).strftime("%y%m%d")
    number = counters.get((agency, day), 0) + 1
    if number > 9999:
        raise SeedingImpossible(f"more than 9999 dossiers for {agency} on {day}",
                                message_vi="Quá 9999 hồ sơ một ngày tại một cơ quan: hãy giảm số hồ sơ hoặc tăng số ngày.")
    counters[(agency, day)] = number
    person = province.applicant(rng)
    return SeedDossier(id=dossier_id, code=f"{agency}-{day}-{number:04d}", procedure_version_id=seeded.version_id,
                       agency_code=agency, applicant_name=person.name, applicant_name_folded=fold(person.name)[:255],
                       applicant_id_number=person.id_number, applicant_phone=person.phone,
                       applicant_email=person.email, applicant_kind=person.kind,
                       channel="online" if online else "desk", submitted_at=moment)


def _plan(template: Template, online: bool, ramp: float, rng: random.Random) -> Plan:
    """The dice for one dossier; online payment and the national portal come after a few months."""
    variant = rng.choices(template.variants, [v.share for v in template.variants])[0]
    has_supplement = template.supplement is not None
    return Plan(variant=variant, online=online, pays_online=online and template.pays_online and ramp > 0.16,
                refused_at_reception=rng.random() < 0.025,
                asked_at_reception=has_supplement and rng.random() < 0.06,
                withdraws=rng.random() < 0.15,
                asked_in_review=has_supplement and rng.random() < template.asks_in_review,
                refused_after_review=rng.random() < template.refuses_after_review,
                slowness=rng.uniform(1.5, 4.0) if rng.random() < 0.07 else 1.0)


# -- writing ---------------------------------------------------------------------------------------

_DOSSIER_COLUMNS = [c.key for c in Dossier.__table__.columns]


def _flush(ctx: EngineContext, chunk: Chunk, lives: list[Life], recorder: Session,
           counters: dict[tuple[str, str], int], rng: random.Random, totals: dict[str, int],
           calendar: WorkingCalendar, fees: set[int]) -> None:
    events = history.take_pending(recorder)  # what history.record queued for these lives
    dossiers, tasks, payments, ratings, attachments, outbox = [], [], [], [], [], []
    for life in lives:
        d = life.dossier
        d.version = max(d.event_seq, 1)
        dossiers.append({key: getattr(d, key) for key in _DOSSIER_COLUMNS})
        tasks += life.tasks
        payments += life.payments
        ratings += life.ratings
        attachments += _attachments(life, chunk, rng)
        if d.submitted_at > chunk.start + timedelta(days=60):  # the province joined the national portal
            outbox.append(_portal_row(life, chunk.end))
    span = range(dossiers[0]["id"], dossiers[-1]["id"] + 1)
    with transaction(ctx.sessions) as session:
        if session.scalar(select(Dossier.id).where(facts.within(Dossier.id, span)).limit(1)) is not None:
            raise SeedingImpossible("dossier ids reserved for seeding are taken",
                                    message_vi="Có hồ sơ mới được tạo trong lúc tạo dữ liệu mẫu; hãy chạy lại khi hệ thống rảnh.")
        for table, rows in ((Dossier, dossiers), (Event, events), (Task, tasks), (Payment, payments),
                            (Rating, ratings), (Attachment, attachments), (OutboxMessage, outbox)):
            bulk.write(session, table, rows)
        _write_counters(session, {(d["agency_code"], d["code"].rsplit("-", 2)[1]) for d in dossiers}, counters)
        report, report_tasks = _facts(lives, events, attachments, outbox, calendar, fees)
        bulk.write(session, ReportDossier, report)
        bulk.write(session, ReportTask, report_tasks)
    for key, rows in zip(COUNTS, (dossiers, events, tasks, payments, ratings, attachments), strict=True):
        totals[key] += len(rows)


def _facts(lives: list[Life], events: list[dict[str, Any]], attachments: list[dict[str, Any]],
           outbox: list[dict[str, Any]], calendar: WorkingCalendar,
           fees: set[int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The report facts of the rows about to be written, by the rollup's own functions
    (`facts.fact_of`, `facts.task_fact`) fed from memory instead of read back: a rebuild gives the
    same rows (tests/engine/seeding/test_seeding.py checks it)."""
    related = facts.Related({}, {}, {}, {}, {})
    for row in events:
        if row["kind"] in ("status", "clock"):
            related.events.setdefault(row["dossier_id"], []).append(SimpleNamespace(**row))
    for life in lives:
        for payment in life.payments:
            related.paid[life.dossier.id] = (payment["paid_at"], payment["amount"])
        for rating in life.ratings:
            related.ratings[life.dossier.id] = (rating["score"], rating["created_at"])
    for attachment in attachments:
        related.attachment_kinds.setdefault(attachment["dossier_id"], set()).add(attachment["kind"])
    for row in outbox:
        related.portal.setdefault(row["dossier_id"], set()).add(row["state"])
    dossiers, tasks = [], []
    for life in lives:
        d = life.dossier
        procedure_id = life.procedure.procedure_id
        dossiers.append(facts.fact_of(SimpleNamespace(
            id=d.id, agency_code=d.agency_code, channel=d.channel, status=d.status, submitted_at=d.submitted_at,
            received_at=d.received_at, finished_at=d.finished_at, clock_started_at=d.clock_started_at,
            timeliness=d.timeliness, procedure_version_id=d.procedure_version_id, procedure_id=procedure_id),
            related, calendar, fees))
        tasks += [facts.task_fact(SimpleNamespace(**{**task, "agency_code": d.agency_code,
                                                     "procedure_id": procedure_id}), calendar)
                  for task in life.tasks if task["state"] == "done"]
    return dossiers, tasks


def _attachments(life: Life, chunk: Chunk, rng: random.Random) -> list[dict[str, Any]]:
    sha256, size = chunk.sample
    code, rows = life.dossier.code, []
    if life.scanned_at is not None:
        rows.append({"dossier_id": life.dossier.id, "kind": "upload", "filename": f"ban-scan-{code}.pdf",
                     "content_type": "application/pdf", "sha256": sha256, "size": size,
                     "created_at": life.scanned_at, "created_by_id": None, "verification_code": None})
    electronic = 0.5 + 0.4 * (life.dossier.submitted_at - chunk.start) / (chunk.end - chunk.start)
    if life.result_at is not None and rng.random() < electronic:
        rows.append({"dossier_id": life.dossier.id, "kind": "ket-qua", "filename": f"ket-qua-{code}.pdf",
                     "content_type": "application/pdf", "sha256": sha256, "size": size,
                     "created_at": life.result_at, "created_by_id": None, "verification_code": None})
    return rows


def _portal_row(life: Life, end: datetime) -> dict[str, Any]:
    d = life.dossier
    last = min(life.now, end)
    return {"dossier_id": d.id, "task_id": None, "connector": "dvcqg", "operation": "sync_dossier",
            "payload": {"code": d.code, "status": PORTAL_STATUS[d.status]},
            "idempotency_key": f"{d.code}:mau-dong-bo", "waits": False, "state": "done", "attempts": 1,
            "next_attempt_at": last, "locked_until": None, "last_error": None, "result": {"accepted": True},
            "context": None, "created_at": last, "finished_at": last, "delivery_status": None,
            "delivery_checked_at": None}


def _write_counters(session: Session, keys: set[tuple[str, str]], counters: dict[tuple[str, str], int]) -> None:
    existing = {(row.agency_code, row.day): row for row in session.scalars(
        select(CodeCounter).where(CodeCounter.agency_code.in_(sorted({agency for agency, _ in keys})),
                                  CodeCounter.day.in_(sorted({day for _, day in keys}))))}
    for key in keys:
        row = existing.get(key)
        if row is None:
            session.add(CodeCounter(agency_code=key[0], day=key[1], last=counters[key]))
        else:
            row.last = max(row.last, counters[key])
    session.flush()
