"""REST API v1 (JSON). Views parse with marshmallow, call one engine service, serialize."""

from flask import Blueprint
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from web.api.openapi import MAX_ID
from web.api.text import refuse_unstorable_path


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id, 0 to MAX_ID. A larger number is an unknown id (404) like any other,
    instead of reaching the database driver, which cannot bind it (an OverflowError, a 500).

    NotFound is raised here rather than werkzeug's ValidationError: after a validation failure the
    router answers 405 when a rule for another method matched the same path first."""

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise NotFound()
        return number


bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.url_value_preprocessor(refuse_unstorable_path)

from web.api import views  # noqa: E402,F401  (routes register on import)

# admin: health and incidents; citizen: ratings and drafts; workspace: notifications, reassigning, substitutes
from . import admin, citizen, workspace  # noqa: E402,F401
