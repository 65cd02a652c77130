"""REST API v1 (JSON). Views parse with marshmallow, call one engine service, serialize."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import views  # noqa: E402,F401  (routes register on import)

from . import admin  # noqa: E402,F401  (admin health and incidents)
