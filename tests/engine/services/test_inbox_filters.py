"""The workspace's inbox: filters, search, sorting, paging, due states, and the new/overdue counts.
On SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import InvalidInput
from engine.services import inbox_summary, list_inbox, mark_inbox_seen, submit_dossier
from tests.engine.services.workspace import set_due
from tests.factories import APPLICANT, HKD, household_form, statements_sent, submit, work

pytestmark = pytest.mark.usefixtures("workspace")

CHUNG_THUC = "chung-thuc-ban-sao"
DAO = {"name": "NGUYỄN VĂN ĐÀO", "phone": "0987111222", "id_number": "001200000002", "kind": 1}
HOA = {"name": "Lê Thị Hoa", "phone": "0977333444", "id_number": "001300000003", "kind": 1}


@dataclass
class Desk:
    """Four dossiers in the desk's inbox: an online one, two walk-ins (one of another procedure),
    and a walk-in whose supplement the desk now enters for the applicant."""

    online: str
    walk_in: str
    copy: str
    supplement: str


@pytest.fixture
def desk(ctx, actors) -> Desk:
    from tests.processes.test_chung_thuc_ban_sao import EXAMPLE

    online = submit(ctx, actors["congdan"]).code
    walk_in = submit_dossier(ctx, actors["tiepnhan"], HKD, dict(DAO), household_form()).code
    copy = submit_dossier(ctx, actors["tiepnhan"], CHUNG_THUC, dict(HOA), dict(EXAMPLE)).code
    supplement = submit_dossier(ctx, actors["tiepnhan"], HKD, {**APPLICANT, "name": "Võ Bổ Sung"},
                                household_form()).code
    work(ctx, actors["tiepnhan"], supplement, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["CCCD"]})
    return Desk(online, walk_in, copy, supplement)


def codes(ctx, actor, **filters) -> list[str]:
    return [t.dossier_code for t in list_inbox(ctx, actor, **filters)]


def task_of(ctx, actor, code):
    [task] = [t for t in list_inbox(ctx, actor, limit=200) if t.dossier_code == code]
    return task


def test_the_inbox_keeps_its_old_call_and_order(ctx, actors, desk):
    assert codes(ctx, actors["tiepnhan"]) == codes(ctx, actors["tiepnhan"], limit=50, offset=0)
    assert sorted(codes(ctx, actors["tiepnhan"])) == sorted([desk.online, desk.walk_in, desk.copy, desk.supplement])


def test_filtering_by_procedure_slug_or_national_code(ctx, actors, desk):
    assert codes(ctx, actors["tiepnhan"], procedure=CHUNG_THUC) == [desk.copy]
    assert sorted(codes(ctx, actors["tiepnhan"], procedure="1.001612")) == sorted(
        [desk.online, desk.walk_in, desk.supplement])
    assert codes(ctx, actors["tiepnhan"], procedure="khong-ton-tai") == []


def test_filtering_by_dossier_status(ctx, actors, desk):
    assert codes(ctx, actors["tiepnhan"], status="supplement_requested") == [desk.supplement]
    assert desk.supplement not in codes(ctx, actors["tiepnhan"], status="submitted")
    assert codes(ctx, actors["tiepnhan"], status="returned") == []


@pytest.mark.parametrize(("text", "expected"), [
    ("nguyen van dao", "walk_in"), ("ĐÀO", "walk_in"), ("văn đào", "walk_in"), ("Thị Hoa", "copy"),
    ("bổ sung", "supplement"), ("3334", "copy"), ("+84 987 111 222", "walk_in"), ("001200000002", "walk_in"),
])
def test_search_finds_a_name_in_any_case_and_accent_a_phone_part_or_an_exact_id(ctx, actors, desk, text, expected):
    assert codes(ctx, actors["tiepnhan"], search=text) == [getattr(desk, expected)]


def test_search_by_dossier_code_prefix_in_any_case(ctx, actors, desk):
    assert codes(ctx, actors["tiepnhan"], search=desk.copy) == [desk.copy]
    assert codes(ctx, actors["tiepnhan"], search=desk.copy.lower()) == [desk.copy]
    assert len(codes(ctx, actors["tiepnhan"], search=desk.copy[:14])) == 4  # agency and day: all of them
    assert codes(ctx, actors["tiepnhan"], search=desk.copy[3:]) == []  # a prefix, not any part


@pytest.mark.parametrize("text", ["0012000", "00120000000", "%", "_", "\\", "zzz", "99-"])
def test_search_matches_nothing_on_a_partial_id_or_wildcard_characters(ctx, actors, desk, text):
    assert codes(ctx, actors["tiepnhan"], search=text) == []


def test_blank_search_is_no_filter(ctx, actors, desk):
    assert len(codes(ctx, actors["tiepnhan"], search="   ")) == 4


def test_each_task_carries_its_due_state_and_the_due_filter_selects_by_it(ctx, actors, desk):
    now = datetime.now(UTC)
    set_due(ctx, task_of(ctx, actors["tiepnhan"], desk.online).id, now - timedelta(hours=1))
    set_due(ctx, task_of(ctx, actors["tiepnhan"], desk.walk_in).id, now + timedelta(minutes=5))
    set_due(ctx, task_of(ctx, actors["tiepnhan"], desk.copy).id, now + timedelta(days=30))
    set_due(ctx, task_of(ctx, actors["tiepnhan"], desk.supplement).id, None)

    states = {t.dossier_code: t.due_state for t in list_inbox(ctx, actors["tiepnhan"])}

    assert states == {desk.online: "overdue", desk.walk_in: "due_soon", desk.copy: "on_track",
                      desk.supplement: "on_track"}
    assert codes(ctx, actors["tiepnhan"], due="overdue") == [desk.online]
    assert codes(ctx, actors["tiepnhan"], due="due_soon") == [desk.walk_in]
    assert codes(ctx, actors["tiepnhan"], due="on_track") == [desk.copy, desk.supplement]
    # soonest due first, tasks without a due date last
    assert codes(ctx, actors["tiepnhan"]) == [desk.online, desk.walk_in, desk.copy, desk.supplement]
    assert codes(ctx, actors["tiepnhan"], sort="-due_at") == [desk.copy, desk.walk_in, desk.online, desk.supplement]


def test_sorting_by_creation_or_dossier_code_and_paging(ctx, actors, desk):
    created = [desk.online, desk.walk_in, desk.copy, desk.supplement]

    assert codes(ctx, actors["tiepnhan"], sort="created_at") == created
    assert codes(ctx, actors["tiepnhan"], sort="-created_at") == created[::-1]
    assert codes(ctx, actors["tiepnhan"], sort="code") == sorted(created)
    assert codes(ctx, actors["tiepnhan"], sort="-code") == sorted(created, reverse=True)
    assert codes(ctx, actors["tiepnhan"], sort="created_at", limit=2) == created[:2]
    assert codes(ctx, actors["tiepnhan"], sort="created_at", limit=2, offset=2) == created[2:]
    assert codes(ctx, actors["tiepnhan"], sort="created_at", limit=2, offset=4) == []


def test_filters_combine(ctx, actors, desk):
    assert codes(ctx, actors["tiepnhan"], procedure=HKD, status="submitted", search="dao") == [desk.walk_in]
    assert codes(ctx, actors["tiepnhan"], procedure=CHUNG_THUC, search="dao") == []


@pytest.mark.parametrize(("filters", "field"), [
    ({"due": "late"}, "due"), ({"sort": "applicant"}, "sort"), ({"status": "done"}, "status"),
    ({"search": "x" * 101}, "search"), ({"limit": 0}, "limit"), ({"offset": -1}, "offset"),
])
def test_an_unknown_filter_value_is_a_field_error(ctx, actors, filters, field):
    with pytest.raises(InvalidInput) as invalid:
        list_inbox(ctx, actors["tiepnhan"], **filters)

    assert list(invalid.value.errors) == [field]


def test_filters_never_widen_the_inbox_beyond_the_officials_lane(ctx, actors, desk):
    assert codes(ctx, actors["chuyenvien"], search="dao") == []
    assert codes(ctx, actors["tiepnhan_ca"], procedure=HKD) == []
    assert codes(ctx, actors["congdan"], search="dao") == []
    assert codes(ctx, actors["congdan"], status="submitted") == []  # the citizen has no open step yet


# --- notifications --------------------------------------------------------------------------------


def test_every_task_is_new_until_the_official_marks_the_inbox_seen(ctx, actors, desk):
    first = inbox_summary(ctx, actors["tiepnhan"])
    assert (first.total, first.new, first.seen_at) == (4, 4, None)

    seen = mark_inbox_seen(ctx, actors["tiepnhan"])

    assert (seen.total, seen.new) == (4, 0) and seen.seen_at is not None
    submit(ctx, actors["congdan"])
    assert inbox_summary(ctx, actors["tiepnhan"]).new == 1
    assert inbox_summary(ctx, actors["chuyenvien"]).total == 0  # another lane


def test_marking_seen_up_to_when_the_inbox_was_shown_keeps_later_tasks_new(ctx, actors, desk):
    shown = datetime.now(UTC)
    submit(ctx, actors["congdan"])  # arrives after the page was shown

    assert mark_inbox_seen(ctx, actors["tiepnhan"], until=shown).new == 1
    assert mark_inbox_seen(ctx, actors["tiepnhan"], until=shown - timedelta(hours=1)).seen_at == shown  # never back
    assert mark_inbox_seen(ctx, actors["tiepnhan"], until=shown + timedelta(days=1)).seen_at <= datetime.now(UTC)


def test_each_task_says_whether_it_arrived_since_the_official_last_looked(ctx, actors, desk):
    assert all(t.is_new for t in list_inbox(ctx, actors["tiepnhan"]))  # never looked: all new
    shown = datetime.now(UTC)
    later = submit(ctx, actors["congdan"]).code

    mark_inbox_seen(ctx, actors["tiepnhan"], until=shown)

    assert {t.dossier_code: t.is_new for t in list_inbox(ctx, actors["tiepnhan"])} == {
        desk.online: False, desk.walk_in: False, desk.copy: False, desk.supplement: False, later: True}
    assert inbox_summary(ctx, actors["tiepnhan"]).new == 1  # the badge counts the same rows
    assert not any(t.is_new for t in list_inbox(ctx, actors["congdan"]))  # citizens mark nothing seen


def test_overdue_and_due_soon_are_counted_from_the_due_dates(ctx, actors, desk):
    now = datetime.now(UTC)
    set_due(ctx, task_of(ctx, actors["tiepnhan"], desk.online).id, now - timedelta(hours=1))
    set_due(ctx, task_of(ctx, actors["tiepnhan"], desk.walk_in).id, now - timedelta(days=2))
    set_due(ctx, task_of(ctx, actors["tiepnhan"], desk.copy).id, now + timedelta(minutes=5))
    set_due(ctx, task_of(ctx, actors["tiepnhan"], desk.supplement).id, now + timedelta(days=30))

    summary = inbox_summary(ctx, actors["tiepnhan"])

    assert (summary.total, summary.overdue, summary.due_soon) == (4, 2, 1)


def test_the_summary_is_counted_by_the_database_in_a_fixed_number_of_statements(ctx, actors, desk):
    with statements_sent(ctx) as statements:
        inbox_summary(ctx, actors["tiepnhan"])
        few = len(statements)
        for _ in range(3):
            submit(ctx, actors["congdan"])
        statements.clear()
        assert inbox_summary(ctx, actors["tiepnhan"]).total == 7

    assert len(statements) == few <= 3


def test_a_page_of_the_inbox_is_read_in_two_statements_however_long(ctx, actors, desk):
    """Who reads (their seen time, whom they stand in for) and the page of tasks with their dossiers'
    columns: nothing per task."""
    list_inbox(ctx, actors["tiepnhan"])  # the working-day calendar, read once a minute
    with statements_sent(ctx) as statements:
        assert len(list_inbox(ctx, actors["tiepnhan"])) == 4
        few = len(statements)
        for _ in range(3):
            submit(ctx, actors["congdan"])
        statements.clear()
        assert len(list_inbox(ctx, actors["tiepnhan"])) == 7
        official = len(statements)
        statements.clear()
        list_inbox(ctx, actors["congdan"])

    assert few == official == 2
    assert len(statements) == 1, "a citizen stands in for nobody and has nothing new: the page alone"
