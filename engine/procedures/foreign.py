"""What a BPMN file from another modeller says about the procedure it draws: processes, names, lanes.

A foreign file brings no procedure.json, so the minimal one is read off the diagram: which process
runs (the engine runs one; SpiffWorkflow counts a process executable unless it says
`isExecutable="false"`), its name, a slug for the address, and its lanes (each still without a
role: the analyst assigns them, and lint reports those left unassigned).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.procedures.bpmn_names import BPMN_NS, describe_element
from engine.procedures.lint import ERROR, WARNING, Finding
from engine.procedures.unsupported import RULE_UNSUPPORTED

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,126}[a-z0-9])?$")
MAX_SLUG = 80


@dataclass(frozen=True)
class Process:
    id: str
    name: str  # the process's name, else its pool's, else its id
    file: str
    executable: bool
    element: Any


def slugify(text: str, fallback: str = "quy-trinh-nhap") -> str:
    """ASCII lower-case words joined by hyphens, Vietnamese diacritics folded: `Đăng ký kết hôn` → `dang-ky-ket-hon`."""
    folded = text.replace("đ", "d").replace("Đ", "D")
    folded = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-") or fallback


def processes(roots: Mapping[str, Any]) -> list[Process]:
    """Every process of the files, in file then document order."""
    found = []
    for filename, root in roots.items():
        pools = {p.get("processRef"): (p.get("name") or "").strip() for p in root.iter(f"{{{BPMN_NS}}}participant")}
        for element in root.iter(f"{{{BPMN_NS}}}process"):
            process_id = element.get("id") or ""
            name = (element.get("name") or "").strip() or pools.get(process_id) or process_id
            found.append(Process(process_id, name, filename, element.get("isExecutable", "true") == "true", element))
    return found


def choose(found: list[Process]) -> Process | None:
    """The process the engine will run: the first executable one, else the first one."""
    return next((p for p in found if p.executable), found[0] if found else None)


def lane_names(process: Any) -> list[str]:
    """The lanes tasks of `process` fall in, as SpiffWorkflow names them (a task's innermost named lane)."""
    effective: dict[str, str] = {}
    for ref in process.iter(f"{{{BPMN_NS}}}flowNodeRef"):
        lane = ref.getparent().get("name")
        if ref.text and lane:
            effective[ref.text.strip()] = lane.strip()
    return list(dict.fromkeys(effective.values()))


def minimal_meta(found: list[Process], fallback_name: str) -> dict[str, Any]:
    """procedure.json for a foreign model: name, slug, process_id, main BPMN file, lanes without roles."""
    chosen = choose(found)
    if chosen is None:
        raise ValueError("no process")
    name = chosen.name or fallback_name
    return {"name": name, "slug": slugify(name), "process_id": chosen.id, "bpmn": chosen.file,
            "lanes": dict.fromkeys(lane_names(chosen.element))}


def process_findings(found: list[Process], process_id: str | None) -> list[Finding]:
    """Which process runs, and what of the others will not."""
    chosen = next((p for p in found if p.id == process_id), None)
    if chosen is None:
        known = ", ".join(p.id for p in found) or "không có"
        return [Finding(RULE_UNSUPPORTED, ERROR, f"Quy trình {process_id!r} của thủ tục không có trong các tệp BPMN "
                        f"(các quy trình có: {known})", file="procedure.json")]
    findings = []
    if not chosen.executable:
        alone = "" if any(p.executable for p in found) else " và không quy trình nào trong tệp được đánh dấu"
        findings.append(_at(chosen, ERROR, f"chưa được đánh dấu thực thi (isExecutable=\"false\"){alone}; hãy bật "
                            "«Executable» cho quy trình này trước khi xuất bản"))
    called = {e.get("calledElement") for p in found for e in p.element.iter(f"{{{BPMN_NS}}}callActivity")}
    for other in found:
        if other is chosen or other.id in called or not _has_flow_nodes(other.element):
            continue
        findings.append(_at(other, WARNING, f"sẽ không chạy: mỗi thủ tục chạy một quy trình («{chosen.name}»); các bể "
                            "khác chỉ để minh họa và tin nhắn giữa các bể không được chuyển"))
    return findings


def idle_element_ids(found: list[Process], process_id: str | None) -> set[str]:
    """Ids of the elements of processes that never run (not the chosen one, nor called from it):
    what they contain is summed up by one finding on their process, not reported element by element."""
    by_id = {p.id: p for p in found}
    running: set[str] = set()
    stack = [process_id] if process_id in by_id else []
    while stack:
        current = stack.pop()
        if current in running or current not in by_id:
            continue
        running.add(current)
        stack += [e.get("calledElement") for e in by_id[current].element.iter(f"{{{BPMN_NS}}}callActivity")]
    if not running:
        return set()
    return {e.get("id") for p in found if p.id not in running for e in p.element.iterdescendants() if e.get("id")}


def _at(process: Process, severity: str, reason: str) -> Finding:
    return Finding(RULE_UNSUPPORTED, severity, f"{describe_element(process.element)}: {reason}", process.id,
                   process.file, process.element.sourceline)


def _has_flow_nodes(process: Any) -> bool:
    return any(child.tag.endswith(("Event", "Task", "task", "Gateway", "SubProcess", "subProcess", "Activity",
                                   "transaction"))
               for child in process.iterchildren() if isinstance(child.tag, str))
