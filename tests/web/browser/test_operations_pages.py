"""The admin's monitoring and operations pages in a real browser, as an admin goes through them: the
month's dashboard and the dossiers behind a figure, where dossiers wait on the BPMN diagram, one
dossier found by its code, suspended while its official tries to finish a task, resumed, its audit
trail, and the health page. Screenshots of each (docs/screenshots/ with MOTCUA_SCREENSHOTS=1).

The dossiers are worked through the service layer at chosen moments of November 2026 (the test
clock of the report tests), so the steps take working hours and the heat view has something to
show. They are written before the live server starts: the clock never meets its worker thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from engine.outbox import drain
from engine.reports import rollup
from engine.services import rate_dossier, submit_dossier
from tests.engine.reports.clock import TestClock
from tests.factories import APPLICANT, HKD, household_form, open_task, work
from tests.web.browser.conftest import VIEWPORT
from tests.web.browser.test_accessibility import charts_drawn, log_in

NOVEMBER = ("2026-11-01", "2026-11-30")
ACCEPT = {"ket_qua_tiep_nhan": "tiep_nhan"}
REVIEWED = {"ket_qua_tham_dinh": "dat", "y_kien": "Đủ điều kiện"}
APPROVED = {"quyet_dinh": "dong_y"}
RETURNED = {"hinh_thuc_tra": "truc_tiep"}
REFUSED = {"ket_qua_tiep_nhan": "tu_choi", "ly_do_tu_choi": "Không thuộc thẩm quyền"}
REVIEW = "Thẩm định hồ sơ"
REASON = "Nghi giả mạo chữ ký trên giấy đề nghị, chờ xác minh"
#: how the admin's own requests are recorded (the live server listens on loopback)
LOOPBACK = "ip:127.0.0.1"


@dataclass(frozen=True)
class History:
    """Six household-business dossiers of November 2026 (agency 000.00.21.H99), by letter:
    A online, received, returned early, rated 5; B online, a slow review, returned late, rated 3;
    C at the desk, returned early, rated 4; D online, refused at reception; E online, received,
    waiting for the specialist's review (the one the admin suspends); F online, waiting at the desk."""

    codes: dict[str, str]

    def __getitem__(self, letter: str) -> str:
        return self.codes[letter]


def finish(ctx, who, code: str, clock: TestClock, reviewed: tuple, approved: tuple, returned: tuple) -> None:
    """Review, approve (the result notice goes out through the outbox) and return the result."""
    clock.set(*reviewed)
    work(ctx, who["chuyenvien"], code, REVIEWED)
    clock.set(*approved)
    work(ctx, who["lanhdao"], code, APPROVED)
    drain(ctx)
    clock.set(*returned)
    work(ctx, who["tiepnhan"], code, RETURNED)


@pytest.fixture
def history(ctx, actors) -> History:
    congdan, desk = actors["congdan"], actors["tiepnhan"]
    codes = {}
    with pytest.MonkeyPatch.context() as patch:
        clock = TestClock(patch)

        def submitted(letter: str, by, *moment: int) -> str:
            clock.set(*moment)
            codes[letter] = submit_dossier(ctx, by, HKD, dict(APPLICANT), household_form()).code
            return codes[letter]

        def received(letter: str, *moment: int) -> None:
            clock.set(*moment)
            work(ctx, desk, codes[letter], ACCEPT)

        submitted("A", congdan, 2026, 11, 2, 8)
        received("A", 2026, 11, 2, 9)
        finish(ctx, actors, codes["A"], clock, (2026, 11, 3, 10), (2026, 11, 3, 15), (2026, 11, 4, 9))
        rate_dossier(ctx, congdan, codes["A"], 5)

        submitted("B", congdan, 2026, 11, 9, 8)
        received("B", 2026, 11, 9, 14)
        finish(ctx, actors, codes["B"], clock, (2026, 11, 12, 16), (2026, 11, 13, 10), (2026, 11, 16, 9))
        rate_dossier(ctx, congdan, codes["B"], 3)

        submitted("C", desk, 2026, 11, 10, 8)
        received("C", 2026, 11, 10, 8, 30)
        finish(ctx, actors, codes["C"], clock, (2026, 11, 11, 9), (2026, 11, 11, 11), (2026, 11, 11, 14))
        rate_dossier(ctx, None, codes["C"], 4, proof=APPLICANT["phone"])

        submitted("D", congdan, 2026, 11, 18, 8)
        clock.set(2026, 11, 18, 9)
        work(ctx, desk, codes["D"], REFUSED)

        submitted("E", congdan, 2026, 11, 19, 8)
        received("E", 2026, 11, 19, 10)
        submitted("F", congdan, 2026, 11, 23, 8)
        drain(ctx)
    rollup.rebuild(ctx)  # the report tables from this history alone, whatever an earlier test left
    return History(codes)


@pytest.fixture
def live_server(history, live_server):
    """The app's server, started once the history is written."""
    return live_server


@pytest.fixture
def official(chromium, live_server, console_errors):
    """The specialist (chuyenvien), logged in, in a browser context of their own."""
    context = chromium.new_context(base_url=live_server, viewport=VIEWPORT, locale="vi-VN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    log_in(page, "chuyenvien")
    yield page
    context.close()


def unexpected(console_errors: list[str]) -> list[str]:
    """What the pages reported beyond the status of the official's completion refused on purpose (409)."""
    return [e for e in console_errors
            if not e.startswith("Failed to load resource: the server responded with a status of 409")]


def diagram(page: Page):
    """The BPMN viewer once it has drawn the diagram and its marks."""
    viewer = page.locator(".bpmn-viewer[data-viewer-state='ready']")
    expect(viewer).to_have_count(1)
    return viewer


def element(viewer, bpmn_id: str):
    """A diagram element's SVG group (bpmn-js puts the marks' classes on it)."""
    return viewer.locator(f"g.djs-element[data-element-id='{bpmn_id}']")


def listed_codes(page: Page) -> list[str]:
    return [code.strip() for code in page.locator("table.report-dossiers tbody th").all_inner_texts()]


def test_an_admin_reads_the_reports_then_suspends_resumes_and_audits_a_dossier(
    ctx, actors, history, page, official, console_errors, screenshot
):
    log_in(page, "quantri")
    reads_the_dashboard_and_the_dossiers_behind_a_figure(page, history, screenshot)
    sees_where_dossiers_wait(page, screenshot)
    suspends_while_the_official_works_then_resumes(ctx, actors, page, official, history["E"], screenshot)
    reads_the_audit_trail(page, history["E"], official_name=actors["chuyenvien"].full_name, screenshot=screenshot)
    checks_the_health_page(page, screenshot)
    assert unexpected(console_errors) == [], "the pages reported errors (a CSP violation?)"


def reads_the_dashboard_and_the_dossiers_behind_a_figure(page: Page, history: History, screenshot) -> None:
    page.goto("/quan-tri/bao-cao")
    page.get_by_label("Từ ngày").fill(NOVEMBER[0])
    page.get_by_label("Đến ngày").fill(NOVEMBER[1])
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator(".report-scope")).to_contain_text("Kỳ báo cáo: 01/11/2026 – 30/11/2026")
    figure = page.locator("table.report-figures tr").filter(has=page.locator("th", has_text=re.compile(r"^Hồ sơ tiếp nhận$")))
    expect(figure.get_by_role("link")).to_have_text("4")  # A, B, C, E; D was refused, F not received yet
    resolved = page.locator("table.report-figures tr").filter(has=page.locator("th", has_text=re.compile(r"^Đã giải quyết$")))
    expect(resolved.get_by_role("link")).to_have_text("3")
    expect(page.locator("canvas[data-chart]")).to_have_count(3)
    charts_drawn(page)
    screenshot("reports-dashboard")

    figure.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ tiếp nhận")
    expect(page.locator(".report-total")).to_have_text("Có 4 hồ sơ.")
    assert sorted(listed_codes(page)) == sorted(history[letter] for letter in "ABCE")


def sees_where_dossiers_wait(page: Page, screenshot) -> None:
    page.get_by_role("navigation", name="Các trang báo cáo").get_by_role("link", name="Thời gian theo bước").click()
    page.get_by_label("Thủ tục").select_option(label="Đăng ký thành lập hộ kinh doanh")
    page.get_by_role("button", name="Xem báo cáo").click()
    viewer = diagram(page)
    # B's three-day review makes the review the slowest step; E waits there and F at the desk.
    expect(element(viewer, "tham_dinh")).to_have_class(re.compile(r"\breport-heat-5\b"))
    expect(element(viewer, "tham_dinh")).to_have_class(re.compile(r"\breport-waiting\b"))
    expect(element(viewer, "tiep_nhan")).to_have_class(re.compile(r"\breport-waiting\b"))
    expect(element(viewer, "tiep_nhan")).not_to_have_class(re.compile(r"\breport-heat-5\b"))
    review_row = page.locator("table.report-steps tr").filter(has=page.locator("code", has_text="tham_dinh"))
    expect(review_row.locator("td").nth(1)).to_have_text("3")  # completed in the period: A, B, C
    expect(review_row.locator("td").nth(3)).to_have_text("5/5")
    screenshot("reports-steps")


def suspends_while_the_official_works_then_resumes(ctx, actors, page: Page, official: Page, code: str,
                                                   screenshot) -> None:
    # The specialist has E's review open and has written an opinion.
    official.goto("/cong-viec")
    official.locator("#inbox-results").get_by_role("link", name=code).click()
    expect(official.get_by_role("heading", level=1)).to_have_text(REVIEW)
    official.get_by_label("Đủ điều kiện – trình ký Giấy chứng nhận").check()
    official.get_by_label("Ý kiến thẩm định").fill("Đủ điều kiện đăng ký hộ kinh doanh.")

    # The admin finds the dossier by its code: the diagram shows it waiting at the review.
    page.goto("/quan-tri/ho-so")
    page.get_by_label("Mã hồ sơ").fill(code)
    page.get_by_role("button", name="Tìm", exact=True).click()
    results = page.locator("table.operations-instances tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Đang chạy")
    results.first.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Quy trình của hồ sơ {code}")
    viewer = diagram(page)
    expect(element(viewer, "tham_dinh")).to_have_class(re.compile(r"\bstudio-current\b"))
    expect(element(viewer, "tiep_nhan")).to_have_class(re.compile(r"\bstudio-path\b"))
    expect(viewer.locator("g.djs-element.studio-current")).to_have_count(1)

    page.get_by_label("Lý do tạm dừng (bắt buộc, tối đa 500 ký tự)").fill(REASON)
    page.get_by_role("button", name="Tạm dừng", exact=True).click()
    expect(page.locator(".flash")).to_have_text(f"Đã tạm dừng quy trình của hồ sơ {code}.")
    expect(page.locator("#instance-state")).to_have_text("Đang tạm dừng")
    expect(page.get_by_text(f"Lý do: {REASON}")).to_be_visible()
    diagram(page)
    screenshot("operations-instance")

    # Meanwhile the specialist cannot finish the review, and loses nothing they typed.
    official.get_by_role("button", name="Hoàn thành").click()
    expect(official.locator("main .error[role=alert]")).to_contain_text("Hồ sơ đang bị quản trị viên tạm dừng")
    expect(official.get_by_label("Ý kiến thẩm định")).to_have_value("Đủ điều kiện đăng ký hộ kinh doanh.")
    assert open_task(ctx, actors["chuyenvien"], code).bpmn_id == "tham_dinh"  # still open, nothing moved

    page.get_by_label("Ghi chú khi cho chạy tiếp (không bắt buộc)").fill("Đã xác minh chữ ký với công dân")
    page.get_by_role("button", name="Cho chạy tiếp").click()
    expect(page.locator(".flash")).to_have_text(f"Đã cho quy trình của hồ sơ {code} chạy tiếp.")
    expect(page.locator("#instance-state")).to_have_text("Đang chạy")

    # Resumed, the same press of the button goes through and the dossier moves on to the leader.
    official.get_by_role("button", name="Hoàn thành").click()
    expect(official.locator(".flash")).to_contain_text(f"Đã hoàn thành: {REVIEW}")
    page.reload()
    expect(element(diagram(page), "phe_duyet")).to_have_class(re.compile(r"\bstudio-current\b"))


def reads_the_audit_trail(page: Page, code: str, *, official_name: str, screenshot) -> None:
    page.get_by_role("link", name="Nhật ký", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Nhật ký hồ sơ {code}")
    expect(page.locator("#chain-status")).to_contain_text("Nguyên vẹn")
    events = page.locator("table.audit-events tbody tr")
    suspended = events.filter(has=page.locator("code", has_text=re.compile(r"^suspended$")))
    resumed = events.filter(has=page.locator("code", has_text=re.compile(r"^resumed$")))
    for row in (suspended, resumed):
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(2)).to_have_text("Đỗ Quản Trị")
        expect(row.locator("td").nth(4)).to_have_text(LOOPBACK)
    expect(suspended).to_contain_text(f"Quản trị viên tạm dừng hồ sơ: {REASON}")
    expect(resumed).to_contain_text("Đã xác minh chữ ký với công dân")
    accesses = page.locator("table.audit-access tbody tr").filter(has_text=official_name)
    expect(accesses.first).to_contain_text("Chuyên viên")
    expect(accesses.first).to_contain_text(LOOPBACK)
    expect(accesses.filter(has_text="Mở công việc của hồ sơ")).not_to_have_count(0)
    screenshot("operations-audit")


def checks_the_health_page(page: Page, screenshot) -> None:
    page.get_by_role("navigation", name="Trang quản trị").get_by_role("link", name="Tình trạng hệ thống và sự cố").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quản trị vận hành")
    system = page.locator("table").filter(has_text="Cơ sở dữ liệu")
    database = system.locator("tr").filter(has=page.locator("th", has_text="Cơ sở dữ liệu (sqlite)"))
    expect(database.locator("td").first).to_have_text("Hoạt động")
    worker = system.locator("tr").filter(has=page.locator("th", has_text="Tiến trình xử lý nền (worker)"))
    expect(worker.locator("td").first).to_have_text("Hoạt động")
    expect(page.get_by_role("cell", name="Không có sự cố nào.")).to_be_visible()
    screenshot("admin-health")
