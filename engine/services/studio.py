"""The analyst studio's services: model a procedure as a draft, check it, test-run it, publish it.

What the studio pages and the editor call (`from engine.services import studio`). Every function
takes the context and the acting person, refuses anyone but analysts and admins (only admins
migrate dossiers), and owns one transaction. The work is split by stage:

- studio_drafts: open, read, edit (diagram, forms, procedure.json), discard a draft;
- studio_publish: lint, diff, publish, version history, migration of running dossiers;
- studio_exchange: import, export, test runs.
"""

from __future__ import annotations

from engine.procedures.catalogue import PublishResult
from engine.procedures.diff import VersionDiff
from engine.procedures.lint import Finding
from engine.procedures.migration import MigrationPlan, MigrationResult, PlanGroup, PlanItem
from engine.services.studio_drafts import (
    ProcedureDraftView,
    StudioProcedure,
    delete_draft_form,
    discard_draft,
    get_draft,
    list_procedures,
    open_draft,
    save_draft_bpmn,
    save_draft_form,
    save_draft_procedure,
)
from engine.services.studio_exchange import (
    export_bpmn,
    export_zip,
    import_file,
    sample_start_data,
    simulate_draft,
)
from engine.services.studio_publish import (
    VersionRow,
    diff_draft,
    lint_draft,
    list_versions,
    migrate,
    plan_migration,
    publish_draft,
)

__all__ = [
    "Finding", "MigrationPlan", "MigrationResult", "PlanGroup", "PlanItem", "ProcedureDraftView", "PublishResult",
    "StudioProcedure", "VersionDiff", "VersionRow",
    "list_procedures", "open_draft", "get_draft", "discard_draft",
    "save_draft_bpmn", "save_draft_form", "delete_draft_form", "save_draft_procedure",
    "lint_draft", "diff_draft", "publish_draft", "list_versions", "plan_migration", "migrate",
    "import_file", "export_bpmn", "export_zip", "simulate_draft", "sample_start_data",
]
