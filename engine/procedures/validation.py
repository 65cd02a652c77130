"""Validate a procedure package before it is published or loaded: every problem, located.

Messages name the file, the line where known, and the element id, so an analyst can find it:
`dang-ky.bpmn, line 42, tham_dinh: lane 'Chuyên viên' is not mapped to a role in procedure.json`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

import forms
from engine.documents.render import KINDS
from engine.procedures.package import form_name
from engine.runtime.runner import properties_of
from engine.runtime.specs import BpmnSyntaxError, ProcessSpecs, build_specs
from engine.statuses import STATUSES

ROLES = {"desk", "specialist", "leader", "applicant", "analyst", "admin"}
REQUIRED_KEYS = ("name", "process_id", "lanes")


def validate_package(package: dict[str, Any], *, operations: Iterable[str] | None = None,
                     check_script: Any = None) -> list[str]:
    """Return the list of problems (empty when the package is fine)."""
    procedure = package["procedure"]
    problems = [f"procedure.json: missing {key!r}" for key in REQUIRED_KEYS if not procedure.get(key)]
    problems += _check_lanes_config(procedure.get("lanes") or {})
    problems += _check_forms(package["forms"])
    start_form = procedure.get("start_form")
    if start_form and start_form not in package["forms"]:
        problems.append(f"procedure.json: start_form {start_form!r}: form file {start_form}-schema.json not found")
    if not procedure.get("process_id"):
        return problems
    try:
        specs = build_specs(package["bpmn"], procedure["process_id"])
    except BpmnSyntaxError as exc:
        return problems + [str(exc)]
    except ValidationException as exc:
        return problems + [located_message(exc)]
    problems += _check_tasks(specs, package, set(operations) if operations is not None else None, check_script)
    return problems


def located_message(exc: ValidationException, *, line_word: str = "line") -> str:
    """`file, line N, element id: message`, where SpiffWorkflow's parser refused the BPMN.

    The studio words its messages in Vietnamese and passes `line_word="dòng"`.
    """
    parts = [getattr(exc, "file_name", "") or "",
             f"{line_word} {exc.line_number}" if getattr(exc, "line_number", "") else "",
             getattr(exc, "id", "") or ""]
    where = ", ".join(p for p in parts if p)
    message = str(exc).split("\n")[0]
    return f"{where}: {message}" if where else message


def _check_lanes_config(lanes: dict[str, Any]) -> list[str]:
    problems = []
    for lane, target in lanes.items():
        role = target.get("role") if isinstance(target, dict) else target
        if role not in ROLES:
            problems.append(f"procedure.json: lane {lane!r} maps to unknown role {role!r}")
    return problems


def _check_forms(package_forms: dict[str, Any]) -> list[str]:
    problems = []
    for name, form in package_forms.items():
        try:
            forms.load_form(form["schema"], form.get("ui_schema"))
        except ValueError as exc:
            problems.append(f"forms/{name}-schema.json: {exc}")
    return problems


def _where(spec: Any, filename: str | None) -> str:
    return f"{filename or spec.file or 'bpmn'}, {spec.bpmn_id or spec.name}"


def _check_tasks(specs: ProcessSpecs, package: dict[str, Any], operations: set[str] | None,
                 check_script: Any) -> list[str]:
    problems: list[str] = []
    lanes = package["procedure"].get("lanes") or {}
    all_specs = [specs.spec, *specs.subprocess_specs.values()]
    for process in all_specs:
        for spec in process.task_specs.values():
            where = _where(spec, process.file)
            props = properties_of(spec)
            status = props.get("dossierStatus")
            if status and status not in STATUSES:
                problems.append(f"{where}: unknown dossierStatus {status!r} (known: {', '.join(STATUSES)})")
            if getattr(spec, "manual", False):
                if spec.lane is None:
                    problems.append(f"{where}: user task is in no lane; put it in a lane mapped to a role")
                elif spec.lane not in lanes:
                    problems.append(f"{where}: lane {spec.lane!r} is not mapped to a role in procedure.json")
                schema_file = props.get("formJsonSchemaFilename")
                if schema_file and form_name(schema_file) not in package["forms"]:
                    problems.append(f"{where}: form file {schema_file!r} not found")
            problems += [f"{where}: document kind {kind!r} has no template (built-in: {', '.join(KINDS)})"
                         for kind in missing_templates(props, package)]
            operation = getattr(spec, "operation_name", None)
            if operation is not None and operations is not None and operation not in operations:
                problems.append(f"{where}: service operation {operation!r} is not a registered connector operation")
            if check_script is not None:
                problems += [f"{where}: {p}" for p in script_problems(spec, check_script)]
    return problems


def missing_templates(props: dict[str, str], package: dict[str, Any]) -> list[str]:
    """Document kinds an element generates or attaches (`document`, `attachDocuments`) with no template."""
    own = package.get("documents") or {}
    return [kind for key in ("document", "attachDocuments")
            for kind in (k.strip() for k in (props.get(key) or "").split(","))
            if kind and kind not in KINDS and f"{kind}.html" not in own]


def script_problems(spec: Any, check_script: Any) -> list[str]:
    """What the restricted evaluator's static check refuses in a task's scripts, conditions and parameters."""
    problems: list[str] = []
    for script in (getattr(spec, "script", None), getattr(spec, "prescript", None), getattr(spec, "postscript", None)):
        if script:
            problems += check_script(script, "exec")
    for condition, _target in getattr(spec, "cond_task_specs", []):
        expression = condition.args[0] if getattr(condition, "args", None) else None
        if expression:
            problems += check_script(expression, "eval")
    for param in (getattr(spec, "operation_params", None) or {}).values():
        problems += check_script(param["value"], "eval")
    return problems
