"""Read a procedure folder (ours or a SpiffArena process model) into one JSON-able package.

A package is what a published version stores: `{"procedure": {...}, "bpmn": {file: xml},
"forms": {name: {"schema", "ui_schema"}}}`. Its content hash identifies the version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson

from engine.errors import ProcedureInvalid

SCHEMA_SUFFIX = "-schema.json"
UI_SCHEMA_SUFFIX = "-uischema.json"


def form_name(schema_filename: str) -> str:
    """`tham-dinh-schema.json` → `tham-dinh` (the key of a form inside a package)."""
    name = Path(schema_filename).name
    return name[: -len(SCHEMA_SUFFIX)] if name.endswith(SCHEMA_SUFFIX) else name.removesuffix(".json")


def content_hash(package: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(package, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _read_json(path: Path, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problems.append(f"{path.name}, line {exc.lineno}: invalid JSON: {exc.msg}")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path.name}: cannot read: {exc}")
    return None


def _spiffarena_metadata(folder: Path, problems: list[str]) -> dict[str, Any]:
    model = _read_json(folder / "process_model.json", problems) or {}
    return {
        "name": model.get("display_name") or folder.name,
        "description": model.get("description", ""),
        "bpmn": model.get("primary_file_name"),
        "process_id": model.get("primary_process_id"),
    }


def read_package(folder: Path) -> dict[str, Any]:
    """Load a folder into a package; raise ProcedureInvalid listing every located problem."""
    folder = Path(folder)
    problems: list[str] = []
    if not folder.is_dir():
        raise ProcedureInvalid([f"{folder}: not a folder"])
    procedure: dict[str, Any] = {}
    if (folder / "process_model.json").exists():
        procedure.update({k: v for k, v in _spiffarena_metadata(folder, problems).items() if v})
        procedure["format"] = "spiffarena"
    if (folder / "procedure.json").exists():
        procedure.update(_read_json(folder / "procedure.json", problems) or {})
    elif "format" not in procedure:
        problems.append(f"{folder.name}: neither procedure.json nor process_model.json found")
    procedure.setdefault("slug", folder.name)
    bpmn_name = procedure.get("bpmn")
    bpmn_files = sorted(folder.glob("*.bpmn"))
    if bpmn_name and not (folder / bpmn_name).exists():
        problems.append(f"procedure.json: BPMN file {bpmn_name!r} not found in {folder.name}/")
    if not bpmn_files:
        problems.append(f"{folder.name}: no .bpmn file")
    if problems:
        raise ProcedureInvalid(problems)
    bpmn = {path.name: path.read_text(encoding="utf-8") for path in bpmn_files}
    forms = _read_forms(folder, problems)
    if problems:
        raise ProcedureInvalid(problems)
    package = {"procedure": procedure, "bpmn": bpmn, "forms": forms}
    documents = {path.name: path.read_text(encoding="utf-8") for path in sorted((folder / "documents").glob("*.html"))}
    if documents:
        package["documents"] = documents  # a procedure's own document templates (override built-ins)
    return package


def _read_forms(folder: Path, problems: list[str]) -> dict[str, dict[str, Any]]:
    forms: dict[str, dict[str, Any]] = {}
    for base in (folder, folder / "forms"):
        for path in sorted(base.glob(f"*{SCHEMA_SUFFIX}")):
            name = form_name(path.name)
            ui_path = path.with_name(name + UI_SCHEMA_SUFFIX)
            schema = _read_json(path, problems)
            ui_schema = _read_json(ui_path, problems) if ui_path.exists() else {}
            if schema is not None:
                forms[name] = {"schema": schema, "ui_schema": ui_schema or {}}
    return forms
