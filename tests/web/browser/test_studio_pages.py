"""The analyst studio's pages in a real browser: the live form preview (htmx, CSRF token included)
following what the analyst types, a test run step by step with its path marked on the diagram,
and every page state checked by axe for WCAG 2.1 AA, at full width and at 320 CSS px."""

# ruff: noqa: F811 - fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from engine.services import studio, submit_dossier
from tests.factories import APPLICANT, HKD, work
from tests.web.browser.test_accessibility import axe_source, check_wcag_2_1_aa, log_in  # noqa: F401
from tests.web.studio_fixtures import FOREIGN_BPMN, fresh, no_drafts  # noqa: F401


def unexpected(console_errors: list[str]) -> list[str]:
    """What the pages reported beyond the status of a page refused on purpose (a 400 or 403 is one)."""
    return [e for e in console_errors if not e.startswith("Failed to load resource: the server responded with a "
                                                           "status of 4")]


@dataclass(frozen=True)
class Studio:
    """What the pages are shown on: a test procedure (two versions, dossiers on the first, a draft),
    a draft of a catalogue procedure (with a diagram to draw) and an imported draft."""

    slug: str
    draft_id: int
    catalogue_draft_id: int
    imported_draft_id: int


@pytest.fixture
def scene(ctx, actors, fresh) -> Studio:
    analyst = actors["phantich"]
    for _ in range(2):
        work(ctx, actors["tiepnhan"], submit_dossier(ctx, actors["congdan"], fresh, dict(APPLICANT),
                                                     {"noi_dung": "Đề nghị"}).code, {"y_kien": "dat"})
    draft = studio.open_draft(ctx, analyst, fresh)
    studio.save_draft_bpmn(ctx, analyst, draft.id, draft.editor_xml.replace('name="Phê duyệt"', 'name="Ký duyệt"'))
    studio.publish_draft(ctx, analyst, draft.id)  # version 2: the dossiers on 1 can be planned
    draft = studio.open_draft(ctx, analyst, fresh)
    studio.save_draft_bpmn(ctx, analyst, draft.id, draft.editor_xml.replace("tham-dinh-schema.json",
                                                                            "khong-co-schema.json"))
    imported = studio.import_file(ctx, analyst, "nhap-thu.bpmn", FOREIGN_BPMN)
    return Studio(fresh, draft.id, studio.open_draft(ctx, analyst, HKD).id, imported.id)


def type_broken_json(page) -> None:
    page.locator("#schema").fill('{"type": "object", "properties": {')
    expect(page.locator("#form-preview")).to_contain_text("JSON không hợp lệ ở dòng 1")


def save_broken_json(page) -> None:
    page.locator("#proc-rest").fill('{"deadline": 3,}')
    page.get_by_role("button", name="Lưu thông tin thủ tục").click()
    expect(page.locator(".error-summary")).to_be_visible()


def start_test_run(page) -> None:
    page.get_by_role("button", name="Bắt đầu chạy thử").click()
    expect(page.locator(".bpmn-viewer")).to_have_attribute("data-viewer-state", "ready")


def choose_nothing(page) -> None:
    page.locator("#import-file").set_input_files(files=[{"name": "hong.bpmn", "mimeType": "application/xml",
                                                         "buffer": b"<bpmn:definitions"}])
    page.get_by_role("button", name="Nhập", exact=True).click()
    expect(page.locator(".error-summary")).to_be_visible()


@dataclass(frozen=True)
class Visit:
    user: str
    path: Callable[[Studio], str]
    status: int = 200
    then: Callable | None = None


PAGES = {
    "index": Visit("phantich", lambda s: "/thiet-ke"),
    "import": Visit("phantich", lambda s: "/thiet-ke/nhap"),
    "import-refused": Visit("phantich", lambda s: "/thiet-ke/nhap", then=choose_nothing),
    "import-findings": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.imported_draft_id}/ket-qua-nhap"),
    "forms": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.draft_id}/bieu-mau"),
    "form-editor": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.catalogue_draft_id}/bieu-mau/de-nghi"),
    "form-editor-broken-json": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.draft_id}/bieu-mau/tham-dinh",
                                     then=type_broken_json),
    "procedure": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.draft_id}/thong-tin"),
    "procedure-refused": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.draft_id}/thong-tin",
                               then=save_broken_json),
    "test-run-start": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.catalogue_draft_id}/chay-thu"),
    "test-run-waiting": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.catalogue_draft_id}/chay-thu",
                              then=start_test_run),
    "publish-blocked": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.draft_id}/xuat-ban"),
    "publish-ready": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.catalogue_draft_id}/xuat-ban"),
    "versions": Visit("phantich", lambda s: f"/thiet-ke/{s.slug}/phien-ban"),
    "migration-plan-analyst": Visit("phantich", lambda s: f"/thiet-ke/{s.slug}/chuyen-phien-ban/2"),
    "migration-plan-admin": Visit("quantri", lambda s: f"/thiet-ke/{s.slug}/chuyen-phien-ban/2"),
    "discard": Visit("phantich", lambda s: f"/thiet-ke/ban-nhap/{s.draft_id}/huy"),
    "refused-to-an-official": Visit("tiepnhan", lambda s: "/thiet-ke", status=403),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_the_studio_page_meets_wcag_2_1_aa_as_axe_checks_it(name, page, scene, axe_source, console_errors):
    check_wcag_2_1_aa(page, name, PAGES[name], scene, axe_source)
    assert not unexpected(console_errors), console_errors


def test_the_preview_follows_the_schema_as_it_is_typed_and_a_broken_one_is_kept_not_saved(
        ctx, actors, page, fresh, console_errors, screenshot):
    draft_id = studio.open_draft(ctx, actors["phantich"], fresh).id
    log_in(page, "phantich")
    page.goto(f"/thiet-ke/ban-nhap/{draft_id}/bieu-mau/tham-dinh")
    preview = page.locator("#form-preview")
    expect(preview.get_by_label("Ý kiến")).to_be_visible()

    schema = {"type": "object", "properties": {"y_kien": {"type": "string", "title": "Ý kiến"},
                                               "so_trang": {"type": "integer", "title": "Số trang hồ sơ"}}}
    page.locator("#schema").fill(json.dumps(schema, ensure_ascii=False, indent=2))
    expect(preview.get_by_label("Số trang hồ sơ")).to_be_visible()  # drawn by our renderer, via htmx
    page.locator("#ui_schema").fill('{"so_trang": {"ui:help": "Đếm cả trang bìa"}}')
    expect(preview).to_contain_text("Đếm cả trang bìa")
    screenshot("studio-form-editor")

    broken = json.dumps(schema, ensure_ascii=False)[:-1]
    page.locator("#schema").fill(broken)
    expect(preview).to_contain_text("JSON không hợp lệ ở dòng 1")
    page.get_by_role("button", name="Lưu biểu mẫu").click()
    expect(page.locator(".error-summary")).to_contain_text("Chưa lưu biểu mẫu")
    expect(page.locator("#schema")).to_have_value(broken)
    assert "so_trang" not in studio.get_draft(ctx, actors["phantich"], draft_id).package["forms"]["tham-dinh"][
        "schema"]["properties"]
    assert not unexpected(console_errors), console_errors


def test_a_test_run_goes_step_by_step_with_the_path_marked_on_the_diagram(
        ctx, actors, page, no_drafts, console_errors, screenshot):
    draft_id = studio.open_draft(ctx, actors["phantich"], HKD).id
    log_in(page, "phantich")
    page.goto(f"/thiet-ke/ban-nhap/{draft_id}/chay-thu")

    page.get_by_role("button", name="Bắt đầu chạy thử").click()
    first = page.locator(".studio-answer h2").first.inner_text()
    viewer = page.locator(".bpmn-viewer")
    expect(viewer).to_have_attribute("data-viewer-state", "ready")
    expect(viewer.locator(".djs-element.studio-path").first).to_be_attached()
    expect(viewer.locator(".djs-element.studio-current")).to_have_count(1)
    screenshot("studio-test-run")
    page.locator(".studio-answer").first.get_by_role("button").last.click()

    expect(page.locator(".studio-answer h2").first).not_to_have_text(first)
    assert len(json.loads(page.locator("input[name=answers]").first.input_value())) == 1
    page.get_by_role("button", name="Quay lại một bước").click()
    expect(page.locator(".studio-answer h2").first).to_have_text(first)
    assert not unexpected(console_errors), console_errors


def test_importing_a_file_from_the_page_lists_what_the_engine_cannot_run(page, no_drafts):
    log_in(page, "phantich")
    page.goto("/thiet-ke")
    page.get_by_role("link", name="Nhập quy trình từ tệp BPMN hoặc ZIP").click()

    page.get_by_label("Tệp quy trình (.bpmn, .xml hoặc .zip)").set_input_files(files=[{
        "name": "nhap-thu.bpmn", "mimeType": "application/xml", "buffer": io.BytesIO(FOREIGN_BPMN).getvalue()}])
    page.get_by_role("button", name="Nhập", exact=True).click()

    findings = page.locator(".studio-import-findings")
    expect(findings).to_contain_text("«Chọn cách xử lý»")
    expect(page.get_by_role("link", name="Mở sơ đồ để sửa")).to_be_visible()
