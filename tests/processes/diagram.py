"""Diagram interchange checks for procedure packages: what an editor (bpmn-js) will draw."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"


def diagram_problems(path: Path) -> list[str]:
    """Every node, lane and flow drawn and nothing else; nodes inside their lanes and apart; edges
    leaving their source and reaching their target."""
    tree = ElementTree.parse(path)
    process = tree.find(f"{BPMN}process")
    flows = {el.get("id"): el for el in process.iter(f"{BPMN}sequenceFlow")}
    lanes = {el.get("id"): el for el in process.iter(f"{BPMN}lane")}
    nodes = {el.get("id"): el for el in process if el.get("id") and el.tag not in (
        f"{BPMN}sequenceFlow", f"{BPMN}laneSet", f"{BPMN}documentation", f"{BPMN}extensionElements")}
    participants = {el.get("id") for el in tree.iter(f"{BPMN}participant")}
    box = ("x", "y", "width", "height")
    shapes = {s.get("bpmnElement"): tuple(float(s.find(f"{DC}Bounds").get(k)) for k in box)
              for s in tree.iter(f"{BPMNDI}BPMNShape")}
    edges = {e.get("bpmnElement"): [(float(w.get("x")), float(w.get("y"))) for w in e.iter(f"{DI}waypoint")]
             for e in tree.iter(f"{BPMNDI}BPMNEdge")}
    problems = [f"{i} is not drawn" for i in [*nodes, *lanes, *participants] if i not in shapes]
    problems += [f"{i} is not drawn" for i in flows if i not in edges]
    problems += [f"{i} is drawn but not modelled" for i in shapes if i not in {*nodes, *lanes, *participants}]
    problems += [f"{i} is drawn but not modelled" for i in edges if i not in flows]

    def inside(inner, outer) -> bool:
        return outer[0] <= inner[0] and inner[0] + inner[2] <= outer[0] + outer[2] \
            and outer[1] <= inner[1] and inner[1] + inner[3] <= outer[1] + outer[3]

    def on_border(point, box) -> bool:
        (px, py), (x, y, w, h) = point, box
        return x - 1 <= px <= x + w + 1 and y - 1 <= py <= y + h + 1 \
            and min(abs(px - x), abs(px - x - w), abs(py - y), abs(py - y - h)) <= 1

    for lane_id, lane in lanes.items():
        members = [ref.text for ref in lane.iter(f"{BPMN}flowNodeRef") if ref.text in shapes]
        if lane_id in shapes:
            problems += [f"{node} is drawn outside its lane {lane_id}" for node in members
                         if not inside(shapes[node], shapes[lane_id])]
    drawn = sorted(i for i in nodes if i in shapes)
    for n, a in enumerate(drawn):
        for b in drawn[n + 1:]:
            if nodes[a].get("attachedToRef") == b or nodes[b].get("attachedToRef") == a:
                continue  # a boundary event sits on its task's border
            (x1, y1, w1, h1), (x2, y2, w2, h2) = shapes[a], shapes[b]
            if x1 < x2 + w2 and x2 < x1 + w1 and y1 < y2 + h2 and y2 < y1 + h1:
                problems.append(f"{a} overlaps {b}")
    for flow_id, flow in flows.items():
        points = edges.get(flow_id)
        source, target = shapes.get(flow.get("sourceRef")), shapes.get(flow.get("targetRef"))
        if points and source and not on_border(points[0], source):
            problems.append(f"{flow_id} does not leave {flow.get('sourceRef')}")
        if points and target and not on_border(points[-1], target):
            problems.append(f"{flow_id} does not reach {flow.get('targetRef')}")
    return problems
