"""Every response (a page, an API answer, a static file, an error) carries the security headers, with
Strict-Transport-Security only where the installation is served over HTTPS; and no template of ours
holds an inline script or event handler, which the Content-Security-Policy would refuse."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from engine.config import PROJECT_ROOT
from web import create_app
from web.security import CONTENT_SECURITY_POLICY, STUDIO_EDITOR_POLICY

#: headers do not depend on the database
sqlite_only = pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
PATHS = {"page": "/dang-nhap", "api": "/api/v1/procedures", "static": "/static/style.css",
         "not found": "/khong-co-trang-nay"}
#: the templates whose HTML ends up in our pages: the app's and the procedure forms'
TEMPLATE_DIRS = (PROJECT_ROOT / "web" / "templates", PROJECT_ROOT / "forms" / "templates")


def app_with(ctx, **settings):
    return create_app(ctx=dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, **settings)),
                      start_worker=False)


def directives(policy: str) -> dict[str, str]:
    return dict((d.strip().split(" ", 1) + [""])[:2] for d in policy.split(";") if d.strip())


@sqlite_only
@pytest.mark.parametrize("kind", PATHS)
def test_a_page_an_api_answer_and_a_static_file_carry_every_header_but_hsts_on_plain_http(client, kind):
    response = client.get(PATHS[kind])

    assert response.status_code == (404 if kind == "not found" else 200)
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED
    features = dict(item.split("=") for item in response.headers["Permissions-Policy"].split(", "))
    assert {"camera", "microphone", "geolocation", "payment", "usb"} <= features.keys()
    assert set(features.values()) == {"()"}, "every listed feature is off"
    assert "Strict-Transport-Security" not in response.headers, "the test app is the http demo"


@sqlite_only
@pytest.mark.parametrize("kind", PATHS)
def test_an_installation_served_over_https_also_sends_strict_transport_security(ctx, kind):
    client = app_with(ctx, secure_cookies=True).test_client()

    response = client.get(PATHS[kind])

    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Secure" in client.get("/dang-nhap").headers["Set-Cookie"], "the same decision as the cookie's"


@sqlite_only
def test_production_on_https_sends_hsts_without_being_told(ctx):
    client = app_with(ctx, mode="production", public_url="https://motcua.example.gov.vn").test_client()

    assert client.get("/").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_policy_refuses_plugins_foreign_base_urls_and_forms_posting_elsewhere():
    policy, editor = directives(CONTENT_SECURITY_POLICY), directives(STUDIO_EDITOR_POLICY)

    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert {k: v for k, v in editor.items() if k != "style-src-attr"} == policy, "the editor loosens one thing"


# --- the templates stay free of inline script --------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)>", re.IGNORECASE)
#: an attribute that runs script: onclick=..., htmx's hx-on:click / hx-on::after-request=...
EVENT_HANDLER = re.compile(r"<[a-zA-Z][^<>]*?\s(?P<name>on[a-z]+|hx-on[:\-][^\s=]*)\s*=", re.IGNORECASE)
SCRIPT_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
FORM_ACTION = re.compile(r"""\s(?:form)?action\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def inline_script_findings(text: str) -> list[str]:
    """What in a template the Content-Security-Policy would refuse (or what would post elsewhere)."""
    found = []
    for match in INLINE_SCRIPT.finditer(text):
        attrs = match.group("attrs")
        if "src=" not in attrs and 'type="application/json"' not in attrs:  # JSON data is never run
            found.append(f"inline <script{attrs}>")
    found += [f"event handler {m.group('name')}=" for m in EVENT_HANDLER.finditer(text)]
    found += [f"javascript: URL {m.group(0)}" for m in SCRIPT_URL.finditer(text)]
    found += [f"form posting elsewhere: {m.group(1)}" for m in FORM_ACTION.finditer(text)
              if re.match(r"\s*(https?:)?//", m.group(1))]
    return found


def templates() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


def test_no_template_holds_inline_script_an_event_handler_or_a_form_posting_elsewhere():
    found = {str(path.relative_to(PROJECT_ROOT)): hits for path in templates()
             if (hits := inline_script_findings(path.read_text("utf-8")))}

    assert len(templates()) > 40, "the scan sees the templates"
    assert found == {}


@pytest.mark.parametrize("snippet", [
    "<script>alert(1)</script>",
    "<script type=\"module\">import x from './x.js'</script>",
    "<button type=\"button\" onclick=\"go()\">",
    "<body\n  onload='go()'>",
    "<div hx-on:click=\"go()\">",
    "<a href=\"javascript:go()\">",
    "<form method=\"post\" action=\"https://elsewhere.example/login\">",
    "<button formaction=\"//elsewhere.example/\">",
])
def test_the_scan_finds_what_the_policy_would_refuse(snippet):
    assert inline_script_findings(snippet)


@pytest.mark.parametrize("snippet", [
    "<script src=\"{{ static_url('uploads.js') }}\" defer></script>",
    "<script type=\"application/json\" id=\"data\">{{ charts|tojson }}</script>",
    "<form method=\"post\" action=\"{{ url_for('pages.track') }}\">",
    "<p>Nộp hồ sơ online=tiện lợi</p>",
])
def test_the_scan_lets_external_scripts_json_data_and_local_forms_through(snippet):
    assert inline_script_findings(snippet) == []
