"""Page views: parse the form → one engine service → render."""

from __future__ import annotations

import secrets

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine import errors, services
from web.auth import engine_ctx, login_required, page_actor, start_session
from web.pages import bp
from web.redirects import local_target


@bp.app_context_processor
def _inject():
    return {"actor": page_actor(), "vneid_enabled": "vneid" in engine_ctx().connectors.available()}


@bp.get("/")
def home():
    return render_template("home.html", procedures=services.list_procedures(engine_ctx()))


@bp.route("/dang-nhap", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        try:
            actor = services.authenticate(engine_ctx(), request.form.get("username", ""),
                                          request.form.get("password", ""))
        except errors.AuthenticationFailed as exc:
            error = exc.message_vi
        else:
            start_session(actor)  # a new session: nothing the browser brought along survives login
            return redirect(local_target(request.args.get("next")) or url_for("pages.inbox"))
    return render_template("login.html", error=error), 401 if error else 200


def _identity_client():
    connectors = engine_ctx().connectors
    return connectors.get("vneid").client if "vneid" in connectors.available() else None


@bp.get("/dang-nhap/vneid")
def login_vneid():
    """Citizen login with the national e-ID (OIDC code flow); the browser goes to the provider."""
    client = _identity_client()
    if client is None:
        flash(_("Đăng nhập bằng tài khoản định danh điện tử chưa được cấu hình."))
        return redirect(url_for("pages.login"))
    session["oidc"] = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
                       "next": local_target(request.args.get("next"))}
    return redirect(client.authorization_url(session["oidc"]["state"], session["oidc"]["nonce"]))


@bp.get("/dang-nhap/callback")
def login_callback():
    from integrations.identity import IdentityError

    pending = session.pop("oidc", None) or {}
    client = _identity_client()
    if client is None or not pending:
        return render_template("login.html", error=_("Phiên đăng nhập không hợp lệ, vui lòng thử lại.")), 400
    try:
        identity = client.complete_login(request.args, state_expected=pending["state"],
                                         nonce_expected=pending["nonce"])
    except IdentityError as exc:
        return render_template("login.html", error=exc.message_vi), 400
    actor = services.citizen_from_identity(engine_ctx(), identity)
    start_session(actor)
    return redirect(pending.get("next") or url_for("pages.home"))


@bp.post("/dang-xuat")
def logout():
    session.clear()
    return redirect(url_for("pages.home"))


@bp.get("/ho-so/<code>")
@login_required
def dossier(code: str):
    view = services.get_dossier(engine_ctx(), page_actor(), code)
    return render_template("dossier.html", dossier=view)


# Submission (/nop-ho-so/<procedure>) is the wizard in web/pages/wizard.py.


@bp.route("/xac-thuc", methods=["GET", "POST"])
def verify():
    """Public verification of a signed result: by the code printed on it, or by uploading the PDF."""
    from engine.services import verification

    result = error = None
    code = request.values.get("code", "").strip()
    try:
        if request.method == "POST" and request.files.get("file"):
            upload = request.files["file"]
            result = verification.verify_upload(engine_ctx(), upload.read(verification.MAX_PDF_BYTES + 1))
        elif code:
            result = verification.verify_code(engine_ctx(), code)
    except (errors.InvalidInput, errors.NotFound) as exc:
        error = next(iter(exc.errors.values()))[0] if isinstance(exc, errors.InvalidInput) else exc.message_vi
    return render_template("verify.html", code=code, result=result, error=error), 200 if not error else 400


@bp.route("/quan-tri", methods=["GET", "POST"])
@login_required
def admin():
    """The admin's operations page: health (database, Redis, workers, connectors, outbox backlog) and
    the incidents of both kinds, each with Retry and Skip-with-a-reason (web/pages/incident_forms.py)."""
    from engine.services import health
    from web.pages.incident_forms import act_on_incident

    ctx, actor = engine_ctx(), page_actor()
    if actor.role != "admin":
        raise errors.Forbidden("admins only")
    refused = None
    if request.method == "POST":
        refused = act_on_incident(ctx, actor, request.form)
        if refused is None:
            return redirect(url_for("pages.admin"))
    return render_template("admin.html", overview=health.overview(ctx, actor), incidents=health.list_incidents(
        ctx, actor), refused=refused), 400 if refused else 200


# Public tracking (/tra-cuu) is in web/pages/citizen.py.
