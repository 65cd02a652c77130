"""Fixtures for the seeder's tests: the live and the report tables emptied."""

from tests.engine.reports.conftest import reports_ctx  # noqa: F401 - the fixture, shared
