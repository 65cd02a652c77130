"""What changed between two versions of a procedure package: as data, and as one Vietnamese paragraph.

Shown at publish time next to who published and when, so reviewers see the change, not two files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.procedures.graph import FlowGraph, read_graph

_TASKS = frozenset({"userTask", "manualTask", "serviceTask", "scriptTask", "task", "sendTask", "receiveTask",
                    "businessRuleTask", "callActivity", "subProcess"})


@dataclass(frozen=True)
class FormChange:
    form: str
    status: str  # "added" | "removed" | "changed"
    fields_added: list[str] = field(default_factory=list)
    fields_removed: list[str] = field(default_factory=list)
    type_changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    required_changed: bool = False


@dataclass(frozen=True)
class VersionDiff:
    tasks_added: dict[str, str]  # id → name
    tasks_removed: dict[str, str]
    tasks_renamed: dict[str, tuple[str, str]]  # id → (old name, new name)
    forms: list[FormChange]
    lanes: dict[str, tuple[Any, Any]]  # lane → (old role, new role); None when absent
    budgets: dict[str, tuple[Any, Any]]  # step id → (old budget, new budget)
    deadline: tuple[Any, Any] | None
    deadline_rules: dict[str, tuple[Any, Any]]
    scripts: list[str]  # ids of elements / flows whose script or condition changed
    summary: str

    @property
    def empty(self) -> bool:
        return not (self.tasks_added or self.tasks_removed or self.tasks_renamed or self.forms or self.lanes
                    or self.budgets or self.deadline or self.deadline_rules or self.scripts)


def _graph(package: dict[str, Any]) -> FlowGraph:
    return read_graph(package["bpmn"], package["procedure"]["process_id"])


def _changed(old: dict[str, Any], new: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {key: (old.get(key), new.get(key)) for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def _form_changes(old: dict[str, Any], new: dict[str, Any]) -> list[FormChange]:
    changes = []
    for name in sorted(set(old) | set(new)):
        if name not in new or name not in old:
            changes.append(FormChange(name, "removed" if name not in new else "added"))
            continue
        a, b = old[name]["schema"], new[name]["schema"]
        pa, pb = a.get("properties") or {}, b.get("properties") or {}
        types = {f: ((pa[f] or {}).get("type"), (pb[f] or {}).get("type")) for f in set(pa) & set(pb)
                 if (pa[f] or {}).get("type") != (pb[f] or {}).get("type")}
        change = FormChange(name, "changed", sorted(set(pb) - set(pa)), sorted(set(pa) - set(pb)), types,
                            set(a.get("required") or []) != set(b.get("required") or []))
        if change.fields_added or change.fields_removed or types or change.required_changed or a != b:
            changes.append(change)
    return changes


def diff_versions(old_package: dict[str, Any], new_package: dict[str, Any]) -> VersionDiff:
    old_graph, new_graph = _graph(old_package), _graph(new_package)
    old_tasks = {n.id: n.name for n in old_graph.nodes.values() if n.kind in _TASKS}
    new_tasks = {n.id: n.name for n in new_graph.nodes.values() if n.kind in _TASKS}
    old_meta, new_meta = old_package["procedure"], new_package["procedure"]
    old_code = {**{n.id: n.script for n in old_graph.nodes.values() if n.script},
                **{f.id: f.condition for f in old_graph.flows if f.condition}}
    new_code = {**{n.id: n.script for n in new_graph.nodes.values() if n.script},
                **{f.id: f.condition for f in new_graph.flows if f.condition}}
    deadline = (old_meta.get("deadline"), new_meta.get("deadline"))
    result = dict(
        tasks_added={k: v for k, v in new_tasks.items() if k not in old_tasks},
        tasks_removed={k: v for k, v in old_tasks.items() if k not in new_tasks},
        tasks_renamed={k: (old_tasks[k], new_tasks[k]) for k in old_tasks.keys() & new_tasks.keys()
                       if old_tasks[k] != new_tasks[k]},
        forms=_form_changes(old_package["forms"], new_package["forms"]),
        lanes=_changed(old_meta.get("lanes") or {}, new_meta.get("lanes") or {}),
        budgets=_changed(old_meta.get("step_budgets") or {}, new_meta.get("step_budgets") or {}),
        deadline=deadline if deadline[0] != deadline[1] else None,
        deadline_rules=_changed(old_meta.get("deadline_rules") or {}, new_meta.get("deadline_rules") or {}),
        scripts=sorted(k for k in set(old_code) | set(new_code) if old_code.get(k) != new_code.get(k)),
    )
    return VersionDiff(**result, summary=_summary(result))


def _names(items: dict[str, Any]) -> str:
    return ", ".join(f"«{v if isinstance(v, str) and v else k}» ({k})" for k, v in sorted(items.items()))


def _amount(value: Any) -> str:
    if not value:
        return "không có"
    return f"{value.get('value')} {value.get('unit')}" if isinstance(value, dict) else str(value)


def _summary(d: dict[str, Any]) -> str:
    parts = []
    if d["tasks_added"]:
        parts.append(f"thêm bước {_names(d['tasks_added'])}")
    if d["tasks_removed"]:
        parts.append(f"bỏ bước {_names(d['tasks_removed'])}")
    if d["tasks_renamed"]:
        parts.append("đổi tên " + ", ".join(f"{k} từ «{a}» thành «{b}»" for k, (a, b) in sorted(d["tasks_renamed"].items())))
    for form in d["forms"]:
        if form.status != "changed":
            parts.append(f"{'thêm' if form.status == 'added' else 'bỏ'} biểu mẫu {form.form}")
            continue
        bits = ([f"thêm trường {', '.join(form.fields_added)}"] if form.fields_added else []) + \
            ([f"bỏ trường {', '.join(form.fields_removed)}"] if form.fields_removed else []) + \
            [f"đổi kiểu {f} từ {a} sang {b}" for f, (a, b) in sorted(form.type_changed.items())] + \
            (["đổi trường bắt buộc"] if form.required_changed else [])
        parts.append(f"biểu mẫu {form.form}: {', '.join(bits) or 'sửa nội dung hiển thị'}")
    parts += [f"lane «{lane}»: {_amount(a)} → {_amount(b)}" for lane, (a, b) in d["lanes"].items()]
    parts += [f"thời gian bước {k}: {_amount(a)} → {_amount(b)}" for k, (a, b) in d["budgets"].items()]
    if d["deadline"]:
        parts.append(f"thời hạn giải quyết: {_amount(d['deadline'][0])} → {_amount(d['deadline'][1])}")
    parts += [f"quy tắc thời hạn {k}: {_amount(a)} → {_amount(b)}" for k, (a, b) in d["deadline_rules"].items()]
    if d["scripts"]:
        parts.append(f"sửa kịch bản/điều kiện tại {', '.join(d['scripts'])}")
    if not parts:
        return "Không có thay đổi về bước, biểu mẫu, vai trò, thời hạn hay kịch bản so với phiên bản trước."
    return "So với phiên bản trước: " + "; ".join(parts) + "."
