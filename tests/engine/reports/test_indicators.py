"""Indicator figures against hand-computed expectations on the fixed dataset (dataset.py: eight
dossiers, one across Tết, one with a supplement pause, one whose clock restarted).

Working minutes: office hours 07:30–11:30 and 13:30–17:00, i.e. 240 + 210 = 450 a day.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from engine.calendar import CalendarConfig
from engine.errors import InvalidInput
from engine.models import Dossier
from engine.reports import indicators
from engine.reports.behind import INDICATORS, dossiers_behind
from engine.reports.filters import Filters
from engine.reports.indicators import percentile, read_dashboard
from engine.reports.scorecard import read_scorecard
from engine.reports.tables import ReportDossier
from tests.engine.reports.dataset import AGENCY, NOW, OTHER_AGENCY

Q1 = Filters(date(2026, 1, 1), date(2026, 3, 31))


def figures(ctx, filters):
    with ctx.sessions() as session:
        return read_dashboard(session, filters, now=NOW)


def listed(ctx, dataset, indicator, filters=Q1):
    """The letters (A–H) of the dossiers behind `indicator`."""
    letters = {code: letter for letter, code in dataset.codes.items()}
    with ctx.sessions() as session:
        return sorted(letters[d.code] for d in session.scalars(dossiers_behind(indicator, filters, now=NOW)))


def test_the_quarter_counts_each_dossier_on_the_day_of_each_measure(dataset, backend_context):
    counts = figures(backend_context, Q1).counts
    # submitted: all eight; online A B D F G H (C and E at the desk)
    assert (counts["submitted"], counts["submitted_online"]) == (8, 6)
    # received: A B C E F G (D refused and H withdrawn before reception); online A B F G, desk C E
    assert (counts["received"], counts["received_online"], counts["received_desk"]) == (6, 4, 2)
    # finished: A B C E returned, D refused, H withdrawn; F and G still open
    assert (counts["finished"], counts["returned"], counts["refused"], counts["withdrawn"]) == (6, 4, 1, 1)
    assert counts["refused_at_reception"] == 1  # D
    # resolved = returned A B C E (D's refusal came before reception): early A C, on time E, late B
    assert (counts["resolved"], counts["early"], counts["on_time"], counts["late"]) == (4, 2, 1, 1)
    # supplements among the finished: B (paused), C (restarted), H (at reception, then withdrawn)
    assert counts["finished_with_supplement"] == 3
    # online payment: A paid 100.000 đ on 13/2; all six finished dossiers owe the household fee
    assert (counts["paid_online"], counts["paid_amount"]) == (1, 100_000)
    assert (counts["fee_finished"], counts["fee_paid_online"]) == (6, 1)
    # ratings: A 5, B 2, C 4, E 5
    assert [counts[f"rating_{score}"] for score in range(1, 6)] == [0, 1, 0, 1, 2]
    # digitised at reception: the four online ones; electronic results: the four returned
    assert (counts["received_digitized"], counts["resolved_e_result"]) == (4, 4)
    assert counts["submitted_synced"] == 0  # no national-portal connector in the tests


def test_the_quarter_rates_are_the_hand_computed_shares(dataset, backend_context):
    board = figures(backend_context, Q1)
    assert board.online_share.share == pytest.approx(4 / 6)
    assert board.on_time_share.share == pytest.approx(3 / 4)  # (early 2 + on time 1) / resolved 4
    assert board.supplement_rate.share == pytest.approx(3 / 6)  # B C H / finished 6
    assert board.refusal_rate.share == pytest.approx(1 / 6)  # D / finished 6
    assert board.online_payment_share.share == pytest.approx(1 / 6)
    assert board.ratings == {1: 0, 2: 1, 3: 0, 4: 1, 5: 2}
    assert (board.satisfied.part, board.satisfied.whole) == (3, 4)  # scores 4 and 5 of four ratings


def test_processing_time_is_working_time_without_tet_and_without_the_supplement_pause(dataset, backend_context):
    letter = {code: letter for letter, code in dataset.codes.items()}
    with backend_context.sessions() as session:
        got = {letter[code]: minutes for code, minutes in session.execute(
            select(Dossier.code, ReportDossier.processing_minutes)
            .join(ReportDossier, ReportDossier.dossier_id == Dossier.id))}
    # A: Fri 13/2 14:00–17:00 = 180; 16–20/2 Tết and the weekends count nothing; Mon 23/2 = 450;
    #    Tue 24/2 07:30–11:30 + 13:30–15:00 = 240 + 90 = 330 → 960
    assert got["A"] == 960
    # B (pause): received Mon 2/3 09:00 → returned Mon 9/3 10:00 = 150 + 210 + 4 × 450 + 150 = 2310,
    #    minus the pause Tue 3/3 10:00 → Thu 5/3 10:00 = (90 + 210) + 450 + 150 = 900 → 1410
    assert got["B"] == 1410
    # C (restart): counted from the restart Thu 12/3 14:00 → Mon 16/3 09:00 = 180 + 450 + 90 → 720
    assert got["C"] == 720
    # E: Wed 11/3 10:00 → Mon 16/3 10:05 = (90 + 210) + 450 + 450 + 155 → 1355
    assert got["E"] == 1355
    assert got["D"] is None and got["F"] is None and got["G"] is None and got["H"] is None


def test_average_and_p90_processing_time(dataset, backend_context):
    processing = figures(backend_context, Q1).processing
    # 960 + 1410 + 720 + 1355 = 4445 over 4 → 1111.25 min = 2.469 working days of 450 min
    assert (processing.dossiers, processing.total_minutes) == (4, 4445)
    assert processing.average_minutes == pytest.approx(1111.25)
    assert processing.average_days == pytest.approx(1111.25 / 450)
    # p90, nearest rank: ceil(0.9 × 4) = 4th of 720, 960, 1365 (1355 rounded up to 15), 1410 → 1410
    assert processing.p90_minutes == 1410
    assert processing.p90_days == pytest.approx(1410 / 450)


@pytest.mark.parametrize("start, end, expected", [
    # March alone (a whole month, read from the monthly histogram): B 1410, C 720, E 1365 → 3rd of 3
    (date(2026, 3, 1), date(2026, 3, 31), (3, 3485, 1410)),
    # 5–31 March (partial month, read from the facts): the same three
    (date(2026, 3, 5), date(2026, 3, 31), (3, 3485, 1410)),
    # 10/2–31/3: days 10–28 of February from the facts (A 960) + March whole → 4th of 4 = 1410
    (date(2026, 2, 10), date(2026, 3, 31), (4, 4445, 1410)),
    # February whole + 1–10 March from the facts: A 960, B 1410 → ceil(1.8) = 2nd → 1410
    (date(2026, 2, 1), date(2026, 3, 10), (2, 2370, 1410)),
    # 11–16 March: C 720 and E 1355 → 2nd = 1365 (1355 rounded up to the quarter hour)
    (date(2026, 3, 11), date(2026, 3, 16), (2, 2075, 1365)),
    # January: nothing resolved, no percentile
    (date(2026, 1, 1), date(2026, 1, 31), (0, 0, None)),
])
def test_p90_combines_whole_months_and_partial_days(dataset, backend_context, start, end, expected):
    processing = figures(backend_context, Filters(start, end)).processing
    assert (processing.dossiers, processing.total_minutes, processing.p90_minutes) == expected


def test_february_counts_only_the_dossier_that_crossed_tet(dataset, backend_context):
    board = figures(backend_context, Filters.month(2026, 2))
    assert (board.counts["submitted"], board.counts["received"], board.counts["early"]) == (1, 1, 1)
    assert board.processing.p90_minutes == 960 and board.processing.average_minutes == 960
    assert board.counts["paid_online"] == 1 and board.ratings[5] == 1
    assert listed(backend_context, dataset, "early", Filters.month(2026, 2)) == ["A"]


def test_filters_by_agency_and_by_procedure(dataset, backend_context):
    other = figures(backend_context, Filters(Q1.date_from, Q1.date_to, agency_code=OTHER_AGENCY))
    # only E: received at the desk, on time, 1355 min → p90 bucket 1365
    assert (other.counts["submitted"], other.counts["received_desk"], other.counts["on_time"]) == (1, 1, 1)
    assert other.processing.p90_minutes == 1365 and other.overdue_now == 0
    paused = figures(backend_context, Filters(Q1.date_from, Q1.date_to, procedure_id=dataset.paused_procedure))
    # only B: late, 1410 min, rated 2
    assert (paused.counts["submitted"], paused.counts["late"], paused.counts["rating_2"]) == (1, 1, 1)
    assert paused.processing.total_minutes == 1410
    main = figures(backend_context, Filters(Q1.date_from, Q1.date_to, agency_code=AGENCY,
                                            procedure_id=dataset.procedure))
    # A C D F G H at agency 21 on the shipped procedure; F is overdue now
    assert (main.counts["submitted"], main.counts["resolved"], main.overdue_now) == (6, 2, 1)


def test_overdue_now_counts_open_dossiers_whose_clock_runs_past_due(dataset, backend_context):
    # F: in review, due Tue 17/3 11:30; G is as late but awaits the citizen's supplement
    assert figures(backend_context, Q1).overdue_now == 1
    assert listed(backend_context, dataset, "overdue_now") == ["F"]


def test_per_step_time_and_where_dossiers_wait_now(dataset, backend_context):
    steps = {step.bpmn_id: step for step in figures(backend_context, Q1).steps}
    # tiep_nhan: A 08:30→14:00 = 180 + 30 = 210; B 60; C 30; D 60; E 120; F 60; G 75; H 60 → 675
    assert (steps["tiep_nhan"].completed, steps["tiep_nhan"].minutes, steps["tiep_nhan"].late) == (8, 675, 0)
    # tham_dinh: A 330, B 510 + 330, C 480 + 270, E 1020 (late: due Thu 12/3 17:00), G 420 → 3360;
    #            F still open and past its step due date (Fri 13/3 17:00)
    review = steps["tham_dinh"]
    assert (review.completed, review.minutes, review.late, review.open_now, review.overdue_now) == (7, 3360, 1, 1, 1)
    assert review.average_minutes == pytest.approx(480)
    # phe_duyet: A 390 (late: due Mon 23/2 17:00), B 60, C 60, E 210 → 720
    assert (steps["phe_duyet"].completed, steps["phe_duyet"].minutes, steps["phe_duyet"].late) == (4, 720, 1)
    # tra_ket_qua: A 240, B 510 (late), C 390 (late), E 125 → 1265
    assert (steps["tra_ket_qua"].completed, steps["tra_ket_qua"].minutes, steps["tra_ket_qua"].late) == (4, 1265, 2)
    # the citizen's supplements: B 900, C 1080 (after the due date Thu 12/3 11:30), H 60; G awaited now
    supplement = steps["bo_sung_ho_so"]
    assert (supplement.completed, supplement.minutes, supplement.late, supplement.open_now) == (3, 2040, 1, 1)
    assert supplement.role == "applicant"
    assert (steps["thanh_toan_le_phi"].completed, steps["thanh_toan_le_phi"].minutes) == (1, 30)
    assert listed(backend_context, dataset, "step:phe_duyet") == ["A", "B", "C", "E"]
    assert listed(backend_context, dataset, "waiting:tham_dinh") == ["F"]
    assert listed(backend_context, dataset, "waiting:bo_sung_ho_so") == ["G"]


def test_every_figure_lists_exactly_the_dossiers_it_counts(dataset, backend_context):
    counts = figures(backend_context, Q1).counts
    with backend_context.sessions() as session:
        for indicator in INDICATORS:
            behind = dossiers_behind(indicator, Q1, now=NOW)
            total = session.scalar(select(func.count()).select_from(behind.order_by(None).subquery()))
            assert total == counts[indicator], indicator
    assert listed(backend_context, dataset, "late") == ["B"]
    assert listed(backend_context, dataset, "early") == ["A", "C"]
    assert listed(backend_context, dataset, "received_desk") == ["C", "E"]
    assert listed(backend_context, dataset, "finished_with_supplement") == ["B", "C", "H"]
    assert listed(backend_context, dataset, "satisfied") == ["A", "C", "E"]


def test_an_unknown_indicator_is_refused_in_vietnamese():
    with pytest.raises(InvalidInput) as refused:
        dossiers_behind("khong-co", Q1)
    assert refused.value.errors == {"indicator": ["Không có chỉ số «khong-co»."]}


def test_the_766_scorecard_per_agency_follows_its_documented_formulas(dataset, backend_context):
    with backend_context.sessions() as session:
        scores = {score.agency_code: score for score in read_scorecard(session, Q1)}
    main = scores[AGENCY]
    points = {part.indicator.key: part.points for group in main.groups for part in group.parts}
    assert points == {
        "tthc_cong_khai": None, "dong_bo_dvcqg": 0.0,        # 14 × 0/7 synced
        "dung_han": 13.33,                                  # 20 × (A, C early) / (A B C resolved)
        "tthc_truc_tuyen": 4.0,                             # both procedures offered online
        "tthc_phat_sinh": 4.0,                              # both had online dossiers (A F G; B)
        "ho_so_truc_tuyen": 3.2,                            # 4 × online A B F G / received A B C F G
        "tthc_thanh_toan": 2.5,                             # 5 × 1/2 (the shipped one had A's payment)
        "ho_so_thanh_toan": 1.0,                            # 5 × A / (A B C D H owing the fee)
        "pakn_dung_han": None, "pakn_hai_long": None,
        "hai_long_tthc": 4.0,                               # 6 × (3 resolved − B rated 2) / 3
        "so_hoa_tiep_nhan": 6.4,                            # 8 × 4 online / 5 received
        "ket_qua_dien_tu": 8.0,                             # 8 × 3 electronic results / 3 resolved
        "tai_su_dung": None,
    }
    assert main.points == pytest.approx(46.43)
    assert main.measured_max == 78  # 100 minus the unmeasured 4 + 6 + 6 + 6
    other = scores[OTHER_AGENCY]
    # E only: on time 20, offered online 4, satisfied 6, electronic result 8; desk-only elsewhere
    assert other.points == pytest.approx(38.0)


def test_percentile_is_the_nearest_rank():
    assert percentile({}, 0.9) is None
    assert percentile({15: 9, 30: 1}, 0.9) == 15  # rank ceil(9.0) = 9 → still the first bucket
    assert percentile({15: 8, 30: 2}, 0.9) == 30
    assert indicators.minutes_per_day(CalendarConfig()) == 450  # 240 + 210


def test_filters_refuse_a_reversed_period_with_a_vietnamese_message():
    with pytest.raises(InvalidInput) as refused:
        Filters(date(2026, 3, 31), date(2026, 3, 1))
    assert refused.value.errors == {"date_to": ["Ngày kết thúc phải sau hoặc trùng ngày bắt đầu."]}
    with pytest.raises(InvalidInput) as bad:
        Filters.parse({"tu_ngay": "2026-13-01", "den_ngay": "2026-03-31", "thu_tuc": "x"})
    assert set(bad.value.errors) == {"tu_ngay", "thu_tuc"}
    assert Filters.parse({"tu_ngay": "2026-03-01", "den_ngay": "2026-03-31", "co_quan": AGENCY}) == \
        Filters(date(2026, 3, 1), date(2026, 3, 31), AGENCY)
