"""The citizens' pages: the procedure catalogue, the receipt, public tracking, "Hồ sơ của tôi" with a
dossier's timeline, documents, supplement, payment and rating. Submission is in web/pages/wizard.py."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

import forms
from engine import errors, services
from engine.services import payments, ratings, uploads
from engine.services.dossiers import read_tracked_document, tracked_documents
from engine.services.my_dossiers import list_own_dossiers
from engine.services.search import fold
from forms.uploads import file_limits, read_upload
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp

#: Documents an applicant may download: what the agency issued to them, the signed result, their uploads.
CITIZEN_KINDS = ("giay-tiep-nhan", "phieu-yeu-cau-bo-sung", "phieu-tu-choi", "phieu-xin-loi", "ket-qua-ky-so",
                 "phieu-yeu-cau-bo-sung-ky-so", "phieu-tu-choi-ky-so", "phieu-xin-loi-ky-so", uploads.UPLOAD_KIND)
#: The applicant's task in a supplement loop (bpmn id), completed from the dossier page.
SUPPLEMENT_TASKS = ("bo_sung_ho_so",)
UPLOAD_LIMITS = file_limits({"ui:options": {"accept": ".pdf,.png,.jpg"}})


def deadline_words(deadline: dict[str, Any] | None) -> str:
    """"3 ngày làm việc", "Trong ngày": a procedure's legal deadline as the applicant reads it."""
    if not deadline:
        return ""
    unit, value = deadline.get("unit"), deadline.get("value")
    if unit == "same_day":
        return _("Trong ngày")
    amount = f"{value:g}".replace(".", ",") if isinstance(value, int | float) else str(value or "")
    units = {"working_days": _("ngày làm việc"), "working_hours": _("giờ làm việc"), "days": _("ngày"),
             "hours": _("giờ")}
    return f"{amount} {units.get(unit, unit or '')}".strip()


def start_form_of(view) -> forms.Form | None:
    start = view.start_form
    return forms.load_form(start["schema"], start.get("ui_schema")) if start else None


def form_fields(view) -> list[tuple[str, bool]]:
    """The start form's top-level fields (title, required), in the order the form shows them."""
    if not view.start_form:
        return []
    schema, ui = view.start_form["schema"], view.start_form.get("ui_schema") or {}
    props = schema.get("properties") or {}
    order = [name for name in ui.get("ui:order", []) if name in props]
    order += [name for name in props if name not in order]
    required = set(schema.get("required") or [])
    return [((ui.get(n) or {}).get("ui:title") or props[n].get("title") or n, n in required) for n in order]


@bp.app_template_filter("deadline_words")
def _deadline_words(deadline):
    return deadline_words(deadline)


@bp.get("/thu-tuc")
def catalogue():
    query = request.args.get("q", "").strip()[:200]
    procedures = services.list_procedures(engine_ctx())
    if query:
        needle = fold(query)
        procedures = [p for p in procedures if needle in fold(p.name) or needle in p.code.lower()
                      or needle in fold(p.field or "")]
    partial = request.headers.get("HX-Request") == "true"
    return render_template("citizen/catalogue_results.html" if partial else "citizen/catalogue.html",
                           procedures=procedures, query=query)


@bp.get("/thu-tuc/<slug>")
def procedure(slug: str):
    view = services.get_procedure(engine_ctx(), slug)
    return render_template("citizen/procedure.html", procedure=view, fields=form_fields(view))


@bp.get("/thu-tuc/<slug>/mau-to-khai")
def blank_form(slug: str):
    """The start form, blank and read-only, to print and fill by hand at the desk."""
    view = services.get_procedure(engine_ctx(), slug)
    form = start_form_of(view)
    if form is None:
        abort(404)
    return render_template("citizen/blank_form.html", procedure=view,
                           form_html=forms.render_form(form, {}, readonly=True))


# --- after submission ------------------------------------------------------------------------------


@bp.get("/ho-so/<code>/bien-nhan")
@login_required
def receipt(code: str):
    from engine.documents.qr import qr_png_data_uri, tracking_url

    ctx = engine_ctx()
    view = services.get_dossier(ctx, page_actor(), code)
    url = tracking_url(ctx.settings.public_url, view.code)
    return render_template("citizen/receipt.html", dossier=view, tracking_url=url, qr=qr_png_data_uri(url))


@bp.get("/tra-cuu")
def track():
    code, secret = request.args.get("code", "").strip(), request.args.get("secret", "").strip()
    result = error = None
    documents = []
    if code and secret:
        try:
            result = services.track_dossier(engine_ctx(), code, secret)
            documents = tracked_documents(engine_ctx(), code, secret)
        except errors.NotFound as exc:
            error = exc.message_vi
    elif request.args.get("secret") is not None and not (code and secret):
        error = _("Vui lòng nhập mã hồ sơ và số điện thoại hoặc số định danh.")
    return render_template("citizen/track.html", code=code, secret=secret if result else "", result=result,
                           documents=documents, error=error), \
        404 if result is None and code and secret else 400 if error else 200


@bp.post("/tra-cuu/tai-ket-qua")
def tracked_document():
    """The signed result of a dossier, for whoever proves it as tracking does (no account): the
    proof travels in the form's body, never in a download link that logs and histories keep."""
    code, secret = request.form.get("code", "").strip(), request.form.get("secret", "").strip()
    raw = request.form.get("attachment_id", "")
    if not raw.isdigit() or len(raw) > 12:
        abort(404)
    view, content = read_tracked_document(engine_ctx(), code, secret, int(raw))
    return _download(view, content)


@bp.post("/tra-cuu/danh-gia")
def rate_tracked():
    """The rating of a dossier submitted without an account, proved by the phone or ID number."""
    code, secret = request.form.get("code", "").strip(), request.form.get("secret", "").strip()
    score, comment = _rating_input()
    _flash_outcome(lambda: ratings.rate_dossier(engine_ctx(), None, code, score, comment, proof=secret),
                   _("Cảm ơn Ông/Bà đã đánh giá."), refused=errors.MotcuaError)
    # The proof goes back in the query only on this redirect the applicant made themselves.
    return redirect(url_for("pages.track", code=code, secret=secret) + "#danh-gia")


def _rating_input() -> tuple[Any, str | None]:
    raw = request.form.get("score", "")
    return (int(raw) if raw.isdigit() else None), request.form.get("comment") or None


@bp.get("/ho-so-cua-toi")
@login_required
def mine():
    ctx, actor = engine_ctx(), page_actor()
    drafts = services.list_drafts(ctx, actor) if actor.role in ("citizen", "desk") else []
    return render_template("citizen/mine.html", dossiers=list_own_dossiers(ctx, actor), drafts=drafts,
                           retry_offers=payments.retry_offers(ctx, actor))


@bp.post("/ho-so-cua-toi/nhap/<id:draft_id>/xoa")
@login_required
def delete_draft(draft_id: int):
    services.delete_draft(engine_ctx(), page_actor(), draft_id)
    flash(_("Đã xóa bản nháp."))
    return redirect(url_for("pages.mine"))


def _supplement_task(ctx, actor, code: str):
    if actor.role != "citizen":
        return None
    open_tasks = [t for t in services.list_inbox(ctx, actor, limit=200) if t.dossier_code == code]
    found = next((t for t in open_tasks if t.bpmn_id in SUPPLEMENT_TASKS), None)
    return services.get_task(ctx, actor, found.id) if found else None


def _asked_items(task) -> list[str]:
    data = (task.data or {}) if task else {}
    items = data.get("giay_to_thieu") or []
    return [str(i) for i in items] if isinstance(items, list) else [str(items)]


@bp.get("/ho-so-cua-toi/<code>")
@login_required
def my_dossier(code: str, *, supplement_errors: dict | None = None, status: int = 200):
    ctx, actor = engine_ctx(), page_actor()
    view = services.get_dossier(ctx, actor, code)
    documents = [a for a in services.list_attachments(ctx, actor, code) if a.kind in CITIZEN_KINDS]
    task = _supplement_task(ctx, actor, code) if view.status == "supplement_requested" else None
    return render_template("citizen/dossier.html", dossier=view, documents=documents, task=task,
                           asked=_asked_items(task), fee=payments.fee_payment(ctx, actor, code),
                           supplement_errors=supplement_errors or {}), status


@bp.post("/ho-so-cua-toi/<code>/thanh-toan-lai")
@login_required
def retry_payment(code: str):
    """"Thanh toán lại": a new attempt on the payment platform after a failed or abandoned one. The
    form names the attempt it replaces, so a double click or a stale page starts nothing more."""
    replaces = request.form.get("thay_cho", "").strip()
    if not replaces.isalnum() or len(replaces) > 64:
        flash(_("Không xác định được giao dịch cần thanh toán lại; vui lòng tải lại trang."))
        return redirect(url_for("pages.my_dossier", code=code) + "#thanh-toan")
    _flash_outcome(lambda: payments.retry_payment(engine_ctx(), page_actor(), code, replaces),
                   _("Đang tạo giao dịch thanh toán mới trên Nền tảng thanh toán."))
    return redirect(url_for("pages.my_dossier", code=code) + "#thanh-toan")


@bp.get("/ho-so-cua-toi/<code>/tep/<id:attachment_id>")
@login_required
def my_document(code: str, attachment_id: int):
    view, content = services.read_attachment(engine_ctx(), page_actor(), code, attachment_id)
    if view.kind not in CITIZEN_KINDS:
        abort(404)
    return _download(view, content)


def _download(view, content: bytes) -> Response:
    """A dossier's document as a download: personal, so no shared cache keeps it."""
    return Response(content, mimetype=view.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{_quote(view.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@bp.post("/ho-so-cua-toi/<code>/bo-sung")
@login_required
def supplement(code: str):
    """The applicant answers a supplement request: what they did, and the files asked for."""
    ctx, actor = engine_ctx(), page_actor()
    task = _supplement_task(ctx, actor, code)
    if task is None:
        flash(_("Hồ sơ không ở trạng thái chờ bổ sung."))
        return redirect(url_for("pages.my_dossier", code=code))
    files, problems = [], {}
    for index, _item in enumerate(_asked_items(task)):
        upload = read_upload(request.files.get(f"tep_{index}"), UPLOAD_LIMITS) \
            if request.files.get(f"tep_{index}") else None
        if upload is None:
            continue
        if upload.errors:
            problems[f"tep_{index}"] = list(upload.errors)
        else:
            files.append(uploads.store_file(ctx, upload.content, upload.filename, upload.content_type))
    note = request.form.get("noi_dung_bo_sung", "").strip()
    if not note:
        problems["noi_dung_bo_sung"] = [_("Vui lòng nhập nội dung bổ sung, hoàn thiện.")]
    if problems:
        return my_dossier(code, supplement_errors=problems, status=400)
    try:
        uploads.complete_with_files(ctx, actor, task.id, {"noi_dung_bo_sung": note, "rut_ho_so": False}, files)
    except errors.InvalidInput as exc:
        return my_dossier(code, supplement_errors={"noi_dung_bo_sung": [m for ms in exc.errors.values()
                                                                        for m in ms]}, status=400)
    flash(_("Đã gửi hồ sơ bổ sung."))
    return redirect(url_for("pages.my_dossier", code=code))


@bp.post("/ho-so-cua-toi/<code>/danh-gia")
@login_required
def rate(code: str):
    score, comment = _rating_input()
    _flash_outcome(lambda: ratings.rate_dossier(engine_ctx(), page_actor(), code, score, comment),
                   _("Cảm ơn Ông/Bà đã đánh giá."))
    return redirect(url_for("pages.my_dossier", code=code) + "#danh-gia")


def _flash_outcome(action, done: str, *, refused: type[errors.MotcuaError] = errors.Conflict) -> None:
    """Run one engine call for a form that comes back to the same page: its refusal or `done` as a flash."""
    try:
        action()
    except errors.InvalidInput as exc:
        flash(" ".join(m for ms in exc.errors.values() for m in ms))
    except refused as exc:
        flash(exc.message_vi)
    else:
        flash(done)
