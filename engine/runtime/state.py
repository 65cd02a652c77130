"""Serialize a running workflow's *instance state* only (tasks and data), never its spec.

SpiffWorkflow's own serializer writes the whole process spec into every snapshot and rebuilds it on
every load; half of the bytes and half of the load time. Here the spec comes from SpecCache and
only the task tree, data and events go to the database, as compact JSON (orjson).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from engine.runtime.specs import ProcessSpecs

STATE_FORMAT = 1


class _InstanceStateConverter(BpmnWorkflowConverter):
    """BpmnWorkflowConverter without the spec: specs are supplied at restore time."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        dct["format"] = STATE_FORMAT
        return dct

    def restore(self, dct: dict[str, Any], specs: ProcessSpecs, script_engine: PythonScriptEngine) -> BpmnWorkflow:
        workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=script_engine, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


def _make_registry():
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    # Encoder mode converts shallowly and leaves nested custom types to orjson's `default` hook.
    registry._encoder_mode = True
    return registry


_REGISTRY = _make_registry()
_CONVERTER = _InstanceStateConverter(BpmnWorkflow, _REGISTRY)


def _default(obj: Any) -> Any:
    typename = _REGISTRY.typenames.get(type(obj))
    if typename is not None:
        return _REGISTRY.convert_to_dict[typename](obj)
    if isinstance(obj, set):
        return list(obj)
    if callable(obj):
        return None
    raise TypeError(f"cannot store a {type(obj).__name__} in task data")


def dump_state(workflow: BpmnWorkflow) -> bytes:
    return orjson.dumps(_CONVERTER.to_dict(workflow), default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def load_state(raw: bytes, specs: ProcessSpecs, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    return _CONVERTER.restore(orjson.loads(raw), specs, script_engine)
