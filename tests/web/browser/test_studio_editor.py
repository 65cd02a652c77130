"""The studio's BPMN editor in a real browser: the analyst opens a procedure's draft, renames a step
and changes its time budget through the properties panel, saves and finds both again after a reload
and in the draft; a lint finding is listed and clicking it selects its element; a lane's role set in
the panel lands in the draft's procedure.json; the read-only viewer draws a draft with its marks. No
console error on the way (a CSP violation would be one)."""

# ruff: noqa: F811 - the studio fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.services import studio
from tests.web.browser.test_workspace_pages import log_in
from tests.web.studio_fixtures import draft_of, no_drafts  # noqa: F401

SLUG = "dang-ky-ho-kinh-doanh"
NEW_NAME = "Tiếp nhận, kiểm tra và số hóa hồ sơ"


def open_editor(page, draft_id: int):
    page.goto(f"/thiet-ke/ban-nhap/{draft_id}")
    editor = page.locator("#studio-editor")
    expect(editor).to_have_class(re.compile(r"\bstudio-ready\b"))
    expect(page.locator(".studio-findings-summary")).to_be_visible()
    return editor


def select_on_canvas(page, element_id: str, position: dict | None = None) -> None:
    page.locator(f'#studio-canvas [data-element-id="{element_id}"]').first.click(position=position)
    expect(page.locator("#studio-panel").get_by_label("Mã phần tử", exact=True)).to_have_value(element_id)


def save(page) -> None:
    page.get_by_role("button", name="Lưu sơ đồ").click()
    expect(page.locator("#studio-status")).to_contain_text("Đã lưu sơ đồ.")


def test_the_analyst_renames_a_step_sets_its_budget_and_a_lane_role_and_follows_a_finding_to_its_element(
        ctx, actors, page, console_errors, screenshot, draft_of):
    analyst = actors["phantich"]
    draft_id = draft_of(SLUG)
    # a step whose form the draft does not have: the lint reports it on that step
    broken = studio.get_draft(ctx, analyst, draft_id).editor_xml.replace("tham-dinh-schema.json", "khong-co-schema.json")
    studio.save_draft_bpmn(ctx, analyst, draft_id, broken)

    log_in(page, "phantich")
    open_editor(page, draft_id)
    findings = page.locator("#studio-findings")
    finding = findings.get_by_role("button", name=re.compile("khong-co"))
    expect(finding).to_have_count(1)
    expect(page.locator('#studio-canvas [data-element-id="tham_dinh"].studio-finding-error')).to_have_count(1)
    finding.click()
    panel = page.locator("#studio-panel")
    expect(panel.get_by_label("Mã phần tử", exact=True)).to_have_value("tham_dinh")
    expect(page.locator('#studio-canvas [data-element-id="tham_dinh"].selected')).to_have_count(1)
    screenshot("studio-editor")

    select_on_canvas(page, "tiep_nhan")
    panel.get_by_label("Tên", exact=True).fill(NEW_NAME)
    expect(page.locator('#studio-canvas [data-element-id="tiep_nhan"]')).to_contain_text("số hóa")
    expect(panel.get_by_label("Tính thời hạn theo")).to_have_value("working_days")
    panel.get_by_label("Số ngày hoặc số giờ").fill("1")
    with page.expect_download() as download:  # what is on the page, before any save
        page.get_by_role("button", name="Tải sơ đồ đang sửa về máy").click()
    assert download.value.suggested_filename == f"{SLUG}.bpmn"
    assert NEW_NAME in download.value.path().read_text(encoding="utf-8")
    save(page)

    page.reload()
    open_editor(page, draft_id)
    expect(page.locator('#studio-canvas [data-element-id="tiep_nhan"]')).to_contain_text("số hóa")
    draft = studio.get_draft(ctx, analyst, draft_id)
    assert f'name="{NEW_NAME}"' in draft.package["bpmn"][draft.bpmn_file]
    assert draft.package["procedure"]["step_budgets"]["tiep_nhan"] == {"value": 1, "unit": "working_days"}

    assert draft.package["procedure"]["lanes"]["Chuyên viên"] == "specialist"
    select_on_canvas(page, "lane_chuyen_vien", position={"x": 12, "y": 40})  # the lane's name band
    role = panel.get_by_label("Vai trò thực hiện")
    expect(role).to_have_value("specialist")
    role.select_option(label="Lãnh đạo")
    save(page)

    lanes = studio.get_draft(ctx, analyst, draft_id).package["procedure"]["lanes"]
    assert lanes["Chuyên viên"] == "leader" and lanes["Lãnh đạo"] == "leader"
    assert console_errors == [], "the editor reported errors (a CSP violation?)"


def test_a_save_after_someone_elses_save_is_refused_and_the_diagram_stays_on_the_page_unsaved(
        ctx, actors, page, console_errors, draft_of):
    draft_id = draft_of(SLUG)
    log_in(page, "phantich")
    open_editor(page, draft_id)
    # meanwhile another person saves the draft (their diagram: one step renamed)
    theirs = studio.get_draft(ctx, actors["quantri"], draft_id)
    studio.save_draft_bpmn(ctx, actors["quantri"], draft_id,
                           theirs.editor_xml.replace('name="Thẩm định hồ sơ"', 'name="Quản trị đổi tên bước này"'),
                           revision=theirs.revision)

    select_on_canvas(page, "tiep_nhan")
    page.locator("#studio-panel").get_by_label("Tên", exact=True).fill(NEW_NAME)
    expect(page.locator('#studio-canvas [data-element-id="tiep_nhan"]')).to_contain_text("số hóa")
    page.get_by_role("button", name="Lưu sơ đồ").click()

    status = page.locator("#studio-status")
    expect(status).to_contain_text("Bản nháp vừa được quantri lưu lúc")
    expect(status).to_contain_text("vẫn còn nguyên trên trang")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator('#studio-canvas [data-element-id="tiep_nhan"]')).to_contain_text("số hóa")  # still there
    with page.expect_download() as download:  # and the analyst can take it away
        page.get_by_role("button", name="Tải sơ đồ đang sửa về máy").click()
    assert NEW_NAME in download.value.path().read_text(encoding="utf-8")
    stored = studio.get_draft(ctx, actors["phantich"], draft_id)
    assert 'name="Quản trị đổi tên bước này"' in stored.editor_xml and NEW_NAME not in stored.editor_xml
    assert stored.updated_by == "quantri"
    # saving again changes nothing: the page's diagram is still based on the older revision
    page.get_by_role("button", name="Lưu sơ đồ").click()
    expect(status).to_contain_text("Bản nháp vừa được quantri lưu lúc")
    assert NEW_NAME not in studio.get_draft(ctx, actors["phantich"], draft_id).editor_xml
    # the browser logs each refused request (409) as a console error; nothing else may be there
    assert [e for e in console_errors if "409" not in e] == [], console_errors


def test_the_read_only_viewer_draws_a_draft_with_its_marks_under_the_strict_policy(
        page, console_errors, draft_of):
    """studio-viewer.js on a page with the site's CSP (no style attributes allowed), as the test run
    and monitoring pages use it: drawn, not editable, the marked elements carrying their classes."""
    draft_id = draft_of(SLUG)
    log_in(page, "phantich")
    page.goto("/thiet-ke")
    page.evaluate("""([url, marks]) => {
        const viewer = Object.assign(document.createElement('div'), { className: 'bpmn-viewer' });
        viewer.dataset.xmlUrl = url;
        viewer.dataset.marks = JSON.stringify(marks);
        const css = Object.assign(document.createElement('link'),
                                  { rel: 'stylesheet', href: '/static/vendor/studio/studio-viewer.css' });
        const script = Object.assign(document.createElement('script'), { src: '/static/vendor/studio-viewer.js' });
        document.querySelector('main').append(css, viewer, script);
    }""", [f"/thiet-ke/ban-nhap/{draft_id}/bpmn", {"tiep_nhan": "studio-current", "nop_ho_so": "studio-path"}])

    viewer = page.locator(".bpmn-viewer")
    expect(viewer).to_have_attribute("data-viewer-state", "ready")
    expect(viewer.locator('[data-element-id="tiep_nhan"].studio-current')).to_have_count(1)
    expect(viewer.locator('[data-element-id="nop_ho_so"].studio-path')).to_have_count(1)
    expect(viewer.locator(".djs-palette")).to_have_count(0)  # read-only: no tools to draw with
    assert console_errors == [], "the viewer reported errors (a CSP violation?)"
