"""Reports as tables people take away: the same sheets for CSV, XLSX and the printable page.

A report is a list of `Sheet`s (a title, a header row and rows of typed cells). Building the sheets
decides *what* a report says (figure names in Vietnamese, ratios as part / whole / share, times in
Vietnam time); the writers only decide how a cell looks in a format, so a figure reads the same in
the spreadsheet, the CSV and the PDF. Cell types: `str`, `int`, `float` (a measure such as days),
`Share` (a ratio 0–1, shown as a percentage), `date`, `datetime` (aware, shown in Vietnam time), `None`
(nothing to show: a ratio with nothing to divide is "—", never 0 %).

Dossier rows are a single-pass iterator all the way from the database cursor to the writer, so an
export of a hundred thousand dossiers never holds them as objects twice.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import xlsxwriter

from engine.calendar import VN_TZ
from engine.reports.indicators import Dashboard, Ratio
from engine.reports.scorecard import DEFAULT_SCORECARD, Score, as_dict
from engine.statuses import label as status_label


class Share(float):
    """A ratio between 0 and 1 that every format shows as a percentage."""


Cell = str | int | float | date | datetime | None


@dataclass(frozen=True)
class Sheet:
    key: str
    title: str
    header: tuple[str, ...]
    #: may be a one-pass iterator (dossier lists): write a sheet once
    rows: Iterable[Sequence[Cell]]


class Breakdown(Protocol):
    """One agency's or procedure's counts (engine.services.reports.BreakdownRow)."""

    key: Any
    name: str
    counts: dict[str, int]


class DossierLine(Protocol):
    """What a dossier list shows (engine.services.reports.DossierRow): no personal data."""

    code: str
    procedure_name: str
    agency_code: str
    status: str
    channel: str
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    timeliness: str | None


CHANNELS = {"online": "Trực tuyến", "desk": "Trực tiếp", "post": "Bưu chính công ích"}
TIMELINESS = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
ROLES = {"desk": "Bộ phận Một cửa", "specialist": "Chuyên viên", "leader": "Lãnh đạo",
         "applicant": "Người nộp hồ sơ", "citizen": "Người nộp hồ sơ"}

#: The figures of the summary sheet, in the dashboard's order: (key, Vietnamese name, value).
#: A key that names a count is also the `chi_so` of the list of dossiers behind it.
Figure = tuple[str, str, Callable[[Dashboard], "int | float | Ratio | None"]]


def _count(key: str) -> Callable[[Dashboard], int]:
    return lambda board: board.counts[key]


FIGURES: tuple[Figure, ...] = (
    ("submitted", "Hồ sơ đã nộp", _count("submitted")),
    ("submitted_online", "Hồ sơ nộp trực tuyến", _count("submitted_online")),
    ("received", "Hồ sơ đã tiếp nhận", _count("received")),
    ("received_online", "Tiếp nhận trực tuyến", _count("received_online")),
    ("received_desk", "Tiếp nhận trực tiếp, bưu chính", _count("received_desk")),
    ("online_share", "Tỷ lệ hồ sơ tiếp nhận trực tuyến", lambda b: b.online_share),
    ("finished", "Hồ sơ đã kết thúc", _count("finished")),
    ("resolved", "Hồ sơ đã giải quyết", _count("resolved")),
    ("early", "Giải quyết trước hạn", _count("early")),
    ("on_time", "Giải quyết đúng hạn", _count("on_time")),
    ("late", "Giải quyết quá hạn", _count("late")),
    ("on_time_share", "Tỷ lệ giải quyết trước hạn và đúng hạn", lambda b: b.on_time_share),
    ("overdue_now", "Quá hạn đang xử lý (lúc lập báo cáo)", lambda b: b.overdue_now),
    ("returned", "Đã trả kết quả", _count("returned")),
    ("refused", "Từ chối", _count("refused")),
    ("refused_at_reception", "Từ chối tiếp nhận", _count("refused_at_reception")),
    ("withdrawn", "Công dân rút hồ sơ", _count("withdrawn")),
    ("stopped", "Dừng xử lý", _count("stopped")),
    ("refusal_rate", "Tỷ lệ từ chối", lambda b: b.refusal_rate),
    ("finished_with_supplement", "Hồ sơ có yêu cầu bổ sung", _count("finished_with_supplement")),
    ("supplement_rate", "Tỷ lệ hồ sơ phải bổ sung", lambda b: b.supplement_rate),
    ("processed", "Hồ sơ tính thời gian giải quyết", _count("processed")),
    ("average_days", "Thời gian giải quyết trung bình (ngày làm việc)", lambda b: b.processing.average_days),
    ("p90_days", "Thời gian giải quyết P90 (ngày làm việc)", lambda b: b.processing.p90_days),
    ("paid_online", "Lượt thanh toán trực tuyến", _count("paid_online")),
    ("paid_amount", "Số tiền thanh toán trực tuyến (đồng)", _count("paid_amount")),
    ("online_payment_share", "Tỷ lệ hồ sơ thanh toán trực tuyến", lambda b: b.online_payment_share),
    *((f"rating_{n}", f"Đánh giá mức {n}/5", _count(f"rating_{n}")) for n in range(1, 6)),
    ("rated", "Lượt đánh giá", _count("rated")),
    ("satisfied", "Tỷ lệ hài lòng (mức 4–5)", lambda b: b.satisfied),
)
FIGURE_NAMES = {key: name for key, name, _value in FIGURES}

#: The columns of the agency and procedure sheets: (header, count key) or (header, (part, whole)).
BREAKDOWN_COLUMNS: tuple[tuple[str, str | tuple[str, str]], ...] = (
    ("Đã nộp", "submitted"), ("Tiếp nhận", "received"), ("Tiếp nhận trực tuyến", "received_online"),
    ("Tỷ lệ trực tuyến", ("received_online", "received")),
    ("Đã giải quyết", "resolved"), ("Trước hạn", "early"), ("Đúng hạn", "on_time"), ("Quá hạn", "late"),
    ("Tỷ lệ trước và đúng hạn", ("on_time_good", "resolved")),
    ("Đã kết thúc", "finished"), ("Từ chối", "refused"), ("Rút hồ sơ", "withdrawn"),
    ("Có bổ sung", "finished_with_supplement"), ("Thanh toán trực tuyến", "paid_online"),
    ("Lượt đánh giá", "rated"), ("Tỷ lệ hài lòng", ("satisfied", "rated")),
)


def share(ratio: Ratio) -> Share | None:
    value = ratio.share
    return None if value is None else Share(value)


def indicator_name(indicator: str) -> str:
    """A figure's name for the title of its list (`step:`/`waiting:` lists name their BPMN element)."""
    if indicator.startswith("step:"):
        return f"Hồ sơ qua bước {indicator.removeprefix('step:')}"
    if indicator.startswith("waiting:"):
        return f"Hồ sơ đang chờ ở bước {indicator.removeprefix('waiting:')}"
    return FIGURE_NAMES.get(indicator, indicator)


# -- the sheets ---------------------------------------------------------------------------------------

def summary_sheet(board: Dashboard) -> Sheet:
    rows = []
    for key, name, value_of in FIGURES:
        value = value_of(board)
        if isinstance(value, Ratio):
            rows.append((name, share(value), value.part, value.whole, share(value), key))
        else:
            rows.append((name, value, None, None, None, key))
    return Sheet("tong-hop", "Tổng hợp", ("Chỉ số", "Giá trị", "Tử số", "Mẫu số", "Tỷ lệ", "Mã chỉ số"), rows)


def breakdown_sheet(key: str, title: str, key_header: str, name_header: str, rows: Iterable[Breakdown]) -> Sheet:
    header = (key_header, name_header, *(column for column, _source in BREAKDOWN_COLUMNS))
    return Sheet(key, title, header, [(row.key, row.name, *_breakdown_cells(row.counts)) for row in rows])


def _breakdown_cells(counts: Mapping[str, int]) -> list[Cell]:
    counts = {**counts, "on_time_good": counts["early"] + counts["on_time"]}
    return [share(Ratio(counts[source[0]], counts[source[1]])) if isinstance(source, tuple) else counts[source]
            for _column, source in BREAKDOWN_COLUMNS]


def steps_sheet(board: Dashboard) -> Sheet:
    header = ("Mã bước", "Bước", "Vai trò", "Đã hoàn thành", "Thời gian trung bình (giờ làm việc)",
              "Hoàn thành trễ hạn", "Đang chờ", "Đang quá hạn")
    rows = [(step.bpmn_id, step.title, ROLES.get(step.role, step.role), step.completed,
             None if step.average_minutes is None else step.average_minutes / 60, step.late, step.open_now,
             step.overdue_now) for step in board.steps]
    return Sheet("buoc", "Thời gian theo bước", header, rows)


def dashboard_sheets(dashboard: Dashboard, per_agency: Iterable[Breakdown],
                     per_procedure: Iterable[Breakdown]) -> list[Sheet]:
    """The dashboard: summary figures, per agency, per procedure, per BPMN step."""
    return [summary_sheet(dashboard),
            breakdown_sheet("co-quan", "Theo cơ quan", "Mã cơ quan", "Cơ quan", per_agency),
            breakdown_sheet("thu-tuc", "Theo thủ tục", "Mã thủ tục", "Thủ tục", per_procedure),
            steps_sheet(dashboard)]


def scorecard_sheets(scores: list[Score]) -> list[Sheet]:
    """The 766 scorecard: every sub-indicator of every agency, then one line per agency by group."""
    header = ("Mã cơ quan", "Cơ quan", "Nhóm chỉ số", "Chỉ số thành phần", "Điểm tối đa", "Đo được",
              "Tử số", "Mẫu số", "Tỷ lệ", "Điểm đạt")
    detail = []
    plain = as_dict(scores)
    for agency in plain:
        for group in agency["groups"]:
            for part in group["parts"]:
                ratio = None if part["whole"] is None else share(Ratio(part["part"], part["whole"]))
                detail.append((agency["agency_code"], agency["agency_name"], group["name"], part["name"],
                               part["max"], "Có" if part["measured"] else "Không", part["part"], part["whole"],
                               ratio, part["points"]))
    return [Sheet("bang-diem", "Bảng điểm 766 chi tiết", header, detail), scorecard_summary_sheet(scores)]


def scorecard_summary_sheet(scores: list[Score]) -> Sheet:
    groups = [score.group for score in scores[0].groups] if scores else list(DEFAULT_SCORECARD)
    header = ("Mã cơ quan", "Cơ quan", *(f"{group.name} ({_number(group.points)})" for group in groups),
              "Tổng điểm", "Điểm tối đa đo được")
    rows = [(score.agency_code, score.agency_name, *(group.points for group in score.groups), score.points,
             score.measured_max) for score in scores]
    return Sheet("tong-hop-diem", "Bảng điểm 766 theo cơ quan", header, rows)


def dossier_sheets(rows: Iterable[DossierLine], *, title: str = "Danh sách hồ sơ",
                   agencies: Mapping[str, str] | None = None) -> list[Sheet]:
    """A list of dossiers (streamed: `rows` is read once, as the writer goes)."""
    names = agencies or {}
    header = ("Mã hồ sơ", "Thủ tục", "Cơ quan", "Trạng thái", "Kênh nộp", "Ngày nộp", "Ngày tiếp nhận",
              "Hạn giải quyết", "Ngày kết thúc", "Tiến độ")
    lines = ((row.code, row.procedure_name, names.get(row.agency_code, row.agency_code), status_label(row.status),
              CHANNELS.get(row.channel, row.channel), vn_time(row.submitted_at), vn_time(row.received_at),
              vn_time(row.due_at), vn_time(row.finished_at), TIMELINESS.get(row.timeliness or "", row.timeliness))
             for row in rows)
    return [Sheet("ho-so", title, header, lines)]


def vn_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(VN_TZ)


# -- how a cell reads -----------------------------------------------------------------------------------

def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def display(value: Cell) -> str:
    """A cell for people (the printable page): 1.234 ; 66,7 % ; 2,35 ; 05/03/2026 09:15 ; — for nothing."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, Share):
        return f"{value * 100:.1f}".replace(".", ",") + " %"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, datetime):
        return value.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") if value.tzinfo else value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


#: A spreadsheet reads a cell starting with these as a formula (CSV injection): such text gets a '.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Cell) -> str:
    """A cell for CSV: machine-readable (decimal point, ISO dates in Vietnam time, shares as 0–1)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.{4 if isinstance(value, Share) else 2}f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"
    if isinstance(value, datetime):
        local = value.astimezone(VN_TZ) if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return csv_text(str(value))


# -- writers ----------------------------------------------------------------------------------------------

BOM = "\ufeff".encode()
CSV_CHUNK_ROWS = 500


def iter_csv(sheet: Sheet) -> Iterator[bytes]:
    """The sheet as RFC 4180 CSV (CRLF, quotes doubled) in UTF-8 with a BOM, so Excel reads the
    diacritics; yielded in chunks of rows, for a streamed download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([csv_text(title) for title in sheet.header])
    first = True
    pending = 0
    for row in sheet.rows:
        writer.writerow([csv_text(cell) for cell in row])
        pending += 1
        if pending >= CSV_CHUNK_ROWS:
            yield (BOM if first else b"") + buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            first, pending = False, 0
    yield (BOM if first else b"") + buffer.getvalue().encode("utf-8")


def to_csv(sheet: Sheet) -> bytes:
    return b"".join(iter_csv(sheet))


XLSX_FORMATS = {"header": {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E7EEF7"},
                "share": {"num_format": "0.0%"}, "number": {"num_format": "#,##0.00"},
                "date": {"num_format": "dd/mm/yyyy"}, "datetime": {"num_format": "dd/mm/yyyy hh:mm"}}
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_COLUMN_WIDTH = 60
#: Columns are sized to the header and the first rows: measuring every cell of a long list costs
#: more than the width is worth.
WIDTH_SAMPLE_ROWS = 1000


def to_xlsx(sheets: Iterable[Sheet]) -> bytes:
    """An Excel workbook, one worksheet per sheet: real numbers, percentages and dates with their
    formats, a bold frozen header, columns sized to their content. Rows go to disk as they are
    written (constant_memory), so a long dossier list costs little memory; text is always text
    (no formulas, no links)."""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "strings_to_numbers": False})
    formats = {name: workbook.add_format(spec) for name, spec in XLSX_FORMATS.items()}
    used: set[str] = set()
    for sheet in sheets:
        _write_worksheet(workbook.add_worksheet(_sheet_name(sheet.title, used)), sheet, formats)
    workbook.close()
    return output.getvalue()


def _write_worksheet(worksheet: Any, sheet: Sheet, formats: Mapping[str, Any]) -> None:
    widths = [len(title) for title in sheet.header]
    for col, title in enumerate(sheet.header):
        worksheet.write_string(0, col, title, formats["header"])
    row_number = 0
    for row_number, row in enumerate(sheet.rows, start=1):
        for col, value in enumerate(row):
            _write_cell(worksheet, row_number, col, value, formats)
            if row_number <= WIDTH_SAMPLE_ROWS and col < len(widths) and value is not None:
                widths[col] = max(widths[col], len(display(value)))
    for col, width in enumerate(widths):
        worksheet.set_column(col, col, min(max(width, 6), MAX_COLUMN_WIDTH) + 2)
    worksheet.freeze_panes(1, 0)
    if sheet.header:
        worksheet.autofilter(0, 0, max(row_number, 1), len(sheet.header) - 1)


def _write_cell(worksheet: Any, row: int, col: int, value: Cell, formats: Mapping[str, Any]) -> None:
    if value is None:
        return
    if isinstance(value, str):
        worksheet.write_string(row, col, value)
    elif isinstance(value, bool):
        worksheet.write_boolean(row, col, value)
    elif isinstance(value, Share):
        worksheet.write_number(row, col, float(value), formats["share"])
    elif isinstance(value, int):
        worksheet.write_number(row, col, value)
    elif isinstance(value, float):
        worksheet.write_number(row, col, value, formats["number"])
    elif isinstance(value, datetime):
        local = value.astimezone(VN_TZ).replace(tzinfo=None) if value.tzinfo else value
        worksheet.write_datetime(row, col, local, formats["datetime"])
    elif isinstance(value, date):
        worksheet.write_datetime(row, col, datetime(value.year, value.month, value.day), formats["date"])
    else:
        worksheet.write_string(row, col, str(value))


def _sheet_name(title: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook (case-blind)."""
    base = " ".join(_SHEET_NAME_FORBIDDEN.sub(" ", title).split())[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name
