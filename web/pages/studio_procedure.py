"""The studio's procedure information: name, code and each lane's role (and agency, for a lane that
belongs to another agency) as plain fields, everything else of procedure.json (deadline, fees,
step budgets, required documents...) as one JSON textarea, checked by the engine on saving."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine import errors
from engine.services import studio
from web.auth import engine_ctx, login_required, page_actor
from web.i18n import N_
from web.pages import bp
from web.pages.studio import input_revision, messages_of
from web.pages.studio_json import JsonField, pretty, read_json

#: The fields shown as their own inputs; the textarea holds the rest of procedure.json.
OWN_FIELDS = ("name", "code", "lanes")
#: The roles a lane can name (who works its tasks), in the order a procedure usually runs.
LANE_ROLES = {"desk": N_("Bộ phận một cửa"), "specialist": N_("Chuyên viên"), "leader": N_("Lãnh đạo"),
              "applicant": N_("Người nộp hồ sơ")}


@dataclass(frozen=True)
class LaneRow:
    """One lane of the BPMN as the table shows it: its name, the role and agency it maps to."""

    name: str
    role: str
    agency: str
    extra: dict[str, Any]  # other keys of a lane's mapping, kept as they were


def lane_rows(lanes: dict[str, Any]) -> list[LaneRow]:
    rows = []
    for name, target in (lanes or {}).items():
        if isinstance(target, dict):
            extra = {k: v for k, v in target.items() if k not in ("role", "agency")}
            rows.append(LaneRow(name, target.get("role") or "", target.get("agency") or "", extra))
        else:
            rows.append(LaneRow(name, target or "", "", {}))
    return rows


def posted_lanes(original: dict[str, Any]) -> tuple[dict[str, Any], list[LaneRow]]:
    """procedure.json's "lanes" from the table: a role alone, or {role, agency} when an agency is given."""
    lanes: dict[str, Any] = {}
    rows = []
    for index, row in enumerate(lane_rows(original)):
        role = request.form.get(f"lane-{index}-role", "").strip()
        agency = request.form.get(f"lane-{index}-agency", "").strip()
        rows.append(LaneRow(row.name, role, agency, row.extra))
        lanes[row.name] = ({**row.extra, "role": role or None, "agency": agency} if agency or row.extra
                           else role or None)
    return lanes, rows


def changes_to(stored: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """Only what the analyst changed (None: removed from the textarea), so a field left as it was is
    never refused for a reason the analyst did not touch (an imported lane with no role yet)."""
    removed = {key: None for key in stored if key not in wanted}
    return {**removed, **{key: value for key, value in wanted.items() if stored.get(key) != value}}


def _rest_of(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k not in OWN_FIELDS}


@bp.route("/thiet-ke/ban-nhap/<id:draft_id>/thong-tin", methods=["GET", "POST"])
@login_required
def studio_procedure(draft_id: int):
    ctx, actor = engine_ctx(), page_actor()
    draft = studio.get_draft(ctx, actor, draft_id)
    meta = draft.package["procedure"]
    fields = {"name": meta.get("name") or "", "code": meta.get("code") or ""}
    rows = lane_rows(meta.get("lanes") or {})
    rest = JsonField(pretty(_rest_of(meta)), _rest_of(meta))
    field_errors: dict[str, list[str]] = {}
    revision, conflict = input_revision(draft), None
    if request.method == "POST":
        fields = {key: request.form.get(key, "").strip() for key in ("name", "code")}
        lanes, rows = posted_lanes(meta.get("lanes") or {})
        rest = read_json(request.form.get("rest"), empty={})
        if not rest.ok:
            field_errors = {"rest": [rest.error]}
        else:
            wanted = {**_rest_of(rest.value), **fields, "code": fields["code"] or None, "lanes": lanes}
            try:
                studio.save_draft_procedure(ctx, actor, draft_id, changes_to(meta, wanted), revision=revision)
            except errors.InvalidInput as exc:
                field_errors = exc.errors or {"": messages_of(exc)}
            except errors.Conflict as exc:
                conflict = exc.message_vi
            else:
                flash(_("Đã lưu thông tin thủ tục."))
                return redirect(url_for("pages.studio_procedure", draft_id=draft_id))
    status = 409 if conflict else 400 if field_errors else 200
    return render_template("studio/procedure.html", draft=draft, fields=fields, rows=rows, rest=rest,
                           roles=LANE_ROLES, errors=field_errors, rest_errors=_rest_errors(field_errors),
                           messages=[m for ms in field_errors.values() for m in ms], revision=revision,
                           conflict=conflict), status


def _rest_errors(field_errors: dict[str, list[str]]) -> list[str]:
    """Messages about fields of the JSON textarea (everything but name, code and the lanes' table)."""
    return [f"{key}: {m}" if key not in ("rest", "") else m for key, ms in field_errors.items()
            if key not in ("name", "code") and key != "lanes" and not key.startswith("lanes.") for m in ms]
