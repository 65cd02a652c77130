"""Server-rendered pages (Vietnamese): log in, inbox, task form, dossier; the citizens' catalogue,
submission wizard, tracking and own dossiers."""

from flask import Blueprint

bp = Blueprint("pages", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/static")

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
