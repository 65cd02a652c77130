"""Every procedure's diagram draws each element, inside its lane, apart from the others, with edges
that leave their source and reach their target: what the analysts' editor will show."""

from __future__ import annotations

import json

import pytest

from engine.config import PROJECT_ROOT
from tests.processes.diagram import diagram_problems

FOLDERS = sorted(p.parent for p in (PROJECT_ROOT / "processes").glob("*/procedure.json"))


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: folder.name)
def test_the_diagram_draws_every_element_in_place(folder):
    meta = json.loads((folder / "procedure.json").read_text(encoding="utf-8"))
    assert diagram_problems(folder / meta["bpmn"]) == []
