"""Server-rendered pages (Vietnamese): log in, inbox, task form, dossier, public tracking."""

from flask import Blueprint

bp = Blueprint("pages", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/static")

from web.pages import views  # noqa: E402,F401
