"""Small BPMN models for the lint and migration tests, built as package dicts (what a version stores)."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="x">\n'
        '<bpmn:process id="{pid}" isExecutable="true">\n')


def props(**values: str) -> str:
    items = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in values.items())
    return f"<bpmn:extensionElements><spiffworkflow:properties>{items}</spiffworkflow:properties></bpmn:extensionElements>"


def user_task(task_id: str, name: str, form: str | None = None, **extra: str) -> str:
    values = {"formJsonSchemaFilename": f"{form}-schema.json"} if form else {}
    return f'<bpmn:userTask id="{task_id}" name="{name}">{props(**values, **extra)}</bpmn:userTask>\n'


def event(kind: str, element_id: str, name: str = "", **extra: str) -> str:
    return f'<bpmn:{kind} id="{element_id}" name="{name}">{props(**extra) if extra else ""}</bpmn:{kind}>\n'


def flow(source: str, target: str, name: str = "", condition: str | None = None) -> str:
    body = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            if condition else "")
    return (f'<bpmn:sequenceFlow id="f_{source}_{target}" name="{name}" sourceRef="{source}" '
            f'targetRef="{target}">{body}</bpmn:sequenceFlow>\n')


def lanes(mapping: dict[str, list[str]]) -> str:
    inner = "".join(f'<bpmn:lane id="lane_{i}" name="{lane}">'
                    + "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in refs) + "</bpmn:lane>"
                    for i, (lane, refs) in enumerate(mapping.items()))
    return f'<bpmn:laneSet id="lanes">{inner}</bpmn:laneSet>\n'


def document(pid: str, body: str) -> str:
    return HEAD.format(pid=pid) + body + "</bpmn:process>\n</bpmn:definitions>\n"


FORM = {"type": "object", "properties": {"y_kien": {"type": "string", "title": "Ý kiến"}}, "required": ["y_kien"]}
START_FORM = {"type": "object", "properties": {"noi_dung": {"type": "string", "title": "Nội dung"}},
              "required": ["noi_dung"]}


def package(body: str, *, pid: str = "thu_nghiem", **meta: Any) -> dict[str, Any]:
    procedure = {"slug": pid.replace("_", "-"), "name": "Thủ tục thử nghiệm", "code": pid, "process_id": pid,
                 "bpmn": f"{pid}.bpmn", "agency": "000.00.21.H99", "start_form": "de-nghi",
                 "deadline": {"value": 3, "unit": "working_days"}, "supplement_clock": "restart",
                 "lanes": {"Bộ phận một cửa": "desk", "Chuyên viên": "specialist", "Lãnh đạo": "leader",
                           "Công dân": "applicant"},
                 "step_budgets": {}}
    procedure.update(meta)
    forms = {name: {"schema": deepcopy(FORM), "ui_schema": {}} for name in ("tiep-nhan", "tham-dinh", "phe-duyet")}
    forms["de-nghi"] = {"schema": deepcopy(START_FORM), "ui_schema": {}}
    return {"procedure": procedure, "bpmn": {f"{pid}.bpmn": document(pid, body)}, "forms": forms}


def linear(*, pid: str = "thu_nghiem", tasks: tuple[tuple[str, str, str], ...] | None = None,
           end_status: str = "returned", **meta: Any) -> dict[str, Any]:
    """start → tasks (id, name, lane) in a row → end; every task with the form named after it."""
    tasks = tasks or (("tiep_nhan", "Tiếp nhận hồ sơ", "Bộ phận một cửa"),
                      ("tham_dinh", "Thẩm định hồ sơ", "Chuyên viên"),
                      ("phe_duyet", "Phê duyệt", "Lãnh đạo"))
    by_lane: dict[str, list[str]] = {}
    for task_id, _name, lane in tasks:
        by_lane.setdefault(lane, []).append(task_id)
    ids = ["bat_dau", *(t[0] for t in tasks), "ket_thuc"]
    body = (lanes(by_lane) + event("startEvent", "bat_dau", "Nộp hồ sơ", dossierStatus="submitted")
            + "".join(user_task(t, n, t.replace("_", "-")) for t, n, _lane in tasks)
            + event("endEvent", "ket_thuc", "Đã trả kết quả", dossierStatus=end_status)
            + "".join(flow(a, b) for a, b in zip(ids, ids[1:], strict=False)))
    return package(body, pid=pid, **meta)
