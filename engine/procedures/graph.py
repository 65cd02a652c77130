"""The flow graph of a package's executable process, read from the BPMN XML with file and line.

The lint rules walk it (reachability, end statuses, budgets along paths) and report where an
element sits so the studio can mark it on the diagram. SpiffWorkflow's specs do not keep source
lines, hence this light reading of the XML next to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.runtime.specs import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent",
    "userTask", "manualTask", "serviceTask", "scriptTask", "task", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway"})


@dataclass(frozen=True)
class Location:
    file: str | None = None
    line: int | None = None


@dataclass
class Node:
    id: str
    kind: str  # the BPMN tag without namespace: userTask, endEvent, ...
    name: str
    location: Location
    lane: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    attached_to: str | None = None  # boundary events
    script: str | None = None  # a script task's script
    parameters: tuple[str, ...] = ()  # a service task's parameter expressions

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    name: str
    condition: str | None  # the conditionExpression's text
    location: Location


@dataclass
class FlowGraph:
    process_id: str
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)
    default_flows: set[str] = field(default_factory=set)

    def outgoing(self, node_id: str) -> list[Flow]:
        return [f for f in self.flows if f.source == node_id]

    def successors(self, node_id: str) -> Iterator[str]:
        """Where a token can go next: sequence flows, and the boundary events that may interrupt."""
        yield from (target for target, _flow in self.steps_from(node_id))

    def steps_from(self, node_id: str) -> Iterator[tuple[str, Flow | None]]:
        """(next element, the flow taken or None for a boundary event) from `node_id`."""
        yield from ((f.target, f) for f in self.outgoing(node_id))
        yield from ((n.id, None) for n in self.nodes.values() if n.attached_to == node_id)

    def starts(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "startEvent"]

    def reachable(self) -> set[str]:
        seen: set[str] = set()
        stack = [n.id for n in self.starts()]
        while stack:
            node_id = stack.pop()
            if node_id in seen or node_id not in self.nodes:
                continue
            seen.add(node_id)
            stack.extend(self.successors(node_id))
        return seen

    def location(self, element_id: str | None) -> Location:
        node = self.nodes.get(element_id or "")
        return node.location if node else Location()


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _properties(element: Any) -> dict[str, str]:
    return {p.get("name"): p.get("value") or "" for p in element.iter(f"{{{SPIFF_NS}}}property") if p.get("name")}


def read_graph(bpmn_files: dict[str, str], process_id: str) -> FlowGraph:
    """The top-level flow of `process_id` (subprocess contents are not descended into)."""
    graph = FlowGraph(process_id)
    for filename, text in bpmn_files.items():
        root = parse_xml(text, filename)
        for process in root.iter(f"{{{BPMN_NS}}}process"):
            if process.get("id") == process_id:
                _read_process(graph, process, filename)
    return graph


def _read_process(graph: FlowGraph, process: Any, filename: str) -> None:
    lanes = {ref.text.strip(): lane.get("name") or lane.get("id")
             for lane in process.iter(f"{{{BPMN_NS}}}lane")
             for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef") if ref.text}
    for element in process:
        kind = _local(element.tag)
        where = Location(filename, element.sourceline)
        if kind in _FLOW_NODES:
            node_id = element.get("id")
            script = element.find(f"{{{BPMN_NS}}}script")
            graph.nodes[node_id] = Node(node_id, kind, element.get("name") or "", where, lanes.get(node_id),
                                        _properties(element), element.get("attachedToRef"),
                                        script.text if script is not None else None,
                                        tuple(p.get("value") or "" for p in element.iter(f"{{{SPIFF_NS}}}parameter")))
            if element.get("default"):
                graph.default_flows.add(element.get("default"))
        elif kind == "sequenceFlow":
            condition = element.find(f"{{{BPMN_NS}}}conditionExpression")
            graph.flows.append(Flow(element.get("id"), element.get("sourceRef"), element.get("targetRef"),
                                    element.get("name") or "", (condition.text or "").strip() if condition is not None
                                    else None, where))
