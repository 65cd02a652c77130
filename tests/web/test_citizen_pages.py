"""The citizens' pages: catalogue, submission wizard with drafts and uploads, receipt, tracking,
"Hồ sơ của tôi" with supplement and rating; errors in Vietnamese, escaping, and who sees what."""

from __future__ import annotations

import io
import json
import re
import shutil
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.bootstrap import load_catalogue
from engine.config import PROJECT_ROOT
from engine.services import authenticate, list_attachments, list_drafts, save_draft, submit_dossier
from tests.conftest import with_connectors
from tests.engine.services.workspace import to_result
from tests.factories import APPLICANT, drain_all, household_form, open_task, work
from tests.web.conftest import HKD_SLUG, HOSTILE, HOSTILE_ESCAPED, csrf_of
from tests.web.test_pages import html_of, main_of, posted_fields
from web import create_app

PDF = b"%PDF-1.4\n% ban sao\n%%EOF\n"


@pytest.fixture
def citizen(ctx, app):
    return authenticate(ctx, "congdan", "demo")


def test_the_catalogue_finds_a_procedure_by_name_without_accents_or_by_its_code(client):
    assert "Đăng ký thành lập hộ kinh doanh" in main_of(client.get("/thu-tuc?q=ho+kinh+doanh"))
    assert "Đăng ký thành lập hộ kinh doanh" in main_of(client.get("/thu-tuc?q=1.001612"))
    missing = main_of(client.get("/thu-tuc?q=khong+co+thu+tuc+nay"))
    assert "Không tìm thấy thủ tục nào" in missing and "hộ kinh doanh</a>" not in missing


def test_a_search_term_is_escaped_and_htmx_gets_only_the_results(client):
    page = html_of(client.get("/thu-tuc", query_string={"q": HOSTILE}))
    assert HOSTILE not in page and HOSTILE_ESCAPED in page
    partial = html_of(client.get("/thu-tuc?q=ho", headers={"HX-Request": "true"}))
    assert "<html" not in partial and "thủ tục khớp" in partial


def test_a_procedure_page_shows_deadline_in_words_fees_documents_fields_and_the_online_button(client):
    page = main_of(client.get(f"/thu-tuc/{HKD_SLUG}"))
    assert "3 ngày làm việc" in page and "100.000 đ" in page
    assert "Giấy đề nghị đăng ký hộ kinh doanh" in page and "1. Tên hộ kinh doanh" in page
    assert f'href="/nop-ho-so/{HKD_SLUG}"' in page and "Nộp trực tuyến" in page
    blank = main_of(client.get(f"/thu-tuc/{HKD_SLUG}/mau-to-khai"))
    assert "readonly" in blank or "disabled" in blank


def test_same_day_procedures_read_trong_ngay(client):
    assert "Trong ngày" in main_of(client.get("/thu-tuc"))


def test_an_unknown_procedure_is_a_vietnamese_404(client):
    response = client.get("/thu-tuc/khong-co")
    assert response.status_code == 404 and "Không" in main_of(response)


def test_the_wizard_needs_an_account(client):
    response = client.get(f"/nop-ho-so/{HKD_SLUG}")
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def wizard_to_review(client, token) -> tuple[int, str]:
    """Fill the form step and the documents step (with a PDF); returns the draft id and the review page."""
    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=1", data={**posted_fields(household_form()),
                                                                  "csrf_token": token, "_nav": "next"})
    assert response.status_code == 302, main_of(response)[:2000]
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    draft_id, step = int(query["nhap"][0]), int(query["buoc"][0])
    assert step == 2
    docs = client.get(response.headers["Location"])
    assert 'enctype="multipart/form-data"' in html_of(docs) and 'value="Phạm Thị Công Dân"' in html_of(docs)
    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=2&nhap={draft_id}", content_type="multipart/form-data",
                           data={"csrf_token": token, "nhap": str(draft_id), "_nav": "next",
                                 "applicant.name": "Phạm Thị Công Dân", "applicant.phone": "0912345678",
                                 "giay_to.giay_de_nghi": (io.BytesIO(PDF), "de-nghi.pdf")})
    assert response.status_code == 302, main_of(response)[:3000]
    review = client.get(response.headers["Location"])
    return draft_id, main_of(review)


def test_a_citizen_submits_through_the_wizard_with_a_pdf_and_gets_a_receipt(ctx, client, login, citizen):
    token = login("congdan")
    draft_id, review = wizard_to_review(client, token)
    assert "Hộ kinh doanh Phở Thu Hương" in review and "de-nghi.pdf" in review
    assert [d.id for d in list_drafts(ctx, citizen)] == [draft_id]

    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=3&nhap={draft_id}",
                           data={"csrf_token": token, "nhap": str(draft_id), "_nav": "submit"})

    assert response.status_code == 302
    code = urlsplit(response.headers["Location"]).path.split("/")[2]
    receipt = main_of(client.get(response.headers["Location"]))
    assert code in receipt and 'src="data:image/png;base64,' in receipt and "tra-cuu?code=" in receipt
    assert list_drafts(ctx, citizen) == []
    assert [a.filename for a in list_attachments(ctx, citizen, code) if a.kind == "upload"] == ["de-nghi.pdf"]
    mine = main_of(client.get("/ho-so-cua-toi"))
    assert code in mine
    page = main_of(client.get(f"/ho-so-cua-toi/{code}"))
    assert "de-nghi.pdf" in page and "Đã nộp hồ sơ" in page


def test_an_invalid_step_is_shown_again_in_vietnamese_and_saved_as_a_draft(ctx, client, login, citizen):
    token = login("congdan")
    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=1", data={
        **posted_fields(household_form(von_kinh_doanh=-5, ten_ho_kinh_doanh=f"Hộ kinh doanh {HOSTILE}")),
        "csrf_token": token, "_nav": "next"})
    assert response.status_code == 400
    page = main_of(response)
    assert "Phải lớn hơn hoặc bằng 0" in page and HOSTILE not in page and HOSTILE_ESCAPED in page
    assert len(list_drafts(ctx, citizen)) == 1


def test_a_refused_upload_is_explained_and_not_kept(client, login, ctx, citizen):
    token = login("congdan")
    draft = save_draft(ctx, citizen, HKD_SLUG, household_form(), step=2)
    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=2&nhap={draft.id}", content_type="multipart/form-data",
                           data={"csrf_token": token, "nhap": str(draft.id), "_nav": "next",
                                 "applicant.name": "A", "applicant.phone": "0912345678",
                                 "giay_to.giay_de_nghi": (io.BytesIO(b"MZ not a pdf"), "virus.pdf")})
    assert response.status_code == 400 and 'aria-invalid="true"' in main_of(response)


def test_saving_a_draft_goes_to_my_dossiers_and_resumes(client, login):
    token = login("congdan")
    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=1", data={
        "ten_ho_kinh_doanh": "Hộ kinh doanh Đang Khai", "csrf_token": token, "_nav": "save"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/ho-so-cua-toi")
    mine = main_of(client.get("/ho-so-cua-toi"))
    link = re.search(r'href="(/nop-ho-so/[^"]+)"', mine).group(1).replace("&amp;", "&")
    assert 'value="Hộ kinh doanh Đang Khai"' in main_of(client.get(link))


def test_another_citizen_sees_neither_my_dossier_nor_my_draft(ctx, client, login, citizen):
    dossier = submit_dossier(ctx, citizen, HKD_SLUG, dict(APPLICANT), household_form())
    draft = save_draft(ctx, citizen, HKD_SLUG, {"ten_ho_kinh_doanh": "Bí mật"})
    login("congdan2")
    for url in (f"/ho-so-cua-toi/{dossier.code}", f"/ho-so/{dossier.code}/bien-nhan",
                f"/nop-ho-so/{HKD_SLUG}?nhap={draft.id}&buoc=1"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Bí mật" not in html_of(response)
    assert dossier.code not in main_of(client.get("/ho-so-cua-toi"))


def test_tracking_needs_the_code_and_the_phone_and_says_so_in_vietnamese(ctx, client, citizen):
    dossier = submit_dossier(ctx, citizen, HKD_SLUG, dict(APPLICANT), household_form())
    wrong = client.get("/tra-cuu", query_string={"code": dossier.code, "secret": "0900000000"})
    assert wrong.status_code == 404 and "Không tìm thấy hồ sơ" in main_of(wrong)
    right = main_of(client.get("/tra-cuu", query_string={"code": dossier.code, "secret": APPLICANT["phone"]}))
    assert dossier.code in right and "Mới đăng ký" in right


def test_the_citizen_answers_a_supplement_request_with_the_asked_file(ctx, client, login, citizen, actors):
    dossier = submit_dossier(ctx, citizen, HKD_SLUG, dict(APPLICANT), household_form())
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "bo_sung", "giay_to_thieu": ["Bản sao CCCD"]})
    token = login("congdan")
    page = main_of(client.get(f"/ho-so-cua-toi/{dossier.code}"))
    assert "Cơ quan yêu cầu bổ sung hồ sơ" in page and "Bản sao CCCD" in page

    empty = client.post(f"/ho-so-cua-toi/{dossier.code}/bo-sung", data={"csrf_token": token})
    assert empty.status_code == 400 and "Vui lòng nhập nội dung bổ sung" in main_of(empty)
    response = client.post(f"/ho-so-cua-toi/{dossier.code}/bo-sung", content_type="multipart/form-data", data={
        "csrf_token": token, "noi_dung_bo_sung": "Đã bổ sung", "tep_0": (io.BytesIO(PDF), "cccd.pdf")})

    assert response.status_code == 302
    assert "Cơ quan yêu cầu bổ sung hồ sơ" not in main_of(client.get(f"/ho-so-cua-toi/{dossier.code}"))
    assert open_task(ctx, actors["tiepnhan"], dossier.code).bpmn_id == "tiep_nhan"
    assert "cccd.pdf" in [a.filename for a in list_attachments(ctx, citizen, dossier.code)]


def test_the_citizen_rates_a_refused_dossier_once(ctx, client, login, citizen, actors):
    dossier = submit_dossier(ctx, citizen, HKD_SLUG, dict(APPLICANT), household_form())
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không thuộc thẩm quyền"})
    token = login("congdan")
    assert 'name="score"' in main_of(client.get(f"/ho-so-cua-toi/{dossier.code}"))

    client.post(f"/ho-so-cua-toi/{dossier.code}/danh-gia", data={"csrf_token": token, "score": "7"})
    assert "từ 1 đến 5" in main_of(client.get(f"/ho-so-cua-toi/{dossier.code}"))
    client.post(f"/ho-so-cua-toi/{dossier.code}/danh-gia", data={"csrf_token": token, "score": "4",
                                                                 "comment": HOSTILE})
    page = main_of(client.get(f"/ho-so-cua-toi/{dossier.code}"))
    assert "đã đánh giá 4/5" in page and HOSTILE not in page and 'name="score"' not in page


# --- public tracking: the signed result -----------------------------------------------------------


@pytest.fixture
def signing_ctx(ctx, test_ca, tmp_path):
    return with_connectors(ctx, local_signing=test_ca.local_signing_config(tmp_path / "sign-cache"))


def test_tracking_a_desk_dossier_offers_its_signed_result_to_whoever_brings_the_proof(signing_ctx, actors):
    desk = actors["tiepnhan"]
    dossier = submit_dossier(signing_ctx, desk, HKD_SLUG, dict(APPLICANT), household_form(), channel="desk")
    to_result(signing_ctx, actors, dossier.code)
    drain_all(signing_ctx)
    [signed] = [a for a in list_attachments(signing_ctx, desk, dossier.code) if a.kind == "ket-qua-ky-so"]
    [receipt] = [a for a in list_attachments(signing_ctx, desk, dossier.code) if a.kind == "giay-tiep-nhan"]
    client = create_app(ctx=signing_ctx, start_worker=False).test_client()

    page = main_of(client.get("/tra-cuu", query_string={"code": dossier.code, "secret": APPLICANT["id_number"]}))
    assert "Tải kết quả đã ký số" in page and signed.filename in page
    form = {"csrf_token": csrf_of(page), "code": dossier.code, "secret": APPLICANT["id_number"],
            "attachment_id": str(signed.id)}
    download = client.post("/tra-cuu/tai-ket-qua", data=form)

    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.get_data().startswith(b"%PDF") and b"/ByteRange" in download.get_data()
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Cache-Control"] == "private, no-store"
    # the proof is the tracking proof: a wrong one, or another of the dossier's files, gets nothing
    assert client.post("/tra-cuu/tai-ket-qua", data={**form, "secret": "0900000000"}).status_code == 404
    assert client.post("/tra-cuu/tai-ket-qua", data={**form, "attachment_id": str(receipt.id)}).status_code == 404
    assert client.post("/tra-cuu/tai-ket-qua", data={**form, "attachment_id": "x"}).status_code == 404
    assert client.post("/tra-cuu/tai-ket-qua", data={k: v for k, v in form.items()
                                                       if k != "csrf_token"}).status_code == 400


def test_tracking_offers_no_download_before_the_result_is_signed(ctx, client, citizen):
    dossier = submit_dossier(ctx, citizen, HKD_SLUG, dict(APPLICANT), household_form())

    page = main_of(client.get("/tra-cuu", query_string={"code": dossier.code, "secret": APPLICANT["phone"]}))

    assert dossier.code in page and "Tải kết quả đã ký số" not in page and "/tra-cuu/tai-ket-qua" not in page


# --- a start form with ui:steps -------------------------------------------------------------------

STEPPED = ("hkd-to-khai-nhieu-buoc", "0.test.to-khai-nhieu-buoc")
STEPS = [{"title": "Chủ hộ kinh doanh", "description": "Người đứng tên hộ kinh doanh.", "fields": ["chu_ho"]},
         {"title": "Thông tin hộ kinh doanh", "fields": ["ten_ho_kinh_doanh", "tru_so", "nganh_nghe", "von_kinh_doanh",
                                                         "so_lao_dong", "ngay_bat_dau", "thanh_vien", "cam_ket"]}]


@pytest.fixture
def stepped_procedure(ctx, tmp_path) -> str:
    """A copy of the household-business procedure (own slug and code) whose start form has two steps."""
    slug, code = STEPPED
    folder = tmp_path / "processes" / slug
    shutil.copytree(PROJECT_ROOT / "processes" / HKD_SLUG, folder)
    meta = json.loads((folder / "procedure.json").read_text(encoding="utf-8"))
    meta.update(code=code, name="Đăng ký hộ kinh doanh (tờ khai nhiều bước)")
    (folder / "procedure.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    ui_path = folder / "forms" / "de-nghi-uischema.json"
    ui = json.loads(ui_path.read_text(encoding="utf-8"))
    ui["ui:steps"] = STEPS
    ui_path.write_text(json.dumps(ui, ensure_ascii=False), encoding="utf-8")
    load_catalogue(ctx, folder.parent)
    return slug


def test_a_form_with_steps_shows_one_list_of_steps_the_wizards(client, login, stepped_procedure):
    login("congdan")

    page = main_of(client.get(f"/nop-ho-so/{stepped_procedure}"))

    assert page.count("<ol") == 1 and page.count('aria-current="step"') == 1
    steps = re.findall(r"<li[^>]*>(Bước \d+: [^<]+)</li>", page)
    assert steps == ["Bước 1: Chủ hộ kinh doanh", "Bước 2: Thông tin hộ kinh doanh", "Bước 3: Giấy tờ kèm theo",
                     "Bước 4: Xem lại và nộp"]
    assert "Bước 1/4: Chủ hộ kinh doanh" in page and "Bước 1/2" not in page  # one numbering
    assert page.count("Người đứng tên hộ kinh doanh.") == 1  # the step's description, once
    assert 'name="chu_ho.ho_ten"' in page and 'name="ten_ho_kinh_doanh"' not in page  # only this step's fields


def test_the_middle_of_the_rating_scale_reads_neutral_in_english_not_the_admins_normal(ctx, client, login,
                                                                                       citizen, actors):
    dossier = submit_dossier(ctx, citizen, HKD_SLUG, dict(APPLICANT), household_form())
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không thuộc"})
    login("congdan")

    english = main_of(client.get(f"/ho-so-cua-toi/{dossier.code}", headers={"Accept-Language": "en"}))
    vietnamese = main_of(client.get(f"/ho-so-cua-toi/{dossier.code}", headers={"Accept-Language": "vi"}))

    assert re.search(r'value="3" required> 3 — Neutral</label>', english) and "Normal" not in english
    assert re.search(r'value="3" required> 3 — Bình thường</label>', vietnamese)


# --- online fee: trying a failed payment again ---------------------------------------------------


def test_after_a_failed_payment_the_citizen_tries_again_from_my_dossiers_once_however_often_they_click(
        ctx, app, actors, payment_platform):
    from engine.outbox import drain
    from engine.services.payments import confirm, payment_of
    from tests.conftest import with_payment

    pay = with_payment(ctx, payment_platform)
    dossier = submit_dossier(pay, actors["congdan"], HKD_SLUG, dict(APPLICANT), household_form())
    drain(pay)
    first = payment_of(pay, dossier.code)
    payment_platform.pay(first.reference, "failed", deliver=False)
    confirm(pay, payment_platform.confirm_for(first.reference))
    client = create_app(ctx=pay, start_worker=False).test_client()
    form_token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    client.post("/dang-nhap", data={"username": "congdan", "password": "demo", "csrf_token": form_token})
    retry_url = f"/ho-so-cua-toi/{dossier.code}/thanh-toan-lai"

    listed = main_of(client.get("/ho-so-cua-toi"))
    assert "Thanh toán không thành công." in listed and f'action="{retry_url}"' in listed
    page = main_of(client.get(f"/ho-so-cua-toi/{dossier.code}"))
    assert f"Giao dịch thanh toán (mã {first.reference}) không thành công" in page
    assert f'name="thay_cho" value="{first.reference}"' in page and first.redirect_url not in page
    token = csrf_of(page)

    clicks = [client.post(retry_url, data={"csrf_token": token, "thay_cho": first.reference}) for _ in range(2)]
    assert [r.status_code for r in clicks] == [302, 302]
    assert clicks[0].headers["Location"].endswith(f"/ho-so-cua-toi/{dossier.code}#thanh-toan")
    starting = main_of(client.get(f"/ho-so-cua-toi/{dossier.code}"))
    assert "Hệ thống đang tạo giao dịch thanh toán mới" in starting and 'name="thay_cho"' not in starting
    drain(pay)
    second = payment_of(pay, dossier.code)
    assert second.reference != first.reference and len(payment_platform.transactions) == 2
    ready = main_of(client.get(f"/ho-so-cua-toi/{dossier.code}"))
    assert f'href="{second.redirect_url}"' in ready and "không thành công" not in ready
    assert f'name="thay_cho" value="{second.reference}"' in ready  # left unpaid, it can be replaced too
    assert f'href="{second.redirect_url}"' in main_of(client.get("/ho-so-cua-toi"))

    bad = client.post(retry_url, data={"csrf_token": token, "thay_cho": HOSTILE}, follow_redirects=True)
    assert "Không xác định được giao dịch cần thanh toán lại" in main_of(bad) and HOSTILE not in html_of(bad)
    other = create_app(ctx=pay, start_worker=False).test_client()
    other_token = csrf_of(other.get("/dang-nhap").get_data(as_text=True))
    other.post("/dang-nhap", data={"username": "congdan2", "password": "demo", "csrf_token": other_token})
    other_token = csrf_of(other.get("/ho-so-cua-toi").get_data(as_text=True))
    assert other.post(retry_url, data={"csrf_token": other_token, "thay_cho": second.reference}).status_code == 404
    assert len(payment_platform.transactions) == 2
