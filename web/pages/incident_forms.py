"""The admin page's incident buttons: retry, or skip with a reason, for both kinds of incident
(a connector call that gave up, a workflow a script stopped). Form fields: `action` (retry | skip),
`kind` (outbox | instance), `incident` (its id), `reason` (skip only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import flash
from flask_babel import gettext as _

from engine import errors
from engine.services import health
from engine.services.accounts import Actor

ACTIONS = ("retry", "skip")
KINDS = ("outbox", "instance")


@dataclass(frozen=True)
class SkipRefused:
    """A skip sent back to the admin (no reason, too long): shown beside that incident's form."""

    kind: str
    id: int
    reason: str
    messages: list[str]


def act_on_incident(ctx, actor: Actor, form: Mapping[str, str]) -> SkipRefused | None:
    """Do what the form asks and flash what happened; a refused skip comes back to be shown."""
    action, kind = form.get("action", "retry"), form.get("kind", "outbox")
    raw_id = form.get("incident", "")
    if action not in ACTIONS or kind not in KINDS or not raw_id.isdigit():
        raise errors.NotFound("no such incident", message_vi="Không tìm thấy sự cố này.")
    incident_id, reason = int(raw_id), form.get("reason", "")
    try:
        if action == "retry":
            retry = health.retry_incident if kind == "outbox" else health.retry_instance_incident
            view = retry(ctx, actor, incident_id)
        else:
            skip = health.skip_incident if kind == "outbox" else health.skip_instance_incident
            view = skip(ctx, actor, incident_id, reason)
    except errors.InvalidInput as exc:
        return SkipRefused(kind, incident_id, reason, exc.errors.get("reason") or [exc.message_vi])
    except errors.Conflict as exc:  # the dossier moved meanwhile, or the workflow failed further on
        flash(exc.message_vi)
        return None
    flash(_done(view, action))
    return None


def _done(view: health.IncidentView, action: str) -> str:
    if view.kind == "outbox":
        if action == "retry":
            return _("Đã cho chạy lại sự cố #%(id)s (%(connector)s/%(operation)s).", id=view.id,
                     connector=view.connector, operation=view.operation)
        return _("Đã bỏ qua sự cố #%(id)s (%(connector)s/%(operation)s).", id=view.id, connector=view.connector,
                 operation=view.operation)
    if view.state == "incident":
        return _("Quy trình của hồ sơ %(code)s vẫn lỗi, sự cố vẫn còn: %(error)s", code=view.dossier_code,
                 error=view.last_error)
    if action == "retry":
        return _("Đã chạy lại quy trình của hồ sơ %(code)s: hồ sơ đã đi tiếp.", code=view.dossier_code)
    return _("Đã bỏ qua bước lỗi «%(element)s» của hồ sơ %(code)s: hồ sơ đã đi tiếp.", element=view.element,
             code=view.dossier_code)
