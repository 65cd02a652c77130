"""Server-rendered pages (Vietnamese): log in, inbox, task form, dossier; the citizens' catalogue,
submission wizard, tracking and own dossiers."""

from flask import Blueprint

from web.api import IdConverter

bp = Blueprint("pages", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/static")
# `<id:…>`: a row id too large for the database is an unknown page (404), not a driver error (500)
bp.record(lambda state: state.app.url_map.converters.setdefault("id", IdConverter))

from web.pages import (  # noqa: E402,F401
    audit_pages,
    citizen,
    operations,
    report_exports,
    reports,
    studio,
    studio_editor,
    studio_forms,
    studio_procedure,
    studio_simulation,
    studio_versions,
    views,
    wizard,
    workspace,
)
