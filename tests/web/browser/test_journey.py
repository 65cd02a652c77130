"""The whole life of a household-business dossier, as the four people involved live it, each in a
browser of their own: the citizen submits with a PDF, the desk asks for one more document, the
citizen uploads it, the desk receives, the specialist appraises, the leader approves and the result
is signed; the citizen downloads the signed certificate and rates the service, and the same certificate
comes from public tracking by code and phone number, without an account.

Everything moves through the pages; the engine is only read, to check what the pages said.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from engine.services import get_dossier, list_attachments
from tests.conftest import with_connectors
from tests.factories import household_form, statuses
from tests.web.browser.conftest import VIEWPORT
from tests.web.browser.test_citizen_pages import PDF, fill_form
from tests.web.browser.test_workspace_pages import log_in

HKD = "dang-ky-ho-kinh-doanh"
MISSING = "Bản sao biên bản họp thành viên hộ gia đình"
SUPPLEMENT_PDF = b"%PDF-1.4\n% bien ban hop thanh vien\n%%EOF\n"
#: Rendering and signing the result run in the app's in-process worker, not in the request.
WORKER_TIMEOUT = 30.0


@pytest.fixture
def ctx(ctx, test_ca, tmp_path):
    """The test context with a signing connector (a throw-away CA), so the result is signed as in
    production; the live server and the worker run on it."""
    return with_connectors(ctx, local_signing=test_ca.local_signing_config(tmp_path / "sign-cache"))


@pytest.fixture
def person(chromium, live_server, console_errors):
    """`person(username)`: a page in a browser context of its own (its own cookies), logged in."""
    contexts = []

    def open_as(username: str) -> Page:
        context = chromium.new_context(base_url=live_server, viewport=VIEWPORT, locale="vi-VN")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: console_errors.append(str(error)))
        log_in(page, username)
        return page

    yield open_as
    for context in contexts:
        context.close()


def open_task_from_inbox(page: Page, code: str, title: str) -> None:
    page.goto("/cong-viec")
    page.locator("#inbox-results").get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def complete(page: Page, title: str) -> None:
    page.get_by_role("button", name="Hoàn thành").click()
    expect(page.locator(".flash")).to_contain_text(f"Đã hoàn thành: {title}")


def reload_until_visible(page: Page, locator, timeout: float = WORKER_TIMEOUT) -> None:
    """Reload until the worker's output shows on the page, as a person presses F5."""
    deadline = time.monotonic() + timeout
    while not locator.is_visible():
        assert time.monotonic() < deadline, f"not shown after {timeout:g} s: {locator}"
        page.wait_for_timeout(250)
        page.reload()


def citizen_fills_the_form(page: Page) -> None:
    """From the login page the wizard sends a citizen to: log in as congdan, fill the household form,
    arrive at the documents step."""
    page.locator("#username").fill("congdan")
    page.locator("#password").fill("demo")
    page.locator("main").get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nộp hồ sơ trực tuyến")
    fill_form(page, household_form(nganh_nghe=household_form()["nganh_nghe"][:1], thanh_vien=[]))
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.locator(".wizard-now")).to_contain_text("Bước 2/3")


def citizen_submits(page: Page) -> str:
    page.goto(f"/thu-tuc/{HKD}")
    page.get_by_role("link", name="Nộp trực tuyến").click()
    citizen_fills_the_form(page)
    page.locator('[name="giay_to.giay_de_nghi"]').set_input_files(
        {"name": "giay-de-nghi.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.locator(".wizard-now")).to_contain_text("Bước 3/3")
    expect(page.get_by_text("giay-de-nghi.pdf")).to_be_visible()
    page.get_by_role("button", name="Nộp hồ sơ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Biên nhận hồ sơ nộp trực tuyến")
    return page.locator(".receipt .code").inner_text()


def test_a_dossier_goes_from_submission_through_a_supplement_to_a_signed_result_and_a_rating(
    ctx, actors, page, person, chromium, live_server, console_errors, screenshot
):
    citizen = page
    code = citizen_submits(citizen)

    # The desk finds the dossier short of one document and lists it, once.
    desk = person("tiepnhan")
    open_task_from_inbox(desk, code, "Tiếp nhận và kiểm tra hồ sơ")
    expect(desk.get_by_role("link", name="giay-de-nghi.pdf")).to_be_visible()
    desk.get_by_label("Yêu cầu bổ sung", exact=True).check()
    desk.get_by_role("button", name=re.compile(r"^Thêm ")).click()
    desk.locator('[name="giay_to_thieu.0"]').fill(MISSING)
    expect(desk.get_by_label("Yêu cầu bổ sung", exact=True)).to_be_checked()
    screenshot("journey-supplement-request", of=desk)
    complete(desk, "Tiếp nhận và kiểm tra hồ sơ")

    # The citizen sees what is asked and uploads it.
    citizen.goto("/ho-so-cua-toi")
    row = citizen.get_by_role("row").filter(has=citizen.get_by_role("link", name=code))
    expect(row).to_contain_text("Yêu cầu bổ sung giấy tờ")
    row.get_by_role("link", name=code).click()
    expect(citizen.locator(".timeline")).to_contain_text("Cần bổ sung hồ sơ")
    expect(citizen.get_by_role("heading", name="Cơ quan yêu cầu bổ sung hồ sơ")).to_be_visible()
    citizen.get_by_label(MISSING).set_input_files(
        {"name": "bien-ban-hop.pdf", "mimeType": "application/pdf", "buffer": SUPPLEMENT_PDF})
    citizen.get_by_label("Nội dung bổ sung, hoàn thiện").fill("Đã bổ sung biên bản họp thành viên hộ gia đình.")
    screenshot("journey-citizen-supplement", of=citizen)
    citizen.get_by_role("button", name="Gửi bổ sung").click()
    expect(citizen.get_by_role("heading", name="Cơ quan yêu cầu bổ sung hồ sơ")).to_have_count(0)
    expect(citizen.get_by_role("link", name="bien-ban-hop.pdf")).to_be_visible()

    # The same desk official gets it back, with the new file, and receives it.
    open_task_from_inbox(desk, code, "Tiếp nhận và kiểm tra hồ sơ")
    expect(desk.get_by_role("link", name="bien-ban-hop.pdf")).to_be_visible()
    desk.get_by_label("Tiếp nhận", exact=True).check()
    complete(desk, "Tiếp nhận và kiểm tra hồ sơ")

    specialist = person("chuyenvien")
    open_task_from_inbox(specialist, code, "Thẩm định hồ sơ")
    specialist.get_by_label("Đủ điều kiện – trình ký Giấy chứng nhận").check()
    specialist.get_by_label("Ý kiến thẩm định").fill("Đủ điều kiện đăng ký hộ kinh doanh.")
    complete(specialist, "Thẩm định hồ sơ")

    leader = person("lanhdao")
    open_task_from_inbox(leader, code, "Phê duyệt và ký")
    leader.get_by_label("Đồng ý").check()
    screenshot("journey-leader-approval", of=leader)
    complete(leader, "Phê duyệt và ký")

    # The worker renders and signs the certificate; the citizen downloads it and rates.
    citizen.goto(f"/ho-so-cua-toi/{code}")
    signed = citizen.get_by_role("listitem").filter(has_text="Kết quả giải quyết (đã ký số)").get_by_role("link")
    reload_until_visible(citizen, signed)
    with citizen.expect_download() as download:
        signed.click()
    assert download.value.suggested_filename == f"ket-qua-{code}-da-ky-so.pdf"
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF") and b"/ByteRange" in pdf, "the result is not a signed PDF"

    citizen.get_by_label("5 — Rất hài lòng").check()
    citizen.get_by_label("Góp ý (không bắt buộc)").fill("Nhanh, đúng hẹn.")
    citizen.get_by_role("button", name="Gửi đánh giá").click()
    expect(citizen.locator(".flash")).to_contain_text("Cảm ơn Ông/Bà đã đánh giá.")
    expect(citizen.locator("#danh-gia")).to_contain_text("Ông/Bà đã đánh giá 5/5. «Nhanh, đúng hẹn.»")
    screenshot("journey-result-and-rating", of=citizen)

    # Anyone with the code and the phone number, without an account, gets the same signed result.
    household_phone = get_dossier(ctx, actors["congdan"], code, with_data=True).data["applicant"]["phone"]
    anonymous = chromium.new_context(base_url=live_server, viewport=VIEWPORT, locale="vi-VN")
    try:
        tracker = anonymous.new_page()
        tracker.goto("/tra-cuu")
        tracker.get_by_label("Mã hồ sơ").fill(code)
        tracker.get_by_label("Số điện thoại hoặc số định danh đã khai khi nộp").fill(household_phone)
        tracker.get_by_role("button", name="Tra cứu").click()
        with tracker.expect_download() as tracked:
            tracker.get_by_role("button", name=re.compile("^Tải kết quả đã ký số")).click()
        assert tracked.value.path().read_bytes() == pdf
    finally:
        anonymous.close()

    dossier = get_dossier(ctx, actors["congdan"], code)
    assert dossier.rating["score"] == 5
    assert "supplement_requested" in statuses(ctx, actors["congdan"], code)
    kinds = {a.kind for a in list_attachments(ctx, actors["congdan"], code)}
    assert {"upload", "phieu-yeu-cau-bo-sung", "ket-qua-ky-so"} <= kinds
    assert console_errors == [], "the pages reported errors (a CSP violation?)"
