"""Flask app factory: translates HTTP into engine service calls and back."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from engine.config import Settings
from engine.context import EngineContext, build_context


def create_app(settings: Settings | None = None, *, ctx: EngineContext | None = None,
               start_worker: bool | None = None) -> Flask:
    settings = settings or (ctx.settings if ctx else Settings.from_env())
    from engine.privacy import install_log_masking

    install_log_masking()  # no identity or phone number in the logs (engine/privacy.py)
    ctx = ctx or build_context(settings)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookies_secure,
        # the cookie (and its signature's max age) lasts as long as the idle timeout; web/security.py
        # renews it while the session is in use and also bounds its lifetime from login
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_idle_minutes),
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=settings.max_request_mb * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    from web.json_provider import OrjsonProvider

    app.json = OrjsonProvider(app)
    app.json.ensure_ascii = False
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,
                                x_host=settings.proxy_hops)
    app.extensions["motcua"] = ctx

    from web import (
        compression,
        errors,
        filters,
        i18n,
        rate_limits,
        request_scope,
        security,
        sessions,
        static_files,
    )
    from web.api import IdConverter
    from web.api import bp as api_bp
    from web.pages import bp as pages_bp

    # `<id:…>` in the API's and the pages' routes: a row id too large for the database is an unknown
    # object (404), not a driver error (500). Before the blueprints, whose rules need it.
    app.url_map.converters["id"] = IdConverter

    compression.register(app)  # first: its after_request runs last, on the final body
    errors.register(app)
    request_scope.register(app)  # before the CSRF check: every request knows its origin
    filters.register(app)
    i18n.register(app)
    sessions.register(app)
    security.register(app)
    static_files.register(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)
    rate_limits.register(app)  # after the blueprints: it wraps their public tracking views
    _wire_worker(app, ctx, start_worker)
    from engine.heap import settle_for

    settle_for(settings)  # what the app built stays out of every later full collection (engine/heap.py)
    return app


def _wire_worker(app: Flask, ctx: EngineContext, start_worker: bool | None) -> None:
    if ctx.settings.worker == "celery":
        from engine.jobs import configure, enqueue_after_commit

        configure(ctx.settings)
        ctx.outbox_listeners.append(enqueue_after_commit)
        return
    if start_worker if start_worker is not None else ctx.settings.embedded:
        from engine.worker import InProcessWorker

        app.extensions["motcua_worker"] = InProcessWorker(ctx).start()
        logging.getLogger(__name__).info("in-process outbox worker started")
