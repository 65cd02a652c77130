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

    def error_codes(self) -> list[int]:
        """The declared errors plus those every operation of its kind can answer whatever the view
        does: 401 without a valid token, 400 for a body that is not JSON or does not fit its schema,
        413 for a body over the size limit, 404 when a path parameter names nothing (or does not fit
        the route's converter)."""
        codes = set(self.errors)
        if self.auth:
            codes.add(401)
        if self.request is not None:
            codes.update((400, 413))
        if "{" in self.path:
            codes.add(404)
        return sorted(codes)


#: What each error status means here; every error body is an ErrorResponse.
ERROR_DESCRIPTIONS = {
    400: "Dữ liệu không hợp lệ: nội dung không phải JSON, hoặc sai ở các trường (xem fields)",
    401: "Thiếu mã truy cập, mã sai hoặc đã hết hạn; hoặc sai tên đăng nhập/mật khẩu",
    403: "Không có quyền thực hiện thao tác này",
    404: "Không tìm thấy (hoặc không được xem) tài nguyên",
    409: "Xung đột: dữ liệu đã thay đổi hoặc trạng thái không cho phép thao tác",
    413: "Nội dung gửi lên vượt giới hạn kích thước",
    422: "Quy trình không hợp lệ hoặc gặp lỗi khi chạy (xem problems)",
    429: "Quá nhiều yêu cầu; thử lại sau",
}

#: The largest row id (BIGINT, and SQLite's INTEGER): a path id beyond it names nothing (404).
MAX_ID = 2**63 - 1


def id_parameter(name: str) -> list[dict[str, Any]]:
    """A path parameter carrying a row id, with the bounds the `id` route converter enforces."""
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_ID}}]


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
        for code in op.error_codes():
            body["responses"][str(code)] = {"description": ERROR_DESCRIPTIONS.get(code, "Lỗi"),
                                            "content": {"application/json": {"schema": "ErrorResponse"}}}
        for schema in (op.request, op.response):
            if schema is not None and _name(schema) not in spec.components.schemas:
                spec.components.schema(_name(schema), schema=schema)
        paths.setdefault(op.path, {})[op.method] = body
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
