"""Bring a database to a usable state: migrate, publish the procedure catalogue, seed demo data."""

from __future__ import annotations

import logging
from pathlib import Path

from engine.context import EngineContext
from engine.db import transaction, upgrade
from engine.demo import ensure_agencies, seed_demo
from engine.errors import ProcedureInvalid
from engine.procedures.catalogue import PublishResult, load_folder, procedure_folders, publish

log = logging.getLogger(__name__)


def load_catalogue(ctx: EngineContext, root: Path | None = None, *, published_by: str = "system",
                   strict: bool = True) -> list[PublishResult]:
    """Validate and publish every procedure folder; a changed folder becomes a new version.

    strict=False (start-up) skips an invalid folder with its located problems logged, so one bad
    package cannot take the whole one-stop shop down; its previous version stays published.
    """
    results = []
    for folder in procedure_folders(root or ctx.settings.processes_dir):
        try:
            package = load_folder(folder, operations=ctx.connectors.operations(), check_script=ctx.evaluator.check)
        except ProcedureInvalid as exc:
            if strict:
                raise
            log.error("procedure %s not loaded:\n  %s", folder.name, "\n  ".join(exc.problems))
            continue
        with transaction(ctx.sessions) as session:
            results.append(publish(session, package, published_by=published_by))
    return results


def prepare(ctx: EngineContext, *, demo: bool | None = None) -> list[PublishResult]:
    upgrade(ctx.db)
    ensure_agencies(ctx)
    results = load_catalogue(ctx, strict=False)
    if ctx.settings.embedded if demo is None else demo:
        created = seed_demo(ctx)
        if created:
            log.info("demo accounts created: %s", ", ".join(created))
    return results
