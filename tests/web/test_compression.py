"""Text responses cross the wire gzipped when the client takes gzip (issue #5: a slow phone connection);
images and tiny files as they are, and a cached stylesheet still revalidates with a 304."""

from __future__ import annotations

import gzip
import json

from flask import Response

from web.compression import MIN_SIZE, gzip_response

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def test_a_page_is_gzipped_for_a_browser_that_accepts_it_and_reads_the_same(client):
    plain = client.get("/")
    zipped = client.get("/", headers=GZIP)

    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"] and "Accept-Encoding" in plain.headers["Vary"]
    assert gzip.decompress(zipped.get_data()) == plain.get_data()
    assert int(zipped.headers["Content-Length"]) == len(zipped.get_data()) < len(plain.get_data()) / 2


def test_the_stylesheet_is_gzipped_and_a_cached_copy_revalidates_with_a_304(client):
    first = client.get("/static/style.css", headers=GZIP)
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    assert b"--accent" in gzip.decompress(first.get_data())
    etag = first.headers["ETag"]
    assert etag.startswith('W/"'), "other bytes than the file: a weak validator"

    again = client.get("/static/style.css", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""


def test_tiny_files_and_head_requests_are_sent_as_they_are(client):
    icon = client.get("/static/favicon.svg", headers=GZIP)
    assert icon.status_code == 200 and "Content-Encoding" not in icon.headers
    head = client.head("/", headers=GZIP)
    assert head.status_code == 200 and "Content-Encoding" not in head.headers


def test_a_client_that_refuses_gzip_gets_the_page_plain(client):
    response = client.get("/", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert "Content-Encoding" not in response.headers
    assert b"<!doctype html>" in response.get_data()


def test_an_answer_that_fits_one_packet_is_sent_plain_and_a_larger_one_gzipped(app):
    fits = Response(json.dumps({"note": "x" * 1200}), mimetype="application/json")  # a completion's answer
    larger = Response(json.dumps({"note": "x" * 1500}), mimetype="application/json")

    with app.test_request_context("/api/v1/tasks", headers=GZIP):
        sent_plain, zipped = gzip_response(fits), gzip_response(larger)

    assert "Content-Encoding" not in sent_plain.headers and len(sent_plain.get_data()) < MIN_SIZE <= 1460
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.get_data())) == {"note": "x" * 1500}
