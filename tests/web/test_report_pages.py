"""The report pages on the fixed dataset of tests/engine/reports/dataset.py (eight dossiers worked
through the services in February–March 2026): the figures the engine computes, every figure a link
to exactly the dossiers it counts, a leader kept to their agency, the scorecard, the heat view.

Letters A–H are the dataset's dossiers; agency 21 has all but E, agency 22 only E.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from engine.models import User
from engine.reports.filters import Filters
from engine.services import Actor, reports
from tests.engine.reports.conftest import dataset  # noqa: F401 - the module-scoped fixture
from tests.engine.reports.dataset import AGENCY, OTHER_AGENCY
from tests.web.conftest import csrf_of
from web import create_app

Q1 = "tu_ngay=2026-01-01&den_ngay=2026-03-31"
DASHBOARD = f"/quan-tri/bao-cao?{Q1}"
LIST_PATH = "/quan-tri/bao-cao/ho-so/"


@pytest.fixture(scope="module")
def report_app(dataset, backend_context):  # noqa: F811 - the fixture imported above
    return create_app(ctx=backend_context, start_worker=False)


@pytest.fixture(scope="module")
def browse(report_app):
    """`browse(username)`: a test client logged in as that demo account (one per account and module)."""
    clients = {}

    def as_user(username: str):
        if username not in clients:
            client = report_app.test_client()
            token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
            response = client.post("/dang-nhap", data={"username": username, "password": "demo", "csrf_token": token})
            assert response.status_code == 302, response.get_data(as_text=True)[:300]
            clients[username] = client
        return clients[username]

    return as_user


def page(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    return lxml_html.fromstring(response.get_data(as_text=True))


def figures(doc) -> dict[str, str]:
    """indicator → the text of its first link in the figure tables (the dashboard's key figures)."""
    found = {}
    for link in doc.xpath("//table[contains(@class, 'report-figures')]//a[@href]"):
        path = urlsplit(link.get("href")).path
        if path.startswith(LIST_PATH):
            found.setdefault(path.removeprefix(LIST_PATH), link.text_content().strip())
    return found


def row_text(doc, label: str) -> str:
    """The value cell of the figure row headed `label`."""
    cells = doc.xpath(f"//table[contains(@class, 'report-figures')]//tr[normalize-space(th) = '{label}']/td")
    assert cells, f"no figure row «{label}»"
    return " ".join(cells[0].text_content().split())


def listed_codes(doc) -> list[str]:
    return [" ".join(cell.text_content().split()) for cell in doc.xpath("//table[contains(@class, 'report-dossiers')]/tbody/tr/th")]


def engine_board(ctx, username: str, filters: Filters):
    with ctx.sessions() as session:
        actor = Actor.of(session.scalar(select(User).where(User.username == username)))
    return reports.dashboard(ctx, actor, filters)


def test_the_admin_sees_the_figures_the_engine_computes(dataset, backend_context, browse):  # noqa: F811
    doc = page(browse("quantri"), DASHBOARD)
    shown = figures(doc)
    board = engine_board(backend_context, "quantri", Filters.parse({"tu_ngay": "2026-01-01", "den_ngay": "2026-03-31"}))
    for indicator in ("submitted", "received", "received_online", "received_desk", "resolved", "early", "on_time",
                      "late", "finished", "paid_online", "rated", *(f"rating_{n}" for n in range(1, 6))):
        assert shown[indicator] == str(board.counts[indicator]), indicator
    # the hand-computed quarter (tests/engine/reports/test_indicators.py)
    assert [shown[k] for k in ("submitted", "received", "received_online", "received_desk")] == ["8", "6", "4", "2"]
    assert [shown[k] for k in ("early", "on_time", "late", "overdue_now")] == ["2", "1", "1", "1"]
    # each term of a ratio is a link, named for screen readers by the list it opens
    assert row_text(doc, "Tỷ lệ tiếp nhận trực tuyến") == "66,7% (Hồ sơ tiếp nhận trực tuyến: 4/Hồ sơ tiếp nhận: 6)"
    assert row_text(doc, "Tỷ lệ trước hạn và đúng hạn") == "75,0% (3/Hồ sơ đã giải quyết: 4)"
    # 4445 working minutes over 4 dossiers = 2.47 days of 450 minutes; p90 1410 minutes = 3.13 days
    assert row_text(doc, "Trung bình") == "2,5 ngày"
    assert row_text(doc, "90% hồ sơ xong trong (p90)") == "3,1 ngày"
    assert row_text(doc, "Tỷ lệ phải bổ sung").startswith("50,0%")
    assert row_text(doc, "Tỷ lệ từ chối").startswith("16,7%")
    assert row_text(doc, "Số tiền") == "100.000 đ"
    satisfied = row_text(doc, "Tỷ lệ hài lòng (4–5 điểm)")
    assert satisfied.startswith("75,0%") and "chưa đạt mục tiêu 80,0%" in satisfied
    assert doc.xpath("//tr[contains(@class, 'report-target-missed')]")


def test_the_charts_draw_the_same_numbers_as_the_tables(dataset, browse):  # noqa: F811
    doc = page(browse("quantri"), DASHBOARD)
    (block,) = doc.xpath("//script[@id='report-charts-data']")
    assert block.get("type") == "application/json"
    charts = json.loads(block.text)
    assert charts["received"]["values"] == [4, 2]
    assert charts["outcome"]["values"] == [2, 1, 1]
    assert charts["satisfaction"]["values"] == [0, 1, 0, 1, 2]
    assert {c.get("data-chart") for c in doc.xpath("//canvas[@role='img']")} == {"received", "outcome", "satisfaction"}
    assert doc.xpath("//script[contains(@src, 'vendor/reports-charts.js')]")
    assert not [s for s in doc.xpath("//script[not(@src)]") if s.get("type") != "application/json"]  # CSP


def test_every_figure_links_to_a_list_of_exactly_that_many_dossiers(dataset, browse):  # noqa: F811
    client = browse("quantri")
    doc = page(client, DASHBOARD)
    links = {}
    for link in doc.xpath("//main//table//a[@href]"):
        href = link.get("href")
        if urlsplit(href).path.startswith(LIST_PATH) and link.text_content().strip().isdigit():
            links.setdefault(href, int(link.text_content().strip()))
    assert len(links) > 40  # the key figures and both breakdown tables
    for href, count in links.items():
        listed = page(client, href)
        assert len(listed_codes(listed)) == count, href
        if count:
            assert f"Có {count} hồ sơ." in listed.text_content(), href
    late = page(client, f"{LIST_PATH}late?{Q1}")
    assert listed_codes(late) == [dataset.codes["B"]]
    (code_link,) = late.xpath("//table[contains(@class, 'report-dossiers')]//a")
    assert code_link.get("href") == f"/ho-so/{dataset.codes['B']}"
    assert client.get(code_link.get("href")).status_code == 200
    assert "Quá hạn" in late.xpath("//table[contains(@class, 'report-dossiers')]/tbody/tr")[0].text_content()


def test_a_breakdown_row_narrows_its_links_to_its_agency(dataset, browse):  # noqa: F811
    doc = page(browse("quantri"), DASHBOARD)
    rows = doc.xpath("//section[@aria-labelledby='r-agencies']//tbody/tr")
    names = [" ".join(row.xpath("th")[0].text_content().split()) for row in rows]
    assert names == ["UBND phường Hòa Bình (tỉnh Demo)", "Công an tỉnh Demo (Phòng Hồ sơ nghiệp vụ PV06)"]
    other_received = rows[1].xpath("td/a")[1]
    assert other_received.text_content() == "1"
    assert parse_qs(urlsplit(other_received.get("href")).query)["co_quan"] == [OTHER_AGENCY]


def test_a_leader_sees_only_their_agency_even_when_asking_for_another(dataset, browse):  # noqa: F811
    client = browse("lanhdao_ca")  # agency 22: only E
    doc = page(client, f"{DASHBOARD}&co_quan={AGENCY}")
    shown = figures(doc)
    assert (shown["submitted"], shown["received_desk"], shown["on_time"], shown["overdue_now"]) == ("1", "1", "1", "0")
    text = doc.xpath("//section[@aria-labelledby='r-agencies']")[0].text_content()
    assert "Công an tỉnh Demo" in text and "UBND phường Hòa Bình" not in text
    assert [o.get("value") for o in doc.xpath("//select[@name='co_quan']/option")] == [OTHER_AGENCY]
    for link in doc.xpath("//main//a[contains(@href, '/quan-tri/bao-cao/ho-so/')]"):
        assert parse_qs(urlsplit(link.get("href")).query)["co_quan"] == [OTHER_AGENCY]
    listed = page(client, f"{LIST_PATH}submitted?{Q1}&co_quan={AGENCY}")
    assert listed_codes(listed) == [dataset.codes["E"]]
    scores = page(client, f"/quan-tri/bao-cao/cham-diem?{Q1}&co_quan={AGENCY}")
    assert [h.text_content() for h in scores.xpath("//table[contains(@class, 'report-scores')]/tbody/tr/th")] == \
        ["Công an tỉnh Demo (Phòng Hồ sơ nghiệp vụ PV06)"]


@pytest.mark.parametrize("username", ["congdan", "tiepnhan", "chuyenvien", "phantich"])
def test_citizens_officials_and_analysts_are_refused(dataset, browse, username):  # noqa: F811
    client = browse(username)
    for url in (DASHBOARD, f"{LIST_PATH}submitted?{Q1}", f"/quan-tri/bao-cao/cham-diem?{Q1}",
                f"/quan-tri/bao-cao/buoc?{Q1}&thu_tuc={dataset.procedure}",
                f"/quan-tri/bao-cao/so-do/{dataset.procedure}"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Chỉ quản trị viên và lãnh đạo được xem báo cáo." in response.get_data(as_text=True)
    assert "/quan-tri/bao-cao" not in client.get("/thu-tuc").get_data(as_text=True)  # no menu entry


def test_the_menu_offers_reports_to_admins_and_leaders(dataset, browse):  # noqa: F811
    for username in ("quantri", "lanhdao"):
        doc = page(browse(username), "/thu-tuc")
        assert [a.text_content() for a in doc.xpath("//header//a[@href='/quan-tri/bao-cao']")] == ["Báo cáo"]


def test_anonymous_visitors_are_sent_to_log_in(report_app):
    response = report_app.test_client().get(DASHBOARD)
    assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_an_invalid_date_answers_400_with_the_field_error_and_keeps_the_form(dataset, browse):  # noqa: F811
    response = browse("quantri").get("/quan-tri/bao-cao?tu_ngay=2026-13-01&den_ngay=2026-03-31&thu_tuc="
                                     f"{dataset.procedure}")
    assert response.status_code == 400
    doc = lxml_html.fromstring(response.get_data(as_text=True))
    (start,) = doc.xpath("//input[@name='tu_ngay']")
    assert start.get("value") == "2026-13-01" and start.get("aria-invalid") == "true"
    assert doc.xpath("//p[@id='r-tu_ngay-error']")[0].text_content() == "Ngày không hợp lệ, cần dạng YYYY-MM-DD."
    assert doc.xpath("//input[@name='den_ngay']")[0].get("value") == "2026-03-31"
    assert doc.xpath("//select[@name='thu_tuc']/option[@selected]")[0].get("value") == str(dataset.procedure)
    assert not doc.xpath("//table[contains(@class, 'report-figures')]")
    reversed_period = browse("quantri").get(f"{LIST_PATH}late?tu_ngay=2026-03-31&den_ngay=2026-03-01")
    assert reversed_period.status_code == 400
    assert "Ngày kết thúc phải sau hoặc trùng ngày bắt đầu." in reversed_period.get_data(as_text=True)


def test_an_unknown_indicator_is_a_vietnamese_404(dataset, browse):  # noqa: F811
    response = browse("quantri").get(f"{LIST_PATH}khong-co?{Q1}")
    assert response.status_code == 404
    assert "Không có chỉ số «khong-co»." in response.get_data(as_text=True)


def test_a_ratio_without_a_denominator_shows_a_dash(dataset, browse):  # noqa: F811
    doc = page(browse("quantri"), "/quan-tri/bao-cao?tu_ngay=2026-01-01&den_ngay=2026-01-31")
    assert row_text(doc, "Tỷ lệ tiếp nhận trực tuyến") == "—"
    assert row_text(doc, "Trung bình") == "— ngày"
    assert row_text(doc, "Tỷ lệ hài lòng (4–5 điểm)") == "— chưa có đánh giá"


def test_the_scorecard_shows_each_agency_with_its_points(dataset, browse):  # noqa: F811
    doc = page(browse("quantri"), f"/quan-tri/bao-cao/cham-diem?{Q1}")
    rows = doc.xpath("//table[contains(@class, 'report-scores')]/tbody/tr")
    summary = {" ".join(row.xpath("th")[0].text_content().split()): " ".join(row.xpath("td")[-1].text_content().split())
               for row in rows}
    # tests/engine/reports/test_indicators.py: 46.43 of the 78 measurable points; agency 22 38
    assert summary == {"UBND phường Hòa Bình (tỉnh Demo)": "46,43/78",
                       "Công an tỉnh Demo (Phòng Hồ sơ nghiệp vụ PV06)": "38/78"}
    assert len(doc.xpath("//td[normalize-space() = 'chưa đo được']")) == 2 * 4  # four unmeasured parts each
    links = [a.get("href") for a in doc.xpath("//section[contains(@class, 'report-score')]//a[@href]")]
    assert f"{LIST_PATH}received_online?{Q1}&co_quan={AGENCY}" in links
    assert f"{LIST_PATH}resolved?{Q1}&co_quan={OTHER_AGENCY}" in links


def test_the_heat_view_marks_each_step_on_the_procedures_diagram(dataset, browse):  # noqa: F811
    client = browse("lanhdao")
    doc = page(client, f"/quan-tri/bao-cao/buoc?{Q1}&thu_tuc={dataset.procedure}")
    (viewer,) = doc.xpath("//div[contains(@class, 'bpmn-viewer')]")
    marks = json.loads(viewer.get("data-marks"))
    assert {"tiep_nhan", "tham_dinh", "phe_duyet", "tra_ket_qua"} <= set(marks)
    assert all(any(c.startswith("report-heat-") for c in classes.split()) for step, classes in marks.items()
               if step != "bo_sung_ho_so")
    assert "report-waiting" in marks["tham_dinh"].split()  # F waits in review
    assert any("report-heat-5" in classes.split() for classes in marks.values())  # the slowest step
    xml = client.get(viewer.get("data-xml-url"))
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b'id="tham_dinh"' in xml.data
    hrefs = [a.get("href") for a in doc.xpath("//table[contains(@class, 'report-steps')]//a")]
    assert f"{LIST_PATH}step:phe_duyet?{Q1}&co_quan={AGENCY}&thu_tuc={dataset.procedure}" in hrefs
    waiting = page(client, f"{LIST_PATH}waiting:tham_dinh?{Q1}&thu_tuc={dataset.procedure}")
    assert listed_codes(waiting) == [dataset.codes["F"]]
    assert doc.xpath("//script[contains(@src, 'vendor/studio-viewer.js')]")


def test_the_heat_view_without_a_procedure_lists_the_steps_only(dataset, browse):  # noqa: F811
    doc = page(browse("quantri"), f"/quan-tri/bao-cao/buoc?{Q1}")
    assert not doc.xpath("//div[contains(@class, 'bpmn-viewer')]")
    steps = [row.xpath("th/code")[0].text for row in doc.xpath("//table[contains(@class, 'report-steps')]/tbody/tr")]
    assert {"tiep_nhan", "tham_dinh", "phe_duyet", "tra_ket_qua", "bo_sung_ho_so"} <= set(steps)


def test_the_pages_link_to_their_exports(dataset, browse):  # noqa: F811
    doc = page(browse("quantri"), DASHBOARD)
    hrefs = [a.get("href") for a in doc.xpath("//nav[contains(@class, 'report-exports')]//a")]
    assert f"/quan-tri/bao-cao/xuat/dashboard.csv?{Q1}" in hrefs
    assert f"/quan-tri/bao-cao/xuat/dashboard.xlsx?{Q1}" in hrefs
    listed = page(browse("quantri"), f"{LIST_PATH}late?{Q1}")
    assert f"/quan-tri/bao-cao/xuat/dossiers.csv?{Q1}&chi_so=late" in \
        [a.get("href") for a in listed.xpath("//nav[contains(@class, 'report-exports')]//a")]
