"""Instance state: only tasks and data are stored; the spec comes from the cache and round trips exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.config import PROJECT_ROOT
from engine.procedures.package import read_package
from engine.runtime.runner import Runner
from engine.runtime.specs import OutboxServiceTask, SpecCache
from engine.runtime.state import _copied, _restored, dump_state, load_state
from engine.scripting import RestrictedScriptEngine
from tests.factories import household_form

PACKAGE = read_package(PROJECT_ROOT / "processes" / "dang-ky-ho-kinh-doanh")


def started():
    specs = SpecCache().get("hkd", PACKAGE)
    data = {**household_form(), "dossier": {"code": "X-1", "received": datetime(2026, 11, 30, tzinfo=UTC)},
            "applicant": {"email": "a@example.vn"}}
    runner, _report = Runner.start(specs, data, RestrictedScriptEngine())
    return specs, runner


def test_state_round_trips_tasks_states_and_typed_data():
    specs, runner = started()
    [task] = runner.open_human_tasks()
    runner.complete_human_task(task.id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    restored = load_state(dump_state(runner.workflow), specs, RestrictedScriptEngine())
    original = {str(t.id): (t.task_spec.name, t.state) for t in runner.workflow.get_tasks()}
    assert {str(t.id): (t.task_spec.name, t.state) for t in restored.get_tasks()} == original
    [open_task] = restored.get_tasks(state=TaskState.READY, manual=True)
    assert open_task.task_spec.bpmn_id == "tham_dinh"
    assert open_task.data["ket_qua_tiep_nhan"] == "tiep_nhan"
    assert open_task.data["dossier"]["received"] == datetime(2026, 11, 30, tzinfo=UTC)
    assert dump_state(restored) == dump_state(runner.workflow)


def test_restored_workflow_continues_to_the_next_wait_state():
    specs, runner = started()
    [task] = runner.open_human_tasks()
    restored = Runner(load_state(dump_state(runner.workflow), specs, RestrictedScriptEngine()))
    report = restored.complete_human_task(task.id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    assert [t.bpmn_id for t in report.open_tasks] == ["tham_dinh"]
    assert [e.status for e in report.entered if e.status] == ["received", "processing"]


def test_state_holds_no_spec_and_is_smaller_than_the_full_serialization():
    _specs, runner = started()
    ours = dump_state(runner.workflow)
    config = {**SPIFF_CONFIG, OutboxServiceTask: SPIFF_CONFIG[ServiceTask]}
    full = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config)).serialize_json(runner.workflow)
    assert b"Th\\u1ea9m \\u0111\\u1ecbnh" not in ours and "bpmn_name" not in ours.decode()
    assert len(ours) < len(full) / 2


def test_task_data_is_restored_as_spiffworkflow_restores_it():
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    when = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    value = {"text": "Hộ kinh doanh", "n": 3, "x": 1.5, "ok": True, "none": None, "at": when,
             "nested": {"list": [1, "a", {"at": when, "in": [when, [when]]}], "empty": {}, "none": [None]},
             "span": timedelta(days=2, seconds=5), "id": UUID("6f1c2a4e-0000-4000-8000-000000000001")}
    encoded = orjson.loads(orjson.dumps(registry.convert(value)))
    assert _restored(registry, orjson.loads(orjson.dumps(encoded))) == registry.restore(encoded) == value
    assert _restored(registry, [encoded, "a", 1]) == [value, "a", 1]


def test_a_childs_data_starts_as_spiffworkflows_copy_of_its_parents():
    parent = {"applicant": {"name": "A"}, "items": [1, 2], "tags": {"x"}, "code": "X-1", "n": 1, "t": (1, 2)}
    copied = _copied(parent)
    assert copied == DeepMerge.merge({}, parent) == parent
    for key in ("applicant", "items", "tags"):  # shallow copies: the child may change them freely
        assert copied[key] is not parent[key]
    copied["applicant"]["name"] = "B"
    copied["items"].append(3)
    assert parent["applicant"] == {"name": "A"} and parent["items"] == [1, 2]
