"""The BPMN editor of the analyst studio: the page, the draft's diagram as the editor reads and saves
it, its lint findings and the catalogue its selects are filled from.

The page itself is a shell; web/frontend/studio (bpmn-js + properties panel, bundled into
static/vendor/studio-editor.js) talks to the JSON routes here. Those answer JSON even when they
refuse (not logged in, not an analyst, bad XML), so the script can show the reason instead of a page.
Access is the engine's to decide: every studio service refuses anyone but analysts and admins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import wraps
from itertools import chain
from typing import Any

from flask import Response, jsonify, make_response, render_template, request
from flask_babel import gettext as _

from engine import errors
from engine.procedures.lint import Finding
from engine.runtime.specs import MAX_BPMN_BYTES
from engine.services import studio
from web.auth import engine_ctx, login_required, page_actor
from web.errors import status_of
from web.pages import bp
from web.pages.studio import posted_revision, studio_actor
from web.pages.studio_catalog import editor_catalog
from web.security import STUDIO_EDITOR_POLICY

STUDIO_ROLES = ("analyst", "admin")
#: The response header giving the revision of the draft's XML (GET .../bpmn).
REVISION_HEADER = "X-Draft-Revision"


def json_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """A studio JSON route: logged in, and domain errors as JSON {ok: false, message, errors}."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if page_actor() is None:
            return jsonify({"ok": False, "message": _("Phiên đăng nhập đã hết. Vui lòng đăng nhập lại.")}), 401
        try:
            return view(*args, **kwargs)
        except errors.MotcuaError as exc:
            body: dict[str, Any] = {"ok": False, "message": exc.message_vi}
            if isinstance(exc, errors.InvalidInput):
                body["errors"] = exc.errors
                body["message"] = " ".join(chain.from_iterable(exc.errors.values())) or body["message"]
            return jsonify(body), status_of(exc)

    return wrapper


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [finding.to_dict() for finding in findings]


def findings_summary(findings: list[Finding]) -> str:
    counts = Counter(finding.severity for finding in findings)
    if not counts:
        return _("Không có lỗi hay cảnh báo nào.")
    return _("%(errors)s lỗi, %(warnings)s cảnh báo, %(infos)s thông tin.", errors=counts["error"],
             warnings=counts["warning"], infos=counts["info"])


def submitted_xml() -> str:
    """The diagram from the form field `xml`, or from a file part of that name (the editor sends a
    file: a form field is capped far below the engine's own BPMN limit)."""
    upload = request.files.get("xml")
    if upload is not None:
        raw = upload.read(MAX_BPMN_BYTES + 1)
        if len(raw) > MAX_BPMN_BYTES:
            raise errors.InvalidInput({"bpmn": [_("Sơ đồ lớn hơn %(n)s MiB, không lưu được.",
                                                  n=MAX_BPMN_BYTES // (1024 * 1024))]})
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise errors.InvalidInput({"bpmn": [_("Sơ đồ không phải văn bản UTF-8 (byte thứ %(at)s).",
                                                  at=exc.start + 1)]}) from exc
    xml = request.form.get("xml", "")
    if not xml.strip():
        raise errors.InvalidInput({"bpmn": [_("Không nhận được nội dung sơ đồ để lưu.")]})
    return xml


@bp.get("/thiet-ke/ban-nhap/<id:draft_id>")
@login_required
def studio_editor(draft_id: int):
    draft = studio.get_draft(engine_ctx(), page_actor(), draft_id)
    response = make_response(render_template("studio/editor.html", draft=draft))
    response.headers["Content-Security-Policy"] = STUDIO_EDITOR_POLICY  # why: web/security.py
    return response


@bp.get("/thiet-ke/ban-nhap/<id:draft_id>/bpmn")
@json_view
def studio_editor_bpmn(draft_id: int):
    """The draft's main BPMN as the editor reads it (lane roles and step budgets written in)."""
    draft = studio.get_draft(engine_ctx(), page_actor(), draft_id)
    response = Response(draft.editor_xml, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, no-store"
    # The revision of exactly this XML: the editor saves against it (a save in between is a 409).
    response.headers[REVISION_HEADER] = str(draft.revision)
    return response


@bp.post("/thiet-ke/ban-nhap/<id:draft_id>/bpmn")
@json_view
def studio_editor_save(draft_id: int):
    """Store the diagram if the draft is still at the posted `revision` (else 409, nothing stored);
    the answer carries the new revision, which the editor's next save sends."""
    ctx, actor = engine_ctx(), studio_actor()  # refused before the body is judged, as the service would
    draft = studio.save_draft_bpmn(ctx, actor, draft_id, submitted_xml(), revision=posted_revision())
    findings = studio.lint_draft(ctx, actor, draft_id)
    return jsonify({"ok": True, "message": _("Đã lưu sơ đồ. Kiểm tra: %(summary)s", summary=findings_summary(findings)),
                    "findings": findings_json(findings), "revision": draft.revision})


@bp.get("/thiet-ke/ban-nhap/<id:draft_id>/kiem-tra")
@json_view
def studio_editor_lint(draft_id: int):
    findings = studio.lint_draft(engine_ctx(), page_actor(), draft_id)
    return jsonify({"ok": True, "findings": findings_json(findings), "summary": findings_summary(findings)})


@bp.get("/thiet-ke/danh-muc.json")
@json_view
def studio_catalog():
    """Roles, statuses, operations, document kinds, budget units, the labels; with `?draft=<id>`
    also that draft's forms and deadline rules."""
    actor = page_actor()
    draft_arg = request.args.get("draft", "")
    if draft_arg:
        if not draft_arg.isdigit() or len(draft_arg) > 9:
            raise errors.InvalidInput({"draft": [_("Mã bản nháp phải là một số nguyên dương.")]})
        package = studio.get_draft(engine_ctx(), actor, int(draft_arg)).package
    elif actor.role not in STUDIO_ROLES:
        raise errors.Forbidden(f"{actor.role} has no studio",
                               message_vi="Trang thiết kế quy trình dành cho cán bộ nghiệp vụ và quản trị viên.")
    else:
        package = None
    response = jsonify(editor_catalog(package))
    response.headers["Cache-Control"] = "private, no-store"
    return response
