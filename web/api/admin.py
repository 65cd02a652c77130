"""Admin operations over REST: the health of the installation and the incidents to retry."""

from __future__ import annotations

from dataclasses import asdict

from flask import jsonify
from marshmallow import Schema, fields

from engine.services import health
from web.api import bp
from web.api.openapi import documented
from web.auth import api_actor, engine_ctx

INCIDENT_ID = [{"name": "incident_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


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


class AdminHealthOut(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "database up and every enabled connector ok"})
    connectors = fields.List(fields.Nested(ConnectorHealthOut), required=True)
    database = fields.Nested(DatabaseHealthOut, required=True)
    outbox = fields.Nested(OutboxSummaryOut, required=True)


class IncidentOut(Schema):
    id = fields.Integer(required=True)
    connector = fields.String(required=True)
    operation = fields.String(required=True)
    dossier_code = fields.String(allow_none=True)
    state = fields.String(required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(allow_none=True)


@bp.get("/admin/health")
@documented("/api/v1/admin/health", "get", "Tình trạng hệ thống: các kết nối ngoài, cơ sở dữ liệu, hàng đợi outbox",
            response=AdminHealthOut, errors=(401, 403))
def admin_health():
    return jsonify(AdminHealthOut().dump(asdict(health.overview(engine_ctx(), api_actor()))))


@bp.get("/admin/incidents")
@documented("/api/v1/admin/incidents", "get", "Sự cố: lời gọi kết nối ngoài đã dừng thử lại",
            response=IncidentOut, many=True, errors=(401, 403))
def admin_incidents():
    incidents = health.list_incidents(engine_ctx(), api_actor())
    return jsonify(IncidentOut().dump([asdict(i) for i in incidents], many=True))


@bp.post("/admin/incidents/<int:incident_id>/retry")
@documented("/api/v1/admin/incidents/{incident_id}/retry", "post",
            "Cho chạy lại một sự cố (đưa lời gọi về hàng đợi với số lần thử mới)",
            response=IncidentOut, parameters=INCIDENT_ID, errors=(401, 403, 404))
def retry_incident(incident_id: int):
    incident = health.retry_incident(engine_ctx(), api_actor(), incident_id)
    return jsonify(IncidentOut().dump(asdict(incident)))
