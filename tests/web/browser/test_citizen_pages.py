"""A citizen in a real browser: search the catalogue, submit a household business through the wizard
with a PDF, read the receipt, track the dossier without an account."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.factories import APPLICANT
from tests.web.test_pages import posted_fields

PDF = b"%PDF-1.4\n% giay de nghi\n%%EOF\n"


def fill_form(page, data) -> None:
    for name, value in posted_fields(data).items():
        field = page.locator(f'[name="{name}"]').first
        kind = field.evaluate("e => e.type")
        if field.evaluate("e => e.readOnly || e.disabled"):
            continue
        if kind == "checkbox":
            field.check()
        elif kind == "radio":
            page.locator(f'[name="{name}"][value="{value}"]').check()
        elif kind.startswith("select"):
            field.select_option(value)
        else:
            field.fill(value)


def test_a_citizen_finds_the_procedure_submits_online_and_tracks_it(page, console_errors, screenshot):
    page.goto("/thu-tuc")
    page.get_by_label("Tìm theo tên thủ tục hoặc mã TTHC").fill("ho kinh doanh")
    page.get_by_role("button", name="Tìm kiếm").click()
    # htmx swaps the results in, once or twice (the typing's own delayed search may go first): the
    # unfiltered list shows the link too, so wait until no search is on its way any more
    expect(page.get_by_role("search")).not_to_have_class(re.compile(r"\bhtmx-request\b"))
    link = page.get_by_role("link", name="Đăng ký thành lập hộ kinh doanh")
    expect(link).to_be_visible()
    screenshot("citizen-catalogue")
    link.click()
    expect(page.get_by_text("3 ngày làm việc")).to_be_visible()
    page.get_by_role("link", name="Nộp trực tuyến").click()
    from tests.web.browser.test_journey import citizen_fills_the_form

    citizen_fills_the_form(page)
    page.locator('[name="giay_to.giay_de_nghi"]').set_input_files(
        {"name": "giay-de-nghi.pdf", "mimeType": "application/pdf", "buffer": PDF})
    screenshot("citizen-wizard-documents")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.get_by_text("giay-de-nghi.pdf")).to_be_visible()
    page.get_by_role("button", name="Nộp hồ sơ").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Biên nhận hồ sơ nộp trực tuyến")
    code = page.locator(".receipt .code").inner_text()
    assert re.fullmatch(r"000\.00\.21\.H99-\d{6}-\d{4}", code)
    expect(page.get_by_role("img", name=re.compile("Mã QR"))).to_be_visible()
    screenshot("citizen-receipt")

    page.goto("/tra-cuu")
    page.get_by_label("Mã hồ sơ").fill(code)
    page.get_by_label("Số điện thoại hoặc số định danh đã khai khi nộp").fill(APPLICANT["phone"])
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.get_by_role("heading", name=f"Hồ sơ {code}")).to_be_visible()
    screenshot("citizen-tracking")
    assert console_errors == [], "the pages reported errors (a CSP violation?)"
