"""The monitoring dashboards of admins and leaders: a period's figures, the dossiers behind each
figure, the 766/QĐ-TTg scorecard per agency and the heat view of where dossiers wait on the BPMN.

Filters travel in the query string (a GET form: a report is a link one can bookmark and send);
the service forces a leader's own agency whatever the link says. CSV/XLSX/PDF exports live in
web/pages/report_exports.py; these pages only link to them.
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request, url_for
from flask_babel import format_decimal, format_percent
from flask_babel import gettext as _

from engine import errors
from engine.reports.indicators import Ratio, StepTime
from engine.reports.scorecard import as_dict as scorecard_rows
from engine.services import reports
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp

PER_PAGE = 50
#: The share of satisfied ratings a province aims at (DOMAIN.md: "hài lòng trên 80%").
SATISFACTION_TARGET = 0.8
HEAT_LEVELS = 5


# --- words -----------------------------------------------------------------------------------------


def indicator_labels() -> dict[str, str]:
    """What each list of dossiers is, in the page's language (built per call: the request's locale)."""
    labels = {
        "submitted": _("Hồ sơ nộp"), "submitted_online": _("Hồ sơ nộp trực tuyến"),
        "submitted_synced": _("Hồ sơ đã đồng bộ lên Cổng Dịch vụ công quốc gia"),
        "received": _("Hồ sơ tiếp nhận"), "received_online": _("Hồ sơ tiếp nhận trực tuyến"),
        "received_desk": _("Hồ sơ tiếp nhận trực tiếp hoặc qua bưu chính"),
        "received_digitized": _("Hồ sơ được số hóa khi tiếp nhận"),
        "finished": _("Hồ sơ đã kết thúc"), "returned": _("Hồ sơ đã trả kết quả"),
        "refused": _("Hồ sơ bị từ chối"), "refused_at_reception": _("Hồ sơ bị từ chối khi tiếp nhận"),
        "withdrawn": _("Hồ sơ công dân rút"), "stopped": _("Hồ sơ dừng xử lý"),
        "finished_with_supplement": _("Hồ sơ đã kết thúc có yêu cầu bổ sung"),
        "resolved": _("Hồ sơ đã giải quyết"), "early": _("Hồ sơ giải quyết trước hạn"),
        "on_time": _("Hồ sơ giải quyết đúng hạn"), "late": _("Hồ sơ giải quyết quá hạn"),
        "resolved_e_result": _("Hồ sơ được cấp kết quả điện tử"),
        "resolved_dissatisfied": _("Hồ sơ đã giải quyết bị đánh giá không hài lòng"),
        "processed": _("Hồ sơ có thời gian xử lý"), "fee_finished": _("Hồ sơ phải nộp phí, lệ phí"),
        "fee_paid_online": _("Hồ sơ nộp phí, lệ phí trực tuyến"), "paid_online": _("Khoản thanh toán trực tuyến"),
        "rated": _("Hồ sơ được đánh giá"), "satisfied": _("Hồ sơ được đánh giá hài lòng (4–5 điểm)"),
        "overdue_now": _("Hồ sơ đang quá hạn"),
    }
    labels.update({f"rating_{score}": _("Hồ sơ được đánh giá %(score)s điểm", score=score) for score in range(1, 6)})
    return labels


def indicator_label(indicator: str) -> str:
    if indicator.startswith("step:"):
        return _("Hồ sơ đã qua bước «%(step)s» trong kỳ", step=indicator.removeprefix("step:"))
    if indicator.startswith("waiting:"):
        return _("Hồ sơ đang chờ ở bước «%(step)s»", step=indicator.removeprefix("waiting:"))
    return indicator_labels().get(indicator, indicator)


def timeliness_names() -> dict[str, str]:
    return {"early": _("Trước hạn"), "on_time": _("Đúng hạn"), "late": _("Quá hạn")}


def role_names() -> dict[str, str]:
    return {"applicant": _("Người nộp hồ sơ"), "desk": _("Cán bộ một cửa"), "specialist": _("Chuyên viên"),
            "leader": _("Lãnh đạo")}


# --- numbers ---------------------------------------------------------------------------------------


def number(value: int | float | None) -> str:
    return "—" if value is None else format_decimal(value)


def days(value: float | None) -> str:
    """Working days with one decimal ("2,5" in Vietnamese); "—" when nothing was measured."""
    return "—" if value is None else format_decimal(value, format="#,##0.0")


def share(value: Ratio | float | None) -> str:
    """A ratio as a percentage with one decimal; "—" when it has no denominator (never a made-up 0 %)."""
    value = value.share if isinstance(value, Ratio) else value
    return "—" if value is None else format_percent(value, format="#,##0.0%")


# --- the heat view ---------------------------------------------------------------------------------


def heat_level(average_minutes: float, longest: float) -> int:
    """1 (quick) to 5 (the slowest step of the procedure), by the step's share of the longest average."""
    return max(1, min(HEAT_LEVELS, 1 + int(HEAT_LEVELS * average_minutes / longest)))


def heat_levels(steps: list[StepTime]) -> dict[str, int]:
    """Each measured step's heat level, relative to the slowest step on average."""
    longest = max((step.average_minutes or 0 for step in steps), default=0)
    return {step.bpmn_id: heat_level(step.average_minutes, longest)
            for step in steps if step.average_minutes is not None and longest}


def heat_marks(steps: list[StepTime], levels: dict[str, int]) -> dict[str, str]:
    """Diagram marks (element id → CSS classes): `report-heat-<level>`, and `report-waiting` where
    dossiers wait now."""
    marks = {}
    for step in steps:
        classes = [f"report-heat-{levels[step.bpmn_id]}"] if step.bpmn_id in levels else []
        if step.open_now:
            classes.append("report-waiting")
        if classes:
            marks[step.bpmn_id] = " ".join(classes)
    return marks


# --- filters and links -----------------------------------------------------------------------------


def filter_args(filters: reports.Filters) -> dict[str, str]:
    """The query arguments that reproduce `filters` (for every link of the page)."""
    args = {"tu_ngay": filters.date_from.isoformat(), "den_ngay": filters.date_to.isoformat()}
    if filters.agency_code:
        args["co_quan"] = filters.agency_code
    if filters.procedure_id:
        args["thu_tuc"] = str(filters.procedure_id)
    return args


def _page_context(endpoint: str, **endpoint_args: Any) -> tuple[reports.Filters | None, dict[str, Any]]:
    """The filters of this request and what every report page's template needs; on invalid filters
    (None, context with the field errors and the form as it was sent)."""
    ctx, actor = engine_ctx(), page_actor()
    reports.require_reader(actor)
    context: dict[str, Any] = {"choices": reports.choices(ctx, actor), "field_errors": {},
                               "endpoint": endpoint, "endpoint_args": endpoint_args, "number": number,
                               "share": share, "days": days, "indicator_label": indicator_label}
    try:
        filters = reports.report_filters(ctx, actor, request.args)
    except errors.InvalidInput as exc:
        sent = {key: request.args.get(key, "") for key in reports.FILTER_ARGS.values()}
        context.update(field_errors=exc.errors, form=sent, args={k: v for k, v in sent.items() if v})
        return None, context
    args = filter_args(filters)
    context.update(filters=filters, form=args, args=args, behind=_behind_link(args))
    return filters, context


def _behind_link(args: dict[str, str]):
    def behind(indicator: str, **narrower: Any) -> str:
        """The list of dossiers behind `indicator`, within this page's filters (narrowed by row)."""
        return url_for("pages.reports_dossiers", chi_so=indicator, **{**args, **narrower})

    return behind


def _render(template: str, filters: reports.Filters | None, context: dict[str, Any]):
    return render_template(template, **context), 200 if filters is not None else 400


# --- pages -----------------------------------------------------------------------------------------


@bp.get("/quan-tri/bao-cao")
@login_required
def reports_dashboard():
    filters, context = _page_context("pages.reports_dashboard")
    if filters is not None:
        ctx, actor = engine_ctx(), page_actor()
        seen = reports.overview(ctx, actor, filters)
        context.update(board=seen.board, agencies=seen.agencies, procedures=seen.procedures,
                       charts=_chart_data(seen.board), target=SATISFACTION_TARGET)
    return _render("reports/dashboard.html", filters, context)


def _chart_data(board) -> dict[str, Any]:
    """What reports-charts.js draws (labels in the page's language); the tables carry the same numbers."""
    counts = board.counts
    return {
        "received": {"title": _("Hồ sơ tiếp nhận theo hình thức"), "type": "doughnut",
                     "labels": [_("Trực tuyến"), _("Trực tiếp, bưu chính")],
                     "values": [counts["received_online"], counts["received_desk"]]},
        "outcome": {"title": _("Kết quả giải quyết"), "type": "bar",
                    "labels": [_("Trước hạn"), _("Đúng hạn"), _("Quá hạn")],
                    "values": [counts["early"], counts["on_time"], counts["late"]]},
        "satisfaction": {"title": _("Đánh giá mức độ hài lòng"), "type": "bar",
                         "labels": [_("%(score)s điểm", score=score) for score in range(1, 6)],
                         "values": [counts[f"rating_{score}"] for score in range(1, 6)]},
    }


@bp.get("/quan-tri/bao-cao/ho-so/<chi_so>")
@login_required
def reports_dossiers(chi_so: str):
    filters, context = _page_context("pages.reports_dossiers", chi_so=chi_so)
    context.update(indicator=chi_so, title=indicator_label(chi_so), timeliness=timeliness_names())
    if filters is None:
        return _render("reports/dossiers.html", filters, context)
    try:
        page = max(1, int(request.args.get("trang", "1")))
    except ValueError:
        page = 1
    try:
        listed = reports.dossiers_behind(engine_ctx(), page_actor(), chi_so, filters, page=page, per_page=PER_PAGE)
    except errors.InvalidInput as exc:
        context.update(field_errors=exc.errors)
        return render_template("reports/dossiers.html", **context), 404
    context.update(listed=listed, pages=_pages(chi_so, context["args"], listed))
    return render_template("reports/dossiers.html", **context)


def _pages(indicator: str, args: dict[str, str], listed: reports.DossierPage) -> dict[str, str | None]:
    def at(number: int) -> str:
        return url_for("pages.reports_dossiers", chi_so=indicator, trang=number, **args)

    return {"prev": at(listed.page - 1) if listed.page > 1 else None,
            "next": at(listed.page + 1) if listed.page < listed.pages else None}


@bp.get("/quan-tri/bao-cao/cham-diem")
@login_required
def reports_scorecard():
    filters, context = _page_context("pages.reports_scorecard")
    if filters is not None:
        context.update(scores=scorecard_rows(reports.scorecard(engine_ctx(), page_actor(), filters)))
    return _render("reports/scorecard.html", filters, context)


@bp.get("/quan-tri/bao-cao/buoc")
@login_required
def reports_steps():
    """The steps' working time and waiting dossiers; with a procedure chosen, on its BPMN diagram."""
    filters, context = _page_context("pages.reports_steps")
    if filters is not None:
        ctx, actor = engine_ctx(), page_actor()
        board = reports.dashboard(ctx, actor, filters)
        diagram = reports.procedure_diagram(ctx, actor, filters.procedure_id) if filters.procedure_id else None
        levels = heat_levels(board.steps)
        context.update(steps=board.steps, diagram=diagram, levels=levels, marks=heat_marks(board.steps, levels),
                       roles=role_names(), minutes_per_day=board.processing.minutes_per_day)
    return _render("reports/steps.html", filters, context)


@bp.get("/quan-tri/bao-cao/so-do/<id:procedure_id>")
@login_required
def reports_diagram(procedure_id: int):
    """The BPMN XML the heat view draws (the studio's export is for analysts only)."""
    diagram = reports.procedure_diagram(engine_ctx(), page_actor(), procedure_id)
    response = Response(diagram.xml, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response
