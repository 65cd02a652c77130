"""Smoke test in a real browser: the home page, logging in at the desk, the inbox."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.factories import submit


def test_a_desk_official_logs_in_from_the_home_page_and_finds_the_dossier_in_the_inbox(
    ctx, actors, page, console_errors, screenshot
):
    dossier = submit(ctx, actors["congdan"])

    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Danh mục thủ tục hành chính")
    assert page.evaluate("typeof window.htmx") == "object", "htmx did not load from /static/vendor/"
    screenshot("home")

    menu = page.get_by_role("navigation", name="Điều hướng chính")
    menu.get_by_role("link", name="Đăng nhập").click()
    page.locator("#username").fill("tiepnhan")
    page.locator("#password").fill("demo")
    page.locator("main").get_by_role("button", name="Đăng nhập").click()

    expect(page).to_have_url(re.compile(r"/cong-viec$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Công việc của tôi")
    expect(page.get_by_role("link", name=dossier.code)).to_be_visible()
    expect(menu).to_contain_text("Nguyễn Thị Tiếp Nhận")
    screenshot("inbox")
    assert console_errors == [], "the pages reported errors (a CSP violation?)"
