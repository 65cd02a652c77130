"""Admin operations over REST: the health of the installation and the incidents to retry or skip."""

from __future__ import annotations

from dataclasses import asdict

from flask import jsonify
from marshmallow import Schema, fields, validate

from engine.incidents import MAX_REASON
from engine.services import health
from web.api import bp
from web.api.openapi import documented, id_parameter
from web.api.views import body, parse
from web.auth import api_actor, engine_ctx

INCIDENT_ID = id_parameter("incident_id")
INSTANCE_ID = id_parameter("instance_id")


class ConnectorHealthOut(Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True)
    title = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    ok = fields.Boolean(required=True)
    detail = fields.String(required=True)
    seconds = fields.Float(allow_none=True)


class DatabaseHealthOut(Schema):
    ok = fields.Boolean(required=True)
    dialect = fields.String(required=True)
    detail = fields.String(required=True)
    seconds = fields.Float(allow_none=True)


class OutboxSummaryOut(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    oldest_pending_seconds = fields.Float(allow_none=True)
    oldest_due_seconds = fields.Float(allow_none=True, metadata={
        "description": "how long the most overdue call has been due and not made (back-offs are not late)"})
    ok = fields.Boolean(required=True, metadata={"description": "no call overdue for more than 5 minutes"})
    detail = fields.String(required=True)


class ServiceHealthOut(Schema):
    enabled = fields.Boolean(required=True, metadata={"description": "used in this run mode"})
    ok = fields.Boolean(required=True)
    detail = fields.String(required=True)
    seconds = fields.Float(allow_none=True)
    names = fields.List(fields.String(), required=True, metadata={"description": "workers that answered"})
    missing_queues = fields.List(fields.String(), required=True, metadata={
        "description": "Celery queues of the routing table that no answering worker consumes"})
    last_sweep_at = fields.DateTime(allow_none=True, metadata={"description": "in-process worker's heartbeat"})


class AdminHealthOut(Schema):
    ok = fields.Boolean(required=True, metadata={
        "description": "database, Redis (when used), workers, outbox, reports standby (when used), the "
                       "history's months and the file store ok, and every enabled connector ok"})
    connectors = fields.List(fields.Nested(ConnectorHealthOut), required=True)
    database = fields.Nested(DatabaseHealthOut, required=True)
    outbox = fields.Nested(OutboxSummaryOut, required=True)
    redis = fields.Nested(ServiceHealthOut, required=True)
    workers = fields.Nested(ServiceHealthOut, required=True)
    reports_standby = fields.Nested(ServiceHealthOut, required=True, metadata={
        "description": "the hot standby reports read from (MOTCUA_REPORTS_DATABASE_URL); enabled false without one"})
    history_months = fields.Nested(ServiceHealthOut, required=True, metadata={
        "description": "the event history's monthly partitions (PostgreSQL); enabled false on SQLite"})
    file_store = fields.Nested(ServiceHealthOut, required=True, metadata={
        "description": "where uploads and documents are kept: the data dir's folder (writable, space left) or "
                       "the bucket of MOTCUA_FILE_STORE (answers a HEAD)"})


class IncidentOut(Schema):
    id = fields.Integer(required=True, metadata={"description": "outbox row id, or workflow instance id"})
    kind = fields.String(required=True, validate=validate.OneOf(["outbox", "instance"]))
    cause = fields.String(required=True, validate=validate.OneOf(["connector", "script"]))
    connector = fields.String(allow_none=True)
    operation = fields.String(allow_none=True)
    element = fields.String(allow_none=True, metadata={"description": "BPMN element a script failed at"})
    dossier_code = fields.String(allow_none=True)
    state = fields.String(required=True, metadata={"description": "incident | pending | skipped | resolved"})
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    failed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)


class IncidentSkipIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(
        min=1, max=MAX_REASON, error=f"Vui lòng nêu lý do bỏ qua sự cố (tối đa {MAX_REASON} ký tự)."), metadata={
        "description": "why the incident is skipped (kept in the dossier's history)"})


@bp.get("/admin/health")
@documented("/api/v1/admin/health", "get",
            "Tình trạng hệ thống: kết nối ngoài, cơ sở dữ liệu, Redis, worker, hàng đợi outbox",
            response=AdminHealthOut, errors=(401, 403))
def admin_health():
    return jsonify(AdminHealthOut().dump(asdict(health.overview(engine_ctx(), api_actor()))))


@bp.get("/admin/incidents")
@documented("/api/v1/admin/incidents", "get",
            "Sự cố: lời gọi kết nối ngoài đã dừng thử lại (kind outbox), quy trình dừng vì lỗi kịch bản (kind instance)",
            response=IncidentOut, many=True, errors=(401, 403))
def admin_incidents():
    incidents = health.list_incidents(engine_ctx(), api_actor())
    return jsonify(IncidentOut().dump([asdict(i) for i in incidents], many=True))


@bp.post("/admin/incidents/<id:incident_id>/retry")
@documented("/api/v1/admin/incidents/{incident_id}/retry", "post",
            "Cho chạy lại một sự cố (đưa lời gọi về hàng đợi với số lần thử mới)",
            response=IncidentOut, parameters=INCIDENT_ID, errors=(401, 403, 404))
def retry_incident(incident_id: int):
    incident = health.retry_incident(engine_ctx(), api_actor(), incident_id)
    return jsonify(IncidentOut().dump(asdict(incident)))


@bp.post("/admin/incidents/<id:incident_id>/skip")
@documented("/api/v1/admin/incidents/{incident_id}/skip", "post",
            "Bỏ qua một sự cố lời gọi kết nối (nêu lý do); hồ sơ đang chờ kết quả đi tiếp với kết quả skipped",
            request=IncidentSkipIn, response=IncidentOut, parameters=INCIDENT_ID, errors=(400, 401, 403, 404, 409))
def skip_incident(incident_id: int):
    actor = api_actor()
    payload = parse(IncidentSkipIn, body())
    incident = health.skip_incident(engine_ctx(), actor, incident_id, payload["reason"])
    return jsonify(IncidentOut().dump(asdict(incident)))


@bp.post("/admin/instance-incidents/<id:instance_id>/retry")
@documented("/api/v1/admin/instance-incidents/{instance_id}/retry", "post",
            "Chạy lại quy trình dừng vì lỗi kịch bản (bộ hẹn giờ chạy lại ngay); state resolved hoặc incident",
            response=IncidentOut, parameters=INSTANCE_ID, errors=(401, 403, 404, 409))
def retry_instance_incident(instance_id: int):
    incident = health.retry_instance_incident(engine_ctx(), api_actor(), instance_id)
    return jsonify(IncidentOut().dump(asdict(incident)))


@bp.post("/admin/instance-incidents/<id:instance_id>/skip")
@documented("/api/v1/admin/instance-incidents/{instance_id}/skip", "post",
            "Bỏ qua bước kịch bản lỗi (nêu lý do) cho quy trình đi tiếp; state skipped hoặc incident",
            request=IncidentSkipIn, response=IncidentOut, parameters=INSTANCE_ID, errors=(400, 401, 403, 404, 409))
def skip_instance_incident(instance_id: int):
    actor = api_actor()
    payload = parse(IncidentSkipIn, body())
    incident = health.skip_instance_incident(engine_ctx(), actor, instance_id, payload["reason"])
    return jsonify(IncidentOut().dump(asdict(incident)))
