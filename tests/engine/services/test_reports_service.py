"""The reports service on the fixed dataset of tests/engine/reports/dataset.py: who may read what
(admins the province, a leader their own agency whatever they ask), the default period, the
field-keyed errors a filter form shows, the paged lists behind a figure and their agreement with it.

Letters A–H are the dataset's dossiers: agency 21 has all but E; E is agency 22's.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.models import User
from engine.reports.behind import INDICATORS
from engine.reports.filters import Filters
from engine.services import Actor, reports
from tests.engine.reports.conftest import dataset  # noqa: F401 - the module-scoped fixture
from tests.engine.reports.dataset import AGENCY, OTHER_AGENCY
from tests.factories import submit

Q1 = Filters(date(2026, 1, 1), date(2026, 3, 31))
Q1_ARGS = {"tu_ngay": "2026-01-01", "den_ngay": "2026-03-31"}


@pytest.fixture(scope="module")
def who(dataset, backend_context):  # noqa: F811 - the fixture imported above
    with backend_context.sessions() as session:
        return {user.username: Actor.of(user) for user in session.scalars(select(User))}


def letters_of(dataset, rows) -> list[str]:  # noqa: F811
    letter = {code: name for name, code in dataset.codes.items()}
    return [letter[row.code] for row in rows]


@pytest.mark.parametrize("username", ["congdan", "tiepnhan", "chuyenvien", "phantich"])
def test_only_admins_and_leaders_read_reports(dataset, backend_context, who, username):  # noqa: F811
    actor = who[username]
    for call in (lambda: reports.report_filters(backend_context, actor, Q1_ARGS),
                 lambda: reports.dashboard(backend_context, actor, Q1),
                 lambda: reports.breakdown(backend_context, actor, Q1, "agency"),
                 lambda: reports.scorecard(backend_context, actor, Q1),
                 lambda: reports.choices(backend_context, actor),
                 lambda: reports.dossiers_behind(backend_context, actor, "submitted", Q1),
                 lambda: list(reports.iter_dossiers_behind(backend_context, actor, "submitted", Q1)),
                 lambda: reports.procedure_diagram(backend_context, actor, 1)):
        with pytest.raises(Forbidden) as refused:
            call()
        assert refused.value.message_vi == "Chỉ quản trị viên và lãnh đạo được xem báo cáo."


def test_a_leader_without_an_agency_reads_nothing(backend_context):
    stray = Actor(10**9, "lanhdao_le", "Lãnh đạo chưa gắn cơ quan", "leader", None)
    with pytest.raises(Forbidden):
        reports.report_filters(backend_context, stray, Q1_ARGS)


def test_the_period_defaults_to_this_month_up_to_today(backend_context, who):
    filters = reports.report_filters(backend_context, who["quantri"], {}, today=date(2026, 3, 18))
    assert filters == Filters(date(2026, 3, 1), date(2026, 3, 18))
    assert reports.report_filters(backend_context, who["quantri"], {"tu_ngay": " 2026-02-01 "},
                                  today=date(2026, 3, 18)) == Filters(date(2026, 2, 1), date(2026, 3, 18))


def test_a_leader_is_kept_to_their_agency_whatever_they_ask(dataset, backend_context, who):  # noqa: F811
    leader = who["lanhdao_ca"]  # agency 22: only E
    asked = reports.report_filters(backend_context, leader, {**Q1_ARGS, "co_quan": AGENCY})
    assert asked.agency_code == OTHER_AGENCY
    # even a Filters built by hand for another agency is narrowed by the service
    board = reports.dashboard(backend_context, leader, Filters(Q1.date_from, Q1.date_to, agency_code=AGENCY))
    assert (board.counts["submitted"], board.counts["on_time"]) == (1, 1)
    assert [row.key for row in reports.breakdown(backend_context, leader, Q1, "agency")] == [OTHER_AGENCY]
    assert [score.agency_code for score in reports.scorecard(backend_context, leader, Q1)] == [OTHER_AGENCY]
    assert [code for code, _name in reports.choices(backend_context, leader)["agencies"]] == [OTHER_AGENCY]
    listed = reports.dossiers_behind(backend_context, leader, "submitted", Q1)
    assert (listed.total, letters_of(dataset, listed.rows)) == (1, ["E"])
    assert letters_of(dataset, reports.iter_dossiers_behind(backend_context, leader, "submitted", Q1)) == ["E"]


def test_the_overview_is_the_dashboard_with_both_breakdowns_in_the_readers_scope(dataset, backend_context, who):  # noqa: F811
    for username in ("quantri", "lanhdao_ca"):
        actor = who[username]
        seen = reports.overview(backend_context, actor, Q1)
        assert seen.board.counts == reports.dashboard(backend_context, actor, Q1).counts
        assert seen.board.filters == reports.dashboard(backend_context, actor, Q1).filters
        assert seen.agencies == reports.breakdown(backend_context, actor, Q1, "agency")
        assert seen.procedures == reports.breakdown(backend_context, actor, Q1, "procedure")
    assert [row.key for row in reports.overview(backend_context, who["lanhdao_ca"], Q1).agencies] == [OTHER_AGENCY]


def test_an_admin_reads_the_whole_province_or_one_agency(dataset, backend_context, who):  # noqa: F811
    admin = who["quantri"]
    assert reports.report_filters(backend_context, admin, Q1_ARGS).agency_code is None
    assert reports.dashboard(backend_context, admin, Q1).counts["submitted"] == 8
    rows = reports.breakdown(backend_context, admin, Q1, "agency")
    # largest intake first: agency 21 received A B C F G, agency 22 received E
    assert [(row.key, row.counts["received"]) for row in rows] == [(AGENCY, 5), (OTHER_AGENCY, 1)]
    assert rows[0].name == "UBND phường Hòa Bình (tỉnh Demo)"
    one = reports.report_filters(backend_context, admin, {**Q1_ARGS, "co_quan": OTHER_AGENCY})
    assert reports.dashboard(backend_context, admin, one).counts["submitted"] == 1
    assert len(reports.choices(backend_context, admin)["agencies"]) >= 2


@pytest.mark.parametrize("args, field, message", [
    ({"tu_ngay": "2026-13-01"}, "tu_ngay", "Ngày không hợp lệ, cần dạng YYYY-MM-DD."),
    ({"tu_ngay": "2026-03-31", "den_ngay": "2026-03-01"}, "den_ngay", "Ngày kết thúc phải sau hoặc trùng ngày bắt đầu."),
    ({"co_quan": "000.00.99.H99"}, "co_quan", "Không có cơ quan này."),
    ({"thu_tuc": "khong-so"}, "thu_tuc", "Thủ tục không hợp lệ."),
    ({"thu_tuc": "0"}, "thu_tuc", "Thủ tục không hợp lệ."),
    ({"thu_tuc": "987654321"}, "thu_tuc", "Không có thủ tục này."),
    ({"thu_tuc": "99999999999999999999999"}, "thu_tuc", "Không có thủ tục này."),
])
def test_invalid_filters_are_keyed_by_the_form_field(backend_context, who, args, field, message):
    with pytest.raises(InvalidInput) as refused:
        reports.report_filters(backend_context, who["quantri"], args, today=date(2026, 3, 18))
    assert refused.value.errors == {field: [message]}


def test_the_list_behind_a_figure_is_paged_newest_first(dataset, backend_context, who):  # noqa: F811
    admin = who["quantri"]
    pages = [reports.dossiers_behind(backend_context, admin, "submitted", Q1, page=n, per_page=3) for n in (1, 2, 3)]
    assert [(p.total, p.pages, len(p.rows)) for p in pages] == [(8, 3, 3), (8, 3, 3), (8, 3, 2)]
    seen = [letter for p in pages for letter in letters_of(dataset, p.rows)]
    assert sorted(seen) == list("ABCDEFGH")  # every dossier once, no page overlapping another
    assert seen == ["H", "G", "F", "E", "D", "C", "B", "A"]  # submitted in that order, newest first
    beyond = reports.dossiers_behind(backend_context, admin, "submitted", Q1, page=9, per_page=3)
    assert (beyond.total, beyond.rows) == (8, [])
    clamped = reports.dossiers_behind(backend_context, admin, "submitted", Q1, page=0, per_page=10**6)
    assert (clamped.page, clamped.per_page) == (1, reports.MAX_PER_PAGE)


def test_a_listed_row_carries_what_a_leader_follows_up(dataset, backend_context, who):  # noqa: F811
    (row,) = reports.dossiers_behind(backend_context, who["quantri"], "late", Q1).rows
    assert row.code == dataset.codes["B"]
    assert row.procedure_name == "Đăng ký hộ kinh doanh (tạm dừng thời hạn, báo cáo)"
    assert (row.agency_code, row.status, row.channel, row.timeliness) == (AGENCY, "returned", "online", "late")
    assert row.received_at is not None and row.finished_at is not None and row.due_at is not None


def test_every_list_has_as_many_dossiers_as_its_figure_says(dataset, backend_context, who):  # noqa: F811
    admin = who["quantri"]
    board = reports.dashboard(backend_context, admin, Q1)
    for indicator in INDICATORS:
        assert reports.dossiers_behind(backend_context, admin, indicator, Q1).total == board.counts[indicator], indicator
    # the live figure, at the real now (F has been overdue since 17/3/2026)
    overdue = reports.dossiers_behind(backend_context, admin, "overdue_now", Q1)
    assert overdue.total == board.overdue_now
    assert letters_of(dataset, overdue.rows) == ["F"]
    steps = {step.bpmn_id: step for step in board.steps}
    assert reports.dossiers_behind(backend_context, admin, "step:phe_duyet", Q1).total == steps["phe_duyet"].completed
    assert reports.dossiers_behind(backend_context, admin, "waiting:tham_dinh", Q1).total == steps["tham_dinh"].open_now


def test_an_export_iterates_every_row_up_to_its_limit(dataset, backend_context, who):  # noqa: F811
    admin = who["quantri"]
    assert sorted(letters_of(dataset, reports.iter_dossiers_behind(backend_context, admin, "submitted", Q1))) == \
        list("ABCDEFGH")
    assert len(list(reports.iter_dossiers_behind(backend_context, admin, "submitted", Q1, limit=5))) == 5


def test_an_export_being_read_holds_no_transaction_that_would_block_writers(dataset, backend_context, who):  # noqa: F811
    from sqlalchemy import update

    from engine.db import transaction

    rows = reports.iter_dossiers_behind(backend_context, who["quantri"], "submitted", Q1)
    assert next(rows).code  # a download has started and its reader is slow
    with transaction(backend_context.sessions) as session:  # on SQLite: BEGIN IMMEDIATE, the write lock
        session.execute(update(User).where(User.id == -1).values(full_name="x"))
    assert len(list(rows)) == 7


def test_an_unknown_indicator_is_refused_in_vietnamese(backend_context, who):
    with pytest.raises(InvalidInput) as refused:
        reports.dossiers_behind(backend_context, who["quantri"], "khong-co", Q1)
    assert refused.value.errors == {"indicator": ["Không có chỉ số «khong-co»."]}


def test_a_reader_gets_the_latest_diagram_of_a_procedure(dataset, backend_context, who):  # noqa: F811
    diagram = reports.procedure_diagram(backend_context, who["lanhdao"], dataset.procedure)
    assert diagram.procedure_id == dataset.procedure and diagram.version >= 1
    assert diagram.xml.lstrip().startswith("<?xml") or "<bpmn:definitions" in diagram.xml
    assert 'id="tham_dinh"' in diagram.xml and 'id="phe_duyet"' in diagram.xml
    with pytest.raises(NotFound):
        reports.procedure_diagram(backend_context, who["quantri"], 987654321)


def test_a_list_opened_on_its_own_counts_what_happened_since_the_last_figures(dataset, backend_context, who):  # noqa: F811
    # Last in the module: it adds a dossier (today, far outside the dataset's quarter).
    code = submit(backend_context, who["congdan"]).code
    this_month = reports.report_filters(backend_context, who["quantri"], {})
    listed = reports.dossiers_behind(backend_context, who["quantri"], "submitted", this_month)
    assert [row.code for row in listed.rows] == [code]
    assert reports.dashboard(backend_context, who["quantri"], this_month).counts["submitted"] == 1
