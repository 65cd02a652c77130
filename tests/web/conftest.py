"""Web fixtures: the Flask app on each real backend, bearer tokens, and an API client that checks
every response it receives against the served OpenAPI document (status code and body shape)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from engine.errors import InvalidInput
from engine.models import User
from engine.services import Actor, create_user, issue_token
from tests.factories import APPLICANT, household_form
from web import create_app
from web.api.openapi import build_spec

HKD_CODE = "1.001612"
HKD_SLUG = "dang-ky-ho-kinh-doanh"
AGENCY = "000.00.21.H99"
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

#: Accounts the demo seed lacks: a second citizen, a second desk official of the same agency and a
#: desk official of another agency. Users outlive a test (only dossier tables are emptied).
EXTRA_USERS = [
    ("congdan2", "Vũ Thị Người Khác", "citizen", None),
    ("tiepnhan2", "Bùi Văn Một Cửa", "desk", AGENCY),
    ("tiepnhan_ca", "Đinh Văn Công An", "desk", "000.00.22.H99"),
]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _ensure_extra_users(ctx) -> None:
    with ctx.sessions() as session:
        existing = set(session.scalars(select(User.username)))
    for username, full_name, role, agency in EXTRA_USERS:
        if username in existing:
            continue
        try:
            create_user(ctx, username=username, password="demo", full_name=full_name, role=role,
                        agency_code=agency, phone="0987000111" if role == "citizen" else None)
        except InvalidInput:  # created meanwhile by another test run on the same database
            pass


@pytest.fixture
def app(ctx):
    _ensure_extra_users(ctx)
    return create_app(ctx=ctx, start_worker=False)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(ctx, app):
    """`token(username)`: a bearer token for that user (issued by the service, no password hashing)."""
    issued: dict[str, str] = {}

    def make(username: str) -> str:
        if username not in issued:
            with ctx.sessions() as session:
                user = session.scalar(select(User).where(User.username == username))
                assert user is not None, f"no user {username}"
                actor = Actor.of(user)
            issued[username] = issue_token(ctx, actor)
        return issued[username]

    return make


# --- the OpenAPI contract -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    return build_spec()


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes a "null" type alternative."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def find_operation(spec: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The documented operation serving `method path` (literal paths win over templated ones)."""
    candidates = [t for t in spec["paths"] if path_pattern(t).match(path)]
    candidates.sort(key=lambda t: t.count("{"))
    for template in candidates:
        operation = spec["paths"][template].get(method.lower())
        if operation is not None:
            return template, operation
    return None


def check_documented(spec: dict[str, Any], method: str, path: str, response) -> None:
    """Fail unless the status is documented for this operation and the JSON body fits its schema."""
    found = find_operation(spec, method, path)
    assert found is not None, f"{method} {path} is not in the OpenAPI document"
    template, operation = found
    status = str(response.status_code)
    body_text = response.get_data()[:800].decode("utf-8", "replace")
    assert status in operation["responses"], (
        f"{method} {template} answered {status}, documented: {sorted(operation['responses'])}; body: {body_text}")
    documented = operation["responses"][status].get("content", {})
    content = documented.get("application/json")
    if content is None:
        assert not documented or response.mimetype in documented, (
            f"{method} {template} {status} answered {response.mimetype}, documented {sorted(documented)}")
        return
    assert response.mimetype == "application/json", f"{method} {template} {status} is not JSON: {body_text}"
    schema = dict(json_schema(content["schema"]))
    schema["components"] = json_schema(spec["components"])
    errors = sorted(Draft202012Validator(schema).iter_errors(response.get_json()), key=str)
    assert not errors, f"{method} {template} {status} body does not match the document: {errors[0]}"


class Api:
    """The Flask test client for /api/v1, with bearer auth by username and the contract check."""

    def __init__(self, client, spec: dict[str, Any], token) -> None:
        self.client = client
        self.spec = spec
        self.token = token

    def call(self, method: str, path: str, *, user: str | None = None, headers: dict[str, str] | None = None,
             **kwargs: Any):
        headers = dict(headers or {})
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        check_documented(self.spec, method, path.split("?", 1)[0], response)
        return response

    def get(self, path: str, **kwargs: Any):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.call("POST", path, **kwargs)

    # -- the scenario steps tests repeat ----------------------------------------------------------

    def submit(self, user: str = "congdan", applicant: dict[str, Any] | None = None, **changes: Any) -> dict:
        response = self.post("/api/v1/dossiers", user=user, json={
            "procedure": HKD_CODE, "applicant": applicant or dict(APPLICANT), "data": household_form(**changes)})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def task_for(self, user: str, dossier_code: str) -> dict:
        response = self.get("/api/v1/tasks", user=user)
        assert response.status_code == 200, response.get_json()
        tasks = [t for t in response.get_json() if t["dossier_code"] == dossier_code]
        assert len(tasks) == 1, f"{user} should have one open task for {dossier_code}: {response.get_json()}"
        return tasks[0]

    def work(self, user: str, dossier_code: str, data: dict[str, Any]) -> dict:
        task = self.task_for(user, dossier_code)
        response = self.post(f"/api/v1/tasks/{task['id']}/complete", user=user, json={"data": data})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def dossier(self, code: str, user: str = "congdan") -> dict:
        response = self.get(f"/api/v1/dossiers/{code}", user=user)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def api(client, openapi, token) -> Api:
    return Api(client, openapi, token)


# --- pages ----------------------------------------------------------------------------------------


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def log_in(client, username: str, password: str = "demo") -> str:
    """Log `client` in through the page; returns the session's new CSRF token."""
    form_token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    response = client.post("/dang-nhap", data={"username": username, "password": password,
                                               "csrf_token": form_token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return csrf_of(client.get(response.headers["Location"]).get_data(as_text=True))


@pytest.fixture
def login(client):
    """`login(username)`: log the test client in through the page; returns the session's new CSRF token."""

    def do(username: str, password: str = "demo") -> str:
        return log_in(client, username, password)

    return do
