"""How one cell of the authorization matrix is asked and judged: the URL from the row's endpoint and
target, the body a POST carries, the request as the role's client sends it, and the outcome read
from the answer. The matrix itself (what each answer should be) is in test_authorization_matrix.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import url_for

from tests.web import authz_world as w

#: Outcomes a cell can expect. "ok": served (2xx, or a redirect that is not to the login page);
#: "allowed": past the authorization decision (anything but 401/403/404/405/5xx or the login
#: redirect, so a 400 validation error or a 409 conflict counts); "login": redirected to /dang-nhap.
OUTCOMES = ("ok", "allowed", "login", "401", "403", "404")

#: URL values that are not the target's objects, per endpoint.
FIXED: dict[str, dict[str, Any]] = {
    "i18n.switch": {"code": "vi"},
    "static": {"filename": "style.css"},
    "pages.static": {"filename": "style.css"},
    "pages.report_export": {"what": "dashboard", "fmt": "csv"},
    "pages.reports_dossiers": {"chi_so": "late"},
    "api.procedure": {},
}
#: URL values renamed: the studio's draft is not a citizen's draft, api.procedure takes a TTHC code.
RENAMED: dict[str, dict[str, str]] = {"api.procedure": {"code": "procedure_code"}}

#: Cells that use their object up (delete, discard, publish, end, retry) get a new one each.
FRESH: dict[str, tuple[str, Callable[[w.World, str], Any]]] = {
    "api.draft_delete": ("draft_id", w.new_citizen_draft),
    "api.draft_submit": ("draft_id", w.new_citizen_draft),
    "pages.delete_draft": ("draft_id", w.new_citizen_draft),
    "api.substitution_end": ("substitution_id", w.new_substitution),
    "api.retry_incident": ("incident_id", w.new_incident),
    "api.skip_incident": ("incident_id", w.new_incident),
    "api.remove_calendar_exception": ("day", w.new_calendar_day),
    "pages.studio_discard": ("draft_id", w.new_studio_draft),
    "pages.studio_publish": ("draft_id", w.new_studio_draft),
    "pages.studio_form_delete": ("draft_id", w.new_studio_draft),
}


def url_values(world: w.World, endpoint: str, method: str, target: str) -> dict[str, Any]:
    rule = next(r for r in world.app.url_map.iter_rules() if r.endpoint == endpoint)
    values = dict(world.targets[target])
    if endpoint.startswith("pages.studio_"):
        values["draft_id"] = values.get("studio_draft_id")
        values["name"] = w.STUDIO_FORM
    for name, source in RENAMED.get(endpoint, {}).items():
        values[name] = values[source]
    values.update(FIXED.get(endpoint, {}))
    if endpoint == "api.set_calendar_exception":
        values["day"] = (date(2098, 1, 1) + timedelta(days=next(world.counter))).isoformat()
    if (method, endpoint) != ("GET", "pages.studio_discard") and endpoint in FRESH:
        name, make = FRESH[endpoint]
        values[name] = make(world, target)
    return {name: values[name] for name in rule.arguments}


def _json_body(world: w.World, endpoint: str, target: str, values: dict[str, Any]) -> Any:
    t = world.targets[target]
    lane = ("tiepnhan", "tiepnhan2") if target != "B" else ("tiepnhan_ca", "tiepnhan_ca2")
    # the task's own lane: a reassignment refused is refused for who asks, not for whom it names
    assignee = {"A": "chuyenvien", "Adesk": "tiepnhan2", "B": "chuyenvien_ca"}.get(target, "chuyenvien")
    start = date.today() + timedelta(days=2000 + 7 * next(world.counter))
    bodies = {
        "api.token": {},
        "api.submit": {"procedure": "1.001612", "applicant": dict(w.APPLICANT), "data": w.household_form()},
        "api.complete": {"data": {}},
        "api.reassign": {"user_id": world.actor(assignee).id, "reason": "Cân đối công việc"},
        "api.rate": {"score": 5},
        "api.rate_public": {"score": 5, "secret": t.get("secret", "")},
        "api.draft_create": {"procedure": t.get("slug", w.HKD), "data": {}, "step": 1},
        "api.draft_update": {"data": {}, "step": 1},
        "api.inbox_seen": {},
        "api.payment_confirm": {},
        "api.set_calendar_exception": {"kind": "off", "note": "Nghỉ bù"},
        "api.skip_incident": {"reason": "Đã gửi tay"},
        "api.skip_instance_incident": {"reason": "Đã xử lý tay"},
        "api.substitution_create": {"user_id": world.actor(lane[0]).id, "substitute_id": world.actor(lane[1]).id,
                                    "starts_on": start.isoformat(),
                                    "ends_on": (start + timedelta(days=1)).isoformat(), "reason": "Nghỉ phép"},
    }
    return bodies.get(endpoint)


def _form_body(world: w.World, endpoint: str, target: str, values: dict[str, Any]) -> dict[str, Any]:
    t = world.targets[target]
    proof = {"code": t.get("code", ""), "secret": t.get("secret", "")}
    forms = {
        "pages.task": {"action": "complete"},
        "pages.supplement": {"noi_dung_bo_sung": "Đã bổ sung"},
        "pages.rate": {"score": "5"},
        "pages.rate_tracked": {**proof, "score": "5"},
        "pages.tracked_document": {**proof, "attachment_id": str(t.get("attachment_id", ""))},
        "pages.retry_payment": {"thay_cho": "abc123"},
        "pages.operations_suspend": {"ly_do": ""},
        "pages.operations_resume": {"ly_do": "Tiếp tục"},
        # a dossier already on version 1: the admin's move is judged and declined, nothing moves
        "pages.studio_migration": {"item": f"{t.get('code', '')}@1"},
    }
    if endpoint == "pages.admin":
        return {"incident": str(w.new_incident(world, target))}
    return forms.get(endpoint, {})


def ask(world: w.World, endpoint: str, method: str, target: str, role: str):
    """The role's request for this cell, as its browser or API client would send it."""
    with world.app.test_request_context():
        values = url_values(world, endpoint, method, target)
        url = url_for(endpoint, **values)
    proof = world.targets[target]
    if endpoint == "api.track":
        url += f"?secret={proof['secret']}"
    if endpoint == "pages.track":
        url += f"?code={proof['code']}&secret={proof['secret']}"
    if endpoint.startswith(("pages.report", "pages.reports_")) and target == "B":
        url += f"?co_quan={w.AGENCY_B}"  # a leader asking for the other agency's figures
    client, token = world.clients[role], world.csrf[role]
    if endpoint == "pages.logout":  # a session of its own: the role's shared one stays logged in
        client, token = w.log_in(world, role)
    if endpoint.startswith("api."):
        token = world.tokens.get(role)
        if endpoint == "api.revoke_token" and token:  # revoked by the cell: a token of its own
            token = w.new_token(world, role)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = _json_body(world, endpoint, target, values) if method != "GET" else None
        if body is None and method != "GET":
            return client.open(url, method=method, headers=headers, data={})
        return client.open(url, method=method, headers=headers, json=body)
    if method == "GET":
        return client.get(url)
    return client.open(url, method=method, data={**_form_body(world, endpoint, target, values), "csrf_token": token})


def outcome(response) -> str:
    """What the answer means for authorization (see OUTCOMES)."""
    status = response.status_code
    to_login = status in (301, 302, 303, 307) and "/dang-nhap" in response.headers.get("Location", "").split("?")[0]
    if to_login:
        return "login"
    if status in (401, 403, 404):
        return str(status)
    if status < 400:
        return "ok"
    if status in (405,) or status >= 500:
        return f"broken {status}"
    return f"allowed {status}"


def matches(expected: str, got: str) -> bool:
    if expected == "allowed":
        return got == "ok" or got.startswith("allowed")
    return got == expected
