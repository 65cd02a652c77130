"""Bring procedures in from other modellers and take them out again as standard files.

In: a .bpmn/.xml file (Camunda Modeler 7 or 8, bpmn-js, SpiffArena, the BPMN MIWG reference
models...) or a .zip (our procedure folder, or a SpiffArena process-model folder). The BPMN text is
kept exactly as it came (the editor opens it); what the engine will not run or will ignore is
listed as findings, located by file and line. Out: BPMN 2.0 checked against the OMG schema, and a
zip of our folder layout that imports back to an equal package.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from engine.errors import InvalidInput, ProcedureInvalid
from engine.procedures import foreign
from engine.procedures.archive import Member, read_archive, refuse, write_archive
from engine.procedures.bpmn_names import BPMN_NS, XmlRefused, parse_untrusted
from engine.procedures.bpmn_schema import fix_bpmn_js_quirks, schema_problems
from engine.procedures.lint import ERROR, INFO, WARNING, Finding
from engine.procedures.package import SCHEMA_SUFFIX, UI_SCHEMA_SUFFIX, package_from_files
from engine.procedures.unsupported import RULE_UNSUPPORTED, unique, unsupported_elements
from engine.runtime.specs import MAX_BPMN_BYTES, build_specs, parse_xml

__all__ = ["export_bpmn", "export_zip", "import_package", "unsupported_elements"]

log = logging.getLogger(__name__)

MAX_JSON_BYTES = 1024 * 1024
MAX_HTML_BYTES = 1024 * 1024
RULE_SCHEMA = "luoc-do-bpmn"
RULE_IGNORED_FILE = "bo-qua-tep"
_META_FILES = ("procedure.json", "process_model.json")
_SAFE_NAME = re.compile(r"^[^/\\\x00]+$")
_DECLARATION = re.compile(r"^<\?xml[^>]*\?>")


# -- import -----------------------------------------------------------------------------------------

def import_package(filename: str, data: bytes) -> tuple[dict[str, Any], list[Finding]]:
    """A package and the findings about it, from an uploaded .bpmn/.xml or .zip.

    Raises InvalidInput({"file": [...]}) for unreadable or hostile input.
    """
    if not data:
        raise refuse(f"{filename}: tệp rỗng.")
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if data[:4] == b"PK\x03\x04" or suffix == ".zip":
        package, findings = _from_archive(filename, data)
    elif suffix in (".bpmn", ".xml"):
        name = _bpmn_name(filename)
        text, root = _read_bpmn(name, data)
        package = {"procedure": foreign.minimal_meta(foreign.processes({name: root}), PurePosixPath(name).stem),
                   "bpmn": {name: text}, "forms": {}}
        findings = []
    else:
        raise refuse(f"{filename}: định dạng không được hỗ trợ; hãy chọn tệp .bpmn, .xml hoặc .zip.")
    findings += _findings(package)
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    return package, sorted(unique(findings), key=lambda f: (order[f.severity], f.file or "", f.line or 0))


def _bpmn_name(filename: str) -> str:
    """The file name the BPMN gets in the package: its base name, with `.bpmn` (a folder holds only those)."""
    stem = PurePosixPath(filename.replace("\\", "/")).stem.strip()
    safe = stem if stem and _SAFE_NAME.match(stem) and not stem.startswith(".") else foreign.slugify(stem)
    return f"{safe}.bpmn"


def _decode(name: str, data: bytes, limit: int) -> str:
    if len(data) > limit:
        raise refuse(f"{name}: tệp lớn hơn {_size(limit)}.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise refuse(f"{name}: tệp không được mã hóa UTF-8 (byte lỗi ở vị trí {exc.start}).") from exc


def _size(limit: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= factor:
            return f"{limit / factor:g} {unit}"
    return f"{limit} byte"


def _read_bpmn(name: str, data: bytes) -> tuple[str, Any]:
    """The text (as is) and its parsed root; refuse hostile XML and what is not BPMN 2.0."""
    text = _decode(name, data, MAX_BPMN_BYTES)
    root = _parse(text, name, "file")
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise refuse(f"{name}: không phải tệp BPMN 2.0 (phần tử gốc là «{etree.QName(root).localname}», cần "
                     "«definitions» của không gian tên BPMN 2.0).")
    if root.find(f".//{{{BPMN_NS}}}process") is None:
        raise refuse(f"{name}: tệp BPMN không có quy trình (process) nào để chạy.")
    return text, root


def _parse(text: str, name: str, field: str) -> Any:
    """The safe parse (no DTD, no entities, bounded size), its refusal under `field`."""
    try:
        return parse_untrusted(text, name)
    except XmlRefused as exc:
        raise InvalidInput({field: [f"{exc}."]}, str(exc)) from exc


def _from_archive(filename: str, data: bytes) -> tuple[dict[str, Any], list[Finding]]:
    members = read_archive(data, filename)
    folders = sorted({str(PurePosixPath(m.name).parent) for m in members if PurePosixPath(m.name).name in _META_FILES})
    if len(folders) > 1:
        raise refuse(f"{filename}: tệp nén chứa nhiều thủ tục/mô hình ({', '.join(folders)}); hãy nhập từng cái một.")
    if not folders:
        return _foreign_archive(filename, members)
    folder = "" if folders[0] == "." else folders[0] + "/"
    texts: dict[str, str] = {}
    findings = []
    for member in members:
        relative = member.name[len(folder):] if member.name.startswith(folder) else None
        if relative is not None and _is_package_file(relative):
            texts[relative] = _read_member_text(member, relative)
        else:
            findings.append(_ignored(member.name))
    default_slug = foreign.slugify(PurePosixPath(folder).name if folder else PurePosixPath(filename).stem)
    return _folder_package(filename, default_slug, texts), findings


def _is_package_file(relative: str) -> bool:
    """The files package_from_files reads (the rest of a folder is not part of a package)."""
    path = PurePosixPath(relative)
    top = len(path.parts) == 1
    if top and (relative in _META_FILES or relative.endswith(".bpmn")):
        return True
    if (top or (len(path.parts) == 2 and path.parts[0] == "forms")) \
            and (relative.endswith(SCHEMA_SUFFIX) or relative.endswith(UI_SCHEMA_SUFFIX)):
        return True
    return len(path.parts) == 2 and path.parts[0] == "documents" and relative.endswith(".html")


def _read_member_text(member: Member, relative: str) -> str:
    if relative.endswith(".bpmn"):
        return _read_bpmn(member.name, member.data)[0]
    text = _decode(member.name, member.data, MAX_HTML_BYTES if relative.endswith(".html") else MAX_JSON_BYTES)
    if relative.endswith(".json"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise refuse(f"{member.name}, dòng {exc.lineno}: JSON không hợp lệ: {exc.msg}.") from exc
        if not isinstance(value, dict):
            raise refuse(f"{member.name}: nội dung phải là một đối tượng JSON.")
    return text


def _ignored(name: str) -> Finding:
    if name.lower().endswith(".dmn"):
        return Finding(RULE_IGNORED_FILE, WARNING, f"Bảng quyết định DMN «{name}» không được hỗ trợ nên không được "
                       "nhập; các tác vụ quy tắc nghiệp vụ dùng nó sẽ không chạy", file=name)
    return Finding(RULE_IGNORED_FILE, INFO, f"Tệp «{name}» không thuộc cấu trúc thư mục thủ tục nên không được nhập",
                   file=name)


def _folder_package(filename: str, default_slug: str, texts: dict[str, str]) -> dict[str, Any]:
    """Our folder or a SpiffArena process model, read by package.py's one rule."""
    meta = json.loads(texts.get("procedure.json") or texts["process_model.json"])
    main = meta.get("bpmn") if "procedure.json" in texts else meta.get("primary_file_name")
    if not any("/" not in name and name.endswith(".bpmn") for name in texts):
        raise refuse(f"{filename}: thư mục thủ tục không có tệp .bpmn nào.")
    if main is not None and not isinstance(main, str):
        raise refuse(f"{filename}: tên tệp BPMN chính phải là một chuỗi (đọc được: {main!r}).")
    if main and main not in texts:
        raise refuse(f"{filename}: không tìm thấy tệp BPMN chính «{main}» trong thư mục thủ tục.")
    try:
        package = package_from_files(default_slug, texts)
    except ProcedureInvalid as exc:
        raise InvalidInput({"file": [f"{filename}: gói thủ tục không hợp lệ: {p}" for p in exc.problems]}) from exc
    procedure = package["procedure"]
    if not foreign.SLUG_PATTERN.match(str(procedure.get("slug") or "")):
        procedure["slug"] = foreign.slugify(str(procedure.get("slug") or ""), default_slug)
    if "procedure.json" not in texts:  # a SpiffArena model: fill in what procedure.json would hold
        roots = {name: parse_xml(text, name) for name, text in package["bpmn"].items()}
        found = foreign.processes(roots)
        chosen = next((p for p in found if p.id == procedure.get("process_id")), None) or foreign.choose(found)
        if chosen is not None:
            procedure.setdefault("process_id", chosen.id)
            procedure.setdefault("bpmn", chosen.file)
            procedure.setdefault("lanes", dict.fromkeys(foreign.lane_names(chosen.element)))
    return package


def _foreign_archive(filename: str, members: list[Member]) -> tuple[dict[str, Any], list[Finding]]:
    """A zip of bare BPMN files (e.g. a main process and the ones it calls)."""
    texts: dict[str, str] = {}
    roots: dict[str, Any] = {}
    findings = []
    for member in sorted(members, key=lambda m: m.name):
        if not member.name.lower().endswith(".bpmn"):
            findings.append(_ignored(member.name))
            continue
        name = _bpmn_name(member.name)
        if name in texts:
            raise refuse(f"{filename}: có hai tệp cùng tên «{name}» trong tệp nén.")
        texts[name], roots[name] = _read_bpmn(member.name, member.data)
    if not texts:
        raise refuse(f"{filename}: tệp nén không chứa tệp .bpmn, procedure.json hay process_model.json nào.")
    meta = foreign.minimal_meta(foreign.processes(roots), PurePosixPath(filename).stem)
    return {"procedure": meta, "bpmn": texts, "forms": {}}, findings


def _findings(package: dict[str, Any]) -> list[Finding]:
    """What the engine will not run: element walk, process choice, a trial build, the BPMN schema."""
    bpmn = package["bpmn"]
    roots = {name: parse_xml(text, name) for name, text in bpmn.items()}
    found = foreign.processes(roots)
    process_id = package["procedure"].get("process_id")
    idle = foreign.idle_element_ids(found, process_id)
    findings = [f for f in unsupported_elements(bpmn) if f.element_id not in idle]
    findings += foreign.process_findings(found, process_id)
    chosen = next((p for p in found if p.id == process_id), None)
    if chosen is not None and chosen.executable:
        findings += _build_findings(bpmn, chosen.id, findings)
    for name, root in roots.items():
        fix_bpmn_js_quirks(root)
        findings += [Finding(RULE_SCHEMA, WARNING, f"Không đúng lược đồ BPMN 2.0 (tệp xuất ra sẽ bị từ chối cho đến khi "
                             f"sửa): {message}", file=name, line=line) for line, message in schema_problems(root)]
    return findings


def _build_findings(bpmn: Mapping[str, str], process_id: str, known: list[Finding]) -> list[Finding]:
    """Build the specs as publishing would; a failure not already explained becomes a finding."""
    try:
        build_specs(bpmn, process_id)
    except ValidationException as exc:
        element_id = getattr(exc, "id", None) or None
        errors = [f for f in known if f.severity == ERROR]
        if any(f.element_id == element_id for f in errors) or (errors and not element_id):
            return []  # already explained, element by element, by the walk
        return [Finding(RULE_UNSUPPORTED, ERROR, f"Bộ máy không dựng được quy trình: {str(exc).splitlines()[0]}",
                        element_id, getattr(exc, "file_name", None) or None, getattr(exc, "line_number", None) or None)]
    except Exception as exc:  # noqa: BLE001 — third-party parser on untrusted input: report, never a 500
        log.warning("building specs of an imported model failed", exc_info=True)
        return [Finding(RULE_UNSUPPORTED, ERROR, f"Bộ máy không dựng được quy trình: {type(exc).__name__}: {exc}")]
    return []


# -- export -----------------------------------------------------------------------------------------

def export_bpmn(xml: str, *, filename: str = "bpmn") -> bytes:
    """The BPMN as UTF-8 bytes, valid against the OMG BPMN 2.0 schema.

    Raises InvalidInput({"bpmn": [...]}) naming the first schema problems with their lines.
    """
    root = _parse(xml, filename, "bpmn")
    fixed = fix_bpmn_js_quirks(root)
    problems = schema_problems(root)
    if problems:
        raise InvalidInput({"bpmn": [f"{filename}, dòng {line}: không đúng lược đồ BPMN 2.0: {message}"
                                     for line, message in problems]})
    if fixed:
        return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
    text = xml.removeprefix("\ufeff")
    declaration = '<?xml version="1.0" encoding="UTF-8"?>'
    text = _DECLARATION.sub(declaration, text, count=1) if _DECLARATION.match(text) else f"{declaration}\n{text}"
    return text.encode("utf-8")


def export_zip(package: Mapping[str, Any]) -> bytes:
    """Our folder layout under `<slug>/`: procedure.json, the BPMN files, forms/, documents/.

    Same package, same bytes (fixed timestamps, sorted members); import_package reads it back equal.
    """
    procedure = package["procedure"]
    slug = str(procedure.get("slug") or "")
    if not foreign.SLUG_PATTERN.match(slug):
        slug = foreign.slugify(str(procedure.get("name") or slug))
    files: list[tuple[str, bytes]] = [(f"{slug}/procedure.json", _json(procedure))]
    for name in sorted(package["bpmn"]):
        files.append((f"{slug}/{_member_name(name, '.bpmn')}", package["bpmn"][name].encode("utf-8")))
    for name in sorted(package.get("forms") or {}):
        form = package["forms"][name]
        base = _member_name(name, "")
        files.append((f"{slug}/forms/{base}{SCHEMA_SUFFIX}", _json(form["schema"])))
        files.append((f"{slug}/forms/{base}{UI_SCHEMA_SUFFIX}", _json(form.get("ui_schema") or {})))
    for name in sorted(package.get("documents") or {}):
        files.append((f"{slug}/documents/{_member_name(name, '.html')}", package["documents"][name].encode("utf-8")))
    return write_archive(files)


def _member_name(name: str, suffix: str) -> str:
    if not _SAFE_NAME.match(name) or name.startswith(".") or not name.endswith(suffix) or name == suffix:
        raise InvalidInput({"package": [f"Tên tệp «{name}» trong gói không dùng được khi xuất (cần một tên tệp "
                                        f"không chứa thư mục{', đuôi ' + suffix if suffix else ''})."]})
    return name


def _json(value: Any) -> bytes:
    # Key order is kept: a form's field order is the order of its schema's properties.
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
