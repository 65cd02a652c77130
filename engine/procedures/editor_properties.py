"""Lane roles and step budgets as SpiffWorkflow properties in the BPMN, for the studio's diagram editor.

A package keeps them in procedure.json (`lanes`: lane name → role, `step_budgets`: element id →
amount), where the engine reads them. The editor only sees the BPMN, so the XML it is given carries
them as `spiffworkflow:property` entries (`role` and `agency` on a lane, `stepBudget` =
"0.5 working_days" on a step, "2 working_days since lay_y_kien" for a budget counted from an
earlier step's opening) and the XML it sends back is read here into procedure.json again,
with those properties taken out: the stored package stays the engine's format.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine.calendar import UNITS
from engine.procedures.bpmn_names import BPMN_NS, SPIFF_NS, XmlRefused, parse_untrusted
from engine.procedures.validation import ROLES
from engine.runtime.specs import BpmnSyntaxError, parse_xml

ROLE, AGENCY, STEP_BUDGET = "role", "agency", "stepBudget"
_LANE_PROPERTIES = (ROLE, AGENCY)
_AMOUNT = re.compile(r"^\s*(?:(\d+(?:[.,]\d+)?)\s+)?([a-z_]+)(?:\s+since\s+(\S+))?\s*$")


class EditorPropertyError(ValueError):
    """Editor properties that cannot be read back; `problems` are located Vietnamese messages."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class EditorProperties:
    """What one BPMN file from the editor says, and the file without the editor-only properties."""

    xml: str
    lanes: dict[str, Any]  # lane name → role, or {"role", "agency"} when another agency works it
    step_budgets: dict[str, dict[str, Any]]  # element id → {"value", "unit"[, "since"]}
    lane_names: set[str] = field(default_factory=set)  # every lane in the file, with a role or not
    element_ids: set[str] = field(default_factory=set)
    process_ids: list[str] = field(default_factory=list)  # executable processes first


def main_bpmn_file(package: Mapping[str, Any]) -> str:
    """The file the editor opens: procedure.json's `bpmn`, else the file defining `process_id`, else the first."""
    files = package["bpmn"]
    meta = package["procedure"]
    if meta.get("bpmn") in files:
        return meta["bpmn"]
    process_id = meta.get("process_id")
    for name, text in files.items():
        if process_id and f'id="{process_id}"' in text:
            return name
    if not files:
        raise ValueError("package has no BPMN file")
    return sorted(files)[0]


def format_budget(amount: Mapping[str, Any]) -> str:
    """{"value": 0.5, "unit": "working_days"} → "0.5 working_days" ("same_day" has no value); with
    "since": "lay_y_kien" → "0.5 working_days since lay_y_kien"."""
    unit = amount.get("unit", "working_days")
    value = amount.get("value", 0)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unit if unit == "same_day" else f"{value} {unit}"
    return f"{text} since {amount['since']}" if amount.get("since") else text


def parse_budget(text: str) -> dict[str, Any]:
    """"0,5 working_days" / "2 working_hours" / "same_day", optionally followed by "since <element id>"
    → an amount; ValueError (Vietnamese) if not one."""
    match = _AMOUNT.match(text or "")
    if not match or match.group(2) not in UNITS or (match.group(1) is None and match.group(2) != "same_day"):
        raise ValueError(f"thời gian bước «{text}» không hợp lệ: cần một số và một đơn vị "
                         f"({', '.join(UNITS)}), ví dụ «0.5 working_days», hoặc «same_day»; có thể thêm "
                         "«since <id bước trước>» để tính từ lúc mở bước đó, ví dụ «2 working_days since lay_y_kien»")
    since = {"since": match.group(3)} if match.group(3) else {}
    if match.group(2) == "same_day":
        return {"value": 1, "unit": "same_day", **since}
    number = float(match.group(1).replace(",", "."))
    if not math.isfinite(number):
        raise ValueError(f"thời gian bước «{text}» không hợp lệ")
    return {"value": int(number) if number.is_integer() else number, "unit": match.group(2), **since}


def with_editor_properties(xml: str, filename: str, lanes: Mapping[str, Any],
                           step_budgets: Mapping[str, Mapping[str, Any]]) -> str:
    """`xml` with each mapped lane's role (and agency) and each budgeted element's budget written in."""
    root = parse_xml(xml, filename)
    declared = SPIFF_NS in root.nsmap.values()
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        target = lanes.get(_lane_name(lane))
        if target is None:
            continue
        role, agency = (target.get("role"), target.get("agency")) if isinstance(target, Mapping) else (target, None)
        if role:
            _set_property(lane, ROLE, str(role))
        if agency:
            _set_property(lane, AGENCY, str(agency))
    for element in root.iter(etree.Element):
        element_id = element.get("id")
        if element_id in step_budgets and _is_bpmn(element) and _local(element.tag) not in ("lane", "process"):
            _set_property(element, STEP_BUDGET, format_budget(step_budgets[element_id]))
    if not declared:
        etree.cleanup_namespaces(root, top_nsmap={"spiffworkflow": SPIFF_NS},
                                 keep_ns_prefixes=[prefix for prefix in root.nsmap if prefix])
    return _serialize(root)


def read_editor_properties(xml: str | bytes, filename: str) -> EditorProperties:
    """Read roles and budgets out of an edited BPMN file and take them out of it.

    Raises EditorPropertyError, each message located: malformed or hostile XML (DOCTYPE,
    entities, too large), a file that is not BPMN, every property that cannot be read.
    """
    root = _parse(xml, filename)
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise EditorPropertyError([f"{filename}, dòng {root.sourceline}: tệp không phải sơ đồ BPMN 2.0 "
                                   "(phần tử gốc phải là bpmn:definitions)"])
    problems: list[str] = []
    lanes, lane_names, taken_lanes = _read_lanes(root, filename, problems)
    step_budgets, element_ids = _read_budgets(root, filename, problems)
    if problems:
        raise EditorPropertyError(problems)
    processes = list(root.iter(f"{{{BPMN_NS}}}process"))
    process_ids = [p.get("id") for p in processes if p.get("isExecutable") == "true"] + \
        [p.get("id") for p in processes if p.get("isExecutable") != "true"]
    taken = taken_lanes or bool(step_budgets)
    # Nothing was taken out: the file stays exactly as it came (an import keeps its text).
    text = _serialize(root) if taken or not isinstance(xml, str) else xml
    return EditorProperties(text, lanes, step_budgets, lane_names, element_ids, [pid for pid in process_ids if pid])


def _read_lanes(root: Any, filename: str, problems: list[str]) -> tuple[dict[str, Any], set[str], bool]:
    """(lane name → role, every lane name, whether any property was taken out); problems appended."""
    lanes: dict[str, Any] = {}
    lane_names: set[str] = set()
    taken = False
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        name = _lane_name(lane)
        lane_names.add(name)
        found = _take_properties(lane, _LANE_PROPERTIES)
        taken = taken or bool(found)
        target = _lane_target(found, name, lane, filename, problems)
        if target is None:
            continue
        if name in lanes and lanes[name] != target:
            problems.append(f"{_where(filename, lane)}: hai lane cùng tên «{name}» được gán vai trò khác nhau; "
                            "hãy đặt tên khác cho một lane")
        lanes[name] = target
    return lanes, lane_names, taken


def _read_budgets(root: Any, filename: str, problems: list[str]) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """(element id → budget taken out of it, every BPMN element id); problems appended."""
    step_budgets: dict[str, dict[str, Any]] = {}
    element_ids: set[str] = set()
    for element in root.iter(etree.Element):
        if element.get("id") and _is_bpmn(element):
            element_ids.add(element.get("id"))
        budget = _take_properties(element, (STEP_BUDGET,)).get(STEP_BUDGET)
        if budget is None:
            continue
        if not element.get("id"):
            problems.append(f"{_where(filename, element)}: phần tử có thời gian bước nhưng không có id")
            continue
        try:
            step_budgets[element.get("id")] = parse_budget(budget)
        except ValueError as exc:
            problems.append(f"{_where(filename, element)}: {exc}")
    return step_budgets, element_ids


def merge_into_meta(meta: Mapping[str, Any], read: EditorProperties, other_files: Mapping[str, str], *,
                    previous: Mapping[str, str] | None = None, authoritative: bool = True) -> dict[str, Any]:
    """procedure.json after the main file was replaced by `read`: lanes and budgets from its properties.

    From the editor (`authoritative`), the file says everything: a lane or step in it without the
    property has none. From an import, a file without the property leaves procedure.json's entry.
    Either way, the entries of lanes and elements that were in the `previous` main file and are in
    no file now are dropped (the analyst deleted them); other entries are left alone. When the
    main file no longer defines `process_id` but has exactly one process, that process is it (the
    analyst renamed the process in the editor).
    """
    other_lanes, other_ids = lanes_and_ids(other_files)
    try:
        before_lanes, before_ids = lanes_and_ids(previous or {})
    except BpmnSyntaxError:  # an unreadable old file: nothing is known to be gone
        before_lanes, before_ids = set(), set()
    gone_lanes = before_lanes - read.lane_names - other_lanes
    gone_ids = before_ids - read.element_ids - other_ids

    def kept(key: str, in_file: set[str], gone: set[str]) -> bool:
        return key not in gone and not (authoritative and key in in_file)

    updated = dict(meta)
    updated["lanes"] = {**{k: v for k, v in (meta.get("lanes") or {}).items()
                           if kept(k, read.lane_names, gone_lanes)}, **read.lanes}
    updated["step_budgets"] = {**{k: v for k, v in (meta.get("step_budgets") or {}).items()
                                  if kept(k, read.element_ids, gone_ids)}, **read.step_budgets}
    if meta.get("process_id") not in read.process_ids and len(read.process_ids) == 1 \
            and meta.get("process_id") not in other_ids:
        updated["process_id"] = read.process_ids[0]
    return updated


def lanes_and_ids(bpmn_files: Mapping[str, str]) -> tuple[set[str], set[str]]:
    """Every lane name and every element id in the files."""
    lanes: set[str] = set()
    ids: set[str] = set()
    for name, text in bpmn_files.items():
        root = parse_xml(text, name)
        lanes |= {_lane_name(lane) for lane in root.iter(f"{{{BPMN_NS}}}lane")}
        ids |= {e.get("id") for e in root.iter(etree.Element) if e.get("id")}
    return lanes, ids


def _parse(xml: str | bytes, filename: str) -> Any:
    try:
        return parse_untrusted(xml, filename)
    except XmlRefused as exc:
        raise EditorPropertyError([str(exc)]) from exc


def _lane_target(found: dict[str, str], name: str, lane: Any, filename: str, problems: list[str]) -> Any:
    role, agency = found.get(ROLE, "").strip(), found.get(AGENCY, "").strip()
    if not role:
        if agency:
            problems.append(f"{_where(filename, lane)}: lane «{name}» có cơ quan {agency!r} nhưng chưa có vai trò")
        return None
    if role not in ROLES:
        problems.append(f"{_where(filename, lane)}: lane «{name}» được gán vai trò không tồn tại {role!r} "
                        f"(vai trò hợp lệ: {', '.join(sorted(ROLES))})")
        return None
    return {"role": role, "agency": agency} if agency else role


def _take_properties(element: Any, names: tuple[str, ...]) -> dict[str, str]:
    """Remove the element's own properties named `names` (not those of its children); return their values."""
    found: dict[str, str] = {}
    for extensions in element.findall(f"{{{BPMN_NS}}}extensionElements"):
        for properties in extensions.findall(f"{{{SPIFF_NS}}}properties"):
            for prop in properties.findall(f"{{{SPIFF_NS}}}property"):
                if prop.get("name") in names:
                    found[prop.get("name")] = prop.get("value") or ""
                    _remove(prop)
            if len(properties) == 0 and found:
                _remove(properties)
        if len(extensions) == 0 and found:
            _remove(extensions)
    return found


def _set_property(element: Any, name: str, value: str) -> None:
    extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
    if extensions is None:
        extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
        # BPMN puts extensionElements right after the documentation elements.
        docs = element.findall(f"{{{BPMN_NS}}}documentation")
        element.insert(element.index(docs[-1]) + 1 if docs else 0, extensions)
    properties = extensions.find(f"{{{SPIFF_NS}}}properties")
    if properties is None:
        properties = etree.SubElement(extensions, f"{{{SPIFF_NS}}}properties")
    for prop in properties.findall(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(properties, f"{{{SPIFF_NS}}}property", name=name, value=value)


def _remove(element: Any) -> None:
    """Remove `element` and keep the whitespace after its predecessor tidy."""
    parent = element.getparent()
    previous = element.getprevious()
    if element.tail and element.tail.strip() == "":
        if previous is not None:
            previous.tail = element.tail
        else:
            parent.text = element.tail
    parent.remove(element)


def _lane_name(lane: Any) -> str:
    return lane.get("name") or lane.get("id") or ""


def _is_bpmn(element: Any) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith(f"{{{BPMN_NS}}}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _where(filename: str, element: Any) -> str:
    return ", ".join(p for p in (filename, f"dòng {element.sourceline}" if element.sourceline else "",
                                 element.get("id") or "") if p)


def _serialize(root: Any) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="unicode")
