"""The officials' workspace pages: inbox filters, sorting and paging, the badge, claim and unclaim,
the task page with the dossier beside the form, attachments, the leader's reassigning and
substitutes, and the desk's walk-in reception with its receipt; with their access rules."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from engine.bootstrap import load_catalogue
from engine.config import PROJECT_ROOT
from engine.services import complete_task, get_dossier, get_task, list_substitutions, submit_dossier
from engine.services.substitutions import vietnam_today
from tests.factories import APPLICANT, drain_all, household_form, open_task
from tests.web.conftest import HKD_SLUG, HOSTILE, HOSTILE_ESCAPED


def html_of(response) -> str:
    return response.get_data(as_text=True)


def main_of(response) -> str:
    text = html_of(response)
    return text[text.index('<main id="main">'):]


def submitted(ctx, actors, name: str = APPLICANT["name"]):
    return submit_dossier(ctx, actors["congdan"], HKD_SLUG, dict(APPLICANT, name=name), household_form())


def received(ctx, actors):
    """A dossier the desk accepted: its next task is the specialist's."""
    dossier = submitted(ctx, actors)
    complete_task(ctx, actors["tiepnhan"], open_task(ctx, actors["tiepnhan"], dossier.code).id,
                  {"ket_qua_tiep_nhan": "tiep_nhan"})
    return dossier


# --- the inbox --------------------------------------------------------------------------------------


def test_the_inbox_filters_by_search_and_due_state_and_says_the_due_state_in_words(ctx, app, client, login, actors):
    first, second = submitted(ctx, actors), submitted(ctx, actors, name="Trương Văn Khác")
    login("tiepnhan")

    everything = main_of(client.get("/cong-viec"))
    by_name = main_of(client.get("/cong-viec", query_string={"q": "Trương"}))
    by_code = main_of(client.get("/cong-viec", query_string={"q": first.code}))
    overdue = main_of(client.get("/cong-viec", query_string={"due": "overdue"}))

    assert first.code in everything and second.code in everything
    assert "Trong hạn" in everything or "Sắp đến hạn" in everything, "the due state is also in words"
    assert second.code in by_name and first.code not in by_name
    assert first.code in by_code and second.code not in by_code
    assert first.code not in overdue and "Không có công việc nào đang chờ." in overdue


def test_an_invalid_filter_is_a_400_with_a_vietnamese_message_not_a_crash(client, login):
    login("tiepnhan")

    response = client.get("/cong-viec", query_string={"due": "hom-qua", "sort": "ten"})

    assert response.status_code == 400
    assert "Tình trạng hạn phải là" in main_of(response)


def test_sorting_by_code_marks_the_column_with_aria_sort_and_toggles_its_link(ctx, app, client, login, actors):
    codes = sorted(submitted(ctx, actors).code for _ in range(2))
    login("tiepnhan")

    ascending = main_of(client.get("/cong-viec", query_string={"sort": "code"}))
    descending = main_of(client.get("/cong-viec", query_string={"sort": "-code"}))

    assert ascending.index(codes[0]) < ascending.index(codes[1])
    assert descending.index(codes[1]) < descending.index(codes[0])
    assert 'aria-sort="ascending"><a href="/cong-viec?sort=-code' in ascending
    assert 'aria-sort="descending"><a href="/cong-viec?sort=code' in descending


def test_the_inbox_pages_twenty_tasks_at_a_time(ctx, app, client, login, actors):
    codes = [submitted(ctx, actors).code for _ in range(21)]
    login("tiepnhan")

    first = main_of(client.get("/cong-viec", query_string={"sort": "code"}))
    second = main_of(client.get("/cong-viec", query_string={"sort": "code", "page": 2}))

    assert codes[19] in first and codes[20] not in first and 'rel="next"' in first
    assert codes[20] in second and codes[0] not in second and 'rel="prev"' in second


def test_an_htmx_filter_request_gets_only_the_results_table(ctx, app, client, login, actors):
    dossier = submitted(ctx, actors)
    login("tiepnhan")

    response = client.get("/cong-viec", headers={"HX-Request": "true", "HX-Target": "inbox-results"})

    assert response.status_code == 200 and "HX-Request" in response.headers.get("Vary", "")
    assert html_of(response).lstrip().startswith('<div id="inbox-results">')
    assert dossier.code in html_of(response) and "<header" not in html_of(response)


def test_the_badge_counts_new_tasks_until_the_inbox_is_opened(ctx, app, client, login, actors):
    login("congdan")
    assert 'id="inbox-badge"' not in html_of(client.get("/")), "citizens get no officials' badge"
    client.post("/dang-xuat", data={"csrf_token": login("congdan")})
    login("tiepnhan")  # lands on the inbox: nothing new yet
    submitted(ctx, actors)

    before = html_of(client.get("/cong-viec/thong-bao"))
    client.get("/cong-viec")
    after = html_of(client.get("/cong-viec/thong-bao"))

    assert "1 mới" in before and 'hx-trigger="every 60s"' in before
    assert "mới" not in after.replace("Không có thông báo mới", "")


NEW_TAG = re.compile(r'<span class="new-tag">Mới<span class="visually-hidden">: ([^<]+)</span></span>')


def row_of(page: str, code: str) -> str:
    start = page.rindex("<tr", 0, page.index(f">{code}</a>"))
    return page[start:page.index("</tr>", start)]


def test_the_inbox_marks_the_rows_that_arrived_since_the_last_visit_in_words(ctx, app, client, login, actors):
    seen = submitted(ctx, actors)
    login("tiepnhan")  # lands on the inbox: the first dossier is seen now
    fresh = submitted(ctx, actors)

    page = main_of(client.get("/cong-viec"))

    tag = NEW_TAG.search(row_of(page, fresh.code))
    assert tag and tag.group(1) == "đến sau lần xem hộp công việc trước"  # what a screen reader says
    assert " is-new" in row_of(page, fresh.code).split(">", 1)[0]
    assert "new-tag" not in row_of(page, seen.code) and " is-new" not in row_of(page, seen.code)
    assert "new-tag" not in main_of(client.get("/cong-viec")), "once shown, a row is no longer new"


def test_claim_and_unclaim_from_the_inbox_return_to_it(ctx, app, client, login, actors):
    dossier = submitted(ctx, actors)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    token = login("tiepnhan")

    claimed = client.post(f"/cong-viec/{task.id}/nhan", data={"csrf_token": token, "next": "/cong-viec?sort=code"})
    assert claimed.status_code == 302 and claimed.headers["Location"].endswith("/cong-viec?sort=code")
    assert get_task(ctx, actors["tiepnhan"], task.id).assignee_id == actors["tiepnhan"].id
    assert "Tôi đang xử lý" in main_of(client.get("/cong-viec"))

    client.post(f"/cong-viec/{task.id}/tra-lai", data={"csrf_token": token, "next": "https://evil.example/"})
    assert get_task(ctx, actors["tiepnhan"], task.id).assignee_id is None


def test_a_citizen_cannot_open_the_workspace_pages(ctx, app, client, login, actors):
    dossier = submitted(ctx, actors)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    token = login("congdan")

    assert client.get(f"/cong-viec/{task.id}").status_code == 404
    assert client.post(f"/cong-viec/{task.id}/nhan", data={"csrf_token": token}).status_code == 404
    assert client.get("/cong-viec/phan-cong").status_code == 403
    assert client.get("/tiep-nhan-truc-tiep").status_code == 403
    assert client.get(f"/tiep-nhan-truc-tiep/giay-tiep-nhan/{dossier.code}").status_code == 404
    assert get_task(ctx, actors["tiepnhan"], task.id).assignee_id is None


# --- the task page ----------------------------------------------------------------------------------


def test_the_task_page_shows_the_submitted_form_read_only_the_clock_and_the_history(ctx, app, client, login, actors):
    dossier = received(ctx, actors)
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    login("chuyenvien")

    page = main_of(client.get(f"/cong-viec/{task.id}"))

    assert "Nội dung hồ sơ đã khai" in page and household_form()["ten_ho_kinh_doanh"] in page
    assert "Ngày tiếp nhận" in page and "Ngày hẹn trả kết quả" in page and "ngày làm việc" in page
    assert "Quá trình xử lý (phiếu kiểm soát)" in page and "Hoàn thành «Tiếp nhận và kiểm tra hồ sơ»" in page
    assert 'name="action" value="complete"' in page and 'name="action" value="claim"' in page


#: A copy of the household-business procedure under a slug and code of its own, so publishing a second
#: version of it leaves the shared catalogue alone.
VERSIONED = ("hkd-to-khai-theo-phien-ban", "0.test.to-khai-theo-phien-ban")
V1_TITLE, V2_TITLE = "1. Tên hộ kinh doanh", "1. Tên gọi theo mẫu mới"


def publish_copy(ctx, root, *, v2: bool) -> None:
    """Publish the copy as it is (v1), or with its start form changed (v2): the name field retitled
    and the number of workers dropped. Publishing the v1 folder again makes v1 current again."""
    slug, code = VERSIONED
    folder = root / ("v2" if v2 else "v1") / slug
    shutil.copytree(PROJECT_ROOT / "processes" / HKD_SLUG, folder)
    meta = json.loads((folder / "procedure.json").read_text(encoding="utf-8"))
    meta.update(code=code, name="Đăng ký hộ kinh doanh (tờ khai theo phiên bản)")
    (folder / "procedure.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    if v2:
        schema_path = folder / "forms" / "de-nghi-schema.json"
        ui_path = folder / "forms" / "de-nghi-uischema.json"
        schema, ui = (json.loads(p.read_text(encoding="utf-8")) for p in (schema_path, ui_path))
        schema["properties"]["ten_ho_kinh_doanh"]["title"] = V2_TITLE
        del schema["properties"]["so_lao_dong"]
        ui["ui:order"].remove("so_lao_dong")
        schema_path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
        ui_path.write_text(json.dumps(ui, ensure_ascii=False), encoding="utf-8")
    [result] = load_catalogue(ctx, folder.parent)
    assert result.slug == slug


def test_the_task_page_shows_the_submitted_data_with_the_form_of_the_dossiers_own_version(
        ctx, app, client, login, actors, tmp_path):
    slug, _code = VERSIONED
    publish_copy(ctx, tmp_path, v2=False)
    on_v1 = submit_dossier(ctx, actors["congdan"], slug, dict(APPLICANT), household_form())
    publish_copy(ctx, tmp_path, v2=True)
    without_workers = {k: v for k, v in household_form().items() if k != "so_lao_dong"}
    on_v2 = submit_dossier(ctx, actors["congdan"], slug, dict(APPLICANT), without_workers)
    assert on_v2.procedure_version == on_v1.procedure_version + 1
    login("tiepnhan")

    v1_page = main_of(client.get(f"/cong-viec/{open_task(ctx, actors['tiepnhan'], on_v1.code).id}"))
    v2_page = main_of(client.get(f"/cong-viec/{open_task(ctx, actors['tiepnhan'], on_v2.code).id}"))

    v1_review = v1_page[v1_page.index('id="data-h"'):v1_page.index('id="files-h"')]
    v2_review = v2_page[v2_page.index('id="data-h"'):v2_page.index('id="files-h"')]
    assert V1_TITLE in v1_review and "5. Số lượng lao động dự kiến" in v1_review and V2_TITLE not in v1_review
    assert "Hộ kinh doanh Phở Thu Hương" in v1_review
    assert V2_TITLE in v2_review and V1_TITLE not in v2_review and "Số lượng lao động" not in v2_review


def test_a_specialist_of_another_agency_cannot_open_the_task_or_its_attachment(ctx, app, client, login, actors):
    dossier = received(ctx, actors)
    drain_all(ctx)
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    receipt = next(a for a in _attachments(ctx, actors, dossier.code) if a.kind.startswith("giay-tiep-nhan"))
    url = f"/cong-viec/ho-so/{dossier.code}/tep/{receipt.id}"
    login("chuyenvien")
    shown = client.get(url)
    download = client.get(url, query_string={"tai": "1"})
    client.post("/dang-xuat", data={"csrf_token": login("chuyenvien")})
    login("chuyenvien_ca")

    assert shown.status_code == 200 and shown.mimetype == "application/pdf"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in shown.headers["Content-Security-Policy"]
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.mimetype == "application/octet-stream"
    assert client.get(f"/cong-viec/{task.id}").status_code == 404
    assert client.get(url).status_code == 404


def _attachments(ctx, actors, code):
    from engine.services import list_attachments

    return list_attachments(ctx, actors["chuyenvien"], code)


def test_the_task_page_lists_attachments_with_an_inline_pdf_preview(ctx, app, client, login, actors):
    dossier = received(ctx, actors)
    drain_all(ctx)
    task = open_task(ctx, actors["chuyenvien"], dossier.code)
    login("chuyenvien")

    page = main_of(client.get(f"/cong-viec/{task.id}"))

    assert f'<iframe class="preview" src="/cong-viec/ho-so/{dossier.code}/tep/' in page
    assert "Xem trước" in page


def test_unclaiming_on_the_task_page_gives_the_task_back(ctx, app, client, login, actors):
    dossier = submitted(ctx, actors)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    token = login("tiepnhan")
    client.post(f"/cong-viec/{task.id}", data={"csrf_token": token, "action": "claim"})

    page = main_of(client.get(f"/cong-viec/{task.id}"))
    response = client.post(f"/cong-viec/{task.id}", data={"csrf_token": token, "action": "unclaim"})

    assert "Trả lại công việc" in page
    assert response.status_code == 302
    assert get_task(ctx, actors["tiepnhan"], task.id).assignee_id is None


def test_a_supplement_request_lists_the_missing_documents_and_moves_the_dossier(ctx, app, client, login, actors):
    dossier = submitted(ctx, actors)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    token = login("tiepnhan")

    response = client.post(f"/cong-viec/{task.id}", data={
        "csrf_token": token, "action": "complete", "ket_qua_tiep_nhan": "bo_sung",
        "giay_to_thieu.0": "Bản sao CCCD của chủ hộ"})

    assert response.status_code == 302, main_of(response)[:2000]
    assert get_dossier(ctx, actors["tiepnhan"], dossier.code).status == "supplement_requested"


# --- the leader -------------------------------------------------------------------------------------


def test_a_leader_reassigns_an_open_task_with_a_reason_shown_escaped_in_the_history(ctx, app, client, login, actors):
    dossier = submitted(ctx, actors)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    token = login("lanhdao")

    page = main_of(client.get("/cong-viec/phan-cong", query_string={"task": task.id}))
    response = client.post("/cong-viec/phan-cong", data={
        "csrf_token": token, "action": "reassign", "task_id": task.id, "user_id": actors["tiepnhan2"].id,
        "reason": f"Cán bộ nghỉ phép {HOSTILE}"})

    assert dossier.code in page and f'<option value="{task.id}" selected>' in page
    assert response.status_code == 302
    assert get_task(ctx, actors["tiepnhan2"], task.id).assignee_id == actors["tiepnhan2"].id
    client.post("/dang-xuat", data={"csrf_token": token})
    login("tiepnhan2")
    history = html_of(client.get(f"/cong-viec/{task.id}"))
    assert HOSTILE not in history and HOSTILE_ESCAPED in history


def test_a_reassign_without_a_reason_is_shown_again_with_the_error(ctx, app, client, login, actors):
    dossier = submitted(ctx, actors)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    token = login("lanhdao")

    response = client.post("/cong-viec/phan-cong", data={
        "csrf_token": token, "action": "reassign", "task_id": task.id, "user_id": actors["tiepnhan2"].id,
        "reason": " "})

    assert response.status_code == 400 and "Vui lòng nêu lý do giao lại công việc." in main_of(response)
    assert get_task(ctx, actors["tiepnhan"], task.id).assignee_id is None


@pytest.mark.parametrize("username", ["tiepnhan", "chuyenvien"])
def test_a_non_leader_cannot_reassign(ctx, app, client, login, actors, username):
    dossier = submitted(ctx, actors)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    token = login(username)

    shown = client.get("/cong-viec/phan-cong")
    response = client.post("/cong-viec/phan-cong", data={
        "csrf_token": token, "action": "reassign", "task_id": task.id, "user_id": actors["tiepnhan2"].id,
        "reason": "thử"})

    assert shown.status_code == response.status_code == 403
    assert get_task(ctx, actors["tiepnhan"], task.id).assignee_id is None


def test_a_leader_sets_a_substitute_and_ends_it_early(ctx, app, client, login, actors):
    token = login("lanhdao")
    today = vietnam_today()

    created = client.post("/cong-viec/phan-cong", data={
        "csrf_token": token, "action": "substitute", "user_id": actors["tiepnhan"].id,
        "substitute_id": actors["tiepnhan2"].id, "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=3)).isoformat(), "reason": "Nghỉ phép"})
    page = main_of(client.get("/cong-viec/phan-cong"))
    [row] = list_substitutions(ctx, actors["lanhdao"])
    ended = client.post("/cong-viec/phan-cong", data={"csrf_token": token, "action": "end",
                                                      "substitution_id": row.id})

    assert created.status_code == 302 and "Đã đặt người làm thay." in page and "Nghỉ phép" in page
    assert "Đang áp dụng" in page
    assert ended.status_code == 302 and list_substitutions(ctx, actors["lanhdao"]) == []


def test_a_substitute_with_bad_dates_is_shown_again_with_the_error(client, login, actors):
    token = login("lanhdao")

    response = client.post("/cong-viec/phan-cong", data={
        "csrf_token": token, "action": "substitute", "user_id": actors["tiepnhan"].id,
        "substitute_id": actors["tiepnhan2"].id, "starts_on": "", "ends_on": "", "reason": "Nghỉ phép"})

    assert response.status_code == 400 and "ngày bắt đầu và ngày kết thúc" in main_of(response)
    assert 'value="Nghỉ phép"' in main_of(response), "what was typed is kept"


# --- the desk: walk-in reception ------------------------------------------------------------------


def test_the_desk_receives_a_walk_in_applicant_and_gets_the_printable_receipt(ctx, app, client, login, actors):
    from tests.web.test_pages import posted_fields

    token = login("tiepnhan")
    chooser = main_of(client.get("/tiep-nhan-truc-tiep"))
    form = client.get(f"/tiep-nhan-truc-tiep/{HKD_SLUG}")

    response = client.post(f"/tiep-nhan-truc-tiep/{HKD_SLUG}", data={
        "csrf_token": token, "applicant_name": HOSTILE, "applicant_phone": "0912000111", "applicant_kind": "1",
        **posted_fields(household_form())})

    assert f'href="/tiep-nhan-truc-tiep/{HKD_SLUG}"' in chooser and form.status_code == 200
    assert response.status_code == 302, main_of(response)[:3000]
    receipt_url = urlsplit(response.headers["Location"]).path
    code = receipt_url.rsplit("/", 1)[1]
    dossier = get_dossier(ctx, actors["tiepnhan"], code)
    assert dossier.channel == "desk"
    receipt = html_of(client.get(receipt_url))
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in receipt and code in receipt
    assert 'src="data:image/png;base64,' in receipt and "/tra-cuu?code=" in receipt
    assert HOSTILE not in receipt and HOSTILE_ESCAPED in receipt
    assert "/cong-viec/" in receipt, "a link on to the reception task"


def test_an_invalid_walk_in_submission_keeps_what_was_typed(client, login):
    token = login("tiepnhan")

    response = client.post(f"/tiep-nhan-truc-tiep/{HKD_SLUG}", data={
        "csrf_token": token, "applicant_name": "", "applicant_phone": "123"})

    assert response.status_code == 400
    assert 'aria-invalid="true"' in main_of(response) and 'value="123"' in main_of(response)


def test_only_the_desk_receives_walk_in_applicants(client, login):
    login("chuyenvien")

    assert client.get("/tiep-nhan-truc-tiep").status_code == 403
    assert client.get(f"/tiep-nhan-truc-tiep/{HKD_SLUG}").status_code == 403


def test_a_hostile_applicant_name_is_escaped_on_the_inbox_task_and_assign_pages(ctx, app, client, login, actors):
    dossier = submitted(ctx, actors, name=HOSTILE)
    task = open_task(ctx, actors["tiepnhan"], dossier.code)
    login("lanhdao")
    assign = client.get("/cong-viec/phan-cong")
    client.post("/dang-xuat", data={"csrf_token": login("lanhdao")})
    login("tiepnhan")

    for response in (client.get("/cong-viec"), client.get(f"/cong-viec/{task.id}"), assign):
        assert response.status_code == 200
        assert HOSTILE not in html_of(response) and HOSTILE_ESCAPED in html_of(response)
