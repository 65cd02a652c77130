"""Reports to take away: CSV and XLSX downloads of the dashboard, the 766 scorecard and the dossiers
behind a figure; the printable report page and the same page as a PDF.

Every download reads the dashboard's filters from the query string (`tu_ngay`, `den_ngay`,
`co_quan`, `thu_tuc`; a leader is kept to their own agency by the service). A CSV file holds one
table: `bang=<sheet key>` chooses which (dashboard: tong-hop, co-quan, thu-tuc, buoc; scorecard:
bang-diem, tong-hop-diem), the first by default; the XLSX workbook holds them all. The tables are
built once, in `engine.reports.export`, for every format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from engine import errors
from engine.calendar import VN_TZ
from engine.documents.render import html_to_pdf
from engine.reports import export
from engine.reports.filters import Filters
from engine.services import reports
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTER_ARGS = ("tu_ngay", "den_ngay", "co_quan", "thu_tuc")
PRINT_CSS = Path(__file__).resolve().parent.parent / "static" / "report-print.css"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@bp.get("/quan-tri/bao-cao/xuat/<any(dashboard, scorecard, dossiers):what>.<any(csv, xlsx):fmt>")
@login_required
def report_export(what: str, fmt: str):
    ctx, actor = engine_ctx(), page_actor()
    filters = _filters(ctx, actor)
    if what == "dashboard":
        seen = reports.overview(ctx, actor, filters)
        sheets = export.dashboard_sheets(seen.board, seen.agencies, seen.procedures)
        stem, title = "bao-cao", _("Báo cáo")
    elif what == "scorecard":
        sheets = export.scorecard_sheets(reports.scorecard(ctx, actor, filters))
        stem, title = "bang-diem-766", _("Bảng điểm 766")
    else:
        indicator = (request.args.get("chi_so") or "").strip()
        agencies = dict(reports.choices(ctx, actor)["agencies"])
        with _explained():
            if not indicator:
                raise errors.InvalidInput({"chi_so": [_("Cần chọn chỉ số (chi_so).")]}, "no indicator")
            rows = _started(reports.iter_dossiers_behind(ctx, actor, indicator, filters))
        title = export.indicator_name(indicator)
        sheets = export.dossier_sheets(rows, title=title, agencies=agencies)
        stem = f"ho-so-{indicator}"
    if fmt == "xlsx":
        return _attachment(export.to_xlsx(sheets), XLSX, stem, title, filters, "xlsx")
    sheet = _chosen(sheets, request.args.get("bang"))
    if len(sheets) > 1:
        stem, title = f"{stem}-{sheet.key}", f"{title} {sheet.title}"
    return _attachment(export.iter_csv(sheet), "text/csv; charset=utf-8", stem, title, filters, "csv")


def _filters(ctx: Any, actor: Any) -> Filters:
    with _explained():
        return reports.report_filters(ctx, actor, request.args)


@contextmanager
def _explained() -> Iterator[None]:
    """Bad filters or an unknown indicator: the error page says which, in the service's own words."""
    try:
        yield
    except errors.InvalidInput as exc:
        explained = " ".join(message for messages in exc.errors.values() for message in messages)
        exc.message_vi = explained or exc.message_vi
        raise


def _started(rows: Iterator[Any]) -> Iterable[Any]:
    """Read the first row now, so the service's checks (role, indicator) fail before the download
    starts and become an error page rather than a truncated file."""
    first = next(rows, None)
    return rows if first is None else chain([first], rows)


def _chosen(sheets: list[export.Sheet], key: str | None) -> export.Sheet:
    if not key:
        return sheets[0]
    for sheet in sheets:
        if sheet.key == key:
            return sheet
    raise errors.NotFound(f"no sheet {key!r}", message_vi=_("Báo cáo không có bảng «%(bang)s».", bang=key))


def _attachment(body: bytes | Iterable[bytes], mimetype: str, stem: str, title: str, filters: Filters,
                extension: str) -> Response:
    """A download named for its period (and agency): an ASCII name for old clients and the
    Vietnamese one as filename* (RFC 6266)."""
    period = f"{filters.date_from.isoformat()}_{filters.date_to.isoformat()}"
    agency = f"-{filters.agency_code}" if filters.agency_code else ""
    ascii_name = _UNSAFE.sub("-", f"{stem}{agency}-{period}").strip("-") + f".{extension}"
    full_name = f"{title}{agency.replace('-', ' ', 1)} {period}.{extension}"
    response = Response(body, content_type=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(full_name, safe='')}")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- the printable report -------------------------------------------------------------------------------

@bp.get("/quan-tri/bao-cao/in")
@login_required
def report_print():
    """The report laid out for A4 paper (the browser prints it; no navigation around it)."""
    return render_template("reports/print.html", **_printable(), inline_css=None)


@bp.get("/quan-tri/bao-cao/bao-cao.pdf")
@login_required
def report_pdf():
    """The printable report rendered to PDF on the server (WeasyPrint, nothing fetched: the
    stylesheet is inlined; fonts come from fontconfig, DejaVu as for the official documents)."""
    context = _printable()
    html = render_template("reports/print.html", **context, inline_css=PRINT_CSS.read_text(encoding="utf-8"))
    return _attachment(html_to_pdf(html), "application/pdf", "bao-cao", _("Báo cáo"), context["filters"], "pdf")


def _printable() -> dict[str, Any]:
    ctx, actor = engine_ctx(), page_actor()
    filters = _filters(ctx, actor)
    seen = reports.overview(ctx, actor, filters)
    summary, per_agency, per_procedure, steps = export.dashboard_sheets(seen.board, seen.agencies, seen.procedures)
    scorecard = export.scorecard_summary_sheet(reports.scorecard(ctx, actor, filters))
    choices = reports.choices(ctx, actor)
    args = {key: request.args[key] for key in FILTER_ARGS if request.args.get(key)}
    return {
        "filters": filters,
        "agency_name": dict(choices["agencies"]).get(filters.agency_code) if filters.agency_code else None,
        "procedure_name": dict(choices["procedures"]).get(filters.procedure_id) if filters.procedure_id else None,
        "generated_at": (seen.board.now or datetime.now(UTC)).astimezone(VN_TZ),
        "author": actor.full_name,
        "sheets": [summary, per_agency, per_procedure, steps, scorecard],
        "cell": export.display,
        "numeric": _numeric,
        "links": {"pdf": url_for("pages.report_pdf", **args), "back": _url_or_none("pages.reports_dashboard", args),
                  "xlsx": url_for("pages.report_export", what="dashboard", fmt="xlsx", **args)},
    }


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _url_or_none(endpoint: str, args: dict[str, str]) -> str | None:
    try:
        return url_for(endpoint, **args)
    except BuildError:  # the dashboard page is another module's; the report prints without it
        return None
