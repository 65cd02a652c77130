"""Fixtures for the workspace services' tests (ratings, drafts, substitutes, inbox)."""

from __future__ import annotations

import pytest

from tests.engine.services.workspace import colleague


@pytest.fixture
def workspace(ctx):
    """The backend's context (drafts, ratings, substitutions and inbox seen times are emptied by `ctx`)."""
    return ctx


@pytest.fixture
def chuyenvien2(ctx):
    return colleague(ctx)
