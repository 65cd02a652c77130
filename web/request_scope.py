"""Per request, pages and API alike: where it comes from (the audit trail's "from where") and one
access-log row per dossier read, however many services the view calls to read it."""

from __future__ import annotations

from contextlib import ExitStack

from flask import Flask, g, request

from engine.access_log import one_entry_per_dossier
from engine.origin import origin_scope


def client_origin() -> str | None:
    """"ip:<address>" of the client. Behind reverse proxies, werkzeug's ProxyFix (installed by the
    app factory when MOTCUA_PROXY_HOPS is set) is what rewrites `remote_addr`; a forwarded header is
    never trusted here, since any client can send one."""
    address = request.remote_addr
    return f"ip:{address}" if address else None


def register(app: Flask) -> None:
    @app.before_request
    def _enter_scope() -> None:
        scope = ExitStack()
        scope.enter_context(origin_scope(client_origin()))
        scope.enter_context(one_entry_per_dossier())
        g.motcua_request_scope = scope

    @app.teardown_request
    def _leave_scope(_exc: BaseException | None) -> None:
        scope = g.pop("motcua_request_scope", None)
        if scope is not None:
            scope.close()
