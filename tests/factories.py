"""Test data built through the service layer, never by poking tables."""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from engine.config import PROJECT_ROOT

HKD = "dang-ky-ho-kinh-doanh"
EXAMPLE = json.loads((PROJECT_ROOT / "processes" / HKD / "example-submission.json").read_text(encoding="utf-8"))

APPLICANT = {"name": "Phạm Thị Công Dân", "phone": "0912345678", "id_number": "001090000001",
             "email": "congdan@example.vn", "kind": 1}


def household_form(**changes: Any) -> dict[str, Any]:
    data = deepcopy(EXAMPLE.get("data", EXAMPLE))
    data.update(changes)
    return data


def submit(ctx, actor, **changes: Any):
    from engine.services import submit_dossier

    return submit_dossier(ctx, actor, HKD, dict(APPLICANT), household_form(**changes))


def open_task(ctx, actor, dossier_code: str):
    from engine.services import list_inbox

    tasks = [t for t in list_inbox(ctx, actor, limit=200) if t.dossier_code == dossier_code]
    assert tasks, f"{actor.username} has no open task for {dossier_code}"
    return tasks[0]


def work(ctx, actor, dossier_code: str, data: dict[str, Any]):
    from engine.services import complete_task

    task = open_task(ctx, actor, dossier_code)
    return task, complete_task(ctx, actor, task.id, data)
