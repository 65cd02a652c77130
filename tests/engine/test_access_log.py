"""Reading a dossier's personal data is itself logged (engine/access_log.py), and an admin reads a
dossier's whole audit trail (engine/services/audit_trail.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from engine.access_log import one_entry_per_dossier
from engine.errors import DossierNotFound, Forbidden, NotFound
from engine.models import AccessLog, Event
from engine.origin import origin_scope
from engine.services import get_dossier, get_task, list_attachments, read_attachment
from engine.services.audit_trail import dossier_audit, summarize
from tests.conftest import allow_purge
from tests.factories import drain_all, open_task, submit, work


def access_rows(ctx) -> list[tuple]:
    with ctx.sessions() as session:
        return [(r.actor_name, r.actor_role, r.what, r.origin)
                for r in session.scalars(select(AccessLog).order_by(AccessLog.id))]


def received(ctx, actors):
    """A dossier received at the desk, its receipt rendered (an attachment to download)."""
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    drain_all(ctx)
    return dossier


def test_an_official_opening_a_task_leaves_one_row_with_what_and_where(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    assert access_rows(ctx) == []  # the inbox lists names only: not a look at the dossier
    with origin_scope("ip:203.0.113.9"):
        view = get_task(ctx, actors["tiepnhan"], task.id)
    assert view.applicant_name == "Phạm Thị Công Dân"
    assert access_rows(ctx) == [("Nguyễn Thị Tiếp Nhận", "desk", "task_view", "ip:203.0.113.9")]


def test_the_applicant_reading_their_own_dossier_is_not_logged(ctx, actors):
    dossier = received(ctx, actors)
    citizen = actors["congdan"]
    get_dossier(ctx, citizen, dossier.code, with_form=True)
    first = list_attachments(ctx, citizen, dossier.code)[0]
    read_attachment(ctx, citizen, dossier.code, first.id)
    assert access_rows(ctx) == []


def test_every_staff_read_is_logged_with_what_was_read(ctx, actors):
    dossier = received(ctx, actors)
    receipt = list_attachments(ctx, actors["chuyenvien"], dossier.code)[0]
    get_dossier(ctx, actors["lanhdao"], dossier.code, with_form=True)
    view, content = read_attachment(ctx, actors["chuyenvien"], dossier.code, receipt.id)
    get_dossier(ctx, actors["quantri"], dossier.code)
    assert content and view.id == receipt.id
    assert access_rows(ctx) == [("Lê Minh Lãnh", "leader", "dossier_view", None),
                                ("Trần Văn Chuyên", "specialist", "document_download", None),
                                ("Đỗ Quản Trị", "admin", "dossier_view", None)]


def test_a_refused_or_failed_read_leaves_no_row(ctx, actors):
    dossier = received(ctx, actors)
    with pytest.raises(DossierNotFound):
        get_dossier(ctx, actors["tiepnhan_ca"], dossier.code)  # another agency's dossier
    with pytest.raises(NotFound):
        read_attachment(ctx, actors["tiepnhan"], dossier.code, 999_999)
    assert access_rows(ctx) == []


def test_one_page_reading_a_dossier_through_several_services_is_one_look(ctx, actors):
    dossier = received(ctx, actors)
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    with one_entry_per_dossier():
        get_task(ctx, actors["chuyenvien"], task.id)
        get_dossier(ctx, actors["chuyenvien"], dossier.code, with_data=True, with_form=True)
    assert [row[2] for row in access_rows(ctx)] == ["task_view"]
    get_dossier(ctx, actors["chuyenvien"], dossier.code)  # the next request is another look
    assert [row[2] for row in access_rows(ctx)] == ["task_view", "dossier_view"]


def test_the_admin_sees_the_history_newest_first_with_origins_and_who_read_it(ctx, actors):
    with origin_scope("ip:198.51.100.7"):
        dossier = submit(ctx, actors["congdan"])
        get_dossier(ctx, actors["tiepnhan"], dossier.code)
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    trail = dossier_audit(ctx, actors["quantri"], dossier.code)
    seqs = [e.seq for e in trail.events.items]
    assert seqs == sorted(seqs, reverse=True) and seqs[-1] == 1 and trail.events.total == len(seqs)
    assert trail.events.items[-1].kind == "submitted" and trail.events.items[-1].origin == "ip:198.51.100.7"
    assert trail.events.items[0].origin is None
    assert trail.chain_intact and not any(e.broken for e in trail.events.items)
    assert [(a.actor_name, a.actor_role, a.what, a.origin) for a in trail.accesses.items] == [
        ("Nguyễn Thị Tiếp Nhận", "desk", "dossier_view", "ip:198.51.100.7")]
    assert access_rows(ctx) == [("Nguyễn Thị Tiếp Nhận", "desk", "dossier_view", "ip:198.51.100.7")]  # not logged


def test_the_admin_view_names_the_first_broken_link_and_pages(ctx, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    for _ in range(3):
        get_dossier(ctx, actors["chuyenvien"], dossier.code)
    with ctx.db.begin() as conn:
        allow_purge(conn)
        conn.execute(update(Event).where(Event.seq == 2).values(status="returned"))
    trail = dossier_audit(ctx, actors["quantri"], dossier.code, page_size=2, event_page=1, access_page=2)
    assert (trail.broken_seq, trail.broken_reason) == (2, "hash") and not trail.chain_intact
    assert trail.events.pages == -(-trail.events.total // 2) and trail.events.has_next
    assert (trail.accesses.total, trail.accesses.pages, trail.accesses.number) == (3, 2, 2)
    assert len(trail.accesses.items) == 1 and trail.accesses.has_previous and not trail.accesses.has_next
    holding_seq_2 = (trail.events.total - 2) // 2 + 1  # newest first, two a page
    page = dossier_audit(ctx, actors["quantri"], dossier.code, page_size=2, event_page=holding_seq_2)
    marks = {e.seq: e.broken for e in page.events.items}
    assert marks.pop(2) is True and marks and not any(marks.values())
    assert not any(e.broken for e in trail.events.items)  # the newest two are not where it broke


@pytest.mark.parametrize("username", ["tiepnhan", "lanhdao", "phantich", "congdan"])
def test_only_admins_read_the_audit_trail(ctx, actors, username):
    dossier = submit(ctx, actors["congdan"])
    with pytest.raises(Forbidden):
        dossier_audit(ctx, actors[username], dossier.code)


def test_an_unknown_dossier_has_no_audit_trail(ctx, actors):
    with pytest.raises(DossierNotFound):
        dossier_audit(ctx, actors["quantri"], "000.00.21.H99-260101-9999")


def test_the_summary_is_one_short_line():
    assert summarize({"title": "Tiếp nhận", "decision": {"ket_qua": "tiep_nhan"}}) == \
        'decision: {"ket_qua":"tiep_nhan"}; title: Tiếp nhận'
    long = summarize({"note": "x" * 500})
    assert len(long) == 160 and long.endswith("…")
