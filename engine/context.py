"""The engine's shared parts, built once per process from Settings and handed to every service."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine import history
from engine.config import Settings
from engine.db import make_engine, make_session_factory
from engine.procedures.versions import VersionCache
from engine.runtime.specs import SpecCache
from engine.scripting import RestrictedEvaluator, RestrictedScriptEngine


@dataclass
class EngineContext:
    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    specs: SpecCache
    versions: VersionCache
    script_engine: RestrictedScriptEngine
    evaluator: RestrictedEvaluator
    connectors: Any
    #: called after a commit that wrote outbox rows (wakes the in-process worker or enqueues Celery)
    outbox_listeners: list[Callable[[list[int]], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def notify_outbox(self, ids: list[int]) -> None:
        for listener in self.outbox_listeners:
            listener(ids)


def own_registry(settings: Settings) -> Any:
    """A registry of every known connector class, configured for this process only."""
    from integrations import ConnectorRegistry, registry

    connectors = ConnectorRegistry()
    for cls in registry.classes().values():
        connectors.register(cls)
    connectors.configure(settings.connectors, allow_demo=settings.embedded)
    return connectors


def build_context(settings: Settings, *, connectors: Any = None) -> EngineContext:
    """Wire the engine for one process. Connectors default to the global registry, configured."""
    if connectors is None:
        connectors = own_registry(settings)
    db = make_engine(settings.database_url)
    sessions = make_session_factory(db)
    history.install(sessions)
    evaluator = RestrictedEvaluator(time_limit=settings.script_time_limit)
    return EngineContext(
        settings=settings,
        db=db,
        sessions=sessions,
        specs=SpecCache(),
        versions=VersionCache(),
        script_engine=RestrictedScriptEngine(evaluator=evaluator),
        evaluator=evaluator,
        connectors=connectors,
    )
