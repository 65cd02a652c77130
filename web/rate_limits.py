"""Rate limits on the public lookups (flask-limiter), per client address.

Tracking asks for a dossier code and the applicant's phone or ID number with no account, so without
a limit a script could try numbers until one matches. The page, the signed-result download, the
rating form and the API count together ("tracking" scope), per address as werkzeug's ProxyFix
reports it (MOTCUA_PROXY_HOPS; a forwarded header is never trusted otherwise). The public
verification of signed results (/xac-thuc and /api/v1/verify, by code or by uploaded PDF) is held
to the same limit under its own count ("verification" scope): a script walking verification codes
would otherwise list the results issued, and each uploaded PDF costs a signature check.

Counters live in Redis whenever the app already depends on it (Settings.rate_limit_storage_uri), so
every gunicorn worker and machine counts together; the embedded one-process mode counts in memory.
Redis unreachable: the counts fall back to each process's memory (logged), tracking stays up.
"""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from web.errors import wants_json
from web.i18n import N_

#: the views a limit guards: the tracking page and its forms, and the API's tracking endpoints
TRACKING_ENDPOINTS = ("pages.track", "pages.tracked_document", "pages.rate_tracked", "api.track",
                      "api.rate_public")
#: the public verification of signed results: the page (code or upload) and the API's two ways
VERIFICATION_ENDPOINTS = ("pages.verify", "api.verify_upload", "api.verify_by_code")
TOO_MANY = N_("Ông/Bà đã gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng chờ ít phút rồi thử lại.")


def _only_the_empty_form() -> bool:
    """Showing the empty tracking (or verification) form looks nothing up, so it costs nothing."""
    return request.method == "GET" and not request.args.get("code") and not request.view_args


def register(app: Flask) -> None:
    settings = app.extensions["motcua"].settings
    if not settings.tracking_rate_limit.strip():
        return
    storage = settings.rate_limit_storage_uri
    options = {"socket_timeout": 1, "socket_connect_timeout": 1} if storage.startswith("redis") else {}
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage, storage_options=options,
                      key_prefix=settings.rate_limit_prefix, strategy="moving-window", headers_enabled=True,
                      in_memory_fallback_enabled=True, swallow_errors=True)
    app.extensions["motcua_limiter"] = limiter
    for scope, endpoints in (("tracking", TRACKING_ENDPOINTS), ("verification", VERIFICATION_ENDPOINTS)):
        shared = limiter.shared_limit(settings.tracking_rate_limit, scope=scope, exempt_when=_only_the_empty_form)
        for endpoint in endpoints:
            app.view_functions[endpoint] = shared(app.view_functions[endpoint])

    @app.errorhandler(429)
    def _too_many(_exc):
        # flask-limiter adds Retry-After and the X-RateLimit-* headers to this response
        if wants_json():
            return jsonify({"error": "TooManyRequests", "message": TOO_MANY}), 429
        return render_template("error.html", message=gettext(TOO_MANY), code=429), 429
