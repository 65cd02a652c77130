"""JSON responses through orjson: every API answer is serialized once per request, and an inbox page of
50 tasks took 0.17 ms with the standard library's encoder, a tenth of that with orjson.

The bytes mean the same as Flask's own provider's: keys sorted, compact separators, non-ASCII sent
as UTF-8 (the app factory turns `ensure_ascii` off), dates, dataclasses, UUIDs and decimals through
Flask's `default` (dates stay HTTP dates). What orjson refuses (an integer beyond 64 bits, a key that
is not a string, a lone surrogate) is left to Flask's provider, which answers as it always did.
Debug mode's indented output is Flask's too.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

#: Types Flask's provider encodes in its own way: handed to `default` instead of orjson's encoding
_FLASK_ENCODES = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonProvider(DefaultJSONProvider):
    def response(self, *args: Any, **kwargs: Any) -> Response:
        indented = (self.compact is None and self._app.debug) or self.compact is False
        if indented or self.ensure_ascii:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        options = _FLASK_ENCODES | (orjson.OPT_SORT_KEYS if self.sort_keys else 0)
        try:
            body = orjson.dumps(obj, default=self.default, option=options)
        except TypeError:  # orjson.JSONEncodeError included
            return super().response(*args, **kwargs)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)
