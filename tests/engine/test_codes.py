"""Dossier codes (engine/codes.py): `{agency}-{yymmdd}-{NNNN}` per agency and Vietnamese calendar day,
numbered from 0001 without gaps. Parallel submissions: tests/engine/test_concurrency.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.codes import next_dossier_code
from engine.db import transaction

NOON = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)  # 12:00 in Hà Nội
LATE = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # 00:30 on 3 December in Hà Nội


def issue(ctx, agency: str, moment: datetime) -> str:
    with transaction(ctx.sessions) as session:
        return next_dossier_code(session, agency, moment)


def test_numbers_start_at_one_per_agency_and_day_and_follow_on(ctx):
    assert [issue(ctx, "000.00.21.H99", NOON) for _ in range(3)] == [
        "000.00.21.H99-261202-0001", "000.00.21.H99-261202-0002", "000.00.21.H99-261202-0003"]
    assert issue(ctx, "000.00.22.H99", NOON) == "000.00.22.H99-261202-0001"
    assert issue(ctx, "000.00.21.H99", LATE) == "000.00.21.H99-261203-0001"  # the day is Vietnam's
    assert issue(ctx, "000.00.21.H99", NOON) == "000.00.21.H99-261202-0004"


def test_a_rolled_back_submission_gives_its_number_back(ctx):
    assert issue(ctx, "000.00.21.H99", NOON) == "000.00.21.H99-261202-0001"
    with pytest.raises(RuntimeError), transaction(ctx.sessions) as session:
        assert next_dossier_code(session, "000.00.21.H99", NOON) == "000.00.21.H99-261202-0002"
        raise RuntimeError("the submission failed after its number was drawn")
    assert issue(ctx, "000.00.21.H99", NOON) == "000.00.21.H99-261202-0002"
