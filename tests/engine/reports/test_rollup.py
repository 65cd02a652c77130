"""The rollups follow the event stream: each refresh re-derives the dossiers that changed and the
days they touch, gives the same tables as a full rebuild, and costs nothing when nothing changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from engine.calendar import VN_TZ
from engine.reports import rollup
from engine.reports.filters import Filters
from engine.reports.indicators import dashboard, totals
from engine.reports.tables import ReportDaily, ReportDossier, ReportDuration, ReportStepDaily, ReportTask
from engine.services import rate_dossier
from tests.conftest import allow_purge
from tests.factories import submit, work


def around_today() -> Filters:
    today = datetime.now(VN_TZ).date()
    return Filters(today - timedelta(days=1), today + timedelta(days=1))


def snapshot(ctx) -> dict[str, list[tuple]]:
    """Every report table's rows, sorted, as plain tuples."""
    tables = {"daily": ReportDaily, "steps": ReportStepDaily, "durations": ReportDuration, "facts": ReportDossier,
              "tasks": ReportTask}
    with ctx.sessions() as session:
        return {name: sorted(tuple(getattr(row, c.key) for c in table.__table__.columns)
                             for row in session.scalars(select(table)))
                for name, table in tables.items()}


def returned(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    from engine.outbox import drain

    drain(ctx)
    work(ctx, actors["tiepnhan"], dossier.code, {"hinh_thuc_tra": "truc_tiep"})
    return dossier


def test_a_refresh_picks_up_each_change_and_moves_the_counts_it_affects(reports_ctx, actors):
    ctx = reports_ctx
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    first = rollup.refresh(ctx)
    assert first.dossiers == 1 and not first.skipped
    with ctx.sessions() as session:
        counts = totals(session, around_today())
    assert (counts["submitted"], counts["received"], counts["finished"]) == (1, 1, 0)
    assert rollup.refresh(ctx).dossiers == 0  # nothing new: no work
    work(ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "tu_choi", "y_kien": "Trùng tên", "ly_do_tu_choi": "Tên đã tồn tại"})
    work(ctx, actors["lanhdao"], dossier.code, {"quyet_dinh": "dong_y"})
    board = dashboard(ctx, around_today())  # refreshes first
    assert (board.counts["finished"], board.counts["refused"], board.counts["resolved"]) == (1, 1, 1)
    assert board.processing.dossiers == 1 and board.counts["received"] == 1
    assert {step.bpmn_id: step.completed for step in board.steps} == {"tiep_nhan": 1, "tham_dinh": 1, "phe_duyet": 1}


def test_incremental_refreshes_end_where_a_full_rebuild_ends(reports_ctx, actors):
    ctx = reports_ctx
    done = returned(ctx, actors)
    rollup.refresh(ctx)
    rate_dossier(ctx, actors["congdan"], done.code, 5)
    waiting = submit(ctx, actors["congdan"])
    rollup.refresh(ctx)
    work(ctx, actors["tiepnhan"], waiting.code, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản sao"]})
    rollup.refresh(ctx)
    incremental = snapshot(ctx)
    assert len(incremental["facts"]) == 2 and incremental["durations"]
    rollup.rebuild(ctx)
    assert snapshot(ctx) == incremental


def test_event_ids_below_the_mark_mean_a_new_history_and_a_rebuild(reports_ctx, actors):
    """Only an emptied database does this (SQLite then reuses ids); the mark is moved past the
    new ids by hand so that PostgreSQL, whose ids never go back, shows the same."""
    ctx = reports_ctx
    submit(ctx, actors["congdan"])
    submit(ctx, actors["congdan"])
    rollup.refresh(ctx)
    with ctx.db.begin() as conn:
        allow_purge(conn)
        for table in ("event", "task", "workflow_instance", "outbox", "dossier"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE report_state SET last_event_id = last_event_id + 1000000"))
    submit(ctx, actors["congdan"])
    rollup.refresh(ctx)
    with ctx.sessions() as session:
        assert totals(session, around_today())["submitted"] == 1


def test_facts_are_dated_by_the_vietnam_day(reports_ctx, actors):
    ctx = reports_ctx
    dossier = submit(ctx, actors["congdan"])
    rollup.refresh(ctx)
    with ctx.sessions() as session:
        fact = session.scalar(select(ReportDossier))
        from engine.models import Dossier

        submitted_at = session.scalar(select(Dossier.submitted_at).where(Dossier.code == dossier.code))
    assert fact.submitted_on == submitted_at.astimezone(VN_TZ).date()
    assert submitted_at.tzinfo is not None and submitted_at.utcoffset() == UTC.utcoffset(None)
