"""One place mapping domain exceptions to HTTP status codes and Vietnamese messages."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from engine import errors

STATUS = [
    (errors.InvalidInput, 400),
    (errors.AuthenticationFailed, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.ProcedureInvalid, 422),
    (errors.WorkflowError, 422),
]


def status_of(exc: errors.MotcuaError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_body(exc: errors.MotcuaError) -> dict:
    body = {"error": type(exc).__name__, "message": exc.message_vi}
    if isinstance(exc, errors.InvalidInput):
        body["fields"] = exc.errors
    if isinstance(exc, errors.ProcedureInvalid):
        body["problems"] = exc.problems
    return body


def register(app: Flask) -> None:
    @app.errorhandler(errors.MotcuaError)
    def _domain(exc: errors.MotcuaError):
        code = status_of(exc)
        if wants_json():
            return jsonify(error_body(exc)), code
        return render_template("error.html", message=exc.message_vi, code=code), code

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        messages = {400: "Yêu cầu không hợp lệ.", 401: "Cần đăng nhập.", 403: "Không có quyền truy cập.",
                    404: "Không tìm thấy trang hoặc tài nguyên.", 405: "Phương thức không được hỗ trợ.",
                    413: "Dữ liệu gửi lên quá lớn.", 415: "Kiểu dữ liệu không được hỗ trợ."}
        message = messages.get(exc.code or 500, exc.description or "Lỗi")
        if wants_json():
            return jsonify({"error": exc.name, "message": message}), exc.code
        return render_template("error.html", message=message, code=exc.code), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        message = "Hệ thống gặp lỗi ngoài dự kiến; dữ liệu đã lưu không bị mất. Vui lòng thử lại sau."
        if wants_json():
            return jsonify({"error": "InternalError", "message": message}), 500
        return render_template("error.html", message=message, code=500), 500
