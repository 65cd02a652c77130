"""Read a procedure folder (ours or a SpiffArena process model) into one JSON-able package.

A package is what a published version stores: `{"procedure": {...}, "bpmn": {file: xml},
"forms": {name: {"schema", "ui_schema"}}}`. Its content hash identifies the version.
The folder may be on disk (`read_package`) or a mapping of its files in memory
(`package_from_files`, used when a zip is imported): one reading rule for both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from engine.errors import ProcedureInvalid

SCHEMA_SUFFIX = "-schema.json"
UI_SCHEMA_SUFFIX = "-uischema.json"
#: The files a package is made of, relative to its folder (everything else in the folder is ignored).
PACKAGE_PATTERNS = ("*.json", "*.bpmn", "forms/*.json", "documents/*.html")


def form_name(schema_filename: str) -> str:
    """`tham-dinh-schema.json` → `tham-dinh` (the key of a form inside a package)."""
    name = Path(schema_filename).name
    return name[: -len(SCHEMA_SUFFIX)] if name.endswith(SCHEMA_SUFFIX) else name.removesuffix(".json")


def content_hash(package: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(package, option=orjson.OPT_SORT_KEYS)).hexdigest()


class FolderFiles(Mapping[str, str]):
    """The package files of a folder on disk (relative POSIX path → UTF-8 text), read when looked up."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._names = sorted({path.relative_to(folder).as_posix() for pattern in PACKAGE_PATTERNS
                              for path in folder.glob(pattern) if path.is_file()})

    def __getitem__(self, name: str) -> str:
        if name not in self._names:
            raise KeyError(name)
        return (self._folder / name).read_text(encoding="utf-8")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names


def _read_json(files: Mapping[str, str], name: str, problems: list[str]) -> Any:
    basename = PurePosixPath(name).name
    try:
        return json.loads(files[name])
    except json.JSONDecodeError as exc:
        problems.append(f"{basename}, line {exc.lineno}: invalid JSON: {exc.msg}")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{basename}: cannot read: {exc}")
    return None


def _spiffarena_metadata(folder_name: str, files: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    model = _read_json(files, "process_model.json", problems) or {}
    return {
        "name": model.get("display_name") or folder_name,
        "description": model.get("description", ""),
        "bpmn": model.get("primary_file_name"),
        "process_id": model.get("primary_process_id"),
    }


def read_package(folder: Path) -> dict[str, Any]:
    """Load a folder into a package; raise ProcedureInvalid listing every located problem."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ProcedureInvalid([f"{folder}: not a folder"])
    return package_from_files(folder.name, FolderFiles(folder))


def package_from_files(folder_name: str, files: Mapping[str, str]) -> dict[str, Any]:
    """Build a package from a folder's files (relative POSIX path → text); `folder_name` is the
    default slug. Raise ProcedureInvalid listing every located problem."""
    problems: list[str] = []
    procedure: dict[str, Any] = {}
    if "process_model.json" in files:
        procedure.update({k: v for k, v in _spiffarena_metadata(folder_name, files, problems).items() if v})
        procedure["format"] = "spiffarena"
    if "procedure.json" in files:
        procedure.update(_read_json(files, "procedure.json", problems) or {})
    elif "format" not in procedure:
        problems.append(f"{folder_name}: neither procedure.json nor process_model.json found")
    procedure.setdefault("slug", folder_name)
    bpmn_name = procedure.get("bpmn")
    bpmn_files = sorted(name for name in files if "/" not in name and name.endswith(".bpmn"))
    if bpmn_name and bpmn_name not in files:
        problems.append(f"procedure.json: BPMN file {bpmn_name!r} not found in {folder_name}/")
    if not bpmn_files:
        problems.append(f"{folder_name}: no .bpmn file")
    if problems:
        raise ProcedureInvalid(problems)
    bpmn = {name: files[name] for name in bpmn_files}
    forms = _read_forms(files, problems)
    if problems:
        raise ProcedureInvalid(problems)
    package = {"procedure": procedure, "bpmn": bpmn, "forms": forms}
    documents = {PurePosixPath(name).name: files[name] for name in sorted(files)
                 if name.startswith("documents/") and name.count("/") == 1 and name.endswith(".html")}
    if documents:
        package["documents"] = documents  # a procedure's own document templates (override built-ins)
    return package


def _read_forms(files: Mapping[str, str], problems: list[str]) -> dict[str, dict[str, Any]]:
    forms: dict[str, dict[str, Any]] = {}
    for base in ("", "forms/"):
        schemas = sorted(name for name in files if name.startswith(base) and "/" not in name[len(base):]
                         and name.endswith(SCHEMA_SUFFIX))
        for path in schemas:
            name = form_name(path)
            ui_path = f"{base}{name}{UI_SCHEMA_SUFFIX}"
            schema = _read_json(files, path, problems)
            ui_schema = _read_json(files, ui_path, problems) if ui_path in files else {}
            if schema is not None:
                forms[name] = {"schema": schema, "ui_schema": ui_schema or {}}
    return forms
