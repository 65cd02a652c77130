"""REST endpoints. Each view: parse (marshmallow) → one engine service → serialize."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from flask import jsonify, request, send_file
from marshmallow import Schema, ValidationError

from engine import errors, services
from engine.services import calendar_admin, payments, verification
from engine.services.inbox import DUE_STATES, SORTS
from engine.statuses import STATUSES
from web.api import bp
from web.api import schemas as s
from web.api.dumping import Dumper
from web.api.openapi import build_spec, documented, id_parameter
from web.api.text import TOO_DEEP, refuse_unstorable
from web.auth import api_actor, bearer_token, engine_ctx

CODE = [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}]
TASK_ID = [{"name": "task_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        out[prefix] = [_vi(m) for m in messages]
    else:
        out[prefix] = [str(messages)]
    return out


def _vi(message: str) -> str:
    return {
        "Missing data for required field.": "Trường này là bắt buộc.",
        "Unknown field.": "Trường không được phép.",
        "Not a valid string.": "Phải là chuỗi ký tự.",
        "Not a valid integer.": "Phải là số nguyên.",
        "Not a valid email address.": "Địa chỉ email không hợp lệ.",
        "Not a valid mapping type.": "Phải là một đối tượng JSON.",
        "Field may not be null.": "Trường này không được để trống.",
        "Invalid input type.": "Kiểu dữ liệu không hợp lệ.",
    }.get(message, message)


@cache
def _schema(cls: type[Schema]) -> Schema:
    """One instance per schema class, shared by every request: building one deep-copies its declared
    fields (a tenth of a millisecond for TaskOut, more with nested schemas), and loading or dumping
    keeps no state in the instance."""
    return cls()


@cache
def _dumper(cls: type[Schema]) -> Dumper:
    return Dumper(_schema(cls))


def parse(schema: type[Schema], data: Any) -> dict[str, Any]:
    refuse_unstorable(data)
    try:
        return _schema(schema).load(data if data is not None else {})
    except ValidationError as exc:
        raise errors.InvalidInput(_flatten(exc.messages)) from exc


def json_or_none() -> Any:
    """The request's JSON, None when there is none. Python's JSON reader gives up on a deeply nested
    document with RecursionError, not the ValueError that Flask's silent mode catches: a 400 here."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise errors.InvalidInput({"": [TOO_DEEP]}) from None


def body() -> Any:
    data = json_or_none()
    if data is None:
        raise errors.InvalidInput({"": ["Nội dung yêu cầu phải là JSON hợp lệ."]})
    return data


def dump(schema: type[Schema], obj: Any, many: bool = False):
    """The service's dataclasses dumped as they are (marshmallow reads attributes): `asdict` would
    deep-copy every form schema and data dict first, a few milliseconds on an inbox page."""
    return jsonify(_dumper(schema).dump(obj, many=many))


@bp.get("/openapi.json")
def openapi():
    return jsonify(build_spec())


@bp.post("/auth/token")
@documented("/api/v1/auth/token", "post", "Đăng nhập, nhận mã truy cập", request=s.TokenRequest,
            response=s.TokenResponse, auth=False, errors=(400, 401))
def token():
    creds = parse(s.TokenRequest, body())
    ctx = engine_ctx()
    actor = services.authenticate(ctx, creds["username"], creds["password"])
    return jsonify({"token": services.issue_token(ctx, actor), "token_type": "Bearer", "role": actor.role})


@bp.delete("/auth/token")
@documented("/api/v1/auth/token", "delete", "Thu hồi mã truy cập đang dùng (đăng xuất)", status=204,
            errors=(401,))
def revoke_token():
    """The holder ends its own token at once (a leaked or finished token); an admin deactivating the
    account ends all of that account's tokens (actor_from_token refuses inactive users)."""
    api_actor()  # only a token still valid is revoked by whoever presents it
    services.revoke_token(engine_ctx(), bearer_token())
    return "", 204


@bp.get("/procedures")
@documented("/api/v1/procedures", "get", "Danh mục thủ tục hành chính", response=s.ProcedureSummary, many=True,
            auth=False, errors=())
def procedures():
    return dump(s.ProcedureSummary, services.list_procedures(engine_ctx()), many=True)


@bp.get("/procedures/<code>")
@documented("/api/v1/procedures/{code}", "get", "Chi tiết thủ tục và biểu mẫu nộp hồ sơ", response=s.ProcedureDetail,
            auth=False, parameters=CODE, errors=(404,))
def procedure(code: str):
    return dump(s.ProcedureDetail, services.get_procedure(engine_ctx(), code))


@bp.post("/dossiers")
@documented("/api/v1/dossiers", "post", "Nộp hồ sơ", request=s.DossierCreate, response=s.DossierOut, status=201,
            errors=(400, 401, 403, 404, 409, 422))
def submit():
    actor = api_actor()
    payload = parse(s.DossierCreate, body())
    view = services.submit_dossier(engine_ctx(), actor, payload["procedure"], payload["applicant"], payload["data"])
    return dump(s.DossierOut, view), 201


@bp.get("/dossiers/<code>")
@documented("/api/v1/dossiers/{code}", "get", "Hồ sơ: trạng thái, mốc và lịch sử xử lý", response=s.DossierOut,
            parameters=CODE, errors=(401, 404))
def dossier(code: str):
    return dump(s.DossierOut, services.get_dossier(engine_ctx(), api_actor(), code))


@bp.get("/dossiers/<code>/attachments")
@documented("/api/v1/dossiers/{code}/attachments", "get", "Giấy tờ của hồ sơ (biên nhận, phiếu, kết quả)",
            response=s.AttachmentOut, many=True, parameters=CODE, errors=(401, 404))
def attachments(code: str):
    return dump(s.AttachmentOut, services.list_attachments(engine_ctx(), api_actor(), code), many=True)


@bp.get("/dossiers/<code>/attachments/<id:attachment_id>")
@documented("/api/v1/dossiers/{code}/attachments/{attachment_id}", "get", "Tải giấy tờ của hồ sơ",
            parameters=CODE + id_parameter("attachment_id"),
            errors=(401, 404), content_type="application/pdf")
def attachment(code: str, attachment_id: int):
    view, data = services.read_attachment(engine_ctx(), api_actor(), code, attachment_id)
    return send_file(io.BytesIO(data), mimetype=view.content_type, download_name=view.filename,
                     as_attachment=True)


DAY = [{"name": "day", "in": "path", "required": True, "schema": {"type": "string", "format": "date"}}]


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise errors.InvalidInput({"day": ["Ngày không hợp lệ (định dạng YYYY-MM-DD)."]}) from exc


@bp.get("/admin/calendar")
@documented("/api/v1/admin/calendar", "get", "Ngày nghỉ bù và ngày làm bù do quản trị cấu hình",
            response=s.CalendarExceptionOut, many=True, errors=(401, 403))
def calendar_exceptions():
    actor = api_actor()
    if actor.role != "admin":
        raise errors.Forbidden("admins only")
    return dump(s.CalendarExceptionOut, calendar_admin.list_exceptions(engine_ctx()), many=True)


@bp.put("/admin/calendar/<day>")
@documented("/api/v1/admin/calendar/{day}", "put", "Đặt ngày nghỉ bù hoặc ngày làm bù",
            request=s.CalendarExceptionIn, response=s.CalendarExceptionOut, parameters=DAY, errors=(400, 401, 403))
def set_calendar_exception(day: str):
    actor = api_actor()
    payload = parse(s.CalendarExceptionIn, body())
    return dump(s.CalendarExceptionOut,
                calendar_admin.set_exception(engine_ctx(), actor, _day(day), payload["kind"], payload["note"]))


@bp.delete("/admin/calendar/<day>")
@documented("/api/v1/admin/calendar/{day}", "delete", "Bỏ ngày ngoại lệ", status=204, parameters=DAY,
            errors=(400, 401, 403, 404))
def remove_calendar_exception(day: str):
    calendar_admin.remove_exception(engine_ctx(), api_actor(), _day(day))
    return "", 204


@bp.post("/payments/confirm")
@documented("/api/v1/payments/confirm", "post", "Xác nhận thanh toán từ Nền tảng thanh toán (có MaXacThuc)",
            auth=False, errors=(400, 413))
def payment_confirm():
    """The payment platform's signed callback; the reply is the platform's own signed format."""
    data = body()
    if not isinstance(data, dict):
        raise errors.InvalidInput({"": ["Nội dung xác nhận thanh toán phải là một đối tượng JSON."]})
    return jsonify(payments.confirm(engine_ctx(), data))


@bp.post("/verify")
@documented("/api/v1/verify", "post", "Kiểm tra chữ ký số của một tệp PDF (multipart, trường 'file')",
            response=s.VerificationOut, auth=False, errors=(400, 413, 429))
def verify_upload():
    upload = request.files.get("file")
    data = upload.read(verification.MAX_PDF_BYTES + 1) if upload else b""
    return dump(s.VerificationOut, verification.verify_upload(engine_ctx(), data))


@bp.get("/verify/<code>")
@documented("/api/v1/verify/{code}", "get", "Kiểm tra văn bản theo mã xác thực in trên văn bản",
            response=s.VerificationOut, auth=False, parameters=CODE, errors=(400, 404, 429))
def verify_by_code(code: str):
    return dump(s.VerificationOut, verification.verify_code(engine_ctx(), code))


@bp.get("/track/<code>")
@documented("/api/v1/track/{code}", "get", "Tra cứu công khai bằng mã hồ sơ và số điện thoại/số định danh",
            response=s.TrackOut, auth=False, errors=(400, 404, 429),
            parameters=CODE + [{"name": "secret", "in": "query", "required": True, "schema": {"type": "string"}}])
def track(code: str):
    query = parse(s.TrackQuery, request.args.to_dict())
    return dump(s.TrackOut, services.track_dossier(engine_ctx(), code, query["secret"]))


@bp.get("/tasks")
@documented("/api/v1/tasks", "get", "Hộp công việc của tôi (theo vai trò và cơ quan), lọc và sắp xếp được",
            response=s.TaskOut, many=True, errors=(400, 401), parameters=[
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 1000000}},
                {"name": "procedure", "in": "query", "schema": {"type": "string"},
                 "description": "mã định danh (slug) hoặc mã TTHC của thủ tục"},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": sorted(STATUSES)},
                 "description": "trạng thái hồ sơ"},
                {"name": "due", "in": "query", "schema": {"type": "string", "enum": list(DUE_STATES)},
                 "description": "tình trạng hạn của bước: còn hạn, sắp đến hạn (trong một ngày làm việc), quá hạn"},
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100},
                 "description": "đầu mã hồ sơ, một phần họ tên (không phân biệt hoa thường, dấu) hoặc số điện thoại "
                                "người nộp, hoặc đúng số định danh"},
                {"name": "sort", "in": "query", "schema": {"type": "string", "enum": list(SORTS)},
                 "description": "due_at (mặc định), created_at hoặc code; thêm '-' để sắp giảm dần"}])
def inbox():
    actor = api_actor()
    query = parse(s.InboxQuery, request.args.to_dict())
    return dump(s.TaskOut, services.list_inbox(engine_ctx(), actor, **query), many=True)


@bp.get("/tasks/<task_id>")
@documented("/api/v1/tasks/{task_id}", "get", "Công việc và biểu mẫu của nó", response=s.TaskDetail,
            parameters=TASK_ID, errors=(401, 404))
def task(task_id: str):
    return dump(s.TaskDetail, services.get_task(engine_ctx(), api_actor(), task_id))


@bp.post("/tasks/<task_id>/claim")
@documented("/api/v1/tasks/{task_id}/claim", "post", "Nhận xử lý công việc", response=s.TaskOut,
            parameters=TASK_ID, errors=(401, 404, 409))
def claim(task_id: str):
    return dump(s.TaskOut, services.claim_task(engine_ctx(), api_actor(), task_id))


@bp.post("/tasks/<task_id>/unclaim")
@documented("/api/v1/tasks/{task_id}/unclaim", "post", "Trả lại công việc chưa xử lý", response=s.TaskOut,
            parameters=TASK_ID, errors=(401, 404, 409))
def unclaim(task_id: str):
    return dump(s.TaskOut, services.unclaim_task(engine_ctx(), api_actor(), task_id))


@bp.post("/tasks/<task_id>/complete")
@documented("/api/v1/tasks/{task_id}/complete", "post", "Hoàn thành công việc với dữ liệu biểu mẫu",
            request=s.TaskComplete, response=s.TaskOut, parameters=TASK_ID, errors=(400, 401, 403, 404, 409, 422))
def complete(task_id: str):
    actor = api_actor()
    payload = parse(s.TaskComplete, body())
    return dump(s.TaskOut, services.complete_task(engine_ctx(), actor, task_id, payload["data"]))
