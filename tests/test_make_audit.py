"""`make audit` passes only when every installed package was checked and none has a known
vulnerability: pip-audit runs against a vulnerability service of our own on loopback (the OSV API's
shape), which answers "nothing known", reports one advisory, or fails. A service that cannot answer
must fail the audit loudly, never pass it by skipping the packages it could not check."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.config import PROJECT_ROOT

ADVISORY = {"id": "GHSA-test-0000-0000", "summary": "a made-up advisory for the test",
            "affected": [{"package": {"name": "flask", "ecosystem": "PyPI"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "999"}]}]}]}


class FakeOsv(ThreadingHTTPServer):
    """POST /v1/query as api.osv.dev answers it; `mode` is "clean", "flask-vulnerable" or "down"."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode, self.queried = "clean", set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/v1/query"


class _Handler(BaseHTTPRequestHandler):
    server: FakeOsv

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = query["package"]["name"]
        self.server.queried.add(name)
        if self.server.mode == "down":
            self.send_response(503)
            self.end_headers()
            return
        vulnerable = self.server.mode == "flask-vulnerable" and name == "flask"
        body = json.dumps({"vulns": [ADVISORY]} if vulnerable else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def osv() -> Iterator[FakeOsv]:
    server = FakeOsv()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def make_audit(osv: FakeOsv, tmp_path) -> subprocess.CompletedProcess:
    """The Makefile's own recipe (`-o install`: the venv is the one running these tests)."""
    assert shutil.which("make"), "make is needed for `make audit`"
    args = f"AUDIT_ARGS=-s osv --osv-url {osv.url} --cache-dir {tmp_path / 'cache'}"
    done = subprocess.run(["make", "--no-print-directory", "-o", "install", "audit", args], cwd=PROJECT_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
    return done  # pip-audit writes its summary on stderr, the table of findings on stdout: read both


def test_the_audit_passes_when_every_package_was_checked_and_none_is_vulnerable(osv, tmp_path):
    done = make_audit(osv, tmp_path)

    assert done.returncode == 0, done.stdout
    assert "No known vulnerabilities found" in done.stdout
    assert {"flask", "sqlalchemy", "spiffworkflow", "pip-audit"} <= osv.queried
    assert "motcua" not in osv.queried, "the project itself (editable) is not a published package"


def test_a_known_vulnerability_fails_the_audit_and_is_named(osv, tmp_path):
    osv.mode = "flask-vulnerable"

    done = make_audit(osv, tmp_path)

    assert done.returncode != 0
    assert "GHSA-test-0000-0000" in done.stdout and "flask" in done.stdout
    assert "make audit: FAILED" in done.stdout


def test_a_service_that_cannot_answer_fails_the_audit_instead_of_skipping(osv, tmp_path):
    osv.mode = "down"

    done = make_audit(osv, tmp_path)

    assert done.returncode != 0
    assert "No known vulnerabilities found" not in done.stdout
    assert "make audit: FAILED" in done.stdout
