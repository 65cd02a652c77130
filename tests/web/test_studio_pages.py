"""The analyst studio's front pages: the procedure list, opening and discarding a draft, import and
export; and who may see any of the studio (analysts and admins; officials and citizens get a 403
page in Vietnamese, anonymous visitors the login page)."""

# ruff: noqa: F811 - the studio fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

import io
import zipfile

import pytest

from engine.services import studio
from tests.web.studio_fixtures import (  # noqa: F401
    FOREIGN_BPMN,
    draft_id_in,
    draft_of,
    fresh,
    html_of,
    main_of,
    no_drafts,
    revision_in,
    second_browser,
)

#: Every studio page a person might type in, for the access rules (`{slug}`, `{draft}` filled in).
STUDIO_GETS = ["/thiet-ke", "/thiet-ke/nhap", "/thiet-ke/{slug}/phien-ban", "/thiet-ke/{slug}/xuat",
               "/thiet-ke/{slug}/chuyen-phien-ban/1", "/thiet-ke/ban-nhap/{draft}/bieu-mau",
               "/thiet-ke/ban-nhap/{draft}/bieu-mau/tham-dinh", "/thiet-ke/ban-nhap/{draft}/thong-tin",
               "/thiet-ke/ban-nhap/{draft}/chay-thu", "/thiet-ke/ban-nhap/{draft}/xuat-ban",
               "/thiet-ke/ban-nhap/{draft}/huy", "/thiet-ke/ban-nhap/{draft}/ket-qua-nhap"]

# --- the list ----------------------------------------------------------------------------------------


def test_the_list_shows_each_procedure_with_its_latest_version_and_who_has_a_draft_open(
        client, login, fresh, draft_of):
    login("phantich")
    before = main_of(client.get("/thiet-ke"))
    draft_id = draft_of(fresh)
    after = main_of(client.get("/thiet-ke"))

    assert "Thiết kế quy trình" in before and fresh in before
    assert "Phiên bản 1" in before and "Nhập quy trình từ tệp BPMN hoặc ZIP" in before
    assert f'action="/thiet-ke/{fresh}/mo"' in before
    assert f'href="/thiet-ke/ban-nhap/{draft_id}"' in after and "Đang sửa" in after and "phantich" in after
    assert f'href="/thiet-ke/{fresh}/phien-ban"' in after
    assert f'href="/thiet-ke/{fresh}/xuat?dinh-dang=zip"' in after


@pytest.mark.parametrize("username", ["phantich", "quantri"])
def test_analysts_and_admins_find_the_studio_in_the_main_menu(client, login, username):
    login(username)

    page = html_of(client.get("/cong-viec"))

    assert 'href="/thiet-ke">Thiết kế quy trình</a>' in page


@pytest.mark.parametrize("username", ["tiepnhan", "lanhdao", "congdan"])
def test_officials_and_citizens_see_no_studio_and_get_a_vietnamese_403_on_every_page(
        client, login, fresh, draft_of, username):
    draft_id = draft_of(fresh)
    login(username)

    assert "Thiết kế quy trình" not in html_of(client.get("/"))
    for path in STUDIO_GETS:
        response = client.get(path.format(slug=fresh, draft=draft_id))
        assert response.status_code == 403, path
        assert "Chỉ cán bộ nghiệp vụ hoặc quản trị viên được thiết kế quy trình." in main_of(response), path


def test_anonymous_visitors_are_sent_to_the_login_page(client, fresh, draft_of):
    draft_id = draft_of(fresh)

    for path in STUDIO_GETS:
        response = client.get(path.format(slug=fresh, draft=draft_id))
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/dang-nhap?next="), path


# --- opening and discarding a draft ----------------------------------------------------------------


def test_opening_a_procedure_twice_opens_the_same_draft_in_the_editor(ctx, client, login, fresh, actors):
    token = login("phantich")

    first = client.post(f"/thiet-ke/{fresh}/mo", data={"csrf_token": token})
    second = client.post(f"/thiet-ke/{fresh}/mo", data={"csrf_token": token})

    assert first.status_code == second.status_code == 302
    assert draft_id_in(first.headers["Location"]) == draft_id_in(second.headers["Location"])
    row = next(r for r in studio.list_procedures(ctx, actors["phantich"]) if r.slug == fresh)
    assert row.draft_id == draft_id_in(first.headers["Location"]) and row.draft_updated_by == "phantich"


def test_opening_without_the_csrf_token_is_refused_and_opens_nothing(ctx, client, login, fresh, actors):
    login("phantich")

    response = client.post(f"/thiet-ke/{fresh}/mo", data={"csrf_token": "forged"})

    assert response.status_code == 400
    assert next(r for r in studio.list_procedures(ctx, actors["phantich"]) if r.slug == fresh).draft_id is None


def test_opening_an_unknown_procedure_is_a_404_page(client, login, no_drafts):
    token = login("phantich")

    response = client.post("/thiet-ke/khong-co-thu-tuc-nay/mo", data={"csrf_token": token})

    assert response.status_code == 404
    assert "Không tìm thấy" in main_of(response)


def test_discarding_a_draft_asks_first_then_deletes_it(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    token = login("phantich")

    question = client.get(f"/thiet-ke/ban-nhap/{draft_id}/huy")
    done = client.post(f"/thiet-ke/ban-nhap/{draft_id}/huy", data={"csrf_token": token})

    assert question.status_code == 200 and "không khôi phục được" in main_of(question)
    assert next(r for r in studio.list_procedures(ctx, actors["phantich"]) if r.slug == fresh).draft_id is None
    assert done.status_code == 302 and done.headers["Location"] == "/thiet-ke"
    assert "Đã hủy bản nháp" in html_of(client.get("/thiet-ke"))
    assert client.get(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau").status_code == 404


def test_discarding_from_a_page_loaded_before_another_persons_save_is_a_409_and_asks_again(
        ctx, client, login, fresh, draft_of, actors, second_browser):
    draft_id = draft_of(fresh)
    token = login("phantich")
    url = f"/thiet-ke/ban-nhap/{draft_id}/huy"
    loaded = revision_in(client.get(url))
    other, other_token = second_browser("quantri")
    xml = other.get(f"/thiet-ke/ban-nhap/{draft_id}/bpmn")
    assert other.post(f"/thiet-ke/ban-nhap/{draft_id}/bpmn", data={
        "csrf_token": other_token, "revision": xml.headers["X-Draft-Revision"],
        "xml": xml.get_data(as_text=True).replace('name="Phê duyệt"', 'name="Quản trị vừa đổi tên"')}
    ).status_code == 200

    refused = client.post(url, data={"csrf_token": token, "revision": loaded})

    assert refused.status_code == 409
    assert "quantri" in main_of(refused) and "Bản nháp chưa bị hủy" in main_of(refused)
    assert 'name="Quản trị vừa đổi tên"' in studio.get_draft(ctx, actors["phantich"], draft_id).editor_xml
    assert revision_in(refused) > loaded  # asked again, knowing of that save
    assert client.post(url, data={"csrf_token": token, "revision": revision_in(refused)}).status_code == 302
    assert next(r for r in studio.list_procedures(ctx, actors["phantich"]) if r.slug == fresh).draft_id is None


# --- import -----------------------------------------------------------------------------------------


def test_importing_a_bpmn_file_opens_its_draft_with_the_import_findings_listed(ctx, client, login, no_drafts):
    token = login("phantich")

    response = client.post("/thiet-ke/nhap", data={"csrf_token": token,
                                                   "file": (io.BytesIO(FOREIGN_BPMN), "nhap-thu.bpmn")},
                           content_type="multipart/form-data")

    assert response.status_code == 302, main_of(response)
    draft_id = draft_id_in(response.headers["Location"])
    page = client.get(response.headers["Location"])
    text = main_of(page)
    assert page.status_code == 200 and "Đã nhập «nhap-thu.bpmn»" in html_of(page)
    assert "Nhập thành thủ tục mới «Thủ tục nhập thử» (đường dẫn: thu-tuc-nhap-thu" in text
    findings = text[text.index('class="studio-import-findings"'):]
    assert "«Chọn cách xử lý»" in findings and "<code>chon</code>" in findings and "dòng 6" in findings
    assert f'href="/thiet-ke/ban-nhap/{draft_id}"' in text  # on to the diagram
    forms_page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau"))
    assert f'href="/thiet-ke/ban-nhap/{draft_id}/ket-qua-nhap"' in forms_page  # every tab links to them


def upload(client, token: str, filename: str, data: bytes):
    return client.post("/thiet-ke/nhap", data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def test_a_bpmn_exported_and_edited_in_another_modeller_is_imported_into_its_published_procedure(
        ctx, client, login, fresh, actors):
    token = login("phantich")
    exported = client.get(f"/thiet-ke/{fresh}/xuat").get_data()
    process = f'<bpmn:process id="{fresh.replace("-", "_")}"'.encode()
    edited = exported.replace(process, process + ' name="Đã đổi tên trong Camunda"'.encode())

    response = upload(client, token, "camunda.bpmn", edited)

    assert response.status_code == 302, main_of(response)
    page = main_of(client.get(response.headers["Location"]))
    target = page[page.index('id="import-target"'):]
    assert "Nhập vào thủ tục đã xuất bản «Thủ tục thử nghiệm» (phiên bản 1)" in target
    assert "thủ tục mới" not in target
    draft = studio.get_draft(ctx, actors["phantich"], draft_id_in(response.headers["Location"]))
    assert (draft.slug, draft.based_on_version) == (fresh, 1)


def test_a_model_that_only_shares_a_published_procedures_name_is_imported_as_a_new_procedure(
        ctx, client, login, fresh, actors):
    token = login("phantich")
    exported = client.get(f"/thiet-ke/{fresh}/xuat").get_data()
    process = f'<bpmn:process id="{fresh.replace("-", "_")}"'.encode()
    stranger = exported.replace(process, f'<bpmn:process id="khac_han" name="{fresh}"'.encode())

    response = upload(client, token, "khac.bpmn", stranger)

    assert response.status_code == 302, main_of(response)
    page = main_of(client.get(response.headers["Location"]))
    target = page[page.index('id="import-target"'):]
    assert f"Nhập thành thủ tục mới «{fresh}» (đường dẫn: {fresh}-2)" in target
    assert "đã xuất bản «" not in target
    assert next(r for r in studio.list_procedures(ctx, actors["phantich"]) if r.slug == fresh).draft_id is None


def test_an_upload_the_engine_cannot_read_is_refused_with_the_reason_and_nothing_is_created(
        ctx, client, login, no_drafts, actors):
    token = login("phantich")
    before = len(studio.list_procedures(ctx, actors["phantich"]))

    response = client.post("/thiet-ke/nhap", data={"csrf_token": token,
                                                   "file": (io.BytesIO(b"<bpmn:definitions"), "hong.bpmn")},
                           content_type="multipart/form-data")

    assert response.status_code == 400
    assert "Không nhập được tệp" in main_of(response) and 'aria-invalid="true"' in main_of(response)
    assert len(studio.list_procedures(ctx, actors["phantich"])) == before


def test_sending_the_import_form_without_a_file_asks_for_one(client, login, no_drafts):
    token = login("phantich")

    response = client.post("/thiet-ke/nhap", data={"csrf_token": token}, content_type="multipart/form-data")

    assert response.status_code == 400
    assert "Vui lòng chọn tệp" in main_of(response)


# --- export -----------------------------------------------------------------------------------------


def test_export_downloads_the_latest_version_as_bpmn_under_a_safe_file_name(client, login, fresh):
    login("phantich")

    response = client.get(f"/thiet-ke/{fresh}/xuat")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename={fresh}-v1.bpmn"
    assert response.mimetype == "application/xml"
    assert b"<bpmn:definitions" in response.data or b"definitions" in response.data


def test_export_of_a_version_as_zip_holds_the_procedure_folder(client, login, fresh):
    login("phantich")

    response = client.get(f"/thiet-ke/{fresh}/xuat", query_string={"phien-ban": "1", "dinh-dang": "zip"})

    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename={fresh}-v1.zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert any(name.endswith("procedure.json") for name in names), names


def test_export_of_a_draft_downloads_the_draft_not_the_published_version(ctx, client, login, fresh, draft_of, actors):
    draft_id = draft_of(fresh)
    draft = studio.get_draft(ctx, actors["phantich"], draft_id)
    studio.save_draft_bpmn(ctx, actors["phantich"], draft_id, draft.editor_xml.replace('name="Phê duyệt"',
                                                                                       'name="Ký duyệt"'))
    login("phantich")

    publish_page = main_of(client.get(f"/thiet-ke/ban-nhap/{draft_id}/xuat-ban"))
    response = client.get(f"/thiet-ke/{fresh}/xuat", query_string={"ban-nhap": str(draft_id)})

    assert f'href="/thiet-ke/{fresh}/xuat?ban-nhap={draft_id}"' in publish_page
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename={fresh}-ban-nhap.bpmn"
    assert "Ký duyệt".encode() in response.data


def test_export_of_a_version_that_does_not_exist_is_a_404_page(client, login, fresh):
    login("phantich")

    response = client.get(f"/thiet-ke/{fresh}/xuat", query_string={"phien-ban": "99"})

    assert response.status_code == 404
    assert "không có phiên bản 99" in main_of(response)


def test_a_download_name_keeps_only_safe_characters():
    from web.pages.studio import safe_filename

    assert safe_filename('a"b\r\nc;d/../e.bpmn', "x.bpmn") == "a-b-c-d-..-e.bpmn"
    assert safe_filename("Thủ tục.bpmn", "x.bpmn") == "Th-t-c.bpmn"
    assert safe_filename("../..", "x.bpmn") == "x.bpmn"
