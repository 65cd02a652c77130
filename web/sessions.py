"""Flask's signed-cookie session with its signing serializer built once per key set.

Flask builds an itsdangerous serializer for every request, to open the session and again to save
it, and building one runs a trial JSON dump; the API's requests, which carry no cookie, paid about
1.5 % of the web's CPU for it under load (bench/RESULTS.md, 2026-12-02 evening). The serializer
holds nothing but its keys and settings, so one per (secret key, fallback keys) serves every request
and thread; a changed key (tests set another) gets a serializer of its own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SigningOnceSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # .get: Flask before 3.1 has no fallback keys in its default config
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer


def register(app: Flask) -> None:
    app.session_interface = SigningOnceSessionInterface()
