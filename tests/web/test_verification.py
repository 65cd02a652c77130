"""The public verification page and API answer in Vietnamese and never fail on bad input."""

from __future__ import annotations

import io

from integrations.signing import sample_pdf


def test_the_verify_api_reports_an_unsigned_pdf_and_refuses_an_empty_upload(api):
    response = api.post("/api/v1/verify", data={"file": (io.BytesIO(sample_pdf()), "ket-qua.pdf")},
                        content_type="multipart/form-data")
    assert response.status_code == 200
    body = response.get_json()
    assert body["signed"] is False and body["valid"] is False
    empty = api.post("/api/v1/verify", data={}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "PDF" in empty.get_json()["fields"]["file"][0]


def test_verification_codes_are_checked_and_unknown_ones_are_404(api):
    bad = api.get("/api/v1/verify/xyz")
    assert bad.status_code == 400 and "12 ký tự" in bad.get_json()["fields"]["code"][0]
    assert api.get("/api/v1/verify/04HM-ASW9-NF6Y").status_code == 404


def test_the_verification_page_works_without_an_account(client):
    page = client.get("/xac-thuc")
    assert page.status_code == 200 and "Xác thực văn bản điện tử" in page.get_data(as_text=True)
    missing = client.get("/xac-thuc?code=04HM-ASW9-NF6Y")
    assert missing.status_code == 400 and "Không tìm thấy văn bản" in missing.get_data(as_text=True)
