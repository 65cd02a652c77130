"""The officials' workspace: the inbox with its filters and notification badge, the task page (the
dossier, its files, history and clock beside the task's form), the leader's reassigning and
substitutes, and the desk's reception of walk-in applicants with its printable receipt.

Every page works without JavaScript; htmx only swaps the inbox table and refreshes the badge.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

import forms
from engine import errors, services
from engine.documents.qr import qr_png_data_uri, tracking_url
from engine.services import inbox as inbox_service
from engine.services import workload
from engine.services.substitutions import OFFICIAL_ROLES, vietnam_today
from engine.statuses import STATUSES
from web.auth import engine_ctx, login_required, page_actor
from web.errors import status_of
from web.pages import bp
from web.redirects import local_target

PAGE_SIZE = 20
#: Shown in the page itself; anything else is only offered as a download.
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}
#: The columns the inbox sorts by (a leading "-" is descending, as the service reads it).
SORT_COLUMNS = ("due_at", "created_at", "code")
APPLICANT_FIELDS = ("name", "phone", "id_number", "email")


def _official() -> Any:
    actor = page_actor()
    if actor.role not in OFFICIAL_ROLES:
        raise errors.Forbidden(f"{actor.role} has no workspace",
                               message_vi="Trang này dành cho cán bộ tiếp nhận và xử lý hồ sơ.")
    return actor


@bp.app_context_processor
def _workspace_globals():
    def inbox_badge():
        """The counts behind the header badge, read only when an official's page draws it."""
        actor = page_actor()
        return services.inbox_summary(engine_ctx(), actor) if actor and actor.role in OFFICIAL_ROLES else None

    return {"inbox_badge": inbox_badge, "official_roles": OFFICIAL_ROLES}


# --- the inbox --------------------------------------------------------------------------------------


def _inbox_query() -> dict[str, Any]:
    args = request.args
    try:
        page = max(1, int(args.get("page", "1")))
    except ValueError:
        page = 1
    return {"procedure": args.get("procedure") or None, "status": args.get("status") or None,
            "due": args.get("due") or None, "q": args.get("q", "").strip(), "sort": args.get("sort") or "due_at",
            "page": page}


def _sort_link(query: dict[str, Any], column: str) -> tuple[str, str | None]:
    """The column header's link (toggling the direction) and its aria-sort value."""
    current = query["sort"]
    active = current.lstrip("-") == column
    descending = current.startswith("-")
    target = f"-{column}" if active and not descending else column
    args = {k: v for k, v in query.items() if v and k not in ("sort", "page")}
    state = ("descending" if descending else "ascending") if active else None
    return url_for("pages.inbox", sort=target, **args), state


def _page_links(query: dict[str, Any], has_next: bool) -> dict[str, str | None]:
    args = {k: v for k, v in query.items() if v and k != "page"}
    page = query["page"]
    return {"self": url_for("pages.inbox", page=page, **args),
            "prev": url_for("pages.inbox", page=page - 1, **args) if page > 1 else None,
            "next": url_for("pages.inbox", page=page + 1, **args) if has_next else None}


@bp.get("/cong-viec")
@login_required
def inbox():
    ctx, actor = engine_ctx(), page_actor()
    query = _inbox_query()
    shown_at = datetime.now(UTC)
    message, tasks = None, []
    try:
        tasks = services.list_inbox(ctx, actor, limit=PAGE_SIZE + 1, offset=(query["page"] - 1) * PAGE_SIZE,
                                    procedure=query["procedure"], status=query["status"], due=query["due"],
                                    search=query["q"] or None, sort=query["sort"])
    except errors.InvalidInput as exc:
        message = " ".join(m for messages in exc.errors.values() for m in messages)
    if actor.role in OFFICIAL_ROLES:
        services.mark_inbox_seen(ctx, actor, shown_at)
    context = {"tasks": tasks[:PAGE_SIZE], "has_next": len(tasks) > PAGE_SIZE, "query": query, "message": message,
               "sorts": {column: _sort_link(query, column) for column in SORT_COLUMNS},
               "pages": _page_links(query, len(tasks) > PAGE_SIZE)}
    status = 400 if message else 200
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "inbox-results":
        response = make_response(render_template("workspace/_inbox_results.html", **context), status)
    else:
        response = make_response(render_template(
            "workspace/inbox.html", procedures=services.list_procedures(ctx), statuses=STATUSES,
            due_states=inbox_service.DUE_STATES, **context), status)
    response.vary.add("HX-Request")
    return response


@bp.get("/cong-viec/thong-bao")
@login_required
def inbox_badge():
    """The header badge alone, polled by htmx every minute."""
    response = make_response(render_template("workspace/_badge.html"))
    response.headers["Cache-Control"] = "no-store"
    return response


def _back_to(default: str) -> str:
    return local_target(request.form.get("next")) or default


@bp.post("/cong-viec/<task_id>/nhan")
@login_required
def claim(task_id: str):
    try:
        services.claim_task(engine_ctx(), page_actor(), task_id)
        flash(_("Đã nhận xử lý công việc."))
    except errors.Conflict as exc:
        flash(exc.message_vi)
    return redirect(_back_to(url_for("pages.inbox")))


@bp.post("/cong-viec/<task_id>/tra-lai")
@login_required
def unclaim(task_id: str):
    try:
        services.unclaim_task(engine_ctx(), page_actor(), task_id)
        flash(_("Đã trả lại công việc để người khác nhận."))
    except errors.Conflict as exc:
        flash(exc.message_vi)
    return redirect(_back_to(url_for("pages.inbox")))


# --- the task page ----------------------------------------------------------------------------------


def _form_of(task):
    return forms.load_form(task.form["schema"], task.form.get("ui_schema")) if task.form else None


def _submitted_review(dossier, data: dict[str, Any] | None):
    """The applicant's answers, read-only, through the start form of the procedure version the
    dossier was submitted on (a later version may have renamed or dropped fields)."""
    if not dossier.start_form or not data:
        return None
    form = forms.load_form(dossier.start_form["schema"], dossier.start_form.get("ui_schema"))
    return forms.render_review(form, data, skip_empty=True)


def _task_page(view, form_html, message, status: int = 200):
    ctx, actor = engine_ctx(), page_actor()
    dossier = services.get_dossier(ctx, actor, view.dossier_code, with_data=view.data is None, with_form=True)
    finished = dossier.finished_at is not None
    return render_template(
        "workspace/task.html", task=view, form_html=form_html, message=message, dossier=dossier,
        review=_submitted_review(dossier, view.data if view.data is not None else dossier.data),
        attachments=services.list_attachments(ctx, actor, view.dossier_code), inline_types=INLINE_TYPES,
        days_left=None if finished else workload.working_days_left(ctx, dossier.due_at),
        step_days_left=workload.working_days_left(ctx, view.due_at) if view.state == "open" else None,
    ), status


@bp.route("/cong-viec/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: str):
    ctx, actor = engine_ctx(), page_actor()
    view = services.get_task(ctx, actor, task_id)
    form = _form_of(view)
    data, field_errors, message = (view.data or {}), {}, None
    if request.method == "POST":
        action = request.form.get("action", "complete")
        try:
            if action in ("claim", "unclaim"):
                (services.claim_task if action == "claim" else services.unclaim_task)(ctx, actor, task_id)
                flash(_("Đã nhận xử lý công việc.") if action == "claim" else
                      _("Đã trả lại công việc để người khác nhận."))
                return redirect(url_for("pages.task", task_id=task_id))
            shown = forms.apply_action(form, request.form) if form else None
            if shown is not None:  # "Thêm"/"Xóa" a row: show the form again, complete nothing
                return _task_page(view, forms.render_form(form, shown, {}), None)
            data = forms.parse_form(form, request.form) if form else {}
            services.complete_task(ctx, actor, task_id, data)
            flash(_("Đã hoàn thành: %(title)s", title=view.title))
            return redirect(url_for("pages.inbox"))
        except errors.InvalidInput as exc:
            field_errors, message = exc.errors, exc.message_vi
        except errors.Conflict as exc:
            message = exc.message_vi
    rendered = forms.render_form(form, data, field_errors) if form and view.state == "open" else None
    return _task_page(view, rendered, message, 400 if field_errors else 409 if message else 200)


@bp.get("/cong-viec/ho-so/<code>/tep/<id:attachment_id>")
@login_required
def attachment(code: str, attachment_id: int):
    """A dossier's file for the staff who may read the dossier (the engine checks): PDFs and images
    inline with their own safe type, anything else as a download that the browser never renders."""
    actor = page_actor()
    if not actor.is_staff:
        abort(404)
    view, content = services.read_attachment(engine_ctx(), actor, code, attachment_id)
    inline = view.content_type in INLINE_TYPES and not request.args.get("tai")
    response = send_file(io.BytesIO(content), mimetype=view.content_type if inline else "application/octet-stream",
                         as_attachment=not inline, download_name=view.filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    # Framed by our own task page only; the file itself may run nothing.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; frame-ancestors 'self'"
    return response


# --- the leader: reassigning and substitutes -----------------------------------------------------


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def _int(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        return 0


def _assign_post(ctx, actor) -> None:
    action = request.form.get("action")
    if action == "reassign":
        view = services.reassign_task(ctx, actor, request.form.get("task_id", ""), _int(request.form.get("user_id")),
                                      request.form.get("reason", ""))
        flash(_("Đã giao lại «%(title)s» của hồ sơ %(code)s.", title=view.title, code=view.dossier_code))
    elif action == "substitute":
        starts, ends = _date(request.form.get("starts_on")), _date(request.form.get("ends_on"))
        if starts is None or ends is None:
            raise errors.InvalidInput({"starts_on": [_("Vui lòng nhập ngày bắt đầu và ngày kết thúc hợp lệ.")]})
        services.set_substitute(ctx, actor, _int(request.form.get("user_id")), _int(request.form.get("substitute_id")),
                                starts, ends, request.form.get("reason", ""))
        flash(_("Đã đặt người làm thay."))
    elif action == "end":
        services.end_substitution(ctx, actor, _int(request.form.get("substitution_id")))
        flash(_("Đã kết thúc lịch làm thay."))
    else:
        abort(400)


@bp.route("/cong-viec/phan-cong", methods=["GET", "POST"])
@login_required
def assign():
    """The leader's page: give an open task to another official; set and end substitutes."""
    ctx, actor = engine_ctx(), page_actor()
    if actor.role != "leader":
        raise errors.Forbidden("leaders only", message_vi="Chỉ lãnh đạo cơ quan được phân công công việc.")
    field_errors: dict[str, list[str]] = {}
    message, status = None, 200
    if request.method == "POST":
        try:
            _assign_post(ctx, actor)
            return redirect(url_for("pages.assign"))
        except errors.InvalidInput as exc:
            field_errors, message, status = exc.errors, exc.message_vi, 400
        except (errors.Forbidden, errors.Conflict, errors.NotFound) as exc:
            message, status = exc.message_vi, status_of(exc)
    officials = services.list_officials(ctx, actor)
    return render_template(
        "workspace/assign.html", tasks=workload.agency_open_tasks(ctx, actor), officials=officials,
        names={o.id: o.full_name for o in officials}, substitutions=services.list_substitutions(ctx, actor),
        form=request.form if request.method == "POST" else {}, errors=field_errors, message=message,
        today=vietnam_today().isoformat()), status


# --- the desk: walk-in reception and its receipt ---------------------------------------------------


def _desk():
    actor = page_actor()
    if actor.role != "desk":
        raise errors.Forbidden("desk only", message_vi="Chỉ cán bộ một cửa tiếp nhận hồ sơ trực tiếp.")
    return actor


@bp.get("/tiep-nhan-truc-tiep")
@login_required
def desk_reception():
    _desk()
    return render_template("workspace/reception.html", procedures=services.list_procedures(engine_ctx()))


@bp.route("/tiep-nhan-truc-tiep/<procedure>", methods=["GET", "POST"])
@login_required
def desk_submit(procedure: str):
    ctx, actor = engine_ctx(), _desk()
    view = services.get_procedure(ctx, procedure)
    form = forms.load_form(view.start_form["schema"], view.start_form.get("ui_schema")) if view.start_form else None
    data, field_errors, message = {}, {}, None
    applicant: dict[str, Any] = {key: "" for key in APPLICANT_FIELDS} | {"kind": "1"}
    if request.method == "POST":
        applicant = {key: request.form.get(f"applicant_{key}", "").strip() for key in (*APPLICANT_FIELDS, "kind")}
        shown = forms.apply_action(form, request.form) if form else None
        if shown is not None:  # "Thêm"/"Xóa" a row: show the form again, submit nothing
            return render_template("workspace/reception_form.html", procedure=view, applicant=applicant, errors={},
                                   form_html=forms.render_form(form, shown, {}), message=None)
        data = forms.parse_form(form, request.form) if form else {}
        try:
            created = services.submit_dossier(ctx, actor, procedure, {k: v or None for k, v in applicant.items()},
                                              data, channel="desk")
            flash(_("Đã tạo hồ sơ %(code)s cho người nộp trực tiếp.", code=created.code))
            return redirect(url_for("pages.desk_receipt", code=created.code))
        except errors.InvalidInput as exc:
            field_errors, message = exc.errors, exc.message_vi
    rendered = forms.render_form(form, data, field_errors) if form else None
    return render_template("workspace/reception_form.html", procedure=view, form_html=rendered, applicant=applicant,
                           errors=field_errors, message=message), 400 if field_errors else 200


@bp.get("/tiep-nhan-truc-tiep/giay-tiep-nhan/<code>")
@login_required
def desk_receipt(code: str):
    """The printable receipt: the generated PDF once rendered, and this page printed as it is."""
    ctx, actor = engine_ctx(), page_actor()
    if not actor.is_staff:
        abort(404)
    dossier = services.get_dossier(ctx, actor, code)
    receipts = [a for a in services.list_attachments(ctx, actor, code) if a.kind.startswith("giay-tiep-nhan")]
    url = tracking_url(ctx.settings.public_url, code)
    open_tasks = services.list_inbox(ctx, actor, search=code, limit=5) if actor.role in OFFICIAL_ROLES else []
    return render_template("workspace/receipt.html", dossier=dossier, receipts=receipts, tracking=url,
                           qr=qr_png_data_uri(url), tasks=[t for t in open_tasks if t.dossier_code == code])
