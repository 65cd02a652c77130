"""Publish procedure packages as immutable versions and read the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from engine.errors import ProcedureInvalid, ProcedureNotFound
from engine.models import Procedure, ProcedureVersion
from engine.procedures.package import content_hash, read_package
from engine.procedures.validation import validate_package


@dataclass(frozen=True)
class PublishResult:
    slug: str
    version: int
    content_hash: str
    created: bool


def publish(session: Session, package: dict[str, Any], *, published_by: str | None = None,
            diff_summary: str | None = None) -> PublishResult:
    """Store `package` as the procedure's newest version unless identical content is already there.

    Versions are never updated: a changed package is a new row with the next number, carrying
    `diff_summary` (what changed against the previous version, shown in the version history).
    """
    meta = package["procedure"]
    digest = content_hash(package)
    procedure = session.scalar(select(Procedure).where(Procedure.slug == meta["slug"]))
    if procedure is None:
        procedure = Procedure(slug=meta["slug"], code=meta.get("code") or meta["slug"], name=meta["name"])
        session.add(procedure)
        session.flush()
    existing = session.scalar(
        select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id,
                                       ProcedureVersion.content_hash == digest)
    )
    if existing is not None:
        # Identical content already published: nothing new is stored, but that content is current again.
        procedure.latest_version_id = existing.id
        return PublishResult(procedure.slug, existing.number, digest, created=False)
    number = (session.scalar(select(func.max(ProcedureVersion.number))
                             .where(ProcedureVersion.procedure_id == procedure.id)) or 0) + 1
    version = ProcedureVersion(procedure_id=procedure.id, number=number, content_hash=digest, package=package,
                               published_at=datetime.now(UTC), published_by=published_by,
                               diff_summary=diff_summary)
    session.add(version)
    session.flush()
    procedure.latest_version_id = version.id
    procedure.code = meta.get("code") or procedure.code
    procedure.name = meta["name"]
    return PublishResult(procedure.slug, number, digest, created=True)


def load_folder(folder: Path, *, operations: Any = None, check_script: Any = None) -> dict[str, Any]:
    """Read and validate one folder; raise ProcedureInvalid with every problem found."""
    package = read_package(folder)
    problems = validate_package(package, operations=operations, check_script=check_script)
    if problems:
        raise ProcedureInvalid([f"{folder.name}/{p}" for p in problems])
    return package


def procedure_folders(root: Path) -> list[Path]:
    return sorted(p.parent for p in Path(root).glob("*/procedure.json")) + sorted(
        p.parent for p in Path(root).glob("*/process_model.json") if not (p.parent / "procedure.json").exists()
    )


def published_procedures(session: Session) -> list[Procedure]:
    return list(session.scalars(select(Procedure).where(Procedure.latest_version_id.is_not(None))
                                .order_by(Procedure.name)))


#: built once: every submission looks its procedure up (building the select cost as much as running it)
_BY_KEY = (select(Procedure).where((Procedure.slug == bindparam("key")) | (Procedure.code == bindparam("key")),
                                   Procedure.latest_version_id.is_not(None)).limit(1))


def find_procedure(session: Session, key: str) -> Procedure:
    """Look a published procedure up by slug or by mã TTHC (its versions come from VersionCache)."""
    procedure = session.scalar(_BY_KEY, {"key": key})
    if procedure is None:
        raise ProcedureNotFound(f"procedure {key!r} not found")
    return procedure
