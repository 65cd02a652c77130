"""WCAG 2.1 AA in a real browser: axe-core checks every main page (citizen, official, error), and the
keyboard alone gets through the login form and the wizard with a visible focus and a working skip link.

axe-core comes from npm with the other front-end packages (`make install`), but is read straight from
web/frontend/node_modules by these tests: it is never copied into web/static, so never served to users.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from engine.config import PROJECT_ROOT
from tests.conftest import IN_CI
from tests.factories import APPLICANT, HKD, open_task, submit

AXE = PROJECT_ROOT / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
#: The success criteria of WCAG 2.0 and 2.1, levels A and AA: issue #5's bar.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: axe's rules outside those tags that the issue names all the same: landmarks, heading order, duplicate
#: ids (retired with WCAG 2.2's 4.1.1, but a duplicate id still breaks a label); and the 24px touch
#: target of WCAG 2.2, for the phone.
ALSO = ["landmark-one-main", "landmark-unique", "landmark-no-duplicate-banner", "landmark-no-duplicate-main",
        "region", "skip-link", "heading-order", "page-has-heading-one", "empty-table-header", "duplicate-id",
        "target-size"]

RUN_AXE = """([tags, also]) => axe.run(document, {
    runOnly: {type: 'rule', values: axe.getRules(tags).map(rule => rule.ruleId).concat(also)},
    resultTypes: ['violations'],
  }).then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  })))"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        message = f"{AXE} is missing: run `make install` (npm ci in web/frontend)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, axe_source: str) -> list[dict]:
    # Evaluated through the DevTools protocol, which the page's CSP (scripts from 'self' only) does not govern.
    page.evaluate(axe_source)
    return page.evaluate(RUN_AXE, [WCAG_21_AA, ALSO])


def describe(violations: list[dict]) -> str:
    return "\n".join(f"  {v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["targets"][:8])
                     for v in violations)


#: A 1280 px wide window zoomed to 400 %, which WCAG 1.4.10 (reflow) asks to work without sideways scrolling.
AT_400_PERCENT = {"width": 320, "height": 256}
#: What sticks out of a page that scrolls sideways (a wide table scrolls inside its own box instead).
SIDEWAYS = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [`the page is ${document.documentElement.scrollWidth} px wide`].concat(
    [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.table-scroll'))
      .slice(0, 5).map(e => e.outerHTML.slice(0, 80)));
}"""


def log_in(page, username: str) -> None:
    page.goto("/dang-nhap")
    page.locator("#username").fill(username)
    page.locator("#password").fill("demo")
    page.locator("main").get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("#username")).to_have_count(0)


@dataclass(frozen=True)
class Scene:
    """One submitted dossier, seen by the citizen, the desk and the leader."""

    code: str
    desk_task_id: str


@dataclass(frozen=True)
class Visit:
    user: str | None
    path: Callable[[Scene], str]
    status: int = 200
    #: what the test does on the page before axe looks (a form sent empty to show its errors)
    then: Callable | None = None


def send_empty_step(page) -> None:
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page.locator(".field-error").first).to_be_visible()


PAGES = {
    "home": Visit(None, lambda s: "/"),
    "catalogue": Visit(None, lambda s: "/thu-tuc?q=ho+kinh+doanh"),
    "procedure": Visit(None, lambda s: f"/thu-tuc/{HKD}"),
    "login": Visit(None, lambda s: "/dang-nhap"),
    "tracking-result": Visit(None, lambda s: f"/tra-cuu?code={s.code}&secret={APPLICANT['phone']}"),
    "verification": Visit(None, lambda s: "/xac-thuc"),
    "verification-unknown-code": Visit(None, lambda s: "/xac-thuc?code=0000-0000-0000", status=400),
    "error-404": Visit(None, lambda s: "/thu-tuc/khong-co-thu-tuc-nay", status=404),
    "wizard-step-1": Visit("congdan", lambda s: f"/nop-ho-so/{HKD}"),
    "wizard-step-1-errors": Visit("congdan", lambda s: f"/nop-ho-so/{HKD}", then=send_empty_step),
    "wizard-documents": Visit("congdan", lambda s: f"/nop-ho-so/{HKD}?buoc=2"),
    "receipt": Visit("congdan", lambda s: f"/ho-so/{s.code}/bien-nhan"),
    "my-dossiers": Visit("congdan", lambda s: "/ho-so-cua-toi"),
    "my-dossier": Visit("congdan", lambda s: f"/ho-so-cua-toi/{s.code}"),
    "inbox": Visit("tiepnhan", lambda s: "/cong-viec"),
    "task": Visit("tiepnhan", lambda s: f"/cong-viec/{s.desk_task_id}"),
    "dossier-for-officials": Visit("tiepnhan", lambda s: f"/ho-so/{s.code}"),
    "desk-reception": Visit("tiepnhan", lambda s: "/tiep-nhan-truc-tiep"),
    "desk-reception-form": Visit("tiepnhan", lambda s: f"/tiep-nhan-truc-tiep/{HKD}"),
    "reassign": Visit("lanhdao", lambda s: "/cong-viec/phan-cong"),
    "reports-dashboard": Visit("quantri", lambda s: "/quan-tri/bao-cao", then=lambda page: charts_drawn(page)),
    "reports-dashboard-invalid": Visit("quantri", lambda s: "/quan-tri/bao-cao?tu_ngay=2026-13-01", status=400),
    "reports-dossiers": Visit("lanhdao", lambda s: "/quan-tri/bao-cao/ho-so/submitted"),
    "reports-scorecard": Visit("quantri", lambda s: "/quan-tri/bao-cao/cham-diem"),
    "reports-steps": Visit("lanhdao", lambda s: "/quan-tri/bao-cao/buoc", then=lambda page: heat_view_of_hkd(page)),
    "report-print": Visit("quantri", lambda s: "/quan-tri/bao-cao/in"),
    "admin": Visit("quantri", lambda s: "/quan-tri"),
    "operations-instances": Visit("quantri", lambda s: "/quan-tri/ho-so"),
    "operations-instance": Visit("quantri", lambda s: f"/quan-tri/ho-so/{s.code}", then=lambda page: diagram_ready(page)),
    "operations-audit": Visit("quantri", lambda s: f"/quan-tri/ho-so/{s.code}/nhat-ky"),
}


def diagram_ready(page) -> None:
    """The read-only BPMN viewer (static/vendor/studio-viewer.js) has drawn the diagram with its marks."""
    expect(page.locator(".bpmn-viewer[data-viewer-state='ready']")).to_have_count(1)


def charts_drawn(page) -> None:
    """Chart.js (static/vendor/reports-charts.js) has taken over every chart canvas."""
    page.wait_for_function("() => [...document.querySelectorAll('canvas[data-chart]')]"
                           ".every(c => c.style.boxSizing === 'border-box')")


def heat_view_of_hkd(page) -> None:
    """The steps report with a procedure chosen in its form: the BPMN diagram drawn with its heat marks."""
    page.get_by_label("Thủ tục").select_option(label="Đăng ký thành lập hộ kinh doanh")
    page.get_by_role("button", name="Xem báo cáo").click()
    expect(page.locator(".bpmn-viewer[data-viewer-state='ready']")).to_have_count(1)


@pytest.fixture
def scene(ctx, actors) -> Scene:
    dossier = submit(ctx, actors["congdan"])
    return Scene(code=dossier.code, desk_task_id=open_task(ctx, actors["tiepnhan"], dossier.code).id)


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_meets_wcag_2_1_aa_as_axe_checks_it(name, page, scene, axe_source):
    check_wcag_2_1_aa(page, name, PAGES[name], scene, axe_source)


def check_wcag_2_1_aa(page, name: str, visit: Visit, scene, axe_source: str) -> None:
    """Open the page as `visit` says, then let axe look at it at desktop width and at 320 CSS px."""
    if visit.user:
        log_in(page, visit.user)
    response = page.goto(visit.path(scene))
    assert response is not None and response.status == visit.status, f"{name}: HTTP {response and response.status}"
    if visit.then:
        visit.then(page)
    violations = axe_violations(page, axe_source)
    assert not violations, f"{name} ({page.url}) breaks WCAG 2.1 AA:\n{describe(violations)}"

    page.set_viewport_size(AT_400_PERCENT)
    wide = page.evaluate(SIDEWAYS)
    assert not wide, f"{name} scrolls sideways at 320 CSS px (WCAG 1.4.10 reflow), too wide: {wide}"
    violations = page.evaluate(RUN_AXE, [WCAG_21_AA, ALSO])  # the phone layout: tables scroll in their box
    assert not violations, f"{name} at 320 CSS px breaks WCAG 2.1 AA:\n{describe(violations)}"


BROKEN = """() => {
  document.querySelector('main').insertAdjacentHTML('beforeend', `
    <img src="/static/favicon.svg">
    <p id="pale">chữ nhạt trên nền trắng</p>
    <input id="q2">
    <div><input type="checkbox" aria-label="ô 1"><input type="checkbox" aria-label="ô 2"></div>
    <span id="dup">1</span><span id="dup">2</span>
    <table><tr><th></th><td>1</td></tr></table>
    <h4>bỏ qua cấp tiêu đề</h4>`);
  document.getElementById('pale').style.color = '#bbb';  // the CSP refuses style attributes, not the CSSOM
  document.querySelectorAll('main [type=checkbox]').forEach(box => { box.style.margin = '0'; });  // 20px apart
}"""


def test_the_check_itself_reports_broken_markup(page, axe_source):
    """Guards the configuration: a run that checked nothing would pass every page."""
    page.goto("/")
    page.evaluate(BROKEN)

    found = {v["id"] for v in axe_violations(page, axe_source)}

    assert {"image-alt", "color-contrast", "label", "duplicate-id", "empty-table-header",
            "heading-order", "target-size"} <= found, found


# --- the keyboard ---------------------------------------------------------------------------------

#: How the tests name a focusable element: its id, else its name and value (buttons), else its text.
KEY = "e => e.id || (e.name ? `${e.name}:${e.value}` : e.textContent.trim().slice(0, 40))"

#: Every element the Tab key should stop at, in document order; a radio group is one stop (its checked
#: radio, else its first).
TAB_STOPS = """() => {
  const KEY = KEY_FUNCTION;
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, iframe, [tabindex]';
  const seen = new Set();
  return [...document.querySelectorAll(selector)].filter(e => {
    if (e.disabled || e.tabIndex < 0 || !e.getClientRects().length) return false;
    if (getComputedStyle(e).visibility === 'hidden') return false;
    if (e.type === 'radio') {
      const group = e.form ? e.form.elements.namedItem(e.name) : null;
      const checked = group && [...group].find(r => r.checked);
      if (checked ? checked !== e : seen.has(e.name)) return false;
      seen.add(e.name);
    }
    return true;
  }).map(KEY);
}""".replace("KEY_FUNCTION", KEY)

#: The focused element: its outline, and that outline's contrast with the background it is drawn on
#: (the first ancestor with an opaque background; the outline sits outside the element).
FOCUSED = """() => {
  const KEY = KEY_FUNCTION;
  const rgb = text => text.match(/[0-9.]+/g).map(Number);
  const luminance = ([r, g, b]) => [r, g, b].map(c => c / 255)
    .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const e = document.activeElement;
  const style = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  let behind = e.parentElement;
  while (behind && (rgb(getComputedStyle(behind).backgroundColor)[3] ?? 1) === 0) behind = behind.parentElement;
  const [ring, ground] = [luminance(rgb(style.outlineColor)),
                          luminance(rgb(behind ? getComputedStyle(behind).backgroundColor : 'rgb(255, 255, 255)'))];
  return {key: KEY(e), tag: e.tagName,
          outline: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth),
          contrast: (Math.max(ring, ground) + 0.05) / (Math.min(ring, ground) + 0.05),
          inView: box.right > 0 && box.bottom > 0 && box.left < innerWidth && box.width > 0};
}""".replace("KEY_FUNCTION", KEY)


def tab_through(page, limit: int = 300) -> list[dict]:
    """Press Tab from the top of the page (just loaded) until the focus leaves the page; what had the
    focus, once per element: a date input takes several presses (day, month, year, its calendar
    button), and is judged by the first."""
    focused: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now["tag"] == "BODY":
            return focused
        if not focused or focused[-1]["key"] != now["key"]:
            focused.append(now)
    raise AssertionError(f"Tab never left the page after {limit} presses: a keyboard trap?")


def check_keyboard_path(page) -> list[str]:
    expected = page.evaluate(TAB_STOPS)
    assert page.locator("[tabindex]:not([tabindex='-1']):not([tabindex='0'])").count() == 0, \
        "a positive tabindex breaks the document order"
    focused = tab_through(page)
    assert [f["key"] for f in focused] == expected, "Tab does not follow the document order"
    invisible = [f["key"] for f in focused if f["outline"] < 2 or not f["inView"]]
    assert not invisible, f"no visible focus indicator (outline ≥ 2px, on screen) on: {invisible}"
    faint = [(f["key"], round(f["contrast"], 1)) for f in focused if f["contrast"] < 3]
    assert not faint, f"the focus ring contrasts less than 3:1 with the background (WCAG 1.4.11): {faint}"
    return expected


def check_skip_link(page) -> None:
    page.reload()  # the focus back at the top of the page
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Bỏ qua điều hướng")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))  # the page's URL follows the jump asynchronously
    page.keyboard.press("Tab")
    inside_main = page.evaluate("() => document.querySelector('main').contains(document.activeElement)")
    assert inside_main, "after the skip link, Tab should go to the first control of the main content"


def test_the_login_form_works_from_the_keyboard_with_a_visible_focus(page):
    page.goto("/dang-nhap")
    stops = check_keyboard_path(page)
    main_stops = stops[stops.index("username"):]
    assert main_stops[:3] == ["username", "password", "Đăng nhập"], main_stops
    check_skip_link(page)
    expect(page.locator("#username")).to_be_focused()

    page.keyboard.type("congdan")
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/cong-viec(#main)?$"))


def test_the_wizard_works_from_the_keyboard_with_a_visible_focus(page):
    log_in(page, "congdan")
    page.goto(f"/nop-ho-so/{HKD}")
    stops = check_keyboard_path(page)
    assert stops[-2:] == ["_nav:save", "_nav:next"], "the wizard's buttons (save, continue) come last"
    check_skip_link(page)
    first_field = page.evaluate("() => document.activeElement.closest('form') !== null")
    assert first_field, "after the skip link, Tab should reach the wizard's form before anything else"
