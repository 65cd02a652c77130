"""Report downloads (CSV, XLSX), the printable report and its PDF, on the fixed reporting dataset
(tests/engine/reports/dataset.py: eight dossiers, agencies 21 and 22, first quarter of 2026).

The dataset is built once per backend and module, so these tests run the app on the session's
database directly instead of the `app` fixture (which empties the dossier tables before each test).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import unquote

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select

from engine.models import User
from engine.reports.filters import Filters
from engine.services import Actor
from engine.services import reports as report_service
from tests.engine.reports.conftest import dataset  # noqa: F401 - the module-scoped dataset fixture
from tests.engine.reports.dataset import AGENCY, OTHER_AGENCY
from tests.engine.reports.xlsx import read_xlsx
from tests.web.conftest import csrf_of
from web import create_app

Q1 = {"tu_ngay": "2026-01-01", "den_ngay": "2026-03-31"}
FILTERS = Filters(date(2026, 1, 1), date(2026, 3, 31))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT = "/quan-tri/bao-cao/xuat/"


@pytest.fixture(scope="module")
def report_app(dataset, backend_context):  # noqa: F811 - the imported fixture
    return create_app(ctx=backend_context, start_worker=False)


@pytest.fixture
def as_user(report_app):
    """`as_user(username)`: a test client logged in through the login page."""

    def login(username: str):
        client = report_app.test_client()
        token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
        response = client.post("/dang-nhap", data={"username": username, "password": "demo", "csrf_token": token})
        assert response.status_code == 302
        return client

    return login


def actor(ctx, username: str) -> Actor:
    with ctx.sessions() as session:
        return Actor.of(session.scalar(select(User).where(User.username == username)))


def letters(dataset, codes) -> list[str]:  # noqa: F811
    by_code = {code: letter for letter, code in dataset.codes.items()}
    return sorted(by_code[code] for code in codes)


def disposition(response) -> tuple[str, str]:
    header = response.headers["Content-Disposition"]
    assert header.startswith("attachment; ")
    ascii_name = header.split('filename="', 1)[1].split('"', 1)[0]
    utf8_name = unquote(header.split("filename*=UTF-8''", 1)[1])
    assert ascii_name.isascii()
    return ascii_name, utf8_name


def csv_rows(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def pdf_text(pdf: bytes) -> str:
    text = " ".join(page.get_textpage().get_text_bounded() for page in pdfium.PdfDocument(pdf))
    return " ".join(text.split())


def test_admin_downloads_the_dashboard_workbook_with_the_engines_figures(as_user, backend_context, dataset):  # noqa: F811
    response = as_user("quantri").get(EXPORT + "dashboard.xlsx", query_string=Q1)
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert response.headers["Cache-Control"] == "private, no-store"
    assert disposition(response) == ("bao-cao-2026-01-01_2026-03-31.xlsx", "Báo cáo 2026-01-01_2026-03-31.xlsx")

    admin = actor(backend_context, "quantri")
    board = report_service.dashboard(backend_context, admin, FILTERS)
    workbook = read_xlsx(response.get_data())
    assert list(workbook) == ["Tổng hợp", "Theo cơ quan", "Theo thủ tục", "Thời gian theo bước"]
    figures = {row["Mã chỉ số"].value: row for row in workbook["Tổng hợp"].records()}
    assert figures["submitted"]["Giá trị"].value == board.counts["submitted"] == 8
    assert figures["received"]["Giá trị"].value == board.counts["received"] == 6
    assert figures["overdue_now"]["Giá trị"].value == board.overdue_now
    assert (figures["on_time_share"]["Tử số"].value, figures["on_time_share"]["Mẫu số"].value) == (3, 4)
    agencies = {row["Mã cơ quan"].value: row for row in workbook["Theo cơ quan"].records()}
    for row in report_service.breakdown(backend_context, admin, FILTERS, "agency"):
        assert agencies[row.key]["Tiếp nhận"].value == row.counts["received"]
    assert set(agencies) == {AGENCY, OTHER_AGENCY}


def test_a_dashboard_csv_is_one_table_chosen_by_bang_the_summary_by_default(as_user):
    client = as_user("quantri")
    summary = client.get(EXPORT + "dashboard.csv", query_string=Q1)
    assert summary.status_code == 200 and summary.mimetype == "text/csv"
    assert summary.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert disposition(summary)[0] == "bao-cao-tong-hop-2026-01-01_2026-03-31.csv"
    rows = csv_rows(summary)
    assert rows[0] == ["Chỉ số", "Giá trị", "Tử số", "Mẫu số", "Tỷ lệ", "Mã chỉ số"]
    assert ["Hồ sơ đã nộp", "8", "", "", "", "submitted"] in rows

    per_agency = client.get(EXPORT + "dashboard.csv", query_string={**Q1, "bang": "co-quan"})
    rows = csv_rows(per_agency)
    assert rows[0][:3] == ["Mã cơ quan", "Cơ quan", "Đã nộp"]
    assert sorted(row[0] for row in rows[1:]) == [AGENCY, OTHER_AGENCY]
    assert sum(int(row[2]) for row in rows[1:]) == 8

    missing = client.get(EXPORT + "dashboard.csv", query_string={**Q1, "bang": "khong-co"})
    assert missing.status_code == 404
    assert "khong-co" in missing.get_data(as_text=True)


def test_the_scorecard_workbook_scores_each_agency_as_the_engine_does(as_user, backend_context, dataset):  # noqa: F811
    response = as_user("quantri").get(EXPORT + "scorecard.xlsx", query_string=Q1)
    assert response.status_code == 200 and response.mimetype == XLSX
    assert disposition(response)[0] == "bang-diem-766-2026-01-01_2026-03-31.xlsx"
    scores = report_service.scorecard(backend_context, actor(backend_context, "quantri"), FILTERS)
    workbook = read_xlsx(response.get_data())
    totals = {row["Mã cơ quan"].value: row for row in workbook["Bảng điểm 766 theo cơ quan"].records()}
    for score in scores:
        assert totals[score.agency_code]["Tổng điểm"].value == pytest.approx(score.points)
        assert totals[score.agency_code]["Điểm tối đa đo được"].value == score.measured_max
    assert len(workbook["Bảng điểm 766 chi tiết"].rows) == 1 + 14 * len(scores)


def test_the_dossiers_behind_a_figure_download_without_personal_data(as_user, dataset):  # noqa: F811
    response = as_user("quantri").get(EXPORT + "dossiers.csv", query_string={**Q1, "chi_so": "received"})
    assert response.status_code == 200 and response.is_streamed
    assert disposition(response) == ("ho-so-received-2026-01-01_2026-03-31.csv",
                                     "Hồ sơ đã tiếp nhận 2026-01-01_2026-03-31.csv")
    rows = csv_rows(response)
    assert rows[0] == ["Mã hồ sơ", "Thủ tục", "Cơ quan", "Trạng thái", "Kênh nộp", "Ngày nộp", "Ngày tiếp nhận",
                       "Hạn giải quyết", "Ngày kết thúc", "Tiến độ"]
    assert letters(dataset, [row[0] for row in rows[1:]]) == ["A", "B", "C", "E", "F", "G"]
    by_letter = {letter: row for row in rows[1:] for letter in letters(dataset, [row[0]])}
    assert by_letter["A"][3:6] == ["Đã trả kết quả", "Trực tuyến", "2026-02-13 08:00"]
    assert by_letter["A"][9] == "Trước hạn"
    assert by_letter["C"][4] == "Trực tiếp"
    assert "Phạm Thị Công Dân" not in response.get_data(as_text=True)

    workbook = read_xlsx(as_user("quantri").get(EXPORT + "dossiers.xlsx",
                                                query_string={**Q1, "chi_so": "late"}).get_data())
    (sheet,) = workbook.values()
    assert sheet.name == "Giải quyết quá hạn"
    assert letters(dataset, [row["Mã hồ sơ"].value for row in sheet.records()]) == ["B"]

    waiting = as_user("quantri").get(EXPORT + "dossiers.csv", query_string={**Q1, "chi_so": "waiting:tham_dinh"})
    assert disposition(waiting)[0] == "ho-so-waiting-tham_dinh-2026-01-01_2026-03-31.csv"
    assert letters(dataset, [row[0] for row in csv_rows(waiting)[1:]]) == ["F"]  # in review now


@pytest.mark.parametrize("query, expected", [
    ({}, "Cần chọn chỉ số"),
    ({"chi_so": "khong_co"}, "Không có chỉ số «khong_co»."),
    ({"chi_so": "received", "tu_ngay": "2026-13-01"}, "Ngày không hợp lệ"),
    ({"chi_so": "received", "tu_ngay": "2026-03-31", "den_ngay": "2026-01-01"}, "Ngày kết thúc phải sau"),
])
def test_bad_arguments_are_a_400_page_saying_what_is_wrong(as_user, query, expected):
    response = as_user("quantri").get(EXPORT + "dossiers.csv", query_string={**Q1, **query})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert expected in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["khong-co.csv", "dashboard.ods", "dashboard", "dossiers.pdf"])
def test_an_unknown_report_or_format_is_not_found(as_user, path):
    assert as_user("quantri").get(EXPORT + path, query_string=Q1).status_code == 404


def test_a_leader_exports_only_their_own_agency(as_user, dataset):  # noqa: F811
    client = as_user("lanhdao")  # agency 21
    response = client.get(EXPORT + "dashboard.xlsx", query_string={**Q1, "co_quan": OTHER_AGENCY})
    assert response.status_code == 200
    assert disposition(response)[0] == f"bao-cao-{AGENCY}-2026-01-01_2026-03-31.xlsx"
    workbook = read_xlsx(response.get_data())
    assert [row["Mã cơ quan"].value for row in workbook["Theo cơ quan"].records()] == [AGENCY]
    figures = {row["Mã chỉ số"].value: row for row in workbook["Tổng hợp"].records()}
    assert figures["submitted"]["Giá trị"].value == 7  # all but E, which agency 22 received

    listed = csv_rows(client.get(EXPORT + "dossiers.csv", query_string={**Q1, "chi_so": "received"}))
    assert letters(dataset, [row[0] for row in listed[1:]]) == ["A", "B", "C", "F", "G"]


@pytest.mark.parametrize("path", [EXPORT + "dashboard.csv", EXPORT + "scorecard.xlsx",
                                  EXPORT + "dossiers.csv?chi_so=received", "/quan-tri/bao-cao/in",
                                  "/quan-tri/bao-cao/bao-cao.pdf"])
def test_citizens_and_desk_officials_may_not_read_reports(as_user, report_app, path):
    for username in ("congdan", "tiepnhan"):
        assert as_user(username).get(path).status_code == 403
    anonymous = report_app.test_client().get(path)
    assert anonymous.status_code == 302 and "/dang-nhap" in anonymous.headers["Location"]


def test_the_printable_report_is_a_bare_a4_page_with_the_figures(as_user):
    response = as_user("quantri").get("/quan-tri/bao-cao/in", query_string=Q1)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Điều hướng chính" not in html  # no site navigation on paper
    assert "report-print.css" in html and "<style" not in html and " style=" not in html  # the CSP holds
    assert "Từ ngày 01/01/2026 đến ngày 31/03/2026" in html
    assert "Toàn tỉnh (tất cả cơ quan)" in html and "Người lập: Đỗ Quản Trị" in html
    for caption in ("1. Tổng hợp", "2. Theo cơ quan", "3. Theo thủ tục", "5. Bảng điểm 766 theo cơ quan"):
        assert f"<caption>{caption}</caption>" in html
    assert '<th scope="row">Hồ sơ đã nộp</th>' in html
    assert '<td class="n">75,0 %</td>' in html  # (early 2 + on time 1) / resolved 4
    assert "/quan-tri/bao-cao/bao-cao.pdf?tu_ngay=2026-01-01&amp;den_ngay=2026-03-31" in html


def test_the_pdf_report_is_rendered_on_the_server_with_the_period_and_figures(as_user):
    response = as_user("lanhdao").get("/quan-tri/bao-cao/bao-cao.pdf", query_string=Q1)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF")
    assert disposition(response)[0] == f"bao-cao-{AGENCY}-2026-01-01_2026-03-31.pdf"
    text = pdf_text(pdf)
    assert "Từ ngày 01/01/2026 đến ngày 31/03/2026" in text
    assert "UBND phường Hòa Bình (tỉnh Demo)" in text  # the leader's agency, diacritics intact
    assert "Hồ sơ đã nộp 7" in text
    assert "In báo cáo" not in text  # the toolbar stays off paper
