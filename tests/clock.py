"""A clock the tests move forward, for what the engine stamps when a run is written (task rows opened,
their due dates, statuses): `engine.services.instances` reads `datetime.now` there, and only there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.services import instances


class MovingClock:
    """`instances.datetime.now()` shifted forward; real time otherwise (requests, history stamps)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.shift = timedelta(0)
        clock = self

        class Shifted(datetime):
            @classmethod
            def now(cls, tz=None):  # noqa: ANN001, ANN206 - datetime's own signature
                return datetime.now(tz) + clock.shift

        monkeypatch.setattr(instances, "datetime", Shifted)

    def move_to(self, moment: datetime) -> None:
        """From now on the engine's runs happen at `moment` (plus the real time that passes)."""
        assert moment >= datetime.now(UTC) + self.shift, "the clock only moves forward"
        self.shift = moment - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift
