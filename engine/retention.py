"""Retention (lưu trữ hồ sơ): erase the personal data of dossiers finished longer ago than their
procedure's retention period, keeping anonymous statistics and the audit trail.

The period is the procedure version's `retention_years` (procedure.json), else
`Settings.retention_years`; `"vinh_vien"` (permanent) keeps a procedure's dossiers whole. A dossier
is due once it is finished (a final status: returned, refused, withdrawn, stopped) and its
`finished_at` lies more than its period before now. A dossier whose connector calls are still
pending, running or failed is deferred: erasing them would send "[đã xoá]" to the outside world.

Batches: one transaction per batch of dossiers (erasure in engine/erasure.py plus one
`personal_data_erased` history event each), which also queues the digests of their files
(`file_deletion`). After it commits, each queued file is deleted from the store unless a dossier still
holding its data, a draft or a kept exchange package points at the same content (the store is
content-addressed: identical uploads share one file), and its row goes. A store out of reach (a
bucket's endpoint down) leaves the rows queued: the next run deletes those files first, so the erased
data does not stay in the store. Idempotent: an erased dossier is not due again. A dry run counts and
changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Select, Text, and_, cast, delete, false, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.calendar import VN_TZ
from engine.context import EngineContext
from engine.db import transaction
from engine.erasure import erase_dossier
from engine.errors import Unavailable
from engine.models import (
    Attachment,
    Dossier,
    Draft,
    ExchangeMessage,
    FileDeletion,
    OutboxMessage,
    ProcedureVersion,
)
from engine.privacy import ERASED
from engine.services.accounts import SYSTEM
from engine.statuses import STATUSES

log = logging.getLogger(__name__)

#: procedure.json value of `retention_years` that keeps the dossiers' personal data for good
PERMANENT = "vinh_vien"
FINAL_STATUSES = tuple(key for key, status in STATUSES.items() if status.final)
#: connector calls that may still go out: their dossier waits for them before it is erased
BUSY_CALLS = ("pending", "running", "incident")


@dataclass
class RetentionResult:
    #: dossiers past their period whose personal data is still there (erased or deferred)
    due: int = 0
    erased: int = 0
    #: due, but a connector call of theirs is still pending, running or failed
    deferred: int = 0
    files_deleted: int = 0
    #: files of erased dossiers kept because something still holding its data shares the content
    files_shared: int = 0
    #: files still queued for deletion because the store could not be reached (deleted by a later run)
    files_pending: int = 0
    store_unavailable: bool = False
    batches: int = 0
    dry_run: bool = False


def retention_years(meta: dict[str, Any], default: int) -> int | None:
    """The procedure's retention period in years, None for permanent. An invalid value falls back
    to the default rather than erasing early (it is logged)."""
    value = meta.get("retention_years", default)
    if value == PERMANENT:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    log.warning("procedure %s: retention_years %r is not a whole number of years >= 1 nor %r; using %s",
                meta.get("code"), value, PERMANENT, default)
    return default


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment `years` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def run_retention(ctx: EngineContext, *, now: datetime | None = None, before: date | None = None,
                  dry_run: bool = False, batch: int = 200,
                  progress: Callable[[RetentionResult], None] | None = None) -> RetentionResult:
    """Erase the personal data of every due dossier (see the module docstring). `before` further
    limits it to dossiers finished before that day (Vietnam time); it never shortens a period."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    now = now or datetime.now(UTC)
    default = ctx.settings.retention_years
    if default < 1:
        raise ValueError(f"retention_years must be at least 1 year, not {default}")
    result = RetentionResult(dry_run=dry_run)
    if not dry_run:
        _delete_queued(ctx, result)  # what an earlier run could not delete
    after = 0
    while True:
        with ctx.sessions() as session:
            due = _due_condition(session, now, before, default)
            ids = list(session.scalars(select(Dossier.id).where(due, Dossier.id > after)
                                       .order_by(Dossier.id).limit(batch)))
            if not ids:
                return result
            busy = _busy(session, ids)
        after = ids[-1]
        result.due += len(ids)
        result.deferred += len(busy)
        if not dry_run:
            _erase_batch(ctx, [i for i in ids if i not in busy], now, before, default, result)
        result.batches += 1
        if progress is not None:
            progress(result)


def _due_condition(session: Session, now: datetime, before: date | None, default: int) -> Any:
    """Finished, personal data still there, finished before the cut-off of its version's period."""
    by_cutoff: dict[datetime, list[int]] = {}
    for version_id, package in session.execute(select(ProcedureVersion.id, ProcedureVersion.package)):
        years = retention_years(package.get("procedure") or {}, default)
        if years is None:
            continue
        cutoff = years_before(now, years)
        if before is not None:
            cutoff = min(cutoff, datetime.combine(before, time(0), tzinfo=VN_TZ).astimezone(UTC))
        by_cutoff.setdefault(cutoff, []).append(version_id)
    periods = [and_(Dossier.procedure_version_id.in_(ids), Dossier.finished_at < cutoff)
               for cutoff, ids in by_cutoff.items()]
    return and_(Dossier.finished_at.is_not(None), Dossier.status.in_(FINAL_STATUSES),
                Dossier.applicant_name != ERASED, or_(false(), *periods))


def _busy(session: Session, ids: list[int]) -> set[int]:
    return set(session.scalars(select(OutboxMessage.dossier_id).distinct().where(
        OutboxMessage.dossier_id.in_(ids), OutboxMessage.state.in_(BUSY_CALLS))))


def _erase_batch(ctx: EngineContext, ids: list[int], now: datetime, before: date | None, default: int,
                 result: RetentionResult) -> None:
    if not ids:
        return
    files: set[str] = set()
    erased = 0
    with transaction(ctx.sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            # the applicant's name leaves the events they caused (not hashed: the chain holds);
            # the append-only triggers (migration 0008) let this one transaction through
            session.execute(text("SET LOCAL motcua.purge = 'on'"))
        versions = {vid: retention_years(package.get("procedure") or {}, default) for vid, package in
                    session.execute(select(ProcedureVersion.id, ProcedureVersion.package))}
        # read again under this transaction: a dossier erased or busied meanwhile is left alone
        due = _due_condition(session, now, before, default)
        dossiers = session.scalars(select(Dossier).where(Dossier.id.in_(ids), due).order_by(Dossier.id)).all()
        busy = _busy(session, [d.id for d in dossiers])
        for dossier in dossiers:
            if dossier.id in busy:
                continue
            done = erase_dossier(session, dossier, actor=SYSTEM, now=now,
                                 retention_years=versions[dossier.procedure_version_id] or 0)
            files |= done.files
            erased += 1
        _queue(session, files, now)
    result.erased += erased
    _delete_queued(ctx, result)


def _queue(session: Session, digests: set[str], now: datetime) -> None:
    """Queue the digests; one queued already (by a run at the same moment, say) is left as it is."""
    if not digests:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(FileDeletion).values([{"sha256": d, "queued_at": now} for d in sorted(digests)])
                    .on_conflict_do_nothing(index_elements=["sha256"]))


def _delete_queued(ctx: EngineContext, result: RetentionResult, chunk: int = 500) -> None:
    """Delete the queued files that nothing still holding its data points at, and their rows; the shared
    ones only lose their row. A store out of reach stops the deleting for this run: the rest stays queued."""
    store = ctx.files
    after = ""
    while not result.store_unavailable:
        with ctx.sessions() as session:
            digests = list(session.scalars(select(FileDeletion.sha256).where(FileDeletion.sha256 > after)
                                           .order_by(FileDeletion.sha256).limit(chunk)))
            if not digests:
                break
            live = _still_referenced(session, set(digests))
        after = digests[-1]
        done: list[str] = []
        try:
            for digest in digests:
                if digest not in live:
                    result.files_deleted += int(store.delete(digest))
                done.append(digest)
        except Unavailable as exc:
            result.store_unavailable = True
            log.warning("retention: the file store is out of reach; the files left stay queued for deletion: %s",
                        exc)
        finally:
            result.files_shared += len(live.intersection(done))
            with transaction(ctx.sessions) as session:
                session.execute(delete(FileDeletion).where(FileDeletion.sha256.in_(done)))
    with ctx.sessions() as session:
        result.files_pending = queued_deletions(session)


def queued_deletions(session: Session) -> int:
    """Files of erased dossiers still to be deleted from the store (this run, the health page)."""
    return session.scalar(select(func.count()).select_from(FileDeletion)) or 0


def kept_attachment_files() -> Select:
    """Digests of the attachments that keep their data (an erased one's file is gone or going)."""
    return select(Attachment.sha256).where(Attachment.filename != ERASED)


def kept_exchange_files() -> Select:
    """Digests of the raw packages kept with an exchange message (its dossier's data not erased)."""
    return (select(ExchangeMessage.raw_sha256).outerjoin(Dossier, Dossier.id == ExchangeMessage.dossier_id)
            .where(ExchangeMessage.raw_sha256.is_not(None),
                   or_(ExchangeMessage.dossier_id.is_(None), Dossier.applicant_name != ERASED)))


def _still_referenced(session: Session, digests: set[str]) -> set[str]:
    chunk = sorted(digests)
    live = set(session.scalars(kept_attachment_files().where(Attachment.sha256.in_(chunk))))
    live |= set(session.scalars(kept_exchange_files().where(ExchangeMessage.raw_sha256.in_(chunk))))
    # a citizen's draft holds uploaded files by digest before any attachment row exists; a kept exchange
    # message names the files refused from its package (an erased one's list is gone with its data)
    for digest in set(chunk) - live:
        if any(session.scalar(select(column).where(cast(holder, Text).contains(digest)).limit(1)) is not None
               for column, holder in ((Draft.id, Draft.data), (ExchangeMessage.id, ExchangeMessage.detail))):
            live.add(digest)
    return live


__all__ = ["PERMANENT", "RetentionResult", "kept_attachment_files", "kept_exchange_files", "queued_deletions",
           "retention_years", "run_retention",
           "years_before"]
