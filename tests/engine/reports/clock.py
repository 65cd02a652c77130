"""A test clock for building a dossier history at chosen moments through the service layer.

The services read the time with `datetime.now(UTC)` where they act (submission, task completion,
outbox, documents, payments, ratings); this replaces that `datetime` in each of those modules by a
subclass whose `now()` answers the moment set here. Everything else of `datetime` is unchanged.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest

from engine.calendar import VN_TZ

#: Modules that stamp dossier data with `datetime.now` on the paths the report tests drive.
STAMPING = ("engine.services.dossiers", "engine.services.tasks", "engine.services.instances",
            "engine.services.ratings", "engine.services.payments", "engine.services.uploads",
            "engine.services.notices", "engine.outbox", "engine.paperwork", "engine.portal_sync", "engine.history",
            "engine.notifications", "engine.context", "engine.overdue")


class TestClock:
    """`clock.set(2026, 2, 13, 14)` makes every stamping module's now() that Vietnam-time moment."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, patch: pytest.MonkeyPatch) -> None:
        self.moment = datetime.now(UTC)
        clock = self

        class FrozenDatetime(datetime):
            @classmethod
            def now(cls, tz=None):  # noqa: ANN001, ANN206 - the signature of datetime.now
                return clock.moment.astimezone(tz) if tz is not None else clock.moment.astimezone(VN_TZ).replace(tzinfo=None)

        for name in STAMPING:
            module = importlib.import_module(name)
            assert isinstance(getattr(module, "datetime", None), type), f"{name} no longer imports datetime"
            patch.setattr(module, "datetime", FrozenDatetime)

    def set(self, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
        self.moment = datetime(year, month, day, hour, minute, tzinfo=VN_TZ)
        return self.moment
