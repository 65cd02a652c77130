"""web/static/uploads.js in a real browser: a file that is too large or of the wrong type is reported
next to its field before anything is sent; a good file goes up with a progress bar and the wizard
moves on exactly as without the script."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.factories import HKD
from tests.web.browser.test_citizen_pages import PDF
from tests.web.browser.test_journey import citizen_fills_the_form

FIELD = '[name="giay_to.giay_de_nghi"]'


def to_documents_step(page) -> None:
    page.goto(f"/thu-tuc/{HKD}")
    page.get_by_role("link", name="Nộp trực tuyến").click()
    citizen_fills_the_form(page)


def test_a_bad_file_is_reported_at_once_and_a_good_one_goes_up_with_progress(page, console_errors):
    to_documents_step(page)
    field = page.locator(FIELD)
    limit = int(field.get_attribute("data-max-size"))
    sent = []
    page.on("request", lambda request: sent.append(request.method) if request.method == "POST" else None)

    field.set_input_files({"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" + b"0" * limit})
    error = page.locator(f"#{field.get_attribute('id')}-client-error")
    expect(error).to_contain_text("Tệp quá lớn")
    expect(field).to_have_attribute("aria-invalid", "true")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.locator(".wizard-now")).to_contain_text("Bước 2/3")  # nothing was sent
    assert sent == []

    field.set_input_files({"name": "ghi-chu.txt", "mimeType": "text/plain", "buffer": b"khong phai PDF"})
    expect(error).to_contain_text("Loại tệp không được chấp nhận")

    field.set_input_files({"name": "giay-de-nghi.pdf", "mimeType": "application/pdf", "buffer": PDF})
    expect(error).to_have_text("")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_text("giay-de-nghi.pdf")).to_be_visible()  # the review step shows the stored file
    assert sent == ["POST"]
    assert console_errors == []
