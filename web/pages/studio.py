"""The analyst studio's front door: the procedures with their versions and open drafts, opening and
discarding a draft, importing a model from another modeller and exporting one.

The other studio pages are their own modules: the BPMN editor (studio_editor), forms
(studio_forms), procedure information (studio_procedure), the test run (studio_simulation), and
publishing, versions and migration (studio_versions). Access is the engine's to decide: every
service refuses anyone but analysts and admins with a Vietnamese message (a 403 page here).
"""

from __future__ import annotations

import io
import re
from itertools import chain

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine import errors
from engine.services import studio
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp

#: The import form's file types (the engine reads the content; the name only picks the reader).
STUDIO_ROLES = ("analyst", "admin")
IMPORT_TYPES = ".bpmn,.xml,.zip"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def studio_actor():
    """The analyst or admin on a page that calls no service before it is shown (the import form):
    the same refusal the services give everyone else."""
    actor = page_actor()
    if actor.role not in STUDIO_ROLES:
        raise errors.Forbidden(f"{actor.role} has no studio",
                               message_vi="Chỉ cán bộ nghiệp vụ hoặc quản trị viên được thiết kế quy trình.")
    return actor


def messages_of(exc: errors.InvalidInput) -> list[str]:
    """Every message of an InvalidInput, in order, for a page that shows them together."""
    return list(chain.from_iterable(exc.errors.values())) or [exc.message_vi]


def posted_revision() -> int | None:
    """The draft revision the page's form was loaded with (hidden field `revision`), for the engine
    to refuse the change (Conflict) when someone saved the draft since; None when the form has none."""
    value = request.form.get("revision", "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 9:
        raise errors.InvalidInput({"revision": [_("Phiên bản bản nháp gửi lên không hợp lệ; hãy tải lại trang.")]})
    return int(value)


def input_revision(draft: studio.ProcedureDraftView) -> int:
    """The revision a page's input is based on: the one its form posted, else the draft's own (a page
    just loaded). A page refused for a Conflict keeps the posted one, so saving the same input again
    is refused again instead of silently replacing the newer save."""
    posted = posted_revision() if request.method == "POST" else None
    return draft.revision if posted is None else posted


def positive_int(value: str | None) -> int | None:
    """A query string's version or draft number; anything else is None (never a 500)."""
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def safe_filename(name: str, fallback: str) -> str:
    """A download name with nothing a header or a file system could misread: ASCII letters,
    digits, dot, dash and underscore only."""
    cleaned = _UNSAFE_NAME.sub("-", name or "").strip(".-")
    return cleaned or fallback


@bp.get("/thiet-ke")
@login_required
def studio_index():
    rows = studio.list_procedures(engine_ctx(), page_actor())
    return render_template("studio/index.html", rows=rows)


@bp.post("/thiet-ke/<slug>/mo")
@login_required
def studio_open(slug: str):
    """The procedure's open draft, or a new one copied from its latest version, in the editor."""
    draft = studio.open_draft(engine_ctx(), page_actor(), slug)
    return redirect(url_for("pages.studio_editor", draft_id=draft.id))


@bp.route("/thiet-ke/ban-nhap/<id:draft_id>/huy", methods=["GET", "POST"])
@login_required
def studio_discard(draft_id: int):
    """GET asks to confirm (a discarded draft cannot be recovered); POST discards."""
    ctx, actor = engine_ctx(), page_actor()
    draft = studio.get_draft(ctx, actor, draft_id)
    if request.method == "POST":
        try:
            studio.discard_draft(ctx, actor, draft_id, revision=posted_revision())
        except errors.Conflict as exc:
            # Asked again, now knowing of that save: the page carries the draft's current revision.
            return render_template("studio/discard.html", draft=draft, conflict=exc.message_vi), 409
        flash(_("Đã hủy bản nháp của thủ tục «%(name)s».", name=draft.name))
        return redirect(url_for("pages.studio_index"))
    return render_template("studio/discard.html", draft=draft)


@bp.route("/thiet-ke/nhap", methods=["GET", "POST"])
@login_required
def studio_import():
    ctx, actor = engine_ctx(), studio_actor()
    problems: list[str] = []
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            problems = [_("Vui lòng chọn tệp BPMN (.bpmn, .xml) hoặc tệp nén .zip để nhập.")]
        else:
            try:
                draft = studio.import_file(ctx, actor, upload.filename, upload.read())
            except errors.InvalidInput as exc:
                problems = messages_of(exc)
            else:
                flash(_("Đã nhập «%(file)s» thành bản nháp của thủ tục «%(name)s».", file=upload.filename,
                        name=draft.name))
                return redirect(url_for("pages.studio_imported", draft_id=draft.id))
    return render_template("studio/import.html", problems=problems, accept=IMPORT_TYPES), 400 if problems else 200


@bp.get("/thiet-ke/ban-nhap/<id:draft_id>/ket-qua-nhap")
@login_required
def studio_imported(draft_id: int):
    """What the import found: every element the engine cannot run or ignores, by name and place."""
    draft = studio.get_draft(engine_ctx(), page_actor(), draft_id)
    return render_template("studio/imported.html", draft=draft)


@bp.get("/thiet-ke/<slug>/xuat")
@login_required
def studio_export(slug: str):
    """BPMN 2.0 (or our folder layout as .zip) of a version, the latest by default, or of a draft."""
    ctx, actor = engine_ctx(), page_actor()
    version = positive_int(request.args.get("phien-ban"))
    draft_id = positive_int(request.args.get("ban-nhap"))
    as_zip = request.args.get("dinh-dang") == "zip"
    export = studio.export_zip if as_zip else studio.export_bpmn
    filename, content = export(ctx, actor, slug, version=version, draft_id=draft_id)
    fallback = f"{safe_filename(slug, 'quy-trinh')}.{'zip' if as_zip else 'bpmn'}"
    response = send_file(io.BytesIO(content), mimetype="application/zip" if as_zip else "application/xml",
                         as_attachment=True, download_name=safe_filename(filename, fallback), max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
