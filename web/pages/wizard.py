"""Online submission as a wizard: the start form's steps (one when it has no ui:steps), then
"Giấy tờ kèm theo" (applicant and uploads), then review and submit. Every step is saved as a draft
(`?nhap=<id>&buoc=<n>`), so the applicant resumes from "Hồ sơ của tôi"; works without JavaScript.

Draft layout: the start form's values, plus "applicant" (contact), "giay_to" (document code →
file name, the value the file fields show) and "_tep" (document code → the stored file)."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

import forms
from engine import errors, services
from engine.services import uploads
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp
from web.pages.citizen import start_form_of

EXTRA = ("applicant", "giay_to", "_tep")
MAX_FILE = 10 * 1024 * 1024


def documents_form(view) -> forms.Form:
    """The applicant's contact and one file field per required document of the procedure."""
    docs = view.required_documents
    files = {d["code"]: {"type": "string", "format": "data-url", "title": d["name"]} for d in docs}
    needed = [d["code"] for d in docs if d.get("required") and not d.get("unless_verified")]
    schema = {"type": "object", "required": ["applicant"], "properties": {
        "applicant": {"type": "object", "title": _("Người nộp hồ sơ"), "required": ["name"], "properties": {
            "name": {"type": "string", "title": _("Họ và tên"), "minLength": 1, "maxLength": 200},
            "phone": {"type": "string", "title": _("Số điện thoại"), "format": "phone-vn"},
            "id_number": {"type": "string", "title": _("Số định danh cá nhân"), "format": "cccd"},
            "email": {"type": "string", "title": _("Thư điện tử"), "format": "email", "maxLength": 254}}},
        "giay_to": {"type": "object", "title": _("Giấy tờ kèm theo"), "required": needed, "properties": files}}}
    ui = {"applicant": {"phone": {"ui:help": _("Cần số điện thoại hoặc số định danh để tra cứu hồ sơ.")}},
          "giay_to": {code: {"ui:options": {"accept": ".pdf,.png,.jpg", "maxSize": MAX_FILE}} for code in files}}
    return forms.load_form(schema, ui)


def _steps(form: forms.Form | None) -> list[str]:
    """Titles of the wizard's steps: the form's, then documents, then review."""
    titles = [s.title for s in form.steps] if form is not None and form.steps else \
        ([_("Tờ khai")] if form is not None else [])
    return titles + [_("Giấy tờ kèm theo"), _("Xem lại và nộp")]


def _form_part(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in EXTRA}


def _draft(ctx, actor, draft_id: int | None) -> tuple[dict[str, Any], int]:
    if draft_id is None:
        profile = {"name": actor.full_name, "phone": actor.phone, "id_number": actor.id_number,
                   "email": actor.email} if actor.role == "citizen" else {}
        return {"applicant": {k: v for k, v in profile.items() if v}}, 1
    saved = services.get_draft(ctx, actor, draft_id)
    return dict(saved.data or {}), saved.step or 1


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@bp.route("/nop-ho-so/<procedure>", methods=["GET", "POST"])
@login_required
def submit(procedure: str):
    ctx, actor = engine_ctx(), page_actor()
    view = services.get_procedure(ctx, procedure)
    form, docs = start_form_of(view), documents_form(view)
    titles = _steps(form)
    draft_id = _int(request.values.get("nhap"))
    data, saved_step = _draft(ctx, actor, draft_id)
    step = min(max(_int(request.args.get("buoc")) or saved_step, 1), len(titles))
    field_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        nav = request.form.get("_nav", "next")
        result = _post(ctx, actor, view, form, docs, titles, data, step, draft_id, nav)
        if not isinstance(result, tuple):
            return result
        data, field_errors, draft_id = result
    return _page(view, form, docs, titles, data, step, draft_id, field_errors)


def _page(view, form, docs, titles, data, step, draft_id, field_errors, shown=None):
    n_form = len(titles) - 2
    description = None
    if step <= n_form:
        # the wizard lists every step itself (the form's, then documents and review): the form's own
        # progress heading and step list would say the same twice, with other numbers
        body = forms.render_form(form, shown if shown is not None else _form_part(data), field_errors,
                                 step=step if form.steps else None, progress=False)
        description = form.steps[step - 1].description if form.steps else None
    elif step == n_form + 1:
        body = forms.render_form(docs, shown if shown is not None else
                                 {k: data[k] for k in ("applicant", "giay_to") if k in data}, field_errors)
    else:
        body = None
    review = None
    if body is None:
        edit = lambda n: url_for("pages.submit", procedure=view.slug, nhap=draft_id, buoc=n)  # noqa: E731
        review = [forms.render_review(form, _form_part(data), step_url=edit if form.steps else None)
                  if form is not None else None,
                  forms.render_review(docs, {k: data[k] for k in ("applicant", "giay_to") if k in data})]
    # refused at submission: each message links to the step where the answer is corrected
    error_links = _error_links(view, form, titles, draft_id, field_errors) if body is None else []
    multipart = step == n_form + 1 or bool(form and form.has_files)
    return render_template("citizen/wizard.html", procedure=view, titles=titles, step=step, body=body,
                           description=description, review=review, error_links=error_links, draft_id=draft_id, multipart=multipart,
                           errors=field_errors), 400 if field_errors else 200


def _error_links(view, form, titles, draft_id, field_errors) -> list[tuple[str, str]]:
    n_form = len(titles) - 2
    links = []
    for path, messages in field_errors.items():
        top = path.split(".", 1)[0]
        step = n_form + 1 if top in EXTRA or not form else next(
            (s.number for s in form.steps if top in s.fields), 1) if form.steps else 1
        url = url_for("pages.submit", procedure=view.slug, nhap=draft_id, buoc=step)
        links += [(message, url) for message in messages]
    return links


def _post(ctx, actor, view, form, docs, titles, data, step, draft_id, nav):
    n_form = len(titles) - 2
    errors_found: dict[str, list[str]] = {}
    if step <= n_form:
        shown = forms.apply_action(form, request.form, step=step if form.steps else None)
        if shown is not None:  # "Thêm"/"Xóa" a row: show the step again, save nothing
            return _page(view, form, docs, titles, data, step, draft_id, {}, shown=shown)
        posted = forms.parse_form(form, request.form, step=step if form.steps else None)
        if form.steps:
            data = {**{k: data[k] for k in EXTRA if k in data}, **forms.merge_step(form, _form_part(data), posted, step)}
        else:
            data = {**{k: data[k] for k in EXTRA if k in data}, **posted}
        errors_found = _errors(form, _form_part(data), step if form.steps else None)
    elif step == n_form + 1:
        data, errors_found = _documents(ctx, docs, data)
    elif nav == "submit":
        return _submit(ctx, actor, view, form, titles, data, draft_id)
    target = step - 1 if nav == "back" else step if errors_found or nav == "save" else step + 1
    try:
        saved = services.save_draft(ctx, actor, view.slug if draft_id is None else None, data,
                                    step=max(target, 1), draft_id=draft_id)
    except errors.InvalidInput as exc:
        return data, {**errors_found, "": [m for ms in exc.errors.values() for m in ms]}, draft_id
    if nav == "save":
        flash(_("Đã lưu bản nháp. Ông/Bà có thể tiếp tục từ mục Hồ sơ của tôi."))
        return redirect(url_for("pages.mine"))
    if errors_found and nav != "back":
        return data, errors_found, saved.id
    return redirect(url_for("pages.submit", procedure=view.slug, nhap=saved.id, buoc=max(target, 1)))


def _errors(form: forms.Form, data: dict[str, Any], step: int | None) -> dict[str, list[str]]:
    try:
        forms.validate(form, data, step=step)
    except forms.FormInvalid as exc:
        return exc.errors
    return {}


def _documents(ctx, docs: forms.Form, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Read the documents step: new files are stored now, a kept file only if the draft has it (a
    forged hidden reference names nothing)."""
    posted = forms.parse_form(docs, request.form, files=request.files)
    problems = forms.upload_errors(posted)
    kept_names, kept_files = dict(data.get("giay_to") or {}), dict(data.get("_tep") or {})
    names, files = {}, {}
    for code, value in (posted.get("giay_to") or {}).items():
        if isinstance(value, forms.Upload) and value.ok:
            stored = uploads.store_file(ctx, value.content, value.filename, value.content_type)
            names[code], files[code] = stored.filename, stored.as_dict()
        elif isinstance(value, str) and kept_names.get(code) == value and code in kept_files:
            names[code], files[code] = value, kept_files[code]
    data = {**data, "applicant": posted.get("applicant") or {}, "giay_to": names, "_tep": files}
    return data, {**_errors(docs, {"applicant": data["applicant"], "giay_to": names}, None), **problems}


def _submit(ctx, actor, view, form, titles, data, draft_id):
    files = [uploads.StoredFile.of(raw) for code, raw in (data.get("_tep") or {}).items()
             if code in (data.get("giay_to") or {})]
    try:
        created = uploads.submit_with_files(ctx, actor, view.slug, dict(data.get("applicant") or {}),
                                            _form_part(data), files, draft_id=draft_id)
    except errors.InvalidInput as exc:
        return data, exc.errors, draft_id
    flash(_("Đã nộp hồ sơ. Mã hồ sơ: %(code)s", code=created.code))
    return redirect(url_for("pages.receipt", code=created.code))
