"""Where a redirect may go: only back into this site, never to a URL an attacker put in a link."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import request


def _browser_normalised(target: str) -> str:
    # Browsers drop tabs/newlines and read `\` as `/`, so check what they will actually follow.
    return re.sub(r"[\x00-\x1f\x7f]", "", target).replace("\\", "/")


def local_target(target: str | None) -> str | None:
    """`target` when it is a same-site path (`/cong-viec?x=1`), None for anything else."""
    cleaned = _browser_normalised(target or "")
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc or not cleaned.startswith("/") or cleaned.startswith("//"):
        return None
    return cleaned


def same_site_path(url: str | None) -> str | None:
    """The path and query of an absolute URL on this host (a Referer), or of a local path; else None."""
    parts = urlsplit(_browser_normalised(url or ""))
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
        return local_target(parts.path + (f"?{parts.query}" if parts.query else ""))
    return local_target(url)
