"""The studio's form editor: the draft's forms, the two labelled textareas with a live preview by our
own renderer (htmx, CSRF-protected), located errors for broken JSON or refused schemas with the
analyst's text kept, adding a form and deleting one no step uses."""

# ruff: noqa: F811 - the studio fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

import json

from markupsafe import escape

from engine.services import studio
from tests.web.studio_fixtures import (  # noqa: F401
    draft_of,
    fresh,
    html_of,
    main_of,
    no_drafts,
    revision_in,
    second_browser,
)

SCHEMA = {"type": "object", "title": "Thẩm định", "required": ["y_kien"],
          "properties": {"y_kien": {"type": "string", "title": "Ý kiến thẩm định"},
                         "so_trang": {"type": "integer", "title": "Số trang hồ sơ", "minimum": 1}}}
BROKEN = '{\n  "type": "object",\n  "properties": {"a": {"type": "string"},}\n}'


def form_of(ctx, actors, draft_id: int, name: str) -> dict:
    return studio.get_draft(ctx, actors["phantich"], draft_id).package["forms"][name]


def test_the_list_says_where_each_form_is_used_and_offers_delete_only_for_unused_forms(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    studio.save_draft_form(ctx, actors["phantich"], draft_id, "ghi-chu", SCHEMA, {})
    login("phantich")

    page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau"))

    assert "«Thẩm định hồ sơ»" in page and "biểu mẫu nộp hồ sơ" in page  # a step, and the start form
    assert f'action="/thiet-ke/ban-nhap/{draft_id}/bieu-mau/ghi-chu/xoa"' in page
    assert f'action="/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh/xoa"' not in page
    assert 'aria-current="page"' in page and ">Biểu mẫu</a>" in page  # the draft's tabs, this one current


def test_a_form_is_edited_in_two_labelled_monospace_textareas_beside_a_live_preview(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    login("phantich")

    page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh"))

    for field in ("schema", "ui_schema"):
        assert f'<label for="{field}">' in page
        assert f'<textarea id="{field}" name="{field}" class="code"' in page
    preview_url = f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh/xem-truoc"
    assert page.count(f'hx-post="{preview_url}" hx-trigger="input changed delay:600ms"') == 2
    editor = page[page.index('class="studio-form-source"'):page.index("</form>")]
    assert 'name="csrf_token"' in editor  # htmx posts the enclosing form's fields, the token with them
    preview = page[page.index('id="form-preview"'):]
    assert "Ý kiến" in preview and 'name="xem-truoc.y_kien"' in preview


def test_the_preview_draws_the_posted_schema_with_our_renderer(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh/xem-truoc", headers={"HX-Request": "true"},
                           data={"csrf_token": token, "schema": json.dumps(SCHEMA),
                                 "ui_schema": '{"y_kien": {"ui:widget": "textarea"}}'})

    text = html_of(response)
    assert response.status_code == 200 and "<main" not in text  # the fragment alone
    assert "Số trang hồ sơ" in text and 'type="number"' in text and "<textarea" in text
    assert 'name="xem-truoc.so_trang"' in text


def test_the_preview_shows_where_the_json_breaks_instead_of_the_form(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh/xem-truoc",
                           data={"csrf_token": token, "schema": BROKEN, "ui_schema": ""})

    text = html_of(response)
    assert response.status_code == 200
    assert "Chưa xem trước được" in text and "JSON không hợp lệ ở dòng 3, cột" in text
    assert "tên thuộc tính phải đặt trong dấu ngoặc kép" in text


def test_the_preview_names_a_keyword_our_renderer_refuses(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("phantich")
    schema = {"type": "object", "properties": {"a": {"type": "string", "minlenght": 3}}}

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh/xem-truoc",
                           data={"csrf_token": token, "schema": json.dumps(schema), "ui_schema": "{}"})

    assert "Bộ hiển thị biểu mẫu không dùng được lược đồ này" in html_of(response)
    assert "minlenght" in html_of(response) and "#/properties/a" in html_of(response)


def test_the_preview_refuses_a_post_without_the_csrf_token(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    login("phantich")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh/xem-truoc",
                           data={"schema": json.dumps(SCHEMA)})

    assert response.status_code == 400


def test_the_preview_is_for_the_studio_only(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    token = login("chuyenvien")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh/xem-truoc",
                           data={"csrf_token": token, "schema": json.dumps(SCHEMA)})

    assert response.status_code == 403


def test_saving_broken_json_is_refused_with_its_location_and_the_textarea_keeps_the_text(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")
    ui_text = '{"y_kien": {"ui:widget": "textarea"}}'

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh",
                           data={"csrf_token": token, "action": "save", "schema": BROKEN, "ui_schema": ui_text})

    page = main_of(response)
    assert response.status_code == 400
    assert "Chưa lưu biểu mẫu" in page and "JSON không hợp lệ ở dòng 3" in page
    assert str(escape(BROKEN)) in page and str(escape(ui_text)) in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="schema-hint schema-error"' in page
    assert form_of(ctx, actors, draft_id, "tham-dinh")["schema"]["properties"] == {
        "y_kien": {"type": "string", "title": "Ý kiến"}}


def test_saving_a_schema_the_renderer_refuses_is_refused_and_nothing_is_lost(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")
    text = json.dumps({"type": "object", "properties": {"a": {"type": "strin"}}})

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh",
                           data={"csrf_token": token, "action": "save", "schema": text, "ui_schema": ""})

    assert response.status_code == 400
    assert "không dùng được lược đồ này" in main_of(response)
    assert str(escape(text)) in main_of(response)
    assert "a" not in form_of(ctx, actors, draft_id, "tham-dinh")["schema"]["properties"]


def test_saving_a_valid_form_stores_it_in_the_draft(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh",
                           data={"csrf_token": token, "action": "save", "schema": json.dumps(SCHEMA),
                                 "ui_schema": ""})

    assert response.status_code == 302
    assert form_of(ctx, actors, draft_id, "tham-dinh") == {"schema": SCHEMA, "ui_schema": {}}
    assert "Đã lưu biểu mẫu «tham-dinh»" in html_of(client.get(response.headers["Location"]))


def test_the_preview_button_works_without_javascript_and_saves_nothing(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")

    response = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh",
                           data={"csrf_token": token, "action": "preview", "schema": json.dumps(SCHEMA)})

    assert response.status_code == 200 and "Số trang hồ sơ" in main_of(response)
    assert "so_trang" not in form_of(ctx, actors, draft_id, "tham-dinh")["schema"]["properties"]


def test_a_new_form_is_added_and_opened_and_a_bad_name_is_refused_with_the_rule(
        ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")

    added = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau", data={"csrf_token": token, "name": "bo-sung"})
    refused = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau", data={"csrf_token": token, "name": "Bổ sung"})
    taken = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau", data={"csrf_token": token, "name": "tham-dinh"})

    assert added.status_code == 302 and added.headers["Location"].endswith("/bieu-mau/bo-sung")
    assert "bo-sung" in studio.get_draft(ctx, actors["phantich"], draft_id).package["forms"]
    assert refused.status_code == 400 and "chữ thường không dấu" in main_of(refused)
    assert 'value="Bổ sung"' in main_of(refused)
    assert taken.status_code == 400 and "Đã có biểu mẫu «tham-dinh»" in main_of(taken)


def test_a_form_a_step_uses_cannot_be_deleted_but_an_unused_one_can(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    studio.save_draft_form(ctx, actors["phantich"], draft_id, "ghi-chu", SCHEMA, {})
    token = login("phantich")

    used = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh/xoa", data={"csrf_token": token})
    used_page = html_of(client.get(used.headers["Location"]))
    unused = client.post(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/ghi-chu/xoa", data={"csrf_token": token})

    forms_now = studio.get_draft(ctx, actors["phantich"], draft_id).package["forms"]
    assert "tham-dinh" in forms_now and "đang được dùng ở" in used_page
    assert unused.status_code == 302 and "ghi-chu" not in forms_now


def test_a_form_the_draft_does_not_have_is_a_404_page(client, login, fresh, draft_of):
    draft_id = draft_of(fresh)
    login("phantich")

    response = client.get(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/khong-co")

    assert response.status_code == 404 and "Bản nháp không có biểu mẫu này." in main_of(response)


# --- two people on one draft ------------------------------------------------------------------------


def test_a_form_saved_from_a_page_loaded_before_another_persons_save_is_a_409_with_the_typed_text_kept(
        ctx, client, login, fresh, draft_of, actors, second_browser):
    draft_id = draft_of(fresh)
    token = login("phantich")
    url = f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh"
    loaded = revision_in(client.get(url))
    other, other_token = second_browser("quantri")
    theirs = {"type": "object", "properties": {"nhan_xet": {"type": "string", "title": "Nhận xét của quản trị"}}}
    saved = other.post(url, data={"csrf_token": other_token, "revision": revision_in(other.get(url)),
                                  "action": "save", "schema": json.dumps(theirs), "ui_schema": ""})
    assert saved.status_code == 302, main_of(saved)
    mine = json.dumps(SCHEMA, ensure_ascii=False)

    refused = client.post(url, data={"csrf_token": token, "revision": loaded, "action": "save", "schema": mine,
                                     "ui_schema": ""})
    again = client.post(url, data={"csrf_token": token, "revision": revision_in(refused), "action": "save",
                                   "schema": mine, "ui_schema": ""})

    page = main_of(refused)
    assert refused.status_code == 409 and 'id="studio-conflict" role="alert"' in page
    assert "quantri" in page and "vẫn được giữ nguyên bên dưới" in page
    assert str(escape(mine)) in page  # the textarea keeps what was typed
    assert f'href="{url}" target="_blank"' in page  # the stored one, beside it
    assert revision_in(refused) == loaded and again.status_code == 409  # saving it again still replaces nothing
    assert form_of(ctx, actors, draft_id, "tham-dinh")["schema"] == theirs


def test_deleting_a_form_from_a_list_loaded_before_another_persons_save_is_a_409_and_the_form_stays(
        ctx, client, login, fresh, draft_of, actors, second_browser):
    draft_id = draft_of(fresh)
    studio.save_draft_form(ctx, actors["phantich"], draft_id, "ghi-chu", SCHEMA, {})
    token = login("phantich")
    loaded = revision_in(client.get(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau"))
    other, other_token = second_browser("quantri")
    url = f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/ghi-chu"
    edited = {**SCHEMA, "title": "Ghi chú (quản trị sửa)"}
    assert other.post(url, data={"csrf_token": other_token, "revision": revision_in(other.get(url)),
                                 "action": "save", "schema": json.dumps(edited), "ui_schema": ""}).status_code == 302

    refused = client.post(f"{url}/xoa", data={"csrf_token": token, "revision": loaded})

    page = main_of(refused)
    assert refused.status_code == 409 and "quantri" in page and "Chưa xóa biểu mẫu nào" in page
    assert "Ghi chú (quản trị sửa)" in page  # the list as it is now
    assert form_of(ctx, actors, draft_id, "ghi-chu")["schema"] == edited
    assert client.post(f"{url}/xoa", data={"csrf_token": token, "revision": revision_in(refused)}).status_code == 302
    assert "ghi-chu" not in studio.get_draft(ctx, actors["phantich"], draft_id).package["forms"]
