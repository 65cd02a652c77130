"""A citizen pays a dossier's fee in a real browser: "Hồ sơ của tôi" offers the payment button, the
national payment platform (its simulator, on loopback) takes the payment on its own page and
confirms it to our callback for real, and the dossier goes on to the desk's reception."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.services import get_dossier
from tests.conftest import with_payment
from tests.factories import open_task, submit
from tests.web.browser.test_journey import reload_until_visible
from tests.web.browser.test_workspace_pages import log_in


@pytest.fixture
def ctx(ctx, payment_platform):
    """The test context with online payment connected to the platform's simulator; the live server
    and its worker run on it."""
    return with_payment(ctx, payment_platform)


def test_a_citizen_pays_the_fee_on_the_platform_and_the_dossier_goes_on_to_reception(
    ctx, actors, page, live_server, payment_platform, console_errors, screenshot
):
    payment_platform.callback_url = f"{live_server}/api/v1/payments/confirm"
    dossier = submit(ctx, actors["congdan"])  # household business online: 100.000 đ lệ phí

    log_in(page, "congdan")
    page.goto("/ho-so-cua-toi")
    pay = page.get_by_role("link", name=f"Thanh toán trực tuyến hồ sơ {dossier.code}")
    reload_until_visible(page, pay)  # the worker asks the platform for the payment first
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=dossier.code, exact=True))
    expect(row).to_contain_text("Yêu cầu thực hiện nghĩa vụ tài chính")
    screenshot("citizen-payment-button")
    assert console_errors == [], "our pages reported errors (a CSP violation?)"

    pay.click()  # the platform's own page, on its own origin
    expect(page.get_by_role("heading", name="Thanh toán phí, lệ phí")).to_be_visible()
    expect(page.get_by_text("Số tiền: 100,000 VND")).to_be_visible()
    page.get_by_role("button", name="Thanh toán", exact=True).click()
    expect(page.get_by_role("heading", name="Giao dịch thành công")).to_be_visible()
    [delivery] = payment_platform.callbacks  # the platform told our app, over HTTP, and liked the reply
    assert delivery.status == 200 and delivery.reply_valid and delivery.reply["MaLoi"] == "00", delivery

    console_errors.clear()
    page.goto("/ho-so-cua-toi")
    expect(page.get_by_role("link", name=dossier.code, exact=True)).to_be_visible()
    expect(pay).to_have_count(0)
    page.get_by_role("link", name=dossier.code, exact=True).click()
    paid = page.locator("section", has=page.get_by_role("heading", name="Nộp phí, lệ phí"))
    expect(paid).to_contain_text("Đã nộp 100.000 đ trực tuyến")
    expect(paid).to_contain_text("Hồ sơ đã chuyển đến bộ phận một cửa để tiếp nhận.")
    expect(page.get_by_role("link", name="Thanh toán trực tuyến")).to_have_count(0)
    screenshot("citizen-payment-done")

    assert open_task(ctx, actors["tiepnhan"], dossier.code).bpmn_id == "tiep_nhan"
    history = get_dossier(ctx, actors["congdan"], dossier.code).history
    assert [e["data"]["state"] for e in history if e["kind"] == "payment"] == ["paid"]
    assert console_errors == [], "our pages reported errors (a CSP violation?)"


def test_a_citizen_whose_payment_failed_tries_again_with_a_double_click_and_pays_once(
    ctx, actors, page, live_server, payment_platform, console_errors, screenshot
):
    payment_platform.callback_url = f"{live_server}/api/v1/payments/confirm"
    dossier = submit(ctx, actors["congdan"])

    log_in(page, "congdan")
    page.goto("/ho-so-cua-toi")
    pay = page.get_by_role("link", name=f"Thanh toán trực tuyến hồ sơ {dossier.code}")
    reload_until_visible(page, pay)
    pay.click()
    first = page.get_by_text("Mã tham chiếu:").inner_text()
    page.get_by_role("button", name="Hủy giao dịch").click()  # the payment fails on the platform
    expect(page.get_by_role("heading", name="Giao dịch không thành công")).to_be_visible()

    page.goto("/ho-so-cua-toi")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=dossier.code, exact=True))
    expect(row).to_contain_text("Yêu cầu thực hiện nghĩa vụ tài chính")
    expect(row).to_contain_text("Thanh toán không thành công.")
    expect(pay).to_have_count(0)
    screenshot("citizen-payment-failed")
    row.get_by_role("button", name=f"Thanh toán lại hồ sơ {dossier.code}").dblclick()  # an impatient citizen

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ {dossier.code}")
    again = page.get_by_role("link", name="Thanh toán trực tuyến")
    reload_until_visible(page, again)  # the worker opens the new attempt on the platform
    again.click()
    expect(page.get_by_text("Mã tham chiếu:")).not_to_have_text(first)
    page.get_by_role("button", name="Thanh toán", exact=True).click()
    expect(page.get_by_role("heading", name="Giao dịch thành công")).to_be_visible()

    console_errors.clear()
    page.goto(f"/ho-so-cua-toi/{dossier.code}")
    paid = page.locator("section", has=page.get_by_role("heading", name="Nộp phí, lệ phí"))
    expect(paid).to_contain_text("Đã nộp 100.000 đ trực tuyến")
    expect(page.get_by_text("Trạng thái: Mới đăng ký")).to_be_visible()  # waiting for reception again
    expect(page.locator("ol.timeline")).to_contain_text("Đã nộp lệ phí")
    expect(page.get_by_role("button", name="Thanh toán lại")).to_have_count(0)
    screenshot("citizen-payment-retried")

    states = sorted(t["state"] for t in payment_platform.transactions.values())
    assert states == ["failed", "paid"], payment_platform.transactions  # two clicks, one new attempt
    assert open_task(ctx, actors["tiepnhan"], dossier.code).bpmn_id == "tiep_nhan"
    history = get_dossier(ctx, actors["congdan"], dossier.code).history
    assert [e["kind"] for e in history].count("payment_retry") == 1
    assert console_errors == [], "our pages reported errors (a CSP violation?)"
