"""What a process builds at start-up, set aside from the cyclic garbage collector.

A web or worker process creates most of what it holds before its first request: modules, SQLAlchemy's
mappers and compiled statements, Flask's routes, the catalogue's forms. Those objects live as long
as the process, yet every full collection (generation 2) walks all of them again to find nothing: in
`bench/web_cpu.py`'s process six full collections took 84 ms each, about 5 % of the CPU its requests
used (bench/RESULTS.md, 2026-12-02 evening). `settle` collects the garbage start-up left behind, then
freezes the survivors (`gc.freeze`: a permanent generation the collector skips), so that a collection
walks only what requests allocate. Reference counting still frees a frozen object that loses its
last reference; only a cycle among frozen objects would outlive its use, and start-up's objects are
meant to last.

Called once the process is ready to serve, in production mode only: tests and the embedded server
build many apps in one process, and freezing each would keep the earlier ones' cycles for good (the
test suite turns it off: tests/conftest.py). A Celery worker builds its context at its first task,
so that task's objects are frozen with the rest: a one-off of a few kilobytes.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.config import Settings


def settle() -> None:
    gc.collect()
    gc.freeze()


def settle_for(settings: Settings) -> None:
    """`settle`, when `settings` are a production process's (the web app's, a Celery worker's)."""
    if settings.mode == "production":
        settle()
