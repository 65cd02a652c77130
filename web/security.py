"""CSRF protection for pages (a per-session token in every form), the session's idle timeout and
absolute lifetime, and the security headers of every response. The cookie's own flags (HttpOnly,
SameSite, Secure) are set by the app factory from Settings (web/__init__.py)."""

from __future__ import annotations

import hmac
import secrets
import time

from flask import Flask, abort, request, session


def csrf_token() -> str:
    """The session's CSRF secret under a fresh random mask: pages are gzipped (web/compression.py), and
    a secret repeated byte for byte next to text an attacker can reflect into the page (a search
    query) could be guessed from the compressed sizes (BREACH)."""
    secret = session.get("csrf")
    if secret is None:
        secret = session["csrf"] = secrets.token_urlsafe(32)
        session.permanent = True  # re-sent on every request, so it expires only when idle
    raw = secret.encode()
    mask = secrets.token_bytes(len(raw))
    return (mask + bytes(m ^ r for m, r in zip(mask, raw, strict=True))).hex()


def _unmasked(sent: str) -> bytes:
    try:
        both = bytes.fromhex(sent)
    except ValueError:
        return b""
    half = len(both) // 2
    return bytes(m ^ r for m, r in zip(both[:half], both[half:], strict=False))


#: Everything from our own origin, nothing inline. `object-src 'none'`: no plugin content at all;
#: `base-uri 'self'`: an injected <base> cannot send relative script URLs elsewhere; `form-action
#: 'self'`: every form of ours posts to us (the national e-ID login and the payment platform are
#: reached by links and redirects, never by a form that posts to them).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
#: The studio's BPMN editor page only (web/pages/studio_editor.py sets it on its response): the
#: properties panel of bpmn-js builds its containers from HTML strings carrying style attributes
#: (`<div style="height: 100%">`), which the policy above refuses (and reports as an error), and
#: bpmn-js's align/distribute icons do the same. Only style *attributes* are let through; <style>
#: elements, stylesheets from elsewhere, inline scripts and eval stay refused.
STUDIO_EDITOR_POLICY = CONTENT_SECURITY_POLICY + "; style-src-attr 'unsafe-inline'"


#: Browser features no page of ours uses, off for our pages and anything they might frame. Only
#: features Chromium knows: an unknown one is warned about on the console of every page.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "hid", "magnetometer",
    "microphone", "midi", "payment", "serial", "usb"))
#: A year; no includeSubDomains or preload: other services under the agency's domain are the
#: domain owner's decision, not this application's.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def security_headers(https: bool) -> dict[str, str]:
    """The headers every response carries unless its view set its own (the studio editor's CSP, a
    staff attachment's frame rules). Strict-Transport-Security only when the installation is served
    over HTTPS (the same decision as the session cookie's Secure flag, Settings.cookies_secure): on
    the embedded demo's http://127.0.0.1 it would be meaningless, and behind a misconfigured proxy
    harmful. Cross-Origin-Opener-Policy keeps a page we open in a new tab, or one that opened us,
    from reaching our window; Cross-Origin-Resource-Policy keeps other sites from embedding our
    responses (a dossier's file, an API answer) as images or scripts."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return headers


#: how often a session's last-seen time (and so its cookie's expiry) is renewed, in seconds
SEEN_EVERY = 60
STATIC_ENDPOINTS = ("static", "pages.static")


def register(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    settings = app.extensions["motcua"].settings
    idle, lifetime = settings.session_idle_minutes * 60, settings.session_lifetime_hours * 3600
    headers = security_headers(settings.cookies_secure)

    @app.before_request
    def _end_old_sessions():
        """A logged-in session ends after `idle` seconds without a request and `lifetime` seconds
        after login whatever happens. The signed cookie cannot be revoked server-side, so its
        timestamps (set by web.auth.start_session, inside the signature) are what bound it. The
        cookie is re-sent at most once a minute, and never on static files (a Set-Cookie would keep
        proxies from caching them)."""
        if not session or request.endpoint in STATIC_ENDPOINTS:
            return
        now = int(time.time())
        seen = session.get("seen", 0)
        if "user_id" in session and (now - seen > idle or now - session.get("since", 0) > lifetime):
            session.clear()
        elif now - seen >= SEEN_EVERY:
            session["seen"] = now

    @app.before_request
    def _check_csrf():
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/"):
            return  # the API authenticates with bearer tokens, which browsers never send on their own
        # a form field, or a header for scripts that post their own bodies (the studio's BPMN editor)
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
        sent, secret = _unmasked(sent), session.get("csrf", "").encode()
        if not sent or not secret or not hmac.compare_digest(sent, secret):
            abort(400, "CSRF token missing or invalid")

    @app.after_request
    def _headers(response):
        # one pass over what the view set (Headers.setdefault rescans the list for each of ours)
        present = {name.lower() for name in response.headers.keys()}
        response.headers.extend([(name, value) for name, value in headers.items() if name.lower() not in present])
        return response
