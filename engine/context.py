"""The engine's shared parts, built once per process from Settings and handed to every service."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from engine import history
from engine.calendar import WorkingCalendar, calendar_from_exceptions, deadline
from engine.config import Settings
from engine.db import make_engine, make_session_factory
from engine.models import Agency, CalendarException, OutboxMessage
from engine.procedures.versions import VersionCache
from engine.runtime.specs import SpecCache
from engine.scripting import RestrictedEvaluator, RestrictedScriptEngine

if TYPE_CHECKING:
    from engine.documents.store import Store

CALENDAR_TTL = 60.0


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
    #: read-only sessions on the standby the reports read from (engine/reports/replica.py); None: the primary
    report_sessions: sessionmaker[Session] | None = None
    #: called with the committed outbox rows after a commit that wrote them (wakes the in-process worker,
    #: or publishes each to its connector's Celery queue: engine/jobs.py)
    outbox_listeners: list[Callable[[Sequence[OutboxMessage]], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: (read at, calendar) in a box shared by the views `dataclasses.replace` makes of this context
    _calendar: list[tuple[float, WorkingCalendar] | None] = field(default_factory=lambda: [None])
    #: agency code -> (read at, name), shared by those views too
    _agency_names: dict[str, tuple[float, str]] = field(default_factory=dict)

    @property
    def files(self) -> Store:
        """Where documents, uploads and received files are kept (content-addressed): `data_dir/files`, or
        the bucket MOTCUA_FILE_STORE names (engine/documents/stores.py)."""
        from engine.documents.stores import store_for

        return store_for(self.settings)

    def calendar(self, session: Session | None = None) -> WorkingCalendar:
        """The working-day calendar with the admins' exceptions, re-read at most once a minute
        (other processes may have changed them). Inside a transaction pass its session: a second
        connection would wait on the first one's lock (SQLite). Without one, a stale copy is used
        rather than opening a connection from inside somebody's transaction."""
        cached = self._calendar[0]
        if cached is not None and (time.monotonic() - cached[0] < CALENDAR_TTL or session is None):
            return cached[1]
        if session is not None:
            rows = list(session.scalars(select(CalendarException)))
        else:
            with self.sessions() as own:
                rows = list(own.scalars(select(CalendarException)))
        built = calendar_from_exceptions(rows, self.settings.calendar_config())
        self._calendar[0] = (time.monotonic(), built)
        return built

    def agency_name(self, session: Session, code: str) -> str | None:
        """An agency's name, re-read at most once a minute: documents and notices name the agency on
        every step, and agencies change only when an administrator seeds or imports them. Read without
        autoflush, so asking mid-way through a completion does not split its writes into two flushes."""
        cached = self._agency_names.get(code)
        if cached is not None and time.monotonic() - cached[0] < CALENDAR_TTL:
            return cached[1]
        with session.no_autoflush:
            name = session.scalar(select(Agency.name).where(Agency.code == code))
        if name is not None:
            self._agency_names[code] = (time.monotonic(), name)
        return name

    def forget_calendar(self) -> None:
        self._calendar[0] = None

    def notify_outbox(self, messages: Sequence[OutboxMessage]) -> None:
        for listener in self.outbox_listeners:
            listener(messages)


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
    holder: list[EngineContext] = []
    evaluator = RestrictedEvaluator(time_limit=settings.script_time_limit, functions=_clock_functions(holder))
    ctx = EngineContext(
        settings=settings,
        db=db,
        sessions=sessions,
        specs=SpecCache(),
        versions=VersionCache(),
        script_engine=RestrictedScriptEngine(evaluator=evaluator),
        evaluator=evaluator,
        connectors=connectors,
        report_sessions=_report_sessions(settings),
    )
    holder.append(ctx)
    return ctx


def _report_sessions(settings: Settings) -> sessionmaker[Session] | None:
    if settings.reports_database_url is None:
        return None
    from engine.reports.replica import replica_sessions

    return replica_sessions(settings.reports_database_url)


def _clock_functions(holder: list[EngineContext]) -> dict[str, Callable[..., str]]:
    """Helpers for BPMN timer expressions (`<bpmn:timeDate>working_days(2)</bpmn:timeDate>`):
    the moment n working days/hours (or calendar days) from now, on the legal calendar."""

    def at(value: float, unit: str) -> str:
        return deadline(datetime.now(UTC), float(value), unit, holder[0].calendar()).isoformat()

    return {
        "working_days": lambda n: at(n, "working_days"),
        "working_hours": lambda n: at(n, "working_hours"),
        "calendar_days": lambda n: at(n, "days"),
    }
