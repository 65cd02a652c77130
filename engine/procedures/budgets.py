"""Lint rule (c): step budgets along every path from reception to result fit the legal deadline.

Everything is counted in office hours (a working day = the calendar's office hours, 7.5 by default):
`working_hours` as is; `working_days` × hours per day; `days` (calendar days) as if each were a
working day, which is lenient, the legal clock may count fewer; `same_day` as one working day.

A path is a simple path (no element twice) from the start event to an end event whose status is a
result (`returned`, `result_ready`). Along it:

- steps in a lane mapped to `applicant` do not count: the legal clock never runs on the citizen's time;
- with `supplement_clock: restart`, entering a `supplement_requested` element starts the sum again
  (the deadline is counted anew once the complete dossier arrives); loops are not unrolled;
- an element with `deadlineRule="x"` switches the path's limit to `deadline_rules.x`;
- a budget with `"since": "x"` is counted from when the earlier human task `x` opened (a consulted
  agency's window that lies inside the drafting days): when `x` is on the path before the step
  (since the clock last started), the budgets from `x` up to the step are replaced by the step's;
- paths no dossier can take are skipped (`decisions.py`): a gateway condition contradicting one
  taken earlier on the path, or a constant a script set (`bo_sung_tu = "tiep_nhan"`).

Budgets of parallel branches are on different paths, so the longest path is the critical one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.procedures.decisions import Decisions
from engine.procedures.lint import ERROR, INFO, WARNING, Finding, Subject, rule
from engine.procedures.package import form_name

RESULT_STATUSES = ("returned", "result_ready")
MAX_PATHS = 20_000
#: Elements that open a task row, whose opening time a budget's `since` can count from (SpiffWorkflow's
#: manual task specs: the engine records when they open, not when other elements are entered).
HUMAN_TASKS = frozenset({"userTask", "manualTask", "task"})


@dataclass(frozen=True)
class BudgetPath:
    end: str  # the end event's id
    #: (element id, or "x→id" for a step counted from an earlier x; budget in office hours), in path order
    steps: tuple[tuple[str, float], ...]
    limit_hours: float
    deadline: dict[str, Any]
    deadline_rule: str | None

    @property
    def total_hours(self) -> float:
        return sum(hours for _element, hours in self.steps)

    @property
    def overflows(self) -> bool:
        return self.total_hours > self.limit_hours + 1e-9


def hours_per_day(subject: Subject) -> float:
    (m_start, m_end), (a_start, a_end) = subject.calendar.morning, subject.calendar.afternoon
    day = datetime(2000, 1, 1)
    span = (datetime.combine(day, m_end) - datetime.combine(day, m_start)) + \
        (datetime.combine(day, a_end) - datetime.combine(day, a_start))
    return span.total_seconds() / 3600


def to_hours(amount: dict[str, Any], per_day: float) -> float:
    unit = amount.get("unit", "working_days")
    value = float(amount.get("value") or 0)
    if unit == "working_hours":
        return value
    if unit in ("working_days", "days"):
        return value * per_day
    if unit == "same_day":
        return per_day
    raise ValueError(f"unknown unit {unit!r}")


@dataclass(frozen=True)
class _Walk:
    node: str
    seen: frozenset[str]
    steps: tuple[tuple[str, float], ...]
    deadline_rule: str | None
    decisions: Decisions
    #: (element id, how many steps were counted when it was entered), since the clock last started
    entered: tuple[tuple[str, int], ...] = ()


def form_fields(subject: Subject, node: Any) -> set[str]:
    """Top-level fields a user task's form writes into the task data (they may change any decision)."""
    schema_file = node.properties.get("formJsonSchemaFilename")
    form = subject.package["forms"].get(form_name(schema_file)) if schema_file else None
    return set(((form or {}).get("schema") or {}).get("properties") or {})


def budget_paths(subject: Subject) -> tuple[list[BudgetPath], bool]:
    """Every path from the start to a result with its budgeted steps; True when the walk was cut short."""
    meta = subject.procedure
    per_day = hours_per_day(subject)
    budgets = {k: to_hours(v, per_day) for k, v in (meta.get("step_budgets") or {}).items()}
    since = counted_from(subject)
    rules = meta.get("deadline_rules") or {}
    applicant_lanes = {lane for lane, target in (meta.get("lanes") or {}).items()
                       if (target.get("role") if isinstance(target, dict) else target) == "applicant"}
    restart = meta.get("supplement_clock", "restart") == "restart"
    graph = subject.graph
    found: list[BudgetPath] = []
    stack: list[_Walk] = [_Walk(start.id, frozenset(), (), None, Decisions()) for start in graph.starts()]
    while stack:
        if len(found) >= MAX_PATHS:
            return found, True
        walk = stack.pop()
        node = graph.nodes.get(walk.node)
        if node is None or walk.node in walk.seen:
            continue
        props, steps, deadline_rule, entered = node.properties, walk.steps, walk.deadline_rule, walk.entered
        if restart and props.get("dossierStatus") == "supplement_requested":
            steps, entered = (), ()
        entered = (*entered, (node.id, len(steps)))
        if node.id in budgets and node.lane not in applicant_lanes:
            start = dict(entered).get(since[node.id]) if node.id in since else None
            if start is None:
                steps = (*steps, (node.id, budgets[node.id]))
            else:  # the earlier steps' time lies inside this step's budget
                steps = (*steps[:start], (f"{since[node.id]}→{node.id}", budgets[node.id]))
        if props.get("deadlineRule") in rules:
            deadline_rule = props["deadlineRule"]
        if node.kind == "endEvent":
            if props.get("dossierStatus") in RESULT_STATUSES:
                deadline = rules[deadline_rule] if deadline_rule else meta["deadline"]
                found.append(BudgetPath(node.id, steps, to_hours(deadline, per_day), deadline, deadline_rule))
            continue
        decisions = walk.decisions.after_script(node.script).forgetting(form_fields(subject, node))
        for target, flow in graph.steps_from(node.id):
            condition = flow.condition if flow else None
            if decisions.possible(condition):
                stack.append(_Walk(target, walk.seen | {node.id}, steps, deadline_rule, decisions.taking(condition),
                                   entered))
    return found, False


def counted_from(subject: Subject) -> dict[str, str]:
    """Step id → the earlier human task its budget counts from, for the `since` entries the engine honours."""
    nodes = subject.graph.nodes
    return {element: amount["since"] for element, amount in (subject.procedure.get("step_budgets") or {}).items()
            if isinstance(amount, dict) and isinstance(amount.get("since"), str)
            and amount["since"] != element and getattr(nodes.get(amount["since"]), "kind", None) in HUMAN_TASKS}


def reachable_from(subject: Subject, element_id: str) -> set[str]:
    """Every element a token can reach after leaving `element_id` (itself only through a loop)."""
    graph = subject.graph
    seen: set[str] = set()
    stack = list(graph.successors(element_id))
    while stack:
        node_id = stack.pop()
        if node_id not in seen and node_id in graph.nodes:
            seen.add(node_id)
            stack.extend(graph.successors(node_id))
    return seen


def describe(amount_hours: float, per_day: float) -> str:
    days = amount_hours / per_day
    return f"{_number(amount_hours)} giờ làm việc (≈ {_number(days)} ngày làm việc)"


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _deadline_text(path: BudgetPath) -> str:
    unit = {"working_days": "ngày làm việc", "working_hours": "giờ làm việc", "days": "ngày",
            "same_day": "trong ngày"}.get(path.deadline.get("unit", "working_days"), path.deadline.get("unit"))
    text = unit if path.deadline.get("unit") == "same_day" else f"{_number(path.deadline.get('value', 0))} {unit}"
    return f"{text} (quy tắc {path.deadline_rule})" if path.deadline_rule else text


@rule("ngan-sach", "Tổng thời gian các bước trên mỗi nhánh không vượt thời hạn giải quyết")
def budgets_fit_the_deadline(subject: Subject) -> Iterator[Finding]:
    meta = subject.procedure
    graph = subject.graph
    for element_id in meta.get("step_budgets") or {}:
        if element_id not in graph.nodes:
            yield subject.at("ngan-sach", WARNING, f"step_budgets có bước {element_id!r} nhưng sơ đồ không có "
                             "phần tử nào mang id này", location=None)
    yield from _since_findings(subject)
    rules = meta.get("deadline_rules") or {}
    for node in graph.nodes.values():
        name = node.properties.get("deadlineRule")
        if name and name not in rules:
            yield subject.at("ngan-sach", ERROR, f"«{node.label}» bật quy tắc thời hạn {name!r} nhưng procedure.json "
                             "không khai báo deadline_rules." + name, node.id)
    if not meta.get("deadline"):
        yield subject.at("ngan-sach", WARNING, "procedure.json chưa khai báo thời hạn giải quyết (deadline)")
        return
    try:
        paths, cut = budget_paths(subject)
    except ValueError as exc:
        yield subject.at("ngan-sach", ERROR, f"Đơn vị thời gian không hợp lệ trong procedure.json: {exc}")
        return
    if cut:
        yield subject.at("ngan-sach", WARNING, f"Sơ đồ có hơn {MAX_PATHS} nhánh; chỉ kiểm tra {MAX_PATHS} nhánh đầu")
    yield from _report(subject, paths)


def _since_findings(subject: Subject) -> Iterator[Finding]:
    """A `since` the engine cannot honour: an unknown id (error); itself, an element whose entry is not
    recorded, or one that never comes before the step (warning: the budget counts from the step's opening)."""
    nodes = subject.graph.nodes
    for element_id, amount in (subject.procedure.get("step_budgets") or {}).items():
        if not isinstance(amount, dict) or amount.get("since") is None:
            continue
        since, node = amount["since"], nodes.get(element_id)
        at = element_id if node else None
        what = f"Thời hạn của bước «{node.label if node else element_id}» được tính từ"
        fallback = "nên hạn của bước luôn tính từ lúc mở bước"
        if not isinstance(since, str) or since not in nodes:
            yield subject.at("ngan-sach", ERROR, f"{what} {since!r} (since) nhưng sơ đồ không có phần tử nào mang "
                             "id này", at)
        elif since == element_id:
            yield subject.at("ngan-sach", WARNING, f"{what} chính nó (since): bỏ since, mặc định hạn của bước đã "
                             "tính từ lúc mở bước", at)
        elif nodes[since].kind not in HUMAN_TASKS:
            yield subject.at("ngan-sach", WARNING, f"{what} «{nodes[since].label}» (since), nhưng đó không phải tác vụ "
                             f"có người xử lý nên hệ thống không ghi lại lúc bắt đầu, {fallback}", at)
        elif node is not None and element_id not in reachable_from(subject, since):
            yield subject.at("ngan-sach", WARNING, f"{what} «{nodes[since].label}» (since), nhưng trên sơ đồ "
                             f"«{nodes[since].label}» không bao giờ đi trước bước này, {fallback}", at)


def _report(subject: Subject, paths: list[BudgetPath]) -> Iterator[Finding]:
    per_day = hours_per_day(subject)
    for path in _longest(paths).values():
        steps = " + ".join(f"{element} {_number(hours)}" for element, hours in path.steps) or "không có bước nào"
        text = (f"nhánh dài nhất tới «{subject.graph.nodes[path.end].label}»: {describe(path.total_hours, per_day)} "
                f"[{steps} giờ]; thời hạn {_deadline_text(path)} = {describe(path.limit_hours, per_day)}")
        if path.overflows:
            yield subject.at("ngan-sach", ERROR, f"Tổng thời gian các bước vượt thời hạn giải quyết: {text}", path.end)
        else:
            yield subject.at("ngan-sach", INFO, f"Thời gian các bước nằm trong thời hạn: {text}", path.end)


def longest_paths(subject: Subject) -> dict[str | None, BudgetPath]:
    """The longest path per deadline (None: the main deadline; else the deadline rule's name)."""
    return _longest(budget_paths(subject)[0])


def _longest(paths: list[BudgetPath]) -> dict[str | None, BudgetPath]:
    longest: dict[str | None, BudgetPath] = {}
    for path in paths:
        if path.deadline_rule not in longest or path.total_hours > longest[path.deadline_rule].total_hours:
            longest[path.deadline_rule] = path
    return longest
