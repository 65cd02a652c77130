"""Gzip for text responses, so a page with its CSS and scripts crosses a slow phone connection in about
a third of the bytes (issue #5). Images, PDFs and uploads are left alone: they are compressed already.

The embedded server (`make run`) has nobody else to do this; a reverse proxy that compresses by itself
finds the Content-Encoding set and leaves the response as it is.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

#: Text worth compressing; everything else the app serves (PNG, JPEG, PDF) is compressed by its format.
COMPRESSIBLE = frozenset({
    "text/html", "text/css", "text/javascript", "application/javascript", "application/json",
    "image/svg+xml", "text/plain", "text/csv", "application/xml", "text/xml",
})
#: Below this a body crosses the network in one TCP segment (about 1,460 bytes) compressed or not, so
#: compressing it saves no round trip and costs the server some 40 µs of deflate's set-up: the API's
#: answers to a completion, a claim or a submission are 0.5–1 KB.
MIN_SIZE = 1400
#: A text download larger than this is sent as it is rather than read into memory to be compressed.
MAX_SIZE = 8 * 1024 * 1024
LEVEL = 6


def register(app: Flask) -> None:
    """Register first: Flask runs after_request functions last-registered first, and this one must
    see the body as it will be sent."""
    app.after_request(gzip_response)


def gzip_response(response: Response) -> Response:
    if response.mimetype not in COMPRESSIBLE:
        return response
    response.vary.add("Accept-Encoding")  # caches must keep the two versions apart
    if (response.status_code != 200 or "Content-Encoding" in response.headers
            or request.method == "HEAD" or request.accept_encodings.quality("gzip") <= 0):
        return response
    if response.is_streamed and not response.direct_passthrough:
        return response  # a generator: its whole point is not to be held in memory
    length = response.content_length
    if length is not None and not MIN_SIZE <= length <= MAX_SIZE:
        return response
    response.direct_passthrough = False  # a static file: read it (it is small and text)
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(data, compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    etag, weak = response.get_etag()
    if etag and not weak:
        # Same content, other bytes: a weak validator, which conditional GETs still match (304).
        response.set_etag(etag, weak=True)
    return response
