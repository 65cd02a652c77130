"""Serialize a running workflow's *instance state* only (tasks and data), never its spec.

SpiffWorkflow's own serializer writes the whole process spec into every snapshot and rebuilds it on
every load; half of the bytes and half of the load time. Here the spec comes from SpecCache and
only the task tree, data and events go to the database, as compact JSON (orjson).
"""

from __future__ import annotations

from copy import copy
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.runtime.specs import ProcessSpecs

STATE_FORMAT = 1


@lru_cache(maxsize=8192)
def _uuid(text: str) -> UUID:
    """A task id, parsed once: each appears three or four times in a state (key, id, parent, child),
    and parsing a UUID costs more than restoring the rest of a task."""
    return UUID(text)


@lru_cache(maxsize=8192)
def _text(task_id: UUID) -> str:
    """A task id written out, once: `str` formats all 128 bits again on every call."""
    return str(task_id)


class _TaskConverter(TaskConverter):
    """SpiffWorkflow's TaskConverter (3.2), with task ids parsed through `_uuid` and written through
    `_text`, and each task's parent looked up once."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:  # the data as its changes from the parent's: what DeepMerge.get_updated/deleted_keys give
            before, after = parent.data, task.data
            data = {}
            delta = {"updates": {key: value for key, value in after.items() if key not in before or value != before[key]},
                     "deletions": [key for key in before if key not in after]}
        return {
            "id": _text(task.id),
            "parent": _text(task._parent) if parent is not None else None,
            "children": [_text(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data) if task.internal_data else {},
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Task:
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        task._parent = _uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = _restored(self.registry, dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and task.parent is not None:  # stored as the changes from the parent's data
            data = _copied(task.parent.data)
            data.update(_restored(self.registry, delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = _restored(self.registry, dct["data"])
        task.data = data
        return task


#: what JSON decodes to besides dicts and lists: restored as they are
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _restored(registry: Any, value: Any) -> Any:
    """`registry.restore(value)` for a value just decoded from JSON, restoring it in place: the same
    result (a dict naming a `typename` becomes that object, a datetime say), without the registry's
    call per string and number and without copying every dict and list it walks. The value is
    the decoder's own, so nobody else sees it change."""
    kind = type(value)
    if kind is dict:
        if "typename" in value:
            return registry.restore(value)
        for key, item in value.items():
            if type(item) not in _PLAIN:
                value[key] = _restored(registry, item)
        return value
    if kind is list:
        for index, item in enumerate(value):
            if type(item) not in _PLAIN:
                value[index] = _restored(registry, item)
        return value
    return value if kind in _PLAIN else registry.restore(value)


#: shallow copies of the mutable values task data holds
_SHALLOW = {dict: dict.copy, list: list.copy, set: set.copy}


def _copied(data: dict[str, Any]) -> dict[str, Any]:
    """`DeepMerge.merge({}, data)`, what SpiffWorkflow starts a child's data from: each dict, list or
    set value shallow-copied, anything else shared."""
    copied = {}
    for key, value in data.items():
        shallow = _SHALLOW.get(type(value))
        if shallow is not None:
            value = shallow(value)
        elif isinstance(value, (dict, list, set)):
            value = copy(value)
        copied[key] = value
    return copied


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
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.get("bpmn_events", []))
        return workflow


def _make_registry():
    registry = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, Task: _TaskConverter})
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
