"""Versioned static files: pages name their CSS, scripts and icons as ``/static/<file>?v=<hash>``, where
the hash is a short sha256 of the file's content, and a request carrying the current hash is cached by
the browser for a year without asking again (``immutable``). A changed file gets a new hash, so a new
URL: nobody is served yesterday's CSS, and a returning visitor on a slow phone connection saves the
round trip per file that revalidation (``no-cache`` with an ETag) costs. Requests without a version,
or with an outdated one, keep revalidation.

Templates write ``{{ static_url('style.css') }}`` — a Jinja global, for every template of every
blueprint (the analyst studio's included) — never ``url_for('static', ...)`` or a literal ``/static/``
path, which would miss the version and the long caching.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, Response, request, url_for
from werkzeug.security import safe_join

#: What a versioned request is answered with: a year, and no revalidation while it is fresh.
LONG_CACHE = "public, max-age=31536000, immutable"
#: Hex digits of the sha256 kept in the URL: 48 bits, far more than the files we will ever ship.
VERSION_LENGTH = 12


class StaticVersions:
    """The content hash of each file of a static folder, computed once per file content: the cache
    is keyed by the file's modification time and size, so a stat per lookup keeps a developer's
    edit visible at the next page load while a production process hashes each file once."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._known: dict[str, tuple[int, int, str]] = {}

    def version(self, filename: str) -> str | None:
        """The file's short content hash; None when there is no such file in the folder (a path
        that leaves the folder included)."""
        path = safe_join(str(self.folder), filename)
        if path is None:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        known = self._known.get(filename)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            for chunk in iter(lambda: file.read(1 << 16), b""):
                digest.update(chunk)
        version = digest.hexdigest()[:VERSION_LENGTH]
        self._known[filename] = (stat.st_mtime_ns, stat.st_size, version)  # one assignment: thread-safe
        return version


def register(app: Flask) -> None:
    """Offer ``static_url`` to templates and give versioned static responses their long lifetime.

    Flask serves ``/static/<path>`` from the app's own static folder (web/static), under the
    endpoint ``static``; the pages blueprint names the same folder, so both endpoints count."""
    versions = StaticVersions(app.static_folder or Path(app.root_path) / "static")
    app.extensions["motcua_static_versions"] = versions

    def static_url(filename: str) -> str:
        """``/static/<filename>?v=<content hash>``; a file that is not there gets a plain URL (the
        page still loads, and the missing file shows as the 404 it is)."""
        version = versions.version(filename)
        return url_for("static", filename=filename, v=version) if version else url_for("static", filename=filename)

    app.jinja_env.globals["static_url"] = static_url

    @app.after_request
    def _cache_versioned(response: Response) -> Response:
        if request.endpoint not in ("static", "pages.static") or response.status_code not in (200, 304):
            return response
        asked = request.args.get("v")
        filename = (request.view_args or {}).get("filename")
        if asked and filename and asked == versions.version(filename):
            response.headers["Cache-Control"] = LONG_CACHE
        return response
