"""The audit trail through the web: every request knows where it came from, a staff look at a
dossier leaves one access-log row, and the admin's page shows both (web/pages/audit_pages.py)."""

from __future__ import annotations

from sqlalchemy import select, update

from engine.models import AccessLog, Dossier, Event
from engine.origin import current_origin
from tests.conftest import allow_purge
from tests.factories import drain_all, open_task, submit, work

LOCAL = "ip:127.0.0.1"


def access_rows(ctx) -> list[tuple]:
    with ctx.sessions() as session:
        return [(r.actor_name, r.what, r.origin) for r in session.scalars(select(AccessLog).order_by(AccessLog.id))]


def events_of(ctx, code: str) -> list[Event]:
    with ctx.sessions() as session:
        dossier_id = session.scalar(select(Dossier.id).where(Dossier.code == code))
        return list(session.scalars(select(Event).where(Event.dossier_id == dossier_id).order_by(Event.seq)))


def audit_url(code: str) -> str:
    return f"/quan-tri/ho-so/{code}/nhat-ky"


def test_an_official_opening_a_task_page_leaves_one_row_naming_the_task_and_the_address(ctx, client, login, actors):
    dossier = submit(ctx, actors["congdan"])
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    login("tiepnhan")
    response = client.get(f"/cong-viec/{task.id}")
    assert response.status_code == 200 and "Phạm Thị Công Dân" in response.get_data(as_text=True)
    # the page read the task, the dossier with its form and its files: one look
    assert access_rows(ctx) == [("Nguyễn Thị Tiếp Nhận", "task_view", LOCAL)]
    assert current_origin() is None  # the request's scope ended with it


def test_a_forwarded_for_header_does_not_change_the_recorded_address(ctx, client, login, actors):
    dossier = submit(ctx, actors["congdan"])
    login("tiepnhan")
    response = client.get(f"/tiep-nhan-truc-tiep/giay-tiep-nhan/{dossier.code}",
                          headers={"X-Forwarded-For": "203.0.113.66"})
    assert response.status_code == 200
    assert access_rows(ctx) == [("Nguyễn Thị Tiếp Nhận", "dossier_view", LOCAL)]


def test_behind_a_configured_proxy_the_address_is_the_one_the_proxy_forwarded(ctx, actors):
    import dataclasses

    from tests.web.conftest import csrf_of
    from web import create_app

    dossier = submit(ctx, actors["congdan"])
    proxied = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, proxy_hops=1))
    client = create_app(ctx=proxied, start_worker=False).test_client()
    form_token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    assert client.post("/dang-nhap", data={"username": "tiepnhan", "password": "demo",
                                           "csrf_token": form_token}).status_code == 302
    # a client forging a header before the proxy: the proxy appends the real address, one hop back counts
    response = client.get(f"/tiep-nhan-truc-tiep/giay-tiep-nhan/{dossier.code}",
                          headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.66"})
    assert response.status_code == 200
    assert access_rows(ctx) == [("Nguyễn Thị Tiếp Nhận", "dossier_view", "ip:203.0.113.66")]


def test_the_citizen_reading_their_own_dossier_is_not_logged(ctx, client, login, actors):
    dossier = submit(ctx, actors["congdan"])
    login("congdan")
    assert client.get(f"/ho-so-cua-toi/{dossier.code}").status_code == 200
    assert client.get(f"/ho-so/{dossier.code}").status_code == 200
    assert access_rows(ctx) == []


def test_events_recorded_in_a_request_come_from_the_client_address(ctx, client, login, actors):
    dossier = submit(ctx, actors["congdan"])
    before = len(events_of(ctx, dossier.code))
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    csrf = login("tiepnhan")
    response = client.post(f"/cong-viec/{task.id}", data={"csrf_token": csrf, "action": "claim"})
    assert response.status_code == 302
    added = events_of(ctx, dossier.code)[before:]
    assert [(e.kind, e.origin) for e in added] == [("task_claimed", LOCAL)]


def test_api_reads_and_writes_carry_the_address_too(ctx, api, actors):
    created = api.submit("congdan")
    assert {e.origin for e in events_of(ctx, created["code"])} == {LOCAL}
    task = api.task_for("tiepnhan", created["code"])
    assert api.get(f"/api/v1/tasks/{task['id']}", user="tiepnhan").status_code == 200
    api.dossier(created["code"], user="congdan")
    assert access_rows(ctx) == [("Nguyễn Thị Tiếp Nhận", "task_view", LOCAL)]


def test_a_document_download_is_logged(ctx, client, login, actors):
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    drain_all(ctx)
    with ctx.sessions() as session:
        from engine.models import Attachment

        attachment_id = session.scalar(select(Attachment.id).join(Dossier, Dossier.id == Attachment.dossier_id)
                                       .where(Dossier.code == dossier.code).limit(1))
    login("chuyenvien")
    response = client.get(f"/cong-viec/ho-so/{dossier.code}/tep/{attachment_id}")
    assert response.status_code == 200 and response.data
    assert access_rows(ctx) == [("Trần Văn Chuyên", "document_download", LOCAL)]


def test_the_admin_page_lists_the_history_with_origins_and_the_reads(ctx, client, login, actors):
    dossier = submit(ctx, actors["congdan"])
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    login("tiepnhan")
    client.get(f"/cong-viec/{task.id}")
    login("quantri")
    response = client.get(audit_url(dossier.code))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nguyên vẹn" in html and "Hỏng từ sự kiện" not in html
    events_table = html[html.index('class="audit-events"'):html.index('class="audit-access"')]
    access_table = html[html.index('class="audit-access"'):]
    assert events_table.count("<tr") - 1 == len(events_of(ctx, dossier.code))  # header row + one per event
    assert "<code>submitted</code>" in events_table
    assert "Nguyễn Thị Tiếp Nhận" in access_table and "Mở công việc của hồ sơ" in access_table
    assert LOCAL in access_table and "Cán bộ một cửa" in access_table
    assert access_rows(ctx) == [("Nguyễn Thị Tiếp Nhận", "task_view", LOCAL)]  # the audit page shows no personal data


def test_the_admin_page_names_the_first_broken_link(ctx, client, login, actors):
    dossier = submit(ctx, actors["congdan"])
    with ctx.db.begin() as conn:
        allow_purge(conn)
        conn.execute(update(Event).where(Event.seq == 1).values(origin="ip:10.0.0.1"))
    login("quantri")
    html = client.get(audit_url(dossier.code)).get_data(as_text=True)
    assert "Hỏng từ sự kiện số 1 (nội dung bị sửa)" in html and "Mắt xích hỏng" in html


def test_only_admins_open_the_audit_page(ctx, client, login, actors):
    dossier = submit(ctx, actors["congdan"])
    assert client.get(audit_url(dossier.code)).status_code == 302  # to the login page
    for username in ("tiepnhan", "lanhdao", "congdan"):
        login(username)
        assert client.get(audit_url(dossier.code)).status_code == 403
    login("quantri")
    assert client.get(audit_url("000.00.21.H99-260101-9999")).status_code == 404
