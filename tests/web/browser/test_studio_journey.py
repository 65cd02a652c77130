"""The studio's acceptance journey, as the people involved live it, each in a browser of their own: the
analyst opens a procedure, renames a step in the BPMN editor and changes that step's form, publishes
version 2 and reads who published it, when, and what changed; the migration planner lists the
dossier still running on version 1 with its verdict. A citizen then submits a dossier that runs on
version 2 (the desk sees the new step name and the new field), while the dossier submitted before
publishing finishes on version 1, step by step, under the old name and with the old form.

The procedure is the test's own (a unique slug, published once here), so publishing changes nothing
the other tests read; it has a drawn diagram, so the editor shows the steps to click.
"""

# ruff: noqa: F811 - fixtures are imported by name, and pytest passes them back as arguments

from __future__ import annotations

import json
import re
import uuid
from copy import deepcopy

import pytest
from playwright.sync_api import Page, expect

from engine.services import get_dossier, studio, submit_dossier
from tests.engine.procedures.models import FORM, package
from tests.factories import APPLICANT
from tests.web.browser.conftest import VIEWPORT
from tests.web.browser.test_journey import complete, open_task_from_inbox
from tests.web.browser.test_studio_editor import save, select_on_canvas
from tests.web.browser.test_workspace_pages import log_in
from tests.web.studio_fixtures import no_drafts, published_once  # noqa: F401
from web.filters import vn_datetime

NAME = "Cấp giấy phép thử nghiệm hành trình thiết kế"
OLD_STEP, NEW_STEP = "Tiếp nhận hồ sơ", "Tiếp nhận, kiểm tra và số hóa hồ sơ"
OLD_LABEL, NEW_LABEL, NEW_FIELD = "Ý kiến", "Ý kiến tiếp nhận", "Số trang hồ sơ"

#: start → desk → specialist → leader → end, in three lanes of one pool, drawn (bpmn-js draws only
#: what has diagram coordinates); the forms are the test models' (`y_kien`, required).
DRAWN_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="x">
  <bpmn:collaboration id="hop_tac">
    <bpmn:participant id="ubnd" name="UBND phường" processRef="{pid}" />
  </bpmn:collaboration>
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_mot_cua" name="Bộ phận một cửa">
        <bpmn:flowNodeRef>bat_dau</bpmn:flowNodeRef><bpmn:flowNodeRef>tiep_nhan</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_chuyen_vien" name="Chuyên viên"><bpmn:flowNodeRef>tham_dinh</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_lanh_dao" name="Lãnh đạo">
        <bpmn:flowNodeRef>phe_duyet</bpmn:flowNodeRef><bpmn:flowNodeRef>ket_thuc</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="bat_dau" name="Nộp hồ sơ">{start_props}</bpmn:startEvent>
    <bpmn:userTask id="tiep_nhan" name="{old_step}">{tiep_nhan_props}</bpmn:userTask>
    <bpmn:userTask id="tham_dinh" name="Thẩm định hồ sơ">{tham_dinh_props}</bpmn:userTask>
    <bpmn:userTask id="phe_duyet" name="Phê duyệt">{phe_duyet_props}</bpmn:userTask>
    <bpmn:endEvent id="ket_thuc" name="Đã trả kết quả">{end_props}</bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="bat_dau" targetRef="tiep_nhan" />
    <bpmn:sequenceFlow id="f2" sourceRef="tiep_nhan" targetRef="tham_dinh" />
    <bpmn:sequenceFlow id="f3" sourceRef="tham_dinh" targetRef="phe_duyet" />
    <bpmn:sequenceFlow id="f4" sourceRef="phe_duyet" targetRef="ket_thuc" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="so_do">
    <bpmndi:BPMNPlane id="mat_phang" bpmnElement="hop_tac">
      <bpmndi:BPMNShape id="ubnd_di" bpmnElement="ubnd" isHorizontal="true">
        <dc:Bounds x="100" y="60" width="800" height="450" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_mot_cua_di" bpmnElement="lane_mot_cua" isHorizontal="true">
        <dc:Bounds x="130" y="60" width="770" height="150" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_chuyen_vien_di" bpmnElement="lane_chuyen_vien" isHorizontal="true">
        <dc:Bounds x="130" y="210" width="770" height="150" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="lane_lanh_dao_di" bpmnElement="lane_lanh_dao" isHorizontal="true">
        <dc:Bounds x="130" y="360" width="770" height="150" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="bat_dau_di" bpmnElement="bat_dau"><dc:Bounds x="180" y="117" width="36" height="36" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="tiep_nhan_di" bpmnElement="tiep_nhan"><dc:Bounds x="270" y="95" width="100" height="80" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="tham_dinh_di" bpmnElement="tham_dinh"><dc:Bounds x="420" y="245" width="100" height="80" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="phe_duyet_di" bpmnElement="phe_duyet"><dc:Bounds x="570" y="395" width="100" height="80" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="ket_thuc_di" bpmnElement="ket_thuc"><dc:Bounds x="740" y="417" width="36" height="36" />
        </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="216" y="135" /><di:waypoint x="270" y="135" />
        </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="370" y="135" /><di:waypoint x="470" y="135" />
        <di:waypoint x="470" y="245" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3"><di:waypoint x="520" y="285" /><di:waypoint x="620" y="285" />
        <di:waypoint x="620" y="395" /></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f4_di" bpmnElement="f4"><di:waypoint x="670" y="435" /><di:waypoint x="740" y="435" />
        </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def _props(**values: str) -> str:
    items = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in values.items())
    return f"<bpmn:extensionElements><spiffworkflow:properties>{items}</spiffworkflow:properties></bpmn:extensionElements>"


def drawn_package(pid: str) -> dict:
    """The test models' package (lanes → roles, the forms, a start form `de-nghi`) with a drawn diagram."""
    built = package("", pid=pid, name=NAME)
    forms = {task: _props(formJsonSchemaFilename=f"{task.replace('_', '-')}-schema.json")
             for task in ("tiep_nhan", "tham_dinh", "phe_duyet")}
    built["bpmn"][f"{pid}.bpmn"] = DRAWN_BPMN.format(
        pid=pid, old_step=OLD_STEP, start_props=_props(dossierStatus="submitted"),
        tiep_nhan_props=forms["tiep_nhan"], tham_dinh_props=forms["tham_dinh"], phe_duyet_props=forms["phe_duyet"],
        end_props=_props(dossierStatus="returned"))
    return built


@pytest.fixture
def drawn(ctx, no_drafts) -> str:
    """The slug of this test's own procedure, published once (version 1)."""
    return published_once(ctx, drawn_package(f"hanh_trinh_{uuid.uuid4().hex[:8]}"))


@pytest.fixture
def person(chromium, live_server, console_errors):
    """`person(username)`: a page in a browser context of its own, logged in (`None`: not logged in);
    what it reports as errors goes to `console_errors` with the analyst's page."""
    contexts = []

    def open_as(username: str | None) -> Page:
        context = chromium.new_context(base_url=live_server, viewport=VIEWPORT, locale="vi-VN")
        context.set_default_timeout(10_000)
        contexts.append(context)
        other = context.new_page()
        other.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
        other.on("pageerror", lambda error: console_errors.append(str(error)))
        if username:
            log_in(other, username)
        return other

    yield open_as
    for context in contexts:
        context.close()


def analyst_renames_the_step_in_the_editor(page: Page, slug: str, screenshot) -> None:
    page.goto("/thiet-ke")
    row = page.locator("table.studio-procedures tbody tr").filter(has_text=slug)
    row.get_by_role("button", name=re.compile("^Mở bản nháp")).click()
    expect(page).to_have_url(re.compile(r"/thiet-ke/ban-nhap/\d+$"))
    expect(page.locator("#studio-editor")).to_have_class(re.compile(r"\bstudio-ready\b"))
    expect(page.locator(".studio-findings-summary")).to_be_visible()
    select_on_canvas(page, "tiep_nhan")
    panel = page.locator("#studio-panel")
    expect(panel.get_by_label("Tên", exact=True)).to_have_value(OLD_STEP)
    panel.get_by_label("Tên", exact=True).fill(NEW_STEP)
    expect(page.locator('#studio-canvas [data-element-id="tiep_nhan"]')).to_contain_text("số hóa")
    save(page)
    screenshot("studio-journey-editor")


def analyst_changes_the_steps_form(page: Page) -> None:
    page.get_by_role("navigation", name=re.compile("^Bản nháp quy trình")).get_by_role("link", name="Biểu mẫu").click()
    page.get_by_role("link", name="Sửa tiep-nhan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Biểu mẫu «tiep-nhan»")
    preview = page.locator("#form-preview")
    expect(preview.get_by_role("textbox", name=OLD_LABEL, exact=True)).to_be_visible()
    schema = deepcopy(FORM)
    schema["properties"]["y_kien"]["title"] = NEW_LABEL
    schema["properties"]["so_trang"] = {"type": "integer", "title": NEW_FIELD, "minimum": 1, "default": 1}
    page.locator("#schema").fill(json.dumps(schema, ensure_ascii=False, indent=2))
    expect(preview.get_by_role("spinbutton", name=NEW_FIELD)).to_have_value("1")  # the live preview, drawn by our renderer
    expect(preview.get_by_role("textbox", name=NEW_LABEL, exact=True)).to_be_visible()
    page.get_by_role("button", name="Lưu biểu mẫu").click()
    expect(page.locator(".flash")).to_contain_text("Đã lưu biểu mẫu «tiep-nhan».")


def analyst_publishes(page: Page, screenshot) -> None:
    page.get_by_role("navigation", name=re.compile("^Bản nháp quy trình")).get_by_role("link", name="Xuất bản").click()
    summary = page.locator(".studio-diff-summary")
    expect(summary).to_contain_text(f"đổi tên tiep_nhan từ «{OLD_STEP}» thành «{NEW_STEP}»")
    expect(summary).to_contain_text("biểu mẫu tiep-nhan: thêm trường so_trang")
    expect(page.locator("#publish-blocked")).to_have_count(0)
    screenshot("studio-journey-publish")
    page.get_by_role("button", name="Xuất bản", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("Đã xuất bản phiên bản 2.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Các phiên bản: {NAME}")


def version_rows(page: Page):
    """The versions table, newest first: each row's cells (number, who, when, changes, running)."""
    rows = page.locator("table.studio-versions tbody tr")
    expect(rows).to_have_count(2)
    return [rows.nth(i).locator("th, td") for i in range(rows.count())]


def citizen_submits_online(page: Page, slug: str) -> str:
    page.goto(f"/thu-tuc/{slug}")
    page.get_by_role("link", name="Nộp trực tuyến").click()
    page.locator("#username").fill("congdan")
    page.locator("#password").fill("demo")
    page.locator("main").get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nộp hồ sơ trực tuyến")
    page.get_by_role("textbox", name="Nội dung", exact=True).fill("Đề nghị cấp giấy phép (nộp sau khi có phiên bản 2)")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.locator(".wizard-now")).to_contain_text("Bước 2/3")
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.locator(".wizard-now")).to_contain_text("Bước 3/3")
    page.get_by_role("button", name="Nộp hồ sơ").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Biên nhận hồ sơ nộp trực tuyến")
    return page.locator(".receipt .code").inner_text()


def official_completes(page: Page, code: str, title: str, opinion: str) -> None:
    open_task_from_inbox(page, code, title)
    page.get_by_role("textbox", name=OLD_LABEL, exact=True).fill(opinion)
    complete(page, title)


def test_a_published_change_reaches_new_dossiers_while_a_running_one_finishes_on_its_old_version(
        ctx, actors, page, person, drawn, console_errors, screenshot):
    # Before the change: a dossier submitted on version 1 waits at the desk.
    old = submit_dossier(ctx, actors["congdan"], drawn, dict(APPLICANT), {"noi_dung": "Đề nghị (phiên bản 1)"}).code
    assert get_dossier(ctx, actors["congdan"], old).procedure_version == 1

    # The analyst renames the desk's step, changes its form and publishes.
    log_in(page, "phantich")
    analyst_renames_the_step_in_the_editor(page, drawn, screenshot)
    analyst_changes_the_steps_form(page)
    analyst_publishes(page, screenshot)

    published = {v.number: v for v in studio.list_versions(ctx, actors["phantich"], drawn)}
    newest, first = version_rows(page)
    expect(newest.nth(0)).to_have_text(re.compile(r"^2\s+đang áp dụng$"))
    expect(newest.nth(1)).to_have_text("phantich")
    expect(newest.nth(2)).to_have_text(vn_datetime(published[2].published_at))
    expect(newest.nth(3)).to_contain_text(f"«{NEW_STEP}»")
    expect(newest.nth(3)).to_contain_text("biểu mẫu tiep-nhan: thêm trường so_trang")
    expect(newest.nth(4)).to_have_text("0")
    expect(first.nth(0)).to_have_text("1")
    expect(first.nth(4)).to_have_text("1")  # the dossier submitted before still runs on version 1

    # The migration planner lists that dossier with its verdict; nobody moves it.
    page.get_by_role("link", name="Lập kế hoạch chuyển hồ sơ sang phiên bản này").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chuyển hồ sơ đang xử lý sang phiên bản 2")
    expect(page.locator("main .notice")).to_contain_text("Chỉ quản trị viên được chuyển hồ sơ.")
    (planned,) = studio.plan_migration(ctx, actors["phantich"], drawn, 2).items
    item = page.locator(".studio-plan li").filter(has_text=old)
    expect(item).to_contain_text("phiên bản 1 → 2")
    expect(item.locator(".studio-tag")).to_have_text("chuyển được" if planned.movable else "không chuyển được")
    if not planned.movable:
        expect(item).to_contain_text(planned.reason)
    expect(page.locator(".studio-plan li")).to_have_count(1)

    # A dossier submitted now runs on version 2: the desk sees the new step name and the new field.
    citizen = person(None)  # logs in when the wizard asks
    new = citizen_submits_online(citizen, drawn)
    assert get_dossier(ctx, actors["congdan"], new).procedure_version == 2
    desk = person("tiepnhan")
    open_task_from_inbox(desk, new, NEW_STEP)
    expect(desk.get_by_role("textbox", name=NEW_LABEL, exact=True)).to_be_visible()
    expect(desk.get_by_role("spinbutton", name=NEW_FIELD)).to_have_value("1")

    # The dossier from before finishes on version 1: old step name, old form, then the next two steps.
    open_task_from_inbox(desk, old, OLD_STEP)
    expect(desk.get_by_role("spinbutton", name=NEW_FIELD)).to_have_count(0)
    expect(desk.get_by_role("textbox", name=NEW_LABEL, exact=True)).to_have_count(0)
    official_completes(desk, old, OLD_STEP, "Hồ sơ đầy đủ, tiếp nhận.")
    official_completes(person("chuyenvien"), old, "Thẩm định hồ sơ", "Đủ điều kiện.")
    official_completes(person("lanhdao"), old, "Phê duyệt", "Đồng ý.")

    finished = get_dossier(ctx, actors["congdan"], old)
    assert (finished.procedure_version, finished.status) == (1, "returned") and finished.finished_at is not None
    assert get_dossier(ctx, actors["congdan"], new).procedure_version == 2
    page.goto(f"/thiet-ke/{drawn}/phien-ban")
    newest, first = version_rows(page)
    expect(newest.nth(4)).to_have_text("1")  # the new dossier, waiting on version 2
    expect(first.nth(4)).to_have_text("0")   # the old one finished on version 1
    assert console_errors == [], "the pages reported errors (a CSP violation?)"
