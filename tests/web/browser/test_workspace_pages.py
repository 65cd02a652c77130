"""The officials' workspace in a real browser: the desk filters its inbox, claims and receives a
dossier; the leader gives another task to a colleague. Screenshots of the three pages."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.services import get_task
from tests.factories import open_task, submit


def log_in(page, username: str) -> None:
    page.goto("/dang-nhap")
    page.locator("#username").fill(username)
    page.locator("#password").fill("demo")
    page.locator("main").get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(re.compile(r"/cong-viec$"))


def test_the_desk_receives_a_dossier_from_the_inbox_and_a_leader_reassigns_another(
    ctx, app, actors, page, console_errors, screenshot
):
    received, waiting = submit(ctx, actors["congdan"]), submit(ctx, actors["congdan"])

    log_in(page, "tiepnhan")
    page.get_by_label("Tìm theo mã hồ sơ, tên hoặc số điện thoại người nộp").fill(received.code)
    page.get_by_role("button", name="Lọc").click()
    results = page.locator("#inbox-results")
    expect(results.get_by_role("link", name=received.code)).to_be_visible()
    expect(results.get_by_role("link", name=waiting.code)).to_have_count(0)
    expect(page).to_have_url(re.compile(r"q=" + re.escape(received.code)))
    results.get_by_role("button", name=f"Nhận {received.code}").click()
    expect(results).to_contain_text("Tôi đang xử lý")
    screenshot("workspace-inbox")

    results.get_by_role("link", name=received.code).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tiếp nhận và kiểm tra hồ sơ")
    expect(page.get_by_role("heading", name="Quá trình xử lý (phiếu kiểm soát)")).to_be_visible()
    screenshot("workspace-task")
    page.get_by_label("Tiếp nhận", exact=True).check()
    page.get_by_role("button", name="Hoàn thành").click()
    expect(page.locator(".flash")).to_contain_text("Đã hoàn thành: Tiếp nhận và kiểm tra hồ sơ")

    page.get_by_role("button", name="Đăng xuất").click()
    log_in(page, "lanhdao")
    page.get_by_role("navigation", name="Điều hướng chính").get_by_role("link", name="Phân công").click()
    page.get_by_role("link", name=f"Giao lại {waiting.code}").click()
    page.get_by_label("Giao cho").select_option(label="Bùi Văn Một Cửa (một cửa)")
    page.get_by_label("Lý do", exact=True).first.fill("Cân đối công việc trong ngày")
    page.locator("#giao-lai").get_by_role("button", name="Giao lại").click()
    expect(page.locator(".flash")).to_contain_text(f"của hồ sơ {waiting.code}")
    screenshot("workspace-assign")

    task = open_task(ctx, actors["tiepnhan"], waiting.code)
    assert get_task(ctx, actors["tiepnhan"], task.id).assignee_id == actors["tiepnhan2"].id
    assert console_errors == [], "the pages reported errors (a CSP violation?)"


def test_the_inbox_marks_in_words_the_tasks_that_arrived_since_the_last_visit(ctx, actors, page, screenshot):
    seen = submit(ctx, actors["congdan"])
    log_in(page, "tiepnhan")  # the inbox, shown: what is in it now is seen
    fresh = submit(ctx, actors["congdan"])

    page.reload()

    results = page.locator("#inbox-results")
    new_row = results.get_by_role("row").filter(has=page.get_by_role("link", name=fresh.code))
    old_row = results.get_by_role("row").filter(has=page.get_by_role("link", name=seen.code))
    expect(new_row.locator(".new-tag")).to_be_visible()
    expect(new_row.locator(".new-tag")).to_have_text("Mới: đến sau lần xem hộp công việc trước")  # read aloud
    expect(old_row.locator(".new-tag")).to_have_count(0)
    screenshot("workspace-inbox-new")
    page.reload()
    expect(new_row.locator(".new-tag")).to_have_count(0)
