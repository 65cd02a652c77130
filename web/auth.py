"""Who is calling: a bearer token on the API, the signed session cookie on pages."""

from __future__ import annotations

import time
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for

from engine import errors
from engine.services import Actor, actor_from_token
from engine.services.accounts import actor_by_id


def engine_ctx():
    return current_app.extensions["motcua"]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.AuthenticationFailed("missing bearer token", message_vi="Cần đăng nhập (thiếu mã truy cập).")
    return token.strip()


def api_actor() -> Actor:
    return actor_from_token(engine_ctx(), bearer_token())


def start_session(actor: Actor) -> None:
    """Log `actor` in on a brand-new session: whatever the browser carried before (a session an
    attacker planted, the anonymous CSRF secret) is dropped, and the clock of the idle timeout and
    of the absolute lifetime starts (web/security.py enforces both)."""
    session.clear()
    now = int(time.time())
    session["user_id"] = actor.id
    session["since"] = session["seen"] = now
    session.permanent = True
    g.pop("actor", None)


def page_actor() -> Actor | None:
    if "actor" not in g:
        user_id = session.get("user_id")
        g.actor = actor_by_id(engine_ctx(), user_id) if user_id else None
    return g.actor


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if page_actor() is None:
            return redirect(url_for("pages.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper
