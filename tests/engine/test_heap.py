"""engine/heap.py: start-up's garbage collected, then what survives frozen out of later collections;
done by production processes only."""

from __future__ import annotations

import dataclasses
import gc
import weakref

import pytest

import engine.heap
from engine.heap import settle
from web import create_app


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    gc.disable()  # no automatic pass between making garbage and settling: only `settle` may collect it
    yield
    gc.enable()
    gc.unfreeze()  # the rest of the suite runs with the collector as it was


class Node:
    pass


def test_settle_collects_the_garbage_of_start_up_before_freezing_what_survives(unfrozen):
    garbage = Node()
    garbage.itself = garbage  # a cycle: only the collector frees it
    collected = weakref.ref(garbage)
    del garbage
    kept = Node()
    assert gc.get_freeze_count() == 0

    settle()

    assert collected() is None, "start-up's cycles are freed, not frozen for the process's life"
    assert gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects()), "what survives is frozen: out of every generation"


def test_a_production_app_settles_its_heap_and_an_embedded_one_does_not(ctx, monkeypatch):
    calls = []
    monkeypatch.setattr(engine.heap, "settle", lambda: calls.append("settled"))

    create_app(ctx=ctx, start_worker=False)
    assert calls == []  # tests and `make run` build many apps in one process
    production = dataclasses.replace(ctx.settings, mode="production", public_url="https://motcua.example.gov.vn")
    create_app(ctx=dataclasses.replace(ctx, settings=production), start_worker=False)
    assert calls == ["settled"]


def test_a_production_celery_worker_settles_once_its_context_is_built(ctx, monkeypatch):
    import engine.jobs

    calls = []
    monkeypatch.setattr(engine.heap, "settle", lambda: calls.append("settled"))
    production = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, mode="production"))
    monkeypatch.setattr(engine.jobs, "build_context", lambda _settings: production)
    engine.jobs.context.cache_clear()
    try:
        assert engine.jobs.context() is production
        engine.jobs.context()  # built once per process, settled once
    finally:
        engine.jobs.context.cache_clear()
    assert calls == ["settled"]
