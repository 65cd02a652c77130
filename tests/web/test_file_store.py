"""The app keeping its files in a bucket (MOTCUA_FILE_STORE=s3://...) on a real S3 server over HTTP: a
citizen's upload goes there and comes back; with the endpoint gone, requests that need a file are
answered 503 in Vietnamese and nothing already saved is lost."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest

from engine.services import authenticate, get_draft, list_attachments, list_drafts, save_draft
from tests.conftest import with_object_store, with_store_down
from tests.factories import household_form
from tests.web.conftest import HKD_SLUG, _ensure_extra_users, log_in
from tests.web.test_citizen_pages import wizard_to_review
from tests.web.test_pages import main_of

PDF = b"%PDF-1.4\n% ban sao can cuoc cong dan\n%%EOF\n"
STORE_DOWN = "Kho lưu trữ tệp tạm thời không truy cập được"


@pytest.fixture
def bucket_ctx(ctx, s3_server):
    return with_object_store(ctx, s3_server)


@pytest.fixture
def app(bucket_ctx):
    from web import create_app

    _ensure_extra_users(bucket_ctx)
    return create_app(ctx=bucket_ctx, start_worker=False)


def app_with_store_down(ctx):
    """The same system with its object store's endpoint refusing every connection."""
    from web import create_app

    return create_app(ctx=with_store_down(ctx), start_worker=False)


def test_an_upload_goes_to_the_bucket_and_comes_back_from_it(ctx, bucket_ctx, client, login):
    token = login("congdan")
    in_folder = list(ctx.files.stored())
    draft_id, _review = wizard_to_review(client, token)
    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=3&nhap={draft_id}",
                           data={"csrf_token": token, "nhap": str(draft_id), "_nav": "submit"})
    assert response.status_code == 302
    code = urlsplit(response.headers["Location"]).path.split("/")[2]
    citizen = authenticate(ctx, "congdan", "demo")
    [upload] = [a for a in list_attachments(ctx, citizen, code) if a.kind == "upload"]

    assert bucket_ctx.files.exists(upload.sha256) and list(ctx.files.stored()) == in_folder
    download = client.get(f"/ho-so-cua-toi/{code}/tep/{upload.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")


def test_with_the_store_down_an_upload_is_answered_503_and_the_draft_is_kept(bucket_ctx):
    down = app_with_store_down(bucket_ctx)
    client = down.test_client()
    form_token = log_in(client, "congdan")
    citizen = authenticate(bucket_ctx, "congdan", "demo")
    draft = save_draft(bucket_ctx, citizen, HKD_SLUG, household_form(), step=2)

    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=2&nhap={draft.id}", content_type="multipart/form-data",
                           data={"csrf_token": form_token, "nhap": str(draft.id), "_nav": "next",
                                 "applicant.name": "Phạm Thị Công Dân", "applicant.phone": "0912345678",
                                 "giay_to.giay_de_nghi": (io.BytesIO(PDF), "de-nghi.pdf")})

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert STORE_DOWN in main_of(response)
    assert [d.id for d in list_drafts(bucket_ctx, citizen)] == [draft.id]
    kept = get_draft(bucket_ctx, citizen, draft.id)
    assert kept.step == 2 and kept.data["ten_ho_kinh_doanh"] == household_form()["ten_ho_kinh_doanh"]


def test_with_the_store_down_a_download_is_answered_503_in_json(bucket_ctx, client, login, token):
    login_token = login("congdan")
    draft_id, _review = wizard_to_review(client, login_token)
    response = client.post(f"/nop-ho-so/{HKD_SLUG}?buoc=3&nhap={draft_id}",
                           data={"csrf_token": login_token, "nhap": str(draft_id), "_nav": "submit"})
    code = urlsplit(response.headers["Location"]).path.split("/")[2]
    citizen = authenticate(bucket_ctx, "congdan", "demo")
    [upload] = [a for a in list_attachments(bucket_ctx, citizen, code) if a.kind == "upload"]

    down = app_with_store_down(bucket_ctx).test_client()
    answer = down.get(f"/api/v1/dossiers/{code}/attachments/{upload.id}",
                      headers={"Authorization": f"Bearer {token('congdan')}"})

    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert answer.get_json()["error"] == "StoreUnavailable" and STORE_DOWN in answer.get_json()["message"]
    assert [a.id for a in list_attachments(bucket_ctx, citizen, code) if a.kind == "upload"] == [upload.id]
