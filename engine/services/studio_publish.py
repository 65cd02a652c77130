"""From draft to published version in the analyst studio: lint, diff, publish, history, migration.

Publishing stores an immutable version (who, when, what changed) and makes it the one new dossiers
start on; running dossiers stay on theirs until an admin migrates the movable ones.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import InvalidInput, ProcedureNotFound
from engine.models import Dossier, Procedure, ProcedureVersion
from engine.procedures import migration
from engine.procedures.catalogue import PublishResult, publish
from engine.procedures.diff import VersionDiff, diff_versions
from engine.procedures.lint import ERROR, Finding, lint_package
from engine.procedures.package import content_hash
from engine.procedures.validation import validate_package
from engine.runtime.specs import BpmnSyntaxError
from engine.services.accounts import Actor
from engine.services.studio_drafts import latest_row, load_draft, require_studio

FIRST_VERSION = "Phiên bản đầu tiên của thủ tục."


@dataclass(frozen=True)
class VersionRow:
    number: int
    published_at: datetime
    published_by: str | None
    diff_summary: str | None
    running: int  # dossiers on this version not finished yet
    latest: bool


def lint_package_in(ctx: EngineContext, package: dict[str, Any]) -> list[Finding]:
    """Lint with this process's registered connector operations, script check and calendar."""
    return lint_package(package, operations=ctx.connectors.operations(), check_script=ctx.evaluator.check,
                        calendar=ctx.settings.calendar_config())


def lint_draft(ctx: EngineContext, actor: Actor, draft_id: int) -> list[Finding]:
    """Every lint finding of the draft, errors first, located for the diagram."""
    require_studio(actor)
    with ctx.sessions() as session:
        package = copy.deepcopy(load_draft(session, draft_id).package)
    return lint_package_in(ctx, package)


def _diff(old: dict[str, Any], new: dict[str, Any], number: int) -> VersionDiff:
    try:
        return diff_versions(old, new)
    except (BpmnSyntaxError, KeyError) as exc:
        detail = str(exc) if isinstance(exc, BpmnSyntaxError) else f"thiếu {exc}"
        raise InvalidInput({"diff": [f"Không so sánh được bản nháp với phiên bản {number}: {detail}"]}) from exc


def diff_draft(ctx: EngineContext, actor: Actor, draft_id: int) -> VersionDiff | None:
    """What the draft changes against the latest published version; None when nothing is published.

    Raises InvalidInput when the draft's BPMN cannot be read (the lint says where).
    """
    require_studio(actor)
    with ctx.sessions() as session:
        draft = load_draft(session, draft_id)
        latest = latest_row(session, draft.procedure_id)
        if latest is None:
            return None
        old, new, number = copy.deepcopy(latest.package), copy.deepcopy(draft.package), latest.number
    return _diff(old, new, number)


def publish_draft(ctx: EngineContext, actor: Actor, draft_id: int, *,
                  revision: int | None = None) -> PublishResult:
    """Publish the draft as the procedure's next version and delete the draft.

    Refused (InvalidInput, key "lint") while lint reports errors or the engine could not run the
    package; refused (key "publish") when the draft is the latest version unchanged; Conflict when
    the draft was saved after `revision` or while it was being checked (what is published is
    exactly what was checked). The checks run before the transaction, so no lock is held meanwhile.
    """
    require_studio(actor)
    with ctx.sessions() as session:
        draft = load_draft(session, draft_id, revision)
        package, checked = copy.deepcopy(draft.package), draft.revision
        package["procedure"]["slug"] = draft.slug
    _refuse_unrunnable(ctx, package)
    with transaction(ctx.sessions) as session:
        draft = load_draft(session, draft_id, checked)
        summary = _summary_against_latest(session, draft.procedure_id, draft.slug, package)
        result = publish(session, package, published_by=actor.username, diff_summary=summary)
        session.delete(draft)
    return result


def _refuse_unrunnable(ctx: EngineContext, package: dict[str, Any]) -> None:
    errors = [f.located() for f in lint_package_in(ctx, package) if f.severity == ERROR]
    if not errors:  # lint repeats validation's checks in Vietnamese; the gate still has the last word
        errors = validate_package(package, operations=ctx.connectors.operations(), check_script=ctx.evaluator.check)
    if errors:
        raise InvalidInput({"lint": errors})


def _summary_against_latest(session: Session, procedure_id: int | None, slug: str, package: dict[str, Any]) -> str:
    if procedure_id is None:
        if session.scalar(select(Procedure.id).where(Procedure.slug == slug)) is not None:
            raise InvalidInput({"slug": [f"Đã có thủ tục mang đường dẫn {slug}; hãy đổi đường dẫn của bản nháp."]})
        return FIRST_VERSION
    latest = latest_row(session, procedure_id)
    if latest is None:
        return FIRST_VERSION
    if latest.content_hash == content_hash(package):
        raise InvalidInput({"publish": [f"Bản nháp giống hệt phiên bản {latest.number} đang dùng; không có gì "
                                        "mới để xuất bản."]})
    return _diff(latest.package, package, latest.number).summary


def list_versions(ctx: EngineContext, actor: Actor, slug: str) -> list[VersionRow]:
    """The procedure's published versions, newest first, with how many dossiers still run on each."""
    require_studio(actor)
    with ctx.sessions() as session:
        procedure = session.scalar(select(Procedure).where(Procedure.slug == slug))
        if procedure is None:
            raise ProcedureNotFound(f"procedure {slug!r} not found")
        running = dict(session.execute(
            select(Dossier.procedure_version_id, func.count(Dossier.id))
            .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .where(ProcedureVersion.procedure_id == procedure.id, Dossier.finished_at.is_(None))
            .group_by(Dossier.procedure_version_id)).all())
        versions = session.scalars(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id)
                                   .order_by(ProcedureVersion.number.desc()))
        return [VersionRow(v.number, v.published_at, v.published_by, v.diff_summary, running.get(v.id, 0),
                           v.id == procedure.latest_version_id) for v in versions]


def plan_migration(ctx: EngineContext, actor: Actor, slug: str, target_version: int) -> migration.MigrationPlan:
    """Which running dossiers could move to `target_version` (analysts and admins may look)."""
    require_studio(actor)
    return migration.plan_migration(ctx, slug, target_version)


def migrate(ctx: EngineContext, actor: Actor, item_ids: list[str]) -> list[migration.MigrationResult]:
    """Move the listed dossiers that are movable (admins only; each move is recorded in the dossier's history)."""
    require_studio(actor)
    return migration.migrate(ctx, actor, item_ids)
