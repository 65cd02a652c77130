"""The OpenAPI 3 document at /api/v1/openapi.json: well formed, complete, and telling the truth."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Response
from jsonschema import Draft202012Validator

from tests.web.conftest import check_documented, json_schema

DOC = "/api/v1/openapi.json"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
STATUS = re.compile(r"^([1-5][0-9]{2}|[1-5]XX|default)$")


def flask_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def api_routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.rule != DOC:  # the document does not list itself
            routes.setdefault(flask_path(rule.rule), set()).update(
                m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def operations(spec: dict[str, Any]):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def refs(node: Any):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def test_the_document_is_served_as_openapi_3_json(client, openapi):
    response = client.get(DOC)

    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    assert spec == openapi
    assert re.fullmatch(r"3\.0\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["paths"] and all(path.startswith("/") for path in spec["paths"])


def test_every_api_route_is_documented_with_each_of_its_methods(app, openapi):
    routes = api_routes(app)

    documented = {path: {m for m in item if m in METHODS} for path, item in openapi["paths"].items()}

    assert documented == routes


def test_every_reference_resolves_to_an_existing_component_schema(openapi):
    found = list(refs(openapi["paths"])) + list(refs(openapi["components"]))

    assert found, "responses are described by reference to component schemas"
    for ref in found:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in openapi["components"]["schemas"], f"dangling {ref}"


def test_every_response_body_is_described_by_a_component_schema(openapi):
    for path, method, operation in operations(openapi):
        for status, response in operation["responses"].items():
            for media_type, media in response.get("content", {}).items():
                schema = media["schema"]
                if media_type != "application/json":  # a file download
                    assert schema == {"type": "string", "format": "binary"}, f"{method} {path} {status}"
                    continue
                target = schema.get("items", schema) if schema.get("type") == "array" else schema
                assert set(target) == {"$ref"}, f"{method} {path} {status} has an inline schema: {schema}"
                if int(status) >= 400:
                    assert target["$ref"] == "#/components/schemas/ErrorResponse", f"{method} {path} {status}"


def test_every_operation_is_well_formed(openapi):
    schemes = openapi["components"].get("securitySchemes", {})
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer"}
    for path, method, operation in operations(openapi):
        where = f"{method.upper()} {path}"
        assert operation["summary"] and operation["responses"], where
        success = [s for s in operation["responses"] if s.startswith("2")]
        assert len(success) == 1, f"{where}: exactly one success status, got {success}"
        for status, response in operation["responses"].items():
            assert STATUS.match(status), f"{where}: {status}"
            assert response.get("description"), f"{where} {status} needs a description"
        declared = {(p["name"], p["in"]) for p in operation["parameters"]}
        assert len(declared) == len(operation["parameters"]), f"{where}: duplicate parameters"
        for name in re.findall(r"\{([^}]+)\}", path):
            [param] = [p for p in operation["parameters"] if p["name"] == name and p["in"] == "path"]
            assert param["required"] is True and param["schema"], where
        for p in operation["parameters"]:
            assert p["in"] in ("path", "query", "header", "cookie"), where
            if p["in"] == "path":
                assert "{" + p["name"] + "}" in path, f"{where}: path parameter {p['name']} not in the path"
        for requirement in operation.get("security", []):
            assert set(requirement) <= set(schemes), where
        if "requestBody" in operation:
            assert "application/json" in operation["requestBody"]["content"], where
            assert method in ("post", "put", "patch"), where


@pytest.mark.parametrize("name", ["ErrorResponse", "DossierCreate", "DossierOut", "TaskDetail", "TrackOut",
                                  "ProcedureDetail", "TokenRequest"])
def test_component_schemas_are_valid_json_schemas(openapi, name):
    schema = json_schema(openapi["components"]["schemas"][name])

    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["properties"]


def test_error_responses_document_the_fields_map_that_400s_carry(openapi):
    error = openapi["components"]["schemas"]["ErrorResponse"]

    assert set(error["required"]) == {"error", "message"}
    assert error["properties"]["fields"]["additionalProperties"]["type"] == "array"


def test_the_request_schemas_refuse_unknown_fields_as_the_api_does(openapi):
    for name in ("DossierCreate", "Applicant", "TaskComplete", "TokenRequest"):
        assert openapi["components"]["schemas"][name]["additionalProperties"] is False, name


def concrete(path: str) -> str:
    """A path that routes but names nothing: ids where the route takes integers, words elsewhere."""
    return re.sub(r"\{[^}]+\}", lambda m: "999999" if m.group(0).endswith("_id}") and "task" not in m.group(0)
                  else "khong-ton-tai", path)


def test_the_documented_security_is_what_each_endpoint_enforces(api, openapi):
    for path, method, operation in operations(openapi):
        response = api.call(method.upper(), concrete(path), json={} if "requestBody" in operation else None)
        if operation.get("security"):
            assert response.status_code == 401, f"{method.upper()} {path} should require a token"
        else:
            assert response.status_code != 401, f"{method.upper()} {path} is documented as public"


def test_the_contract_check_rejects_an_undocumented_status_and_a_misshapen_body(openapi):
    server_error = Response('{"error": "InternalError", "message": "x"}', 500, mimetype="application/json")
    wrong_shape = Response('{"token": 42}', 200, mimetype="application/json")
    undocumented = Response("{}", 200, mimetype="application/json")

    with pytest.raises(AssertionError, match="answered 500"):
        check_documented(openapi, "GET", "/api/v1/procedures", server_error)
    with pytest.raises(AssertionError, match="does not match"):
        check_documented(openapi, "POST", "/api/v1/auth/token", wrong_shape)
    with pytest.raises(AssertionError, match="not in the OpenAPI document"):
        check_documented(openapi, "DELETE", "/api/v1/dossiers/x", undocumented)
