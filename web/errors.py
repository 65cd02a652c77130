"""One place mapping domain exceptions to HTTP status codes and Vietnamese messages (pages translate them)."""

from __future__ import annotations

import sqlalchemy.exc
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from engine import errors
from web.i18n import N_

STATUS = [
    (errors.InvalidInput, 400),
    (errors.AuthenticationFailed, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.ProcedureInvalid, 422),
    (errors.WorkflowError, 422),
    (errors.Unavailable, 503),
]

#: Marked for the catalog but kept Vietnamese here: the API answers in Vietnamese, pages translate.
HTTP_MESSAGES = {400: N_("Yêu cầu không hợp lệ."), 401: N_("Cần đăng nhập."), 403: N_("Không có quyền truy cập."),
                 404: N_("Không tìm thấy trang hoặc tài nguyên."), 405: N_("Phương thức không được hỗ trợ."),
                 413: N_("Dữ liệu gửi lên quá lớn."), 415: N_("Kiểu dữ liệu không được hỗ trợ.")}
UNAVAILABLE = N_("Hệ thống tạm thời không kết nối được cơ sở dữ liệu; yêu cầu chưa được thực hiện và dữ liệu "
                 "đã lưu không bị ảnh hưởng. Vui lòng thử lại sau ít phút.")
#: The database could not be reached or dropped the connection (a restart, a failover, a full pool):
#: nothing was committed, the pool reconnects by itself, so the answer is "try again", not a failure.
UNREACHABLE = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError,
               sqlalchemy.exc.TimeoutError)
RETRY_AFTER_SECONDS = 5
UNEXPECTED = N_("Hệ thống gặp lỗi ngoài dự kiến; dữ liệu đã lưu không bị mất. Vui lòng thử lại sau.")
GENERIC = N_("Lỗi")


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
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if code == 503 else {}
        if wants_json():
            return jsonify(error_body(exc)), code, headers
        return render_template("error.html", message=exc.message_vi, code=code), code, headers

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        known = HTTP_MESSAGES.get(exc.code or 500)
        if wants_json():
            return jsonify({"error": exc.name, "message": known or exc.description or GENERIC}), exc.code
        message = gettext(known) if known else exc.description or gettext(GENERIC)
        return render_template("error.html", message=message, code=exc.code), exc.code

    def _unavailable(exc: Exception):
        app.logger.warning("database unavailable: %s", type(exc).__name__)
        if wants_json():
            response = jsonify({"error": "ServiceUnavailable", "message": UNAVAILABLE})
        else:
            response = render_template("error.html", message=gettext(UNAVAILABLE), code=503)
        return response, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)}

    for unreachable in UNREACHABLE:
        app.register_error_handler(unreachable, _unavailable)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        if wants_json():
            return jsonify({"error": "InternalError", "message": UNEXPECTED}), 500
        return render_template("error.html", message=gettext(UNEXPECTED), code=500), 500
