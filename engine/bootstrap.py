"""Bring a database to a usable state: migrate, publish the procedure catalogue, seed demo data."""

from __future__ import annotations

import logging
from pathlib import Path

from engine.context import EngineContext
from engine.db import transaction, upgrade
from engine.demo import ensure_agencies, seed_demo
from engine.procedures.catalogue import PublishResult, load_folder, procedure_folders, publish

log = logging.getLogger(__name__)


def load_catalogue(ctx: EngineContext, root: Path | None = None, *, published_by: str = "system") -> list[PublishResult]:
    """Validate and publish every procedure folder; a changed folder becomes a new version."""
    results = []
    for folder in procedure_folders(root or ctx.settings.processes_dir):
        package = load_folder(folder, operations=ctx.connectors.operations(), check_script=ctx.evaluator.check)
        with transaction(ctx.sessions) as session:
            results.append(publish(session, package, published_by=published_by))
    return results


def prepare(ctx: EngineContext, *, demo: bool | None = None) -> list[PublishResult]:
    upgrade(ctx.db)
    ensure_agencies(ctx)
    results = load_catalogue(ctx)
    if ctx.settings.embedded if demo is None else demo:
        created = seed_demo(ctx)
        if created:
            log.info("demo accounts created: %s", ", ".join(created))
    return results
