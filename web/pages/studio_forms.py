"""The studio's form editor: a draft's forms, each edited as JSON Schema + UI schema text beside a
live preview drawn by our own renderer (the one the citizen wizard and the task pages use).

The textareas keep whatever the analyst typed: unreadable JSON or a schema the renderer refuses is
shown with its location instead of the preview, and saving it is refused with the same message.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

import forms
from engine import errors
from engine.services import studio
from engine.services.studio_drafts import form_users
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp
from web.pages.studio import input_revision, messages_of, posted_revision
from web.pages.studio_json import JsonField, pretty, read_json

#: Input names in the preview: kept apart from the editor's own fields.
PREVIEW_PREFIX = "xem-truoc"
#: A new form starts with one field, so the preview shows something to change.
STARTER_SCHEMA = {"type": "object", "properties": {"ghi_chu": {"type": "string", "title": "Ghi chú"}}}
STARTER_UI_SCHEMA = {"ghi_chu": {"ui:widget": "textarea"}}


def form_usage(package: dict[str, Any]) -> dict[str, list[str]]:
    """Form name → where it is used (the start of the procedure, the steps showing it): a used form
    cannot be deleted, so the list offers no delete button for it."""
    return {name: users for name in package["forms"] if (users := form_users(package, name))}


def render_preview(schema: JsonField, ui_schema: JsonField) -> tuple[Markup | None, list[str]]:
    """The form as an applicant will see it, or the located reasons it cannot be shown."""
    problems = [f"{_('Lược đồ JSON Schema')}: {f.error}" for f in (schema,) if f.error] + \
               [f"{_('Lược đồ giao diện')}: {f.error}" for f in (ui_schema,) if f.error]
    if problems:
        return None, problems
    try:
        form = forms.load_form(schema.value, ui_schema.value)
        if not form.steps:
            return forms.render_form(form, prefix=PREVIEW_PREFIX), []
        return Markup("").join(forms.render_form(form, prefix=PREVIEW_PREFIX, step=step.number)
                               for step in form.steps), []
    except ValueError as exc:  # what load_form refuses, named with its JSON pointer
        return None, [_("Bộ hiển thị biểu mẫu không dùng được lược đồ này: %(reason)s", reason=str(exc))]


def _posted_fields() -> tuple[JsonField, JsonField]:
    return (read_json(request.form.get("schema")),
            read_json(request.form.get("ui_schema"), empty={}))


@bp.route("/thiet-ke/ban-nhap/<id:draft_id>/bieu-mau", methods=["GET", "POST"])
@login_required
def studio_forms(draft_id: int):
    """The draft's forms; POST adds a new one (by its file name) and opens it."""
    ctx, actor = engine_ctx(), page_actor()
    draft = studio.get_draft(ctx, actor, draft_id)
    problems: list[str] = []
    new_name = ""
    if request.method == "POST":
        new_name = request.form.get("name", "").strip()
        if new_name in draft.package["forms"]:
            problems = [_("Đã có biểu mẫu «%(name)s».", name=new_name)]
        else:
            try:
                studio.save_draft_form(ctx, actor, draft_id, new_name, STARTER_SCHEMA, STARTER_UI_SCHEMA)
            except errors.InvalidInput as exc:
                problems = messages_of(exc)
            else:
                flash(_("Đã thêm biểu mẫu «%(name)s».", name=new_name))
                return redirect(url_for("pages.studio_form", draft_id=draft_id, name=new_name))
    return render_template("studio/forms.html", draft=draft, usage=form_usage(draft.package), problems=problems,
                           new_name=new_name), 400 if problems else 200


@bp.route("/thiet-ke/ban-nhap/<id:draft_id>/bieu-mau/<name>", methods=["GET", "POST"])
@login_required
def studio_form(draft_id: int, name: str):
    """One form's two textareas and its preview. POST saves (or, without JavaScript, previews)."""
    ctx, actor = engine_ctx(), page_actor()
    draft = studio.get_draft(ctx, actor, draft_id)
    stored = draft.package["forms"].get(name)
    if stored is None and request.method == "GET":
        raise errors.NotFound(f"no form {name}", message_vi="Bản nháp không có biểu mẫu này.")
    if request.method == "GET":
        schema = JsonField(pretty(stored["schema"]), stored["schema"])
        ui_value = stored.get("ui_schema") or {}
        ui_schema = JsonField(pretty(ui_value), ui_value)
    else:
        schema, ui_schema = _posted_fields()
    preview, problems = render_preview(schema, ui_schema)
    saved_problems: list[str] = []
    revision, conflict = input_revision(draft), None
    if request.method == "POST" and request.form.get("action") != "preview":
        if problems:
            saved_problems = problems
        else:
            try:
                draft = studio.save_draft_form(ctx, actor, draft_id, name, schema.value, ui_schema.value,
                                               revision=revision)
            except errors.InvalidInput as exc:
                saved_problems = messages_of(exc)
            except errors.Conflict as exc:
                conflict = exc.message_vi
            else:
                flash(_("Đã lưu biểu mẫu «%(name)s».", name=name))
                return redirect(url_for("pages.studio_form", draft_id=draft_id, name=name))
    status = 409 if conflict else 400 if saved_problems else 200
    return render_template("studio/form_edit.html", draft=draft, name=name, schema=schema, ui_schema=ui_schema,
                           preview=preview, problems=problems, saved_problems=saved_problems,
                           usage=form_users(draft.package, name), revision=revision, conflict=conflict), status


@bp.post("/thiet-ke/ban-nhap/<id:draft_id>/bieu-mau/<name>/xem-truoc")
@login_required
def studio_form_preview(draft_id: int, name: str):
    """The live preview (htmx): always 200, since an unreadable schema is what the preview shows."""
    studio.get_draft(engine_ctx(), page_actor(), draft_id)  # the draft's readers only
    preview, problems = render_preview(*_posted_fields())
    return render_template("studio/_preview.html", preview=preview, problems=problems)


@bp.post("/thiet-ke/ban-nhap/<id:draft_id>/bieu-mau/<name>/xoa")
@login_required
def studio_form_delete(draft_id: int, name: str):
    """Delete a form the BPMN does not use (the engine refuses one that is still shown by a step)."""
    ctx, actor = engine_ctx(), page_actor()
    try:
        studio.delete_draft_form(ctx, actor, draft_id, name, revision=posted_revision())
    except errors.InvalidInput as exc:
        flash(" ".join(messages_of(exc)))
    except errors.Conflict as exc:
        # The list is shown again as the draft is now (the form may have been edited meanwhile).
        draft = studio.get_draft(ctx, actor, draft_id)
        return render_template("studio/forms.html", draft=draft, usage=form_usage(draft.package), problems=[],
                               new_name="", conflict=exc.message_vi), 409
    else:
        flash(_("Đã xóa biểu mẫu «%(name)s».", name=name))
    return redirect(url_for("pages.studio_forms", draft_id=draft_id))
