"""The OpenAPI 3 document, built from the same marshmallow schemas the views use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    request: Any = None
    response: Any = None
    status: int = 200
    many: bool = False
    auth: bool = True
    parameters: list[dict[str, Any]] = field(default_factory=list)
    errors: tuple[int, ...] = (400, 401, 403, 404, 409)
    #: a binary response (file download) instead of JSON
    content_type: str | None = None


OPERATIONS: list[Operation] = []


def documented(path: str, method: str, summary: str, **kwargs: Any):
    """Register a view's contract for the OpenAPI document (the view itself stays plain Flask)."""

    def decorate(view):
        OPERATIONS.append(Operation(path, method.lower(), summary, **kwargs))
        return view

    return decorate


def _name(schema: Any) -> str:
    return schema.__name__ if isinstance(schema, type) else type(schema).__name__


def build_spec(title: str = "motcua API", version: str = "1") -> dict[str, Any]:
    spec = APISpec(title=title, version=version, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "REST API của hệ thống một cửa điện tử motcua"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    from web.api.schemas import ErrorResponse

    spec.components.schema("ErrorResponse", schema=ErrorResponse)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        body: dict[str, Any] = {"summary": op.summary, "parameters": op.parameters, "responses": {}}
        if op.auth:
            body["security"] = [{"bearer": []}]
        if op.request is not None:
            body["requestBody"] = {"required": True,
                                   "content": {"application/json": {"schema": _name(op.request)}}}
        ok: dict[str, Any] = {"description": "OK"}
        if op.content_type is not None:
            ok["content"] = {op.content_type: {"schema": {"type": "string", "format": "binary"}}}
        elif op.response is not None:
            schema: Any = _name(op.response)
            if op.many:
                schema = {"type": "array", "items": schema}
            ok["content"] = {"application/json": {"schema": schema}}
        body["responses"][str(op.status)] = ok
        for code in op.errors:
            body["responses"][str(code)] = {"description": "Lỗi",
                                            "content": {"application/json": {"schema": "ErrorResponse"}}}
        for schema in (op.request, op.response):
            if schema is not None and _name(schema) not in spec.components.schemas:
                spec.components.schema(_name(schema), schema=schema)
        paths.setdefault(op.path, {})[op.method] = body
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
