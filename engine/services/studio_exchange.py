"""The studio's ways in and out: import a BPMN or a procedure folder, export BPMN 2.0 or a zip, test-run a draft.

Import and export go through engine/procedures/interchange.py, test runs through
engine/procedures/simulation.py (in memory: nothing is written, no connector is called).
An exported BPMN carries lane roles and step budgets as properties, as the editor sees them, so a
round trip through another modeller keeps them; an import reads them back into procedure.json.
"""

from __future__ import annotations

import copy
import io
import itertools
import zipfile
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import InvalidInput, NotFound, ProcedureNotFound
from engine.models import Procedure, ProcedureDraft, ProcedureVersion
from engine.procedures import interchange
from engine.procedures.archive import MAX_ARCHIVE_BYTES
from engine.procedures.editor_properties import (
    EditorPropertyError,
    lanes_and_ids,
    main_bpmn_file,
    merge_into_meta,
    read_editor_properties,
    with_editor_properties,
)
from engine.procedures.sample_data import start_form_sample
from engine.procedures.simulation import SimulationRun, simulate
from engine.services.accounts import Actor
from engine.services.studio_drafts import (
    ProcedureDraftView,
    draft_view,
    latest_row,
    load_draft,
    new_draft,
    open_draft_row,
    require_studio,
)
from engine.services.studio_meta import SLUG

#: The largest upload read at all (a zip; a single BPMN file is bounded lower by the parser).
MAX_IMPORT_BYTES = MAX_ARCHIVE_BYTES
#: The longest slug (procedure.slug's column, and what studio_meta.SLUG accepts).
MAX_SLUG_LENGTH = 128
#: How many times a new procedure's import looks for a free slug when others take it concurrently.
_NEW_SLUG_ATTEMPTS = 3


def import_file(ctx: EngineContext, actor: Actor, filename: str, data: bytes) -> ProcedureDraftView:
    """A new draft from an uploaded .bpmn/.xml file or .zip folder, with what the engine cannot run listed.

    Where it lands: a zip of our procedure folder names its procedure by the slug in its
    procedure.json. Anything else (a bare BPMN, a SpiffArena model) is matched by its executable
    process id, the one thing another modeller keeps when the analyst renames the process: when
    exactly one published procedure runs that process, the import becomes its draft (its BPMN, forms
    and lane roles replace the published ones; its name, fees, deadline and the rest are kept);
    otherwise it is a new procedure whose slug, read off the process name, gets -2, -3... when taken,
    so a model that only happens to share a name never lands on a published procedure.
    """
    require_studio(actor)
    if not isinstance(filename, str) or not isinstance(data, bytes | bytearray) or not data:
        raise InvalidInput({"file": ["Chưa chọn tệp hoặc tệp rỗng."]})
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidInput({"file": [f"Tệp lớn hơn {MAX_IMPORT_BYTES // (1024 * 1024)} MiB."]})
    package, findings = interchange.import_package(filename, bytes(data))
    package = _read_editor_properties(package)
    slug = package["procedure"].get("slug")
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise InvalidInput({"file": [f"Không xác định được đường dẫn (slug) hợp lệ cho thủ tục từ tệp {filename} "
                                     f"(đọc được: {slug!r})."]})
    explicit = _declares_slug(filename, bytes(data))
    for attempt in range(1, _NEW_SLUG_ATTEMPTS + 1):
        free_slug: str | None = None
        try:
            with transaction(ctx.sessions) as session:
                procedure = _procedure_named(session, slug) if explicit else _procedure_running(session, package)
                if procedure is None and not explicit:
                    free_slug = _free_slug(session, slug)
                landed = _land(session, package, procedure, free_slug, whole_procedure=explicit)
                return draft_view(session, new_draft(session, actor, landed, procedure, findings))
        except IntegrityError as exc:  # somebody opened or imported the same procedure at the same moment
            if free_slug is not None and attempt < _NEW_SLUG_ATTEMPTS:
                continue  # another import took that free slug first: the next free one is this one's
            raise _draft_exists(package["procedure"].get("name") or slug, free_slug or slug, None) from exc
    raise AssertionError("unreachable: the last attempt returns or raises")


def _land(session: Session, package: dict[str, Any], procedure: Procedure | None, free_slug: str | None, *,
          whole_procedure: bool) -> dict[str, Any]:
    """The draft's package: onto `procedure`'s latest version, or a new procedure's under `free_slug`.

    Refused while the procedure it lands on has its one open draft (publish or discard that first).
    """
    if free_slug is not None:  # no draft had it a moment ago; one stored meanwhile fails the insert
        return {**package, "procedure": {**package["procedure"], "slug": free_slug}}
    target = procedure.slug if procedure is not None else package["procedure"]["slug"]
    existing = open_draft_row(session, target)
    if existing is not None:
        raise _draft_exists(existing.name, target, existing.updated_by)
    latest = latest_row(session, procedure.id) if procedure is not None else None
    if latest is None:
        return package
    return _onto_published(copy.deepcopy(latest.package), package, whole_procedure=whole_procedure)


def _declares_slug(filename: str, data: bytes) -> bool:
    """Whether the upload is a zip of our procedure folder: its procedure.json names the procedure.

    Read after interchange.import_package accepted the archive, so only its directory is listed here
    (no member is decompressed again); archiver junk (__MACOSX/) is skipped as the import skips it.
    """
    if data[:4] != b"PK\x03\x04" and not filename.lower().endswith(".zip"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError):
        return False
    return any(PurePosixPath(name).name == "procedure.json" for name in names if not name.startswith("__MACOSX/"))


def _procedure_named(session: Session, slug: str) -> Procedure | None:
    return session.scalar(select(Procedure).where(Procedure.slug == slug))


def _procedure_running(session: Session, package: dict[str, Any]) -> Procedure | None:
    """The one published procedure whose latest version runs the import's process id, if exactly one does."""
    process_id = package["procedure"].get("process_id")
    if not isinstance(process_id, str) or not process_id:
        return None
    published_process = ProcedureVersion.package[("procedure", "process_id")].as_string()
    matches = session.scalars(
        select(Procedure).join(ProcedureVersion, ProcedureVersion.id == Procedure.latest_version_id)
        .where(published_process == process_id).limit(2)).all()
    return matches[0] if len(matches) == 1 else None


def _free_slug(session: Session, slug: str) -> str:
    """`slug`, or `slug-2`, `slug-3`... the first no procedure and no draft has."""
    taken = set(session.scalars(select(Procedure.slug).where(Procedure.slug.startswith(slug, autoescape=True))))
    taken |= set(session.scalars(select(ProcedureDraft.slug)
                                 .where(ProcedureDraft.slug.startswith(slug, autoescape=True))))
    if slug not in taken:
        return slug
    for number in itertools.count(2):
        suffix = f"-{number}"
        candidate = slug[:MAX_SLUG_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable: itertools.count never ends")


def _draft_exists(name: str, slug: str, by: str | None) -> InvalidInput:
    who = f" do {by} sửa" if by else ""
    return InvalidInput({"file": [f"Thủ tục «{name}» ({slug}) đang có bản nháp{who}; hãy xuất bản hoặc hủy bản nháp "
                                  "đó trước khi nhập tệp mới."]})


def _read_editor_properties(package: dict[str, Any]) -> dict[str, Any]:
    """Lane roles and step budgets written in the main BPMN file (by our export or editor) → procedure.json."""
    if not package.get("bpmn"):
        return package
    bpmn_file = main_bpmn_file(package)
    others = {name: text for name, text in package["bpmn"].items() if name != bpmn_file}
    try:
        read = read_editor_properties(package["bpmn"][bpmn_file], bpmn_file)
    except EditorPropertyError as exc:
        raise InvalidInput({"file": exc.problems}) from exc
    imported = package["procedure"]
    meta = merge_into_meta({**imported, "lanes": _with_roles(imported.get("lanes"))}, read, others,
                           authoritative=False)
    return {**package, "procedure": meta, "bpmn": {**package["bpmn"], bpmn_file: read.xml}}


def _with_roles(lanes: Any) -> dict[str, Any]:
    """Only lanes that have a role (a foreign import lists its lanes with none yet)."""
    if not isinstance(lanes, Mapping):
        return {}
    return {name: target for name, target in lanes.items()
            if (target.get("role") if isinstance(target, Mapping) else target)}


def _onto_published(published: dict[str, Any], imported: dict[str, Any], *,
                    whole_procedure: bool) -> dict[str, Any]:
    """The published package with the import's diagram, forms and documents.

    `whole_procedure`: the import brought its own procedure.json, whose fields replace the published
    ones; otherwise only what the diagram says (process, main file, lane roles, step budgets) does,
    and the procedure keeps its name and everything else a diagram does not carry.
    """
    brought = imported["procedure"] if whole_procedure else \
        {key: value for key, value in imported["procedure"].items() if key in _DIAGRAM_FIELDS}
    meta = {**published["procedure"], **brought}
    lanes = {**(published["procedure"].get("lanes") or {}), **_with_roles(imported["procedure"].get("lanes"))}
    # What the new diagram no longer has loses its role or budget; the rest is kept.
    old_lanes, old_ids = lanes_and_ids(published["bpmn"])
    new_lanes, new_ids = lanes_and_ids(imported["bpmn"])
    meta["lanes"] = {name: target for name, target in lanes.items() if name in new_lanes or name not in old_lanes}
    budgets = {**(published["procedure"].get("step_budgets") or {}),
               **(imported["procedure"].get("step_budgets") or {})}
    meta["step_budgets"] = {element: amount for element, amount in budgets.items()
                            if element in new_ids or element not in old_ids}
    meta["slug"] = published["procedure"]["slug"]
    meta["bpmn"] = main_bpmn_file(imported)
    package = {"procedure": meta, "bpmn": imported["bpmn"],
               "forms": {**published["forms"], **(imported.get("forms") or {})}}
    documents = {**(published.get("documents") or {}), **(imported.get("documents") or {})}
    if documents:
        package["documents"] = documents
    return package


#: The procedure.json fields a BPMN file alone says something about.
_DIAGRAM_FIELDS = ("process_id", "bpmn", "lanes", "step_budgets")


def _package_for_export(session: Session, slug: str, version: int | None,
                        draft_id: int | None) -> tuple[dict[str, Any], str]:
    """The package to export and the name the files get: `<slug>-v<n>` or `<slug>-ban-nhap`."""
    if draft_id is not None:
        draft = load_draft(session, draft_id)
        if draft.slug != slug:
            raise NotFound(f"draft {draft_id} is not of {slug}", message_vi="Bản nháp không thuộc thủ tục này.")
        return copy.deepcopy(draft.package), f"{slug}-ban-nhap"
    procedure = session.scalar(select(Procedure).where(Procedure.slug == slug))
    if procedure is None:
        raise ProcedureNotFound(f"procedure {slug!r} not found")
    if version is None:
        row = latest_row(session, procedure.id)
    else:
        row = session.scalar(select(ProcedureVersion).where(ProcedureVersion.procedure_id == procedure.id,
                                                            ProcedureVersion.number == version))
    if row is None:
        raise NotFound(f"{slug} v{version}", message_vi=f"Thủ tục {slug} không có phiên bản {version}.")
    return copy.deepcopy(row.package), f"{slug}-v{row.number}"


def export_bpmn(ctx: EngineContext, actor: Actor, slug: str, version: int | None = None,
                draft_id: int | None = None) -> tuple[str, bytes]:
    """(file name, BPMN 2.0 XML) of the main diagram of a version (default: the latest) or of a draft."""
    require_studio(actor)
    with ctx.sessions() as session:
        package, stem = _package_for_export(session, slug, version, draft_id)
    bpmn_file = main_bpmn_file(package)
    meta = package["procedure"]
    xml = with_editor_properties(package["bpmn"][bpmn_file], bpmn_file, meta.get("lanes") or {},
                                 meta.get("step_budgets") or {})
    return f"{stem}.bpmn", interchange.export_bpmn(xml, filename=bpmn_file)


def export_zip(ctx: EngineContext, actor: Actor, slug: str, version: int | None = None,
               draft_id: int | None = None) -> tuple[str, bytes]:
    """(file name, zip of the procedure folder: procedure.json, BPMN, forms, documents)."""
    require_studio(actor)
    with ctx.sessions() as session:
        package, stem = _package_for_export(session, slug, version, draft_id)
    return f"{stem}.zip", interchange.export_zip(package)


def simulate_draft(ctx: EngineContext, actor: Actor, draft_id: int, start_data: dict[str, Any],
                   answers: list[dict[str, Any]]) -> SimulationRun:
    """Test-run the draft in memory with sample data (connectors simulated, nothing stored): a SimulationRun."""
    require_studio(actor)
    if not isinstance(start_data, Mapping):
        raise InvalidInput({"start_data": ["Dữ liệu nộp hồ sơ phải là một đối tượng JSON."]})
    if not isinstance(answers, list) or not all(isinstance(a, Mapping) for a in answers):
        raise InvalidInput({"answers": ["Các bước trả lời phải là một danh sách đối tượng JSON."]})
    with ctx.sessions() as session:
        package = copy.deepcopy(load_draft(session, draft_id).package)
    return simulate(ctx, package, dict(start_data), [dict(a) for a in answers])


def sample_start_data(ctx: EngineContext, actor: Actor, draft_id: int) -> dict[str, Any]:
    """Valid sample values for the draft's start form ({} when it has none)."""
    require_studio(actor)
    with ctx.sessions() as session:
        package = copy.deepcopy(load_draft(session, draft_id).package)
    return start_form_sample(package)
