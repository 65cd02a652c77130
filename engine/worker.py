"""The embedded worker: a thread in the web process that drains the outbox and runs the clock sweep.

It runs the same `deliver`/`drain` functions as the Celery workers; commits wake it at once and a
periodic sweep picks up retries whose back-off has elapsed.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime

from engine.context import EngineContext
from engine.models import OutboxMessage
from engine.origin import origin_scope
from engine.outbox import drain
from engine.sweeps import clock_sweep

log = logging.getLogger(__name__)

#: the workers started in this process, for the health page (engine/services/health.py)
_RUNNING: weakref.WeakSet[InProcessWorker] = weakref.WeakSet()


def running(ctx: EngineContext) -> list[InProcessWorker]:
    """The in-process workers started on `ctx`'s database (its views share the engine)."""
    return [worker for worker in list(_RUNNING) if worker.ctx.db is ctx.db]


class InProcessWorker:
    def __init__(self, ctx: EngineContext, *, interval: float = 1.0, clock_interval: float = 30.0) -> None:
        self.ctx = ctx
        #: heartbeat: when the loop last finished a round (outbox drained), and the clock sweep last ran
        self.last_sweep_at: datetime | None = None
        self.last_clock_at: datetime | None = None
        self.interval = interval
        self.clock_interval = clock_interval
        self._next_clock = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> InProcessWorker:
        self.ctx.outbox_listeners.append(self._on_commit)
        self._thread = threading.Thread(target=self._loop, name="motcua-outbox", daemon=True)
        self._thread.start()
        _RUNNING.add(self)
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        _RUNNING.discard(self)
        if self._thread is not None:
            self._thread.join(timeout)
        if self._on_commit in self.ctx.outbox_listeners:
            self.ctx.outbox_listeners.remove(self._on_commit)

    def _on_commit(self, messages: Sequence[OutboxMessage]) -> None:
        if messages:
            self._wake.set()

    def _loop(self) -> None:
        with origin_scope("worker"):
            self._run()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                if time.monotonic() >= self._next_clock:
                    self._next_clock = time.monotonic() + self.clock_interval
                    clock_sweep(self.ctx)
                    self.last_clock_at = datetime.now(UTC)
                while drain(self.ctx) and not self._stop.is_set():
                    pass
            except Exception:  # the loop must survive one bad row; the error is logged with its trace
                log.exception("outbox sweep failed")
            self.last_sweep_at = datetime.now(UTC)
