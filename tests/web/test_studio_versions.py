"""Publishing from the studio (diff summary, lint grouped by severity, refused while lint has errors,
stale-draft warning), the versions page, and the migration planner (admins move the movable
dossiers in one action; analysts see the plan read-only)."""

# ruff: noqa: F811 - the studio fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

from engine.db import transaction
from engine.procedures.catalogue import publish
from engine.services import get_dossier, studio, submit_dossier
from tests.engine.procedures.models import linear
from tests.factories import APPLICANT, work
from tests.web.studio_fixtures import (  # noqa: F401
    draft_of,
    fresh,
    html_of,
    main_of,
    no_drafts,
    revision_in,
    second_browser,
)


def edit_bpmn(ctx, actors, draft_id: int, old: str, new: str) -> None:
    """Change the draft's diagram as the editor would save it."""
    draft = studio.get_draft(ctx, actors["phantich"], draft_id)
    assert old in draft.editor_xml
    studio.save_draft_bpmn(ctx, actors["phantich"], draft_id, draft.editor_xml.replace(old, new))


def versions_of(ctx, actors, slug: str) -> list[int]:
    return [row.number for row in studio.list_versions(ctx, actors["phantich"], slug)]


# --- publishing -------------------------------------------------------------------------------------


def test_the_publish_page_shows_what_changed_and_the_lint_findings_by_severity(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    edit_bpmn(ctx, actors, draft_id, 'name="Thẩm định hồ sơ"', 'name="Thẩm định và đối chiếu hồ sơ"')
    findings = studio.lint_draft(ctx, actors["phantich"], draft_id)
    login("phantich")

    page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban"))

    assert "đổi tên tham_dinh từ «Thẩm định hồ sơ» thành «Thẩm định và đối chiếu hồ sơ»" in page
    [info] = [f for f in findings if f.severity == "info"]  # the step budgets fit the deadline
    assert "Ghi chú (1)" in page and "Thời gian các bước nằm trong thời hạn" in page
    assert "<code>ket_thuc</code>" in page and "dòng" in page  # located
    assert "Lỗi (chặn xuất bản)" not in page and "Cảnh báo (" not in page
    assert '<button type="submit" aria-describedby="publish-note">Xuất bản</button>' in page


def test_lint_errors_disable_the_button_with_the_reason_and_a_forced_post_is_refused(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    edit_bpmn(ctx, actors, draft_id, "tham-dinh-schema.json", "khong-co-schema.json")
    token = login("phantich")

    page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban"))
    forced = client.post(f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban", data={"csrf_token": token})

    assert "Lỗi (chặn xuất bản)" in page and "khong-co" in page
    assert 'disabled aria-describedby="publish-blocked"' in page and "Chưa xuất bản được: còn" in page
    assert forced.status_code == 400 and "Chưa xuất bản được" in main_of(forced)
    assert versions_of(ctx, actors, fresh) == [1]
    assert studio.get_draft(ctx, actors["phantich"], draft_id).id == draft_id  # the draft is kept


def test_publishing_makes_the_next_version_and_shows_it_on_the_versions_page(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    edit_bpmn(ctx, actors, draft_id, 'name="Phê duyệt"', 'name="Phê duyệt kết quả"')
    token = login("phantich")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban", data={"csrf_token": token})

    assert response.status_code == 302 and response.headers["Location"] == f"/thiet-ke/{fresh}/phien-ban"
    page = html_of(client.get(response.headers["Location"]))
    assert "Đã xuất bản phiên bản 2." in page
    table = page[page.index("<tbody>"):]
    assert table.index(">2 <span class=\"studio-tag\">đang áp dụng</span>") < table.index(">1</th>")
    assert "phantich" in table and "«Phê duyệt» thành «Phê duyệt kết quả»" in table
    assert f'href="/thiet-ke/{fresh}/xuat?phien-ban=1&amp;dinh-dang=zip"' in table
    assert f'href="/thiet-ke/{fresh}/chuyen-phien-ban/2"' in table
    assert client.get(f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban").status_code == 404  # the draft became v2


def test_publishing_needs_the_csrf_token(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    edit_bpmn(ctx, actors, draft_id, 'name="Phê duyệt"', 'name="Phê duyệt kết quả"')
    login("phantich")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban")

    assert response.status_code == 400 and versions_of(ctx, actors, fresh) == [1]


def test_a_draft_behind_a_version_published_meanwhile_says_so_before_publishing(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    newer = linear(pid=fresh.replace("-", "_"), tasks=(("tiep_nhan", "Tiếp nhận", "Bộ phận một cửa"),))
    with transaction(ctx.sessions) as session:
        publish(session, newer, published_by="quantri")
    login("phantich")

    page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban"))

    assert "Đã có phiên bản 2 được xuất bản sau khi bản nháp này được tạo (từ phiên bản 1)" in page
    assert "bản nháp được tạo từ phiên bản 1, nhưng phiên bản 2 đã được xuất bản sau đó" in page


def test_publishing_from_a_page_loaded_before_another_persons_save_is_a_409_showing_the_draft_as_it_is_now(
        ctx, client, login, fresh, draft_of, actors, second_browser):
    draft_id = draft_of(fresh)
    edit_bpmn(ctx, actors, draft_id, 'name="Phê duyệt"', 'name="Phê duyệt kết quả"')
    token = login("phantich")
    url = f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban"
    loaded = revision_in(client.get(url))
    other, other_token = second_browser("quantri")
    xml = other.get(f"/thiet-ke/ban-nhap/{draft_id}/bpmn")
    saved = other.post(f"/thiet-ke/ban-nhap/{draft_id}/bpmn", data={
        "csrf_token": other_token, "revision": xml.headers["X-Draft-Revision"],
        "xml": xml.get_data(as_text=True).replace('name="Tiếp nhận hồ sơ"', 'name="Tiếp nhận trực tuyến"')})
    assert saved.status_code == 200, saved.get_json()

    refused = client.post(url, data={"csrf_token": token, "revision": loaded})

    page = main_of(refused)
    assert refused.status_code == 409 and 'id="studio-conflict" role="alert"' in page and "quantri" in page
    assert "«Tiếp nhận hồ sơ» thành «Tiếp nhận trực tuyến»" in page  # what would be published now
    assert versions_of(ctx, actors, fresh) == [1]
    assert studio.get_draft(ctx, actors["phantich"], draft_id).updated_by == "quantri"  # the draft is kept
    assert revision_in(refused) > loaded
    published = client.post(url, data={"csrf_token": token, "revision": revision_in(refused)})
    assert published.status_code == 302 and versions_of(ctx, actors, fresh) == [2, 1]
    [latest, _first] = studio.list_versions(ctx, actors["phantich"], fresh)
    assert "Tiếp nhận trực tuyến" in latest.diff_summary and "Phê duyệt kết quả" in latest.diff_summary


# --- the migration planner -------------------------------------------------------------------------


def _two_versions_with_dossiers(ctx, actors, slug: str) -> dict[str, str]:
    """Dossiers waiting at reception, appraisal and approval on v1; v2 drops the approval step."""
    def start() -> str:
        return submit_dossier(ctx, actors["congdan"], slug, dict(APPLICANT), {"noi_dung": "Đề nghị"}).code

    codes = {"tiep_nhan": start(), "tham_dinh": start(), "phe_duyet": start()}
    work(ctx, actors["tiepnhan"], codes["tham_dinh"], {"y_kien": "dat"})
    work(ctx, actors["tiepnhan"], codes["phe_duyet"], {"y_kien": "dat"})
    work(ctx, actors["chuyenvien"], codes["phe_duyet"], {"y_kien": "dat"})
    v2 = linear(pid=slug.replace("-", "_"), tasks=(("tiep_nhan", "Tiếp nhận hồ sơ", "Bộ phận một cửa"),
                                                   ("tham_dinh", "Thẩm định hồ sơ", "Chuyên viên")))
    with transaction(ctx.sessions) as session:
        publish(session, v2, published_by="phantich")
    return codes


def test_the_plan_groups_dossiers_by_waiting_step_and_tells_analysts_only_admins_move_them(
        ctx, client, login, fresh, actors):
    codes = _two_versions_with_dossiers(ctx, actors, fresh)
    login("phantich")

    page = main_of(client.get(f"/thiet-ke/{fresh}/chuyen-phien-ban/2"))

    assert "Hồ sơ đang chạy trên phiên bản cũ: 3; chuyển được: 2." in page
    assert "Đang chờ ở bước «Phê duyệt» (1)" in page and "Đang chờ ở bước «Tiếp nhận hồ sơ» (1)" in page
    assert all(code in page for code in codes.values()) and "không chuyển được" in page
    assert "Chỉ quản trị viên được chuyển hồ sơ." in page
    assert 'type="checkbox"' not in page and "<form" not in page


def test_an_admin_moves_the_movable_dossiers_in_one_action_and_sees_each_result(ctx, client, login, fresh, actors):
    codes = _two_versions_with_dossiers(ctx, actors, fresh)
    token = login("quantri")

    plan = main_of(client.get(f"/thiet-ke/{fresh}/chuyen-phien-ban/2"))
    items = studio.plan_migration(ctx, actors["quantri"], fresh, 2).items
    done = client.post(f"/thiet-ke/{fresh}/chuyen-phien-ban/2",
                       data={"csrf_token": token, "item": [i.id for i in items if i.movable]})

    assert plan.count('type="checkbox"') == 3 and plan.count(" checked") == 2 and plan.count(" disabled") == 1
    assert '<button type="submit">Chuyển</button>' in plan
    assert done.status_code == 200 and "Đã chuyển 2/2 hồ sơ sang phiên bản 2." in html_of(done)
    assert main_of(done).count("đã chuyển") == 2
    assert get_dossier(ctx, actors["quantri"], codes["tham_dinh"]).procedure_version == 2
    assert get_dossier(ctx, actors["quantri"], codes["phe_duyet"]).procedure_version == 1


def test_an_analyst_cannot_move_dossiers_even_by_posting_the_form(ctx, client, login, fresh, actors):
    codes = _two_versions_with_dossiers(ctx, actors, fresh)
    items = studio.plan_migration(ctx, actors["phantich"], fresh, 2).items
    token = login("phantich")

    response = client.post(f"/thiet-ke/{fresh}/chuyen-phien-ban/2",
                           data={"csrf_token": token, "item": [i.id for i in items]})

    assert response.status_code == 403 and "Chỉ quản trị viên" in main_of(response)
    assert get_dossier(ctx, actors["quantri"], codes["tiep_nhan"]).procedure_version == 1


def test_moving_with_nothing_ticked_says_so_and_moves_nothing(ctx, client, login, fresh, actors):
    codes = _two_versions_with_dossiers(ctx, actors, fresh)
    token = login("quantri")

    response = client.post(f"/thiet-ke/{fresh}/chuyen-phien-ban/2", data={"csrf_token": token})

    assert response.status_code == 302
    assert "Chưa chọn hồ sơ nào để chuyển." in html_of(client.get(response.headers["Location"]))
    assert get_dossier(ctx, actors["quantri"], codes["tiep_nhan"]).procedure_version == 1
