"""Report exports: the same tables in CSV (UTF-8 with BOM, RFC 4180, no formula injection) and XLSX
(real numbers, percentages, dates, frozen bold header), with the dashboard's own figures.

XLSX files are read back with the standard library (tests/engine/reports/xlsx.py), not openpyxl.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from engine.models import User
from engine.reports import export
from engine.reports.export import Share, Sheet
from engine.reports.filters import Filters
from engine.reports.indicators import read_dashboard
from engine.reports.scorecard import DEFAULT_SCORECARD, read_scorecard
from engine.services import Actor
from engine.services import reports as report_service
from tests.engine.reports.dataset import AGENCY, NOW, OTHER_AGENCY
from tests.engine.reports.xlsx import read_xlsx

Q1 = Filters(date(2026, 1, 1), date(2026, 3, 31))


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


# -- CSV -----------------------------------------------------------------------------------------------

def test_csv_is_utf8_with_a_bom_crlf_lines_and_rfc4180_quoting():
    sheet = Sheet("t", "Thử", ("Tên", "Ghi chú"), [("Hộ kinh doanh Hòa Bình", 'nói "đúng hạn", rồi\nxuống dòng')])
    data = export.to_csv(sheet)
    assert data.count(b"\xef\xbb\xbf") == 1
    assert data == ("\ufeffTên,Ghi chú\r\nHộ kinh doanh Hòa Bình,"
                    '"nói ""đúng hạn"", rồi\nxuống dòng"\r\n').encode("utf-8")
    assert parse_csv(data) == [["Tên", "Ghi chú"], ["Hộ kinh doanh Hòa Bình", 'nói "đúng hạn", rồi\nxuống dòng']]


@pytest.mark.parametrize("hostile", ["=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_csv_text_that_a_spreadsheet_would_run_as_a_formula_is_prefixed(hostile):
    rows = parse_csv(export.to_csv(Sheet("t", "t", ("a",), [(hostile,)])))
    assert rows[1] == ["'" + hostile]


def test_csv_numbers_stay_numbers_shares_are_fractions_and_times_are_vietnamese():
    sheet = Sheet("t", "t", ("n", "âm", "tỷ lệ", "ngày", "lúc", "trống", "số thực"),
                  [(12, -3, Share(2 / 3), date(2026, 3, 1), datetime(2026, 3, 1, 1, 30, tzinfo=UTC), None, 2.5)])
    assert parse_csv(export.to_csv(sheet))[1] == ["12", "-3", "0.6667", "2026-03-01", "2026-03-01 08:30", "", "2.5"]


def test_csv_is_written_in_chunks_with_the_bom_only_at_the_start():
    rows = ((f"HS-{n}", n) for n in range(export.CSV_CHUNK_ROWS * 2 + 7))
    chunks = list(export.iter_csv(Sheet("t", "t", ("mã", "n"), rows)))
    assert len(chunks) == 3
    assert [chunk.startswith(b"\xef\xbb\xbf") for chunk in chunks] == [True, False, False]
    assert len(parse_csv(b"".join(chunks))) == export.CSV_CHUNK_ROWS * 2 + 8


# -- XLSX ----------------------------------------------------------------------------------------------

def test_xlsx_has_typed_cells_with_formats_a_bold_frozen_header_and_widths():
    sheet = Sheet("t", "Tổng hợp: [quý 1]", ("Chỉ số", "Giá trị", "Tỷ lệ", "Ngày", "Lúc", "Ngày làm việc"),
                  [("=1+1", 8, Share(0.75), date(2026, 3, 31), datetime(2026, 3, 1, 1, 30, tzinfo=UTC), 2.25),
                   ("Một tên chỉ số rất dài để cột phải rộng ra", None, None, None, None, None)])
    workbook = read_xlsx(export.to_xlsx([sheet, Sheet("u", "Tổng hợp: [quý 1]", ("a",), [])]))
    assert list(workbook) == ["Tổng hợp quý 1", "Tổng hợp quý 1 (2)"]  # Excel's rules on names
    ws = workbook["Tổng hợp quý 1"]
    assert ws.frozen_rows == 1
    assert all(cell.bold for cell in ws.rows[0])
    text, count, share, day, moment, days = ws.rows[1]
    assert text.value == "=1+1"  # text, never a formula
    assert (count.value, count.number_format) == (8.0, "General")
    assert (share.value, share.number_format) == (0.75, "0.0%")
    assert day.number_format == "dd/mm/yyyy" and day.as_datetime() == datetime(2026, 3, 31)
    assert moment.number_format == "dd/mm/yyyy hh:mm"
    assert moment.as_datetime() == datetime(2026, 3, 1, 8, 30)  # Vietnam time
    assert (days.value, days.number_format) == (2.25, "#,##0.00")
    assert ws.rows[2][1:] == []  # nothing written for None
    assert ws.column_widths[0] > ws.column_widths[1] >= 8


def test_a_long_dossier_list_streams_from_a_generator_into_the_workbook():
    consumed = []

    @dataclass
    class Row:
        code: str
        procedure_name: str = "Đăng ký hộ kinh doanh"
        agency_code: str = AGENCY
        status: str = "returned"
        channel: str = "online"
        submitted_at: datetime = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        received_at: datetime | None = None
        due_at: datetime | None = None
        finished_at: datetime | None = None
        timeliness: str | None = "early"

    def rows():
        for n in range(1500):
            consumed.append(n)
            yield Row(f"H99.21-260302-{n:04d}")

    (sheet,) = export.dossier_sheets(rows(), agencies={AGENCY: "UBND phường Hòa Bình"})
    assert consumed == []  # nothing read before the writer asks
    ws = read_xlsx(export.to_xlsx([sheet]))["Danh sách hồ sơ"]
    assert len(consumed) == 1500 and len(ws.rows) == 1501
    first = ws.records()[0]
    assert first["Mã hồ sơ"].value == "H99.21-260302-0000"
    assert first["Cơ quan"].value == "UBND phường Hòa Bình"
    assert first["Trạng thái"].value == "Đã trả kết quả"
    assert (first["Kênh nộp"].value, first["Tiến độ"].value) == ("Trực tuyến", "Trước hạn")
    assert first["Ngày nộp"].as_datetime() == datetime(2026, 3, 2, 8, 0)
    assert first["Ngày tiếp nhận"] is None


def test_display_is_vietnamese_number_and_date_style():
    assert [export.display(v) for v in (1234567, Share(2 / 3), 1234.5, None, date(2026, 3, 5))] == [
        "1.234.567", "66,7 %", "1.234,50", "—", "05/03/2026"]
    assert export.display(datetime(2026, 3, 5, 2, 15, tzinfo=UTC)) == "05/03/2026 09:15"


# -- the report's own figures ---------------------------------------------------------------------------

def _admin(ctx) -> Actor:
    with ctx.sessions() as session:
        return Actor.of(session.scalar(select(User).where(User.username == "quantri")))


def test_dashboard_sheets_carry_the_dashboards_figures_in_csv_and_xlsx(dataset, backend_context):
    admin = _admin(backend_context)
    with backend_context.sessions() as session:
        board = read_dashboard(session, Q1, now=NOW)
    per_agency = report_service.breakdown(backend_context, admin, Q1, "agency")
    per_procedure = report_service.breakdown(backend_context, admin, Q1, "procedure")
    sheets = export.dashboard_sheets(board, per_agency, per_procedure)
    assert [s.key for s in sheets] == ["tong-hop", "co-quan", "thu-tuc", "buoc"]

    summary = {row[0]: row[1:] for row in parse_csv(export.to_csv(sheets[0]))[1:]}
    assert summary["Hồ sơ đã nộp"] == ["8", "", "", "", "submitted"]
    assert summary["Hồ sơ đã tiếp nhận"][0] == str(board.counts["received"]) == "6"
    # a ratio: its share as the value, and part / whole / share
    assert summary["Tỷ lệ giải quyết trước hạn và đúng hạn"] == ["0.75", "3", "4", "0.75", "on_time_share"]
    assert summary["Tỷ lệ hài lòng (mức 4–5)"][1:3] == ["3", "4"]
    assert summary["Quá hạn đang xử lý (lúc lập báo cáo)"][0] == str(board.overdue_now)

    workbook = read_xlsx(export.to_xlsx(sheets))
    assert list(workbook) == ["Tổng hợp", "Theo cơ quan", "Theo thủ tục", "Thời gian theo bước"]
    figures = {r["Mã chỉ số"].value: r for r in workbook["Tổng hợp"].records()}
    for key in ("submitted", "received", "received_online", "resolved", "early", "late", "paid_amount"):
        assert figures[key]["Giá trị"].value == board.counts[key], key
    online = figures["online_share"]
    assert (online["Tử số"].value, online["Mẫu số"].value) == (4, 6)
    assert online["Tỷ lệ"].value == pytest.approx(4 / 6) and online["Tỷ lệ"].number_format == "0.0%"
    assert figures["average_days"]["Giá trị"].value == pytest.approx(board.processing.average_days)

    agencies = {r["Mã cơ quan"].value: r for r in workbook["Theo cơ quan"].records()}
    assert set(agencies) == {AGENCY, OTHER_AGENCY}
    for row in per_agency:
        assert agencies[row.key]["Tiếp nhận"].value == row.counts["received"]
        assert agencies[row.key]["Cơ quan"].value == row.name
    assert sum(r["Đã nộp"].value for r in agencies.values()) == 8
    procedures = workbook["Theo thủ tục"].records()
    assert {r["Mã thủ tục"].value for r in procedures} == {dataset.procedure, dataset.paused_procedure}
    steps = {r["Mã bước"].value: r for r in workbook["Thời gian theo bước"].records()}
    assert {step.bpmn_id for step in board.steps} == set(steps)
    for step in board.steps:
        assert steps[step.bpmn_id]["Đã hoàn thành"].value == step.completed


def test_scorecard_sheets_list_every_part_of_every_agency_with_its_points(dataset, backend_context):
    with backend_context.sessions() as session:
        scores = read_scorecard(session, Q1)
    detail, summary = export.scorecard_sheets(scores)
    rows = list(detail.rows)
    parts = sum(len(group.parts) for group in DEFAULT_SCORECARD)
    assert len(rows) == len(scores) * parts == 2 * 14
    by_key = {(row[0], row[3]): row for row in rows}
    ours = next(s for s in scores if s.agency_code == AGENCY)
    on_time = ours.groups[1].parts[0]
    row = by_key[(AGENCY, on_time.indicator.name)]
    assert row[4:] == (20, "Có", on_time.ratio.part, on_time.ratio.whole, pytest.approx(on_time.ratio.share),
                       on_time.points)
    unmeasured = by_key[(AGENCY, "Tỷ lệ TTHC được cập nhật, công khai đúng hạn")]
    assert unmeasured[5:] == ("Không", None, None, None, None)
    totals = {row[0]: row for row in summary.rows}
    assert totals[AGENCY][-2:] == (ours.points, ours.measured_max)
    assert summary.header[2] == "Công khai, minh bạch (18)"
