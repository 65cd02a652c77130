"""REST API v1 (JSON). Views parse with marshmallow, call one engine service, serialize."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web.api import views  # noqa: E402,F401  (routes register on import)

# admin: health and incidents; citizen: ratings and drafts; workspace: notifications, reassigning, substitutes
from . import admin, citizen, workspace  # noqa: E402,F401
