"""Procedure drafts in the analyst studio: open, read, edit (diagram, forms, procedure.json), discard.

A draft is a whole package copied from the latest published version (or imported), edited freely
and checked only as far as its shape goes; lint and validation decide at publish time. The diagram
editor sees lane roles and step budgets as BPMN properties (engine/procedures/editor_properties.py).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import forms
from engine.calendar import VN_TZ
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ProcedureNotFound
from engine.models import Agency, Dossier, Procedure, ProcedureDraft, ProcedureVersion
from engine.procedures.editor_properties import (
    EditorPropertyError,
    main_bpmn_file,
    merge_into_meta,
    read_editor_properties,
    with_editor_properties,
)
from engine.procedures.graph import SPIFF_NS
from engine.procedures.lint import Finding
from engine.runtime.specs import BpmnSyntaxError, parse_xml
from engine.services.accounts import Actor
from engine.services.studio_meta import check_meta

log = logging.getLogger(__name__)
STUDIO_ROLES = ("analyst", "admin")
FORM_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
MAX_FORM_BYTES = 512 * 1024


@dataclass(frozen=True)
class StudioProcedure:
    """One row of the studio's list: a published procedure, or a draft never published (imported)."""

    slug: str
    name: str
    code: str | None
    latest_version: int | None
    published_at: datetime | None
    published_by: str | None
    draft_id: int | None
    draft_updated_at: datetime | None
    draft_updated_by: str | None
    running: int


@dataclass(frozen=True)
class ProcedureDraftView:
    """A draft as the studio pages and the editor see it (the package is a copy: editing it changes nothing)."""

    id: int
    slug: str
    name: str
    based_on_version: int | None
    latest_version: int | None
    package: dict[str, Any]
    bpmn_file: str  # the main BPMN file, the one the editor opens
    editor_xml: str  # that file with lane roles and step budgets written in as properties
    updated_by: str
    updated_at: datetime
    import_findings: list[Finding]
    stale: bool  # a version newer than the one this draft copied was published since
    #: what a save may pass back as `revision`: it is refused if someone saved the draft in between
    revision: int = 0


def require_studio(actor: Actor) -> None:
    """Refuse anyone but analysts and admins (Forbidden)."""
    if actor.role not in STUDIO_ROLES:
        raise Forbidden(f"{actor.role} may not use the studio",
                        message_vi="Chỉ cán bộ nghiệp vụ hoặc quản trị viên được thiết kế quy trình.")


def load_draft(session: Session, draft_id: int, revision: int | None = None) -> ProcedureDraft:
    """The draft; NotFound when gone, Conflict when `revision` is given and someone saved since.

    The row's own version column catches two saves racing inside the database; `revision` catches
    the longer race, between loading a page and saving from it (two analysts share the one draft).
    """
    draft = session.get(ProcedureDraft, draft_id)
    if draft is None:
        raise NotFound(f"procedure draft {draft_id}",
                       message_vi="Không tìm thấy bản nháp quy trình (có thể đã được xuất bản hoặc hủy).")
    if revision is not None and draft.revision != revision:
        raise Conflict(f"procedure draft {draft_id} is at revision {draft.revision}, not {revision}",
                       message_vi=f"Bản nháp vừa được {draft.updated_by} lưu lúc "
                                  f"{draft.updated_at.astimezone(VN_TZ):%H:%M %d/%m/%Y}; hãy tải lại trang để "
                                  "xem thay đổi đó trước khi lưu.")
    return draft


def draft_bpmn_file(draft: ProcedureDraft, package: dict[str, Any]) -> str:
    """The file the editor opens (a draft without BPMN yet gets one named after its slug)."""
    return main_bpmn_file(package) if package["bpmn"] else f"{draft.slug}.bpmn"


def latest_row(session: Session, procedure_id: int | None) -> ProcedureVersion | None:
    if procedure_id is None:
        return None
    procedure = session.get(Procedure, procedure_id)
    return session.get(ProcedureVersion, procedure.latest_version_id) if procedure and \
        procedure.latest_version_id else None


def draft_view(session: Session, draft: ProcedureDraft) -> ProcedureDraftView:
    latest = latest_row(session, draft.procedure_id)
    based_on = session.get(ProcedureVersion, draft.based_on_version_id) if draft.based_on_version_id else None
    package = copy.deepcopy(draft.package)
    bpmn_file = draft_bpmn_file(draft, package)
    return ProcedureDraftView(
        id=draft.id, slug=draft.slug, name=draft.name, based_on_version=based_on.number if based_on else None,
        latest_version=latest.number if latest else None, package=package, bpmn_file=bpmn_file,
        editor_xml=_editor_xml(package, bpmn_file), updated_by=draft.updated_by, updated_at=draft.updated_at,
        import_findings=[Finding(**f) for f in draft.import_findings or []],
        stale=latest is not None and latest.id != draft.based_on_version_id, revision=draft.revision,
    )


def _editor_xml(package: dict[str, Any], bpmn_file: str) -> str:
    xml = package["bpmn"].get(bpmn_file, "")
    if not xml:
        return ""
    meta = package["procedure"]
    try:
        return with_editor_properties(xml, bpmn_file, meta.get("lanes") or {}, meta.get("step_budgets") or {})
    except BpmnSyntaxError:
        # Only saves that parsed are stored, so this is an old or hand-made package: the editor gets
        # the file as it is and will report it; the lint shows the same error located.
        log.warning("draft BPMN %s is not readable XML; sent to the editor unchanged", bpmn_file, exc_info=True)
        return xml


def new_draft(session: Session, actor: Actor, package: dict[str, Any], procedure: Procedure | None,
              findings: Sequence[Finding] = ()) -> ProcedureDraft:
    """Add the draft of `package` (of `procedure`, None for one never published) and flush it:
    IntegrityError when the slug already has its one open draft."""
    now = datetime.now(UTC)
    meta = package["procedure"]
    draft = ProcedureDraft(procedure_id=procedure.id if procedure else None, slug=meta["slug"],
                           name=_draft_name(meta, meta["slug"]),
                           based_on_version_id=procedure.latest_version_id if procedure else None,
                           package=package, import_findings=[f.to_dict() for f in findings],
                           updated_by=actor.username, updated_at=now, created_at=now)
    session.add(draft)
    session.flush()
    return draft


def _draft_name(meta: dict[str, Any], slug: str) -> str:
    """The name the studio lists the draft by (an imported procedure.json may hold anything there)."""
    name = meta.get("name")
    return name[:512] if isinstance(name, str) and name.strip() else slug


def open_draft_row(session: Session, slug: str) -> ProcedureDraft | None:
    """The one open draft of `slug`, if any."""
    return session.scalar(select(ProcedureDraft).where(ProcedureDraft.slug == slug))


# -- reading ----------------------------------------------------------------------------------------

def list_procedures(ctx: EngineContext, actor: Actor) -> list[StudioProcedure]:
    """Every procedure with its latest version and open draft, and the drafts never published."""
    require_studio(actor)
    with ctx.sessions() as session:
        drafts = list(session.scalars(select(ProcedureDraft)))
        by_procedure = {d.procedure_id: d for d in drafts if d.procedure_id is not None}
        running = dict(session.execute(
            select(ProcedureVersion.procedure_id, func.count(Dossier.id))
            .join(Dossier, Dossier.procedure_version_id == ProcedureVersion.id)
            .where(Dossier.finished_at.is_(None)).group_by(ProcedureVersion.procedure_id)).all())
        rows = []
        for procedure, version in session.execute(
                select(Procedure, ProcedureVersion)
                .outerjoin(ProcedureVersion, ProcedureVersion.id == Procedure.latest_version_id)):
            draft = by_procedure.get(procedure.id)
            rows.append(StudioProcedure(
                procedure.slug, procedure.name, procedure.code, version.number if version else None,
                version.published_at if version else None, version.published_by if version else None,
                draft.id if draft else None, draft.updated_at if draft else None, draft.updated_by if draft else None,
                running.get(procedure.id, 0)))
        rows += [StudioProcedure(d.slug, d.name, d.package["procedure"].get("code"), None, None, None, d.id,
                                 d.updated_at, d.updated_by, 0) for d in drafts if d.procedure_id is None]
    return sorted(rows, key=lambda row: (row.name.casefold(), row.slug))


def get_draft(ctx: EngineContext, actor: Actor, draft_id: int) -> ProcedureDraftView:
    """The draft as the studio shows it; NotFound once published or discarded."""
    require_studio(actor)
    with ctx.sessions() as session:
        return draft_view(session, load_draft(session, draft_id))


def open_draft(ctx: EngineContext, actor: Actor, slug: str) -> ProcedureDraftView:
    """The procedure's open draft, or a new one copied from its latest version (one per procedure)."""
    require_studio(actor)
    try:
        with transaction(ctx.sessions) as session:
            draft = open_draft_row(session, slug)
            if draft is None:
                procedure = session.scalar(select(Procedure).where(Procedure.slug == slug))
                latest = latest_row(session, procedure.id) if procedure else None
                if procedure is None or latest is None:
                    raise ProcedureNotFound(f"procedure {slug!r} not found")
                package = copy.deepcopy(latest.package)
                package["procedure"]["slug"] = procedure.slug
                draft = new_draft(session, actor, package, procedure)
            view = draft_view(session, draft)
    except IntegrityError:
        # Somebody opened the same procedure at the same moment: theirs is the one open draft.
        with ctx.sessions() as session:
            draft = open_draft_row(session, slug)
            if draft is None:
                raise
            return draft_view(session, draft)
    return view


def discard_draft(ctx: EngineContext, actor: Actor, draft_id: int, *, revision: int | None = None) -> None:
    """Delete the draft; the published versions are untouched."""
    require_studio(actor)
    with transaction(ctx.sessions) as session:
        session.delete(load_draft(session, draft_id, revision))


# -- editing ----------------------------------------------------------------------------------------

def _touch(draft: ProcedureDraft, actor: Actor, package: dict[str, Any]) -> None:
    """Store the new package (a new object, so the JSON column is written) and who changed it when."""
    draft.package = package
    draft.name = _draft_name(package["procedure"], draft.slug)
    draft.updated_by = actor.username
    draft.updated_at = datetime.now(UTC)


def save_draft_bpmn(ctx: EngineContext, actor: Actor, draft_id: int, xml: str, *,
                    revision: int | None = None) -> ProcedureDraftView:
    """Store the editor's diagram as the main BPMN file; its lane roles and step budgets go to procedure.json."""
    require_studio(actor)
    if not isinstance(xml, str | bytes) or not xml.strip():
        raise InvalidInput({"bpmn": ["Sơ đồ BPMN trống."]})
    with transaction(ctx.sessions) as session:
        draft = load_draft(session, draft_id, revision)
        package = copy.deepcopy(draft.package)
        bpmn_file = draft_bpmn_file(draft, package)
        others = {name: text for name, text in package["bpmn"].items() if name != bpmn_file}
        try:
            read = read_editor_properties(xml, bpmn_file)
            previous = {bpmn_file: package["bpmn"][bpmn_file]} if bpmn_file in package["bpmn"] else None
            package["procedure"] = merge_into_meta(package["procedure"], read, others, previous=previous)
        except EditorPropertyError as exc:
            raise InvalidInput({"bpmn": exc.problems}) from exc
        package["bpmn"][bpmn_file] = read.xml
        package["procedure"].setdefault("bpmn", bpmn_file)
        _touch(draft, actor, package)
        return draft_view(session, draft)


def save_draft_form(ctx: EngineContext, actor: Actor, draft_id: int, name: str, schema: Any,
                    ui_schema: Any, *, revision: int | None = None) -> ProcedureDraftView:
    """Add or replace form `name` (JSON Schema + UI schema); refused when the form renderer would refuse it."""
    require_studio(actor)
    if not isinstance(name, str) or not FORM_NAME.match(name):
        raise InvalidInput({"name": ["Tên biểu mẫu chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang "
                                     "(ví dụ: tham-dinh), tối đa 64 ký tự."]})
    ui_schema = {} if ui_schema is None else ui_schema
    try:
        size = len(orjson.dumps(schema)) + len(orjson.dumps(ui_schema))
    except TypeError as exc:
        raise InvalidInput({"schema": ["Biểu mẫu chỉ được chứa dữ liệu JSON."]}) from exc
    if size > MAX_FORM_BYTES:
        raise InvalidInput({"schema": [f"Biểu mẫu lớn quá {MAX_FORM_BYTES // 1024} KiB."]})
    try:
        forms.load_form(schema, ui_schema)
    except ValueError as exc:
        raise InvalidInput({"schema": [f"Biểu mẫu {name} không dùng được: {exc}"]}) from exc
    with transaction(ctx.sessions) as session:
        draft = load_draft(session, draft_id, revision)
        package = copy.deepcopy(draft.package)
        package["forms"][name] = {"schema": copy.deepcopy(schema), "ui_schema": copy.deepcopy(ui_schema)}
        _touch(draft, actor, package)
        return draft_view(session, draft)


def delete_draft_form(ctx: EngineContext, actor: Actor, draft_id: int, name: str, *,
                      revision: int | None = None) -> ProcedureDraftView:
    """Remove form `name` unless the start of the procedure or a step still uses it."""
    require_studio(actor)
    with transaction(ctx.sessions) as session:
        draft = load_draft(session, draft_id, revision)
        package = copy.deepcopy(draft.package)
        if name not in package["forms"]:
            raise NotFound(f"form {name!r}", message_vi=f"Bản nháp không có biểu mẫu {name}.")
        users = form_users(package, name)
        if users:
            raise InvalidInput({"name": [f"Biểu mẫu {name} đang được dùng ở {', '.join(users)}; hãy bỏ nó khỏi "
                                         "đó trước khi xóa."]})
        del package["forms"][name]
        _touch(draft, actor, package)
        return draft_view(session, draft)


def form_users(package: dict[str, Any], name: str) -> list[str]:
    """Where form `name` is used: «procedure.json start_form» and each BPMN element naming its file."""
    users = ["thông tin thủ tục (biểu mẫu nộp hồ sơ)"] if package["procedure"].get("start_form") == name else []
    for filename, text in package["bpmn"].items():
        try:
            root = parse_xml(text, filename)
        except BpmnSyntaxError:
            continue
        for prop in root.iter(f"{{{SPIFF_NS}}}property"):
            if prop.get("name") in ("formJsonSchemaFilename", "formUiSchemaFilename") and \
                    prop.get("value") in (f"{name}-schema.json", f"{name}-uischema.json"):
                element = next((a for a in prop.iterancestors() if a.get("id")), None)
                if element is not None:
                    users.append(f"«{element.get('name') or element.get('id')}» ({filename}, dòng "
                                 f"{element.sourceline})")
    return list(dict.fromkeys(users))


def save_draft_procedure(ctx: EngineContext, actor: Actor, draft_id: int, meta: dict[str, Any], *,
                         revision: int | None = None) -> ProcedureDraftView:
    """Change procedure.json fields: each key given replaces the stored one, None removes it.

    The slug of a procedure already published cannot change (dossiers and links know it by it).
    """
    require_studio(actor)
    try:
        with transaction(ctx.sessions) as session:
            draft = load_draft(session, draft_id, revision)
            package = copy.deepcopy(draft.package)
            errors = check_meta(meta, package)
            for key, messages in _check_in_database(session, draft, meta).items():
                errors.setdefault(key, messages)
            if errors:
                raise InvalidInput(errors)
            procedure = package["procedure"]
            for key, value in meta.items():
                if value is None:
                    procedure.pop(key, None)
                else:
                    procedure[key] = copy.deepcopy(value)
            draft.slug = procedure["slug"]
            _touch(draft, actor, package)
            session.flush()
            return draft_view(session, draft)
    except IntegrityError as exc:  # another draft took the new slug between the check and the write
        raise InvalidInput({"slug": [f"Đã có bản nháp mang đường dẫn {meta.get('slug')}."]}) from exc


def _check_in_database(session: Session, draft: ProcedureDraft, meta: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(meta, dict):
        return errors
    slug = meta.get("slug")
    if isinstance(slug, str) and slug != draft.slug:
        if draft.procedure_id is not None:
            errors["slug"] = ["Thủ tục đã xuất bản không đổi được đường dẫn (slug)."]
        elif session.scalar(select(Procedure.id).where(Procedure.slug == slug)) is not None or \
                session.scalar(select(ProcedureDraft.id).where(ProcedureDraft.slug == slug)) is not None:
            errors["slug"] = [f"Đã có thủ tục hoặc bản nháp mang đường dẫn {slug}."]
    agencies = [meta["agency"]] if isinstance(meta.get("agency"), str) else []
    lanes = meta.get("lanes") if isinstance(meta.get("lanes"), dict) else {}
    agencies += [t["agency"] for t in lanes.values() if isinstance(t, dict) and isinstance(t.get("agency"), str)]
    known = set(session.scalars(select(Agency.code).where(Agency.code.in_(agencies)))) if agencies else set()
    for code in dict.fromkeys(agencies):
        if code not in known:
            errors.setdefault("agency", []).append(f"Không có cơ quan mang mã {code}.")
    return errors


__all__ = ["ProcedureDraftView", "StudioProcedure", "delete_draft_form", "discard_draft", "draft_bpmn_file",
           "draft_view", "form_users", "get_draft", "list_procedures", "load_draft", "new_draft", "open_draft", "require_studio",
           "save_draft_bpmn", "save_draft_form", "save_draft_procedure"]
