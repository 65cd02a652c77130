"""CSRF protection for pages (a per-session token in every form) and security headers."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, request, session


def csrf_token() -> str:
    """The session's CSRF secret under a fresh random mask: pages are gzipped (web/compression.py), and
    a secret repeated byte for byte next to text an attacker can reflect into the page (a search
    query) could be guessed from the compressed sizes (BREACH)."""
    secret = session.get("csrf")
    if secret is None:
        secret = session["csrf"] = secrets.token_urlsafe(32)
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


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
#: The studio's BPMN editor page only (web/pages/studio_editor.py sets it on its response): the
#: properties panel of bpmn-js builds its containers from HTML strings carrying style attributes
#: (`<div style="height: 100%">`), which the policy above refuses (and reports as an error), and
#: bpmn-js's align/distribute icons do the same. Only style *attributes* are let through; <style>
#: elements, stylesheets from elsewhere, inline scripts and eval stay refused.
STUDIO_EDITOR_POLICY = CONTENT_SECURITY_POLICY + "; style-src-attr 'unsafe-inline'"


def register(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

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
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
