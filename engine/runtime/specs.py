"""Parse a procedure version's BPMN into SpiffWorkflow specs, once per content hash.

Parsing (and rebuilding specs from JSON) is the most expensive part of loading a workflow, so an
instance row never carries its spec: the parsed spec is cached here, keyed by the version's hash.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

#: Refuse anything that needs a DTD: entity expansion (billion laughs) and external entities.
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
)
MAX_BPMN_BYTES = 5 * 1024 * 1024
OUTBOX_REQUEST = "motcua_outbox_request"


class OutboxServiceTask(ServiceTask):
    """A service task that never calls out from inside the engine.

    It evaluates its parameters (restricted evaluator), leaves the request in the task's internal
    data and returns None, so SpiffWorkflow parks it in STARTED. The runtime turns the request into
    an outbox row in the same transaction; a worker completes the task later with the result.
    """

    def _execute(self, task: Any) -> None:
        engine = task.workflow.script_engine
        params = {
            name: engine.evaluate(task, param["value"]) for name, param in self.operation_params.items()
        }
        task.internal_data[OUTBOX_REQUEST] = {"operation": self.operation_name, "params": params}
        return None


class MotcuaBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, OutboxServiceTask),
    }


@dataclass(frozen=True)
class ProcessSpecs:
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


class BpmnSyntaxError(ValueError):
    """Malformed or hostile XML, with file and line."""


class DoctypeRefused(BpmnSyntaxError):
    """The XML declares a DOCTYPE or entities, which BPMN never needs (entity bombs, XXE)."""


def parse_xml(text: str | bytes, filename: str) -> etree._Element:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    if len(raw) > MAX_BPMN_BYTES:
        raise BpmnSyntaxError(f"{filename}: file is larger than {MAX_BPMN_BYTES // (1024 * 1024)} MiB")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise DoctypeRefused(f"{filename}: DOCTYPE/ENTITY declarations are not allowed in BPMN")
    try:
        root = etree.fromstring(raw, parser=_XML_PARSER)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno is not None else "?"
        raise BpmnSyntaxError(f"{filename}, line {line}: invalid XML: {exc.msg}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # UTF-16/32 text hides it from the byte check
        raise DoctypeRefused(f"{filename}: DOCTYPE/ENTITY declarations are not allowed in BPMN")
    return root


def build_specs(bpmn_files: Mapping[str, str], process_id: str, validator: Any = None) -> ProcessSpecs:
    """Parse the BPMN files and return the executable process `process_id` with its subprocesses.

    Raises BpmnSyntaxError or SpiffWorkflow's ValidationException (both carry locations).
    """
    parser = MotcuaBpmnParser(validator=validator)
    for filename, text in bpmn_files.items():
        parser.add_bpmn_xml(parse_xml(text, filename), filename)
    if process_id not in parser.get_process_ids():
        known = ", ".join(sorted(parser.get_process_ids())) or "none"
        raise ValidationException(f"unknown process id {process_id!r} (executable processes: {known})")
    spec = parser.get_spec(process_id)
    return ProcessSpecs(spec=spec, subprocess_specs=parser.get_subprocess_specs(process_id))


class SpecCache:
    """A bounded, thread-safe map from a version's content hash to its parsed specs."""

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._items: OrderedDict[str, ProcessSpecs] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, content_hash: str, package: Mapping[str, Any]) -> ProcessSpecs:
        with self._lock:
            specs = self._items.get(content_hash)
            if specs is not None:
                self._items.move_to_end(content_hash)
                return specs
        specs = build_specs(package["bpmn"], package["procedure"]["process_id"])
        with self._lock:
            self._items[content_hash] = specs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return specs
