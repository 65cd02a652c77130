"""The bulk seeder writes consistent dossiers: each with a chain-valid history, the engine's clock,
task rows, codes that never collide, facts equal to a rebuild's; and it keeps off real databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine.history import verify_chain
from engine.models import Attachment, CodeCounter, Dossier, Event, Payment, Rating, Task
from engine.reports import rollup
from engine.reports.tables import ReportDossier
from engine.seeding import RealDataPresent, SeedingImpossible, has_real_data, online_fee, seed_dossiers
from engine.seeding.province import SUFFIX
from engine.services.clock import legal_due
from tests.conftest import _clean
from tests.engine.reports.conftest import empty_reports
from tests.engine.reports.test_rollup import snapshot
from tests.factories import submit

END = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CODE = re.compile(r"^000\.00\.\d\d\.H98-\d{6}-\d{4}$")


def count(ctx, model) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_requested_dossiers_are_written_with_chain_valid_histories(reports_ctx):
    ctx = reports_ctx
    result = seed_dossiers(ctx, 120, seed=1, end=END, days=60)
    assert result.dossiers == count(ctx, Dossier) == 120
    assert result.events == count(ctx, Event) and result.tasks == count(ctx, Task)
    assert result.payments == count(ctx, Payment) and result.ratings == count(ctx, Rating)
    assert result.attachments == count(ctx, Attachment)
    with ctx.sessions() as session:
        dossiers = list(session.scalars(select(Dossier)))
        assert all(verify_chain(session, d.id) is None for d in dossiers)
        assert all(CODE.match(d.code) and d.agency_code.endswith(SUFFIX) for d in dossiers)
        assert len({d.code for d in dossiers}) == 120
        assert all(d.submitted_at < END for d in dossiers)
        kinds = set(session.scalars(select(Event.kind).distinct()))
        assert {"submitted", "status", "clock", "task_opened", "task_completed"} <= kinds
        # every dossier's first event is its submission, and its history head is on its row
        firsts = dict(session.execute(select(Event.dossier_id, Event.kind).where(Event.seq == 1)).all())
        assert set(firsts.values()) == {"submitted"} and len(firsts) == 120
    assert count(ctx, ReportDossier) == 120  # the facts came with the rows


def test_seeded_clocks_are_the_engines(reports_ctx):
    """Due dates as engine.services.clock computes them from the clock's (re)start, and the
    early / on-time / late class as the calendar gives it at the end."""
    ctx = reports_ctx
    seed_dossiers(ctx, 150, seed=2, end=END, days=90)
    calendar = ctx.calendar()
    with ctx.sessions() as session:
        resolved = list(session.scalars(select(Dossier).where(Dossier.status == "returned")))
        assert len(resolved) > 100
        for dossier in resolved:
            meta = ctx.versions.get(session, dossier.procedure_version_id).meta
            assert dossier.due_at == legal_due(meta, dossier.clock_started_at, calendar, dossier.deadline_rule)
            assert dossier.timeliness == calendar.timeliness(dossier.finished_at, dossier.due_at)
            assert dossier.received_at <= dossier.clock_started_at <= dossier.finished_at
        done = list(session.scalars(select(Task).where(Task.state == "done")))
        assert all(t.created_at <= t.completed_at for t in done)
        assert {t.role for t in done} >= {"desk", "specialist", "leader"}


def test_dossiers_still_in_progress_at_the_end_keep_their_open_tasks(reports_ctx):
    ctx = reports_ctx
    seed_dossiers(ctx, 80, seed=3, end=END, days=3)
    with ctx.sessions() as session:
        open_dossiers = list(session.scalars(select(Dossier).where(Dossier.finished_at.is_(None))))
        assert open_dossiers, "three days of dossiers leave some in progress"
        open_tasks = dict(session.execute(select(Task.dossier_id, func.count()).where(Task.state == "open")
                                          .group_by(Task.dossier_id)).all())
        assert all(open_tasks.get(d.id) == 1 for d in open_dossiers)
        assert all(d.status not in ("returned", "refused", "withdrawn") for d in open_dossiers)
        assert not session.scalar(select(func.count()).select_from(Event).where(Event.at > END))


def test_seeded_facts_and_rollups_equal_a_full_rebuild(reports_ctx):
    ctx = reports_ctx
    seed_dossiers(ctx, 100, seed=4, end=END, days=45)
    seeded = snapshot(ctx)
    assert seeded["daily"] and seeded["steps"] and seeded["durations"]
    rollup.rebuild(ctx)
    assert snapshot(ctx) == seeded
    assert rollup.refresh(ctx).dossiers == 0  # marked current: nothing left to follow


def test_worker_processes_share_the_days_without_colliding(reports_ctx):
    ctx = reports_ctx
    if ctx.db.dialect.name != "postgresql":
        pytest.skip("worker processes are used on PostgreSQL only")
    result = seed_dossiers(ctx, 300, seed=8, end=END, days=30, workers=2, batch_size=100)
    assert (result.workers, result.dossiers, count(ctx, Dossier)) == (2, 300, 300)
    with ctx.sessions() as session:
        ids = list(session.scalars(select(Dossier.id).order_by(Dossier.id)))
        assert ids == list(range(ids[0], ids[0] + 300))  # the reserved block, filled exactly
        assert session.scalar(select(func.count(func.distinct(Dossier.code)))) == 300
        assert all(verify_chain(session, dossier_id) is None for dossier_id in ids[::7])
    seeded = snapshot(ctx)
    rollup.rebuild(ctx)
    assert snapshot(ctx) == seeded


def test_the_same_seed_writes_the_same_dossiers(reports_ctx):
    ctx = reports_ctx

    def written():
        with ctx.sessions() as session:
            return session.execute(select(Dossier.code, Dossier.applicant_name, Dossier.status, Dossier.due_at)
                                   .order_by(Dossier.id)).all()

    seed_dossiers(ctx, 40, seed=9, end=END, days=20)
    first = written()
    _clean(ctx)
    empty_reports(ctx)
    seed_dossiers(ctx, 40, seed=9, end=END, days=20)
    assert written() == first


def test_a_second_seed_continues_the_codes(reports_ctx):
    ctx = reports_ctx
    seed_dossiers(ctx, 60, seed=5, end=END, days=2)
    seed_dossiers(ctx, 60, seed=6, end=END, days=2)
    with ctx.sessions() as session:
        codes = list(session.scalars(select(Dossier.code)))
        counters = {(c.agency_code, c.day): c.last for c in session.scalars(select(CodeCounter))}
    assert len(codes) == len(set(codes)) == 120
    highest: dict[tuple[str, str], int] = {}
    for code in codes:
        agency, day, number = code.rsplit("-", 2)
        highest[(agency, day)] = max(highest.get((agency, day), 0), int(number))
    assert counters == highest  # a later real submission there gets the next free number


def test_a_database_with_real_dossiers_is_refused_unless_forced(reports_ctx, actors):
    ctx = reports_ctx
    submit(ctx, actors["congdan"])
    with ctx.sessions() as session:
        assert has_real_data(session)
    with pytest.raises(RealDataPresent) as refused:
        seed_dossiers(ctx, 10, seed=1, end=END, days=10)
    assert "--force" in refused.value.message_vi
    assert count(ctx, Dossier) == 1
    assert seed_dossiers(ctx, 10, seed=1, end=END, days=10, force=True).dossiers == 10


def test_impossible_requests_are_refused_in_vietnamese(reports_ctx):
    with pytest.raises(SeedingImpossible) as refused:
        seed_dossiers(reports_ctx, 0)
    assert refused.value.message_vi.startswith("Số hồ sơ mẫu phải từ 1")
    with pytest.raises(SeedingImpossible):
        seed_dossiers(reports_ctx, 100_000, days=1)  # more than 9999 a day at one agency


def test_online_fees_follow_the_validity_dates_and_the_online_reduction():
    from datetime import date

    meta = {"fees": [{"amount": 200000, "valid_from": "2017-01-01"},
                     {"amount": 0, "applies_to": ["tre_em"]},
                     {"rate": 0.5, "channel": "online", "valid_from": "2025-07-01", "valid_to": "2026-12-31"}]}
    assert online_fee(meta, date(2026, 6, 1)) == 100000
    assert online_fee(meta, date(2027, 1, 1)) == 200000
    assert online_fee({"fees": [{"amount": 8000, "applies_when": "qua_han"}]}, date(2026, 6, 1)) == 0
