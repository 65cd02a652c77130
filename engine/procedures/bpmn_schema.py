"""Check BPMN against the OMG BPMN 2.0 XML Schema, so what we export opens in any conforming modeller.

SpiffWorkflow ships the OMG XSDs (BPMN20.xsd with Semantic, BPMNDI, DI and DC) and its own
extension schema; its prebuilt validator is reused (building the schema set takes a while).
Extension elements of other vendors stay valid: the OMG schema admits them with lax processing.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.procedures.graph import BPMN_NS, SPIFF_NS

_LOCK = threading.Lock()  # an XMLSchema keeps its error log on itself: one validation at a time
_NAMESPACES = {
    BPMN_NS: "bpmn:", "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi:",
    "http://www.omg.org/spec/DD/20100524/DC": "dc:", "http://www.omg.org/spec/DD/20100524/DI": "di:",
    SPIFF_NS: "spiffworkflow:",
}
_QUALIFIED = re.compile(r"\{([^}]*)\}")


def fix_bpmn_js_quirks(root: Any) -> bool:
    """bpmn-js writes `formalExpression` where the schema wants `messagePath` in a correlation
    property's retrieval expression (SpiffWorkflow's validator renames it the same way, and its
    parser reads either). Rename in place; True when anything changed."""
    changed = False
    for expression in root.iter(f"{{{BPMN_NS}}}correlationPropertyRetrievalExpression"):
        for child in expression.iterchildren(f"{{{BPMN_NS}}}formalExpression"):
            child.tag = f"{{{BPMN_NS}}}messagePath"
            changed = True
    return changed


def schema_problems(root: Any, limit: int = 5) -> list[tuple[int | None, str]]:
    """(line, message) for the first `limit` places where `root` breaks the BPMN 2.0 schema."""
    schema = VALIDATOR.validator
    with _LOCK:
        if schema.validate(root):
            return []
        errors = list(schema.error_log)[:limit]
    return [(error.line or None, _shorten(error.message)) for error in errors]


def _shorten(message: str) -> str:
    """`{http://www.omg.org/spec/BPMN/20100524/MODEL}task` → `bpmn:task`."""
    return _QUALIFIED.sub(lambda match: _NAMESPACES.get(match.group(1), "{" + match.group(1) + "}"), message)
