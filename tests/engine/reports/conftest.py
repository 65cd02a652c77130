"""Fixtures for the reporting tests: the report tables emptied, and the fixed dataset built once per
backend and module (building it renders and signs real documents: seconds, not milliseconds)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from engine.reports.tables import REPORT_TABLES
from tests.conftest import _clean


def empty_reports(ctx) -> None:
    with ctx.db.begin() as conn:
        for table in REPORT_TABLES:
            conn.execute(delete(table))


@pytest.fixture
def reports_ctx(ctx):
    """`ctx` (live tables emptied) with the report tables emptied too."""
    empty_reports(ctx)
    return ctx


@pytest.fixture(scope="module")
def dataset(backend_context, smtp, tmp_path_factory):
    """The dataset of tests/engine/reports/dataset.py on an emptied database, rollups refreshed."""
    from engine.reports import rollup
    from integrations.portal.payment_simulator import PaymentSimulator
    from tests.engine.reports.dataset import build

    _clean(backend_context)
    empty_reports(backend_context)
    backend_context.forget_calendar()
    with PaymentSimulator(partner_code="H99", secret="bi-mat-test") as platform:
        built = build(backend_context, tmp_path_factory.mktemp("reports"), platform)
    rollup.refresh(backend_context)
    return built
