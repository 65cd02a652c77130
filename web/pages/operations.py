"""Admins' operations on dossiers' workflows: search the instances, see one on its BPMN diagram
(where it has been, where it waits, where it failed), suspend and resume it."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import errors
from engine.services import operations, reports
from engine.statuses import STATUSES
from web.auth import engine_ctx, login_required, page_actor
from web.pages import bp

PER_PAGE = 50


def _page_number() -> int:
    value = request.args.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 1_000_000 else 1


def _query() -> dict[str, str]:
    """The search as typed, to fill the form again and carry into the paging links."""
    return {key: request.args.get(key, "").strip() for key in operations.QUERY_KEYS}


def _page_links(query: dict[str, str], result: operations.InstancePage | None) -> dict[str, str | None]:
    args = {key: value for key, value in query.items() if value}
    if result is None:
        return {"prev": None, "next": None}
    return {"prev": url_for("pages.operations_instances", page=result.page - 1, **args) if result.page > 1 else None,
            "next": url_for("pages.operations_instances", page=result.page + 1, **args) if result.has_next else None}


@bp.get("/quan-tri/ho-so", endpoint="operations_instances")
@login_required
def instances():
    ctx, actor = engine_ctx(), page_actor()
    query, result, field_errors = _query(), None, {}
    try:
        result = operations.search_instances(ctx, actor, query, page=_page_number(), per_page=PER_PAGE)
    except errors.InvalidInput as exc:  # the form comes back with the message beside the field
        field_errors = exc.errors
    return render_template("operations/instances.html", result=result, form=query, field_errors=field_errors,
                           choices=reports.choices(ctx, actor), statuses=STATUSES,
                           pages=_page_links(query, result)), 400 if field_errors else 200


def _detail_page(code: str, *, reason: str = "", reason_errors: list[str] | None = None, status: int = 200):
    detail = operations.instance_detail(engine_ctx(), page_actor(), code)
    return render_template("operations/instance.html", detail=detail, marks_json=_json(detail.marks),
                           reason=reason, reason_errors=reason_errors or []), status


def _json(value: Any) -> str:
    """A value for an HTML attribute (the page escapes it; the browser reads the JSON back as it was)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@bp.get("/quan-tri/ho-so/<code>", endpoint="operations_instance")
@login_required
def instance(code: str):
    return _detail_page(code)


@bp.post("/quan-tri/ho-so/<code>/tam-dung", endpoint="operations_suspend")
@login_required
def suspend(code: str):
    return _suspension_change(code, operations.suspend, _("Đã tạm dừng quy trình của hồ sơ %(code)s.", code=code))


@bp.post("/quan-tri/ho-so/<code>/tiep-tuc", endpoint="operations_resume")
@login_required
def resume(code: str):
    return _suspension_change(code, operations.resume,
                              _("Đã cho quy trình của hồ sơ %(code)s chạy tiếp.", code=code))


def _suspension_change(code: str, change, done: str):
    """Suspend or resume with the typed reason; a refused reason is shown again beside the field."""
    reason = request.form.get("ly_do", "")
    try:
        change(engine_ctx(), page_actor(), code, reason)
    except errors.InvalidInput as exc:  # keep what was typed
        return _detail_page(code, reason=reason, reason_errors=exc.errors.get("ly_do"), status=400)
    except errors.Conflict as exc:
        flash(exc.message_vi)
    else:
        flash(done)
    return redirect(url_for("pages.operations_instance", code=code))


@bp.get("/quan-tri/quy-trinh/<id:version_id>/bpmn", endpoint="operations_version_bpmn")
@login_required
def version_bpmn(version_id: int):
    """A published version's diagram for the read-only viewer (a version never changes: cached)."""
    xml, content_hash = operations.version_bpmn(engine_ctx(), page_actor(), version_id)
    response = Response(xml, mimetype="application/xml")
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.set_etag(content_hash)
    return response.make_conditional(request)
