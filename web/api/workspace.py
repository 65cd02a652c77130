"""The officials' workspace beyond the task itself: notifications (new and overdue tasks), and the
leader's tools to move work (reassign a task, set a substitute during leave)."""

from __future__ import annotations

from flask import request

from engine.services import inbox, substitutions, tasks
from web.api import bp
from web.api import schemas as s
from web.api.openapi import documented, id_parameter
from web.api.views import TASK_ID, body, dump, json_or_none, parse
from web.auth import api_actor, engine_ctx

SUBSTITUTION_ID = id_parameter("substitution_id")
AGENCY = {"name": "agency", "in": "query", "schema": {"type": "string"},
          "description": "mã cơ quan (chỉ quản trị viên; lãnh đạo luôn xem cơ quan mình)"}


@bp.get("/inbox/summary")
@documented("/api/v1/inbox/summary", "get", "Thông báo hộp công việc: số việc mới, quá hạn, sắp đến hạn",
            response=s.InboxSummaryOut, errors=(401,))
def inbox_summary():
    return dump(s.InboxSummaryOut, inbox.inbox_summary(engine_ctx(), api_actor()))


@bp.post("/inbox/seen")
@documented("/api/v1/inbox/seen", "post", "Đánh dấu đã xem hộp công việc (việc mới đến sau vẫn là mới)",
            request=s.InboxSeenIn, response=s.InboxSummaryOut, errors=(400, 401))
def inbox_seen():
    actor = api_actor()
    payload = parse(s.InboxSeenIn, json_or_none() or {})
    return dump(s.InboxSummaryOut, inbox.mark_inbox_seen(engine_ctx(), actor, payload.get("until")))


@bp.post("/tasks/<task_id>/reassign")
@documented("/api/v1/tasks/{task_id}/reassign", "post", "Lãnh đạo giao lại công việc cho cán bộ khác (nêu lý do)",
            request=s.ReassignIn, response=s.TaskOut, parameters=TASK_ID)
def reassign(task_id: str):
    actor = api_actor()
    payload = parse(s.ReassignIn, body())
    return dump(s.TaskOut, tasks.reassign_task(engine_ctx(), actor, task_id, payload["user_id"], payload["reason"]))


@bp.get("/substitutions")
@documented("/api/v1/substitutions", "get", "Lịch làm thay khi cán bộ vắng mặt (hiện tại và sắp tới)",
            response=s.SubstitutionOut, many=True, errors=(400, 401, 403), parameters=[
                AGENCY, {"name": "include_past", "in": "query", "schema": {"type": "boolean"},
                         "description": "gồm cả lịch đã kết thúc"}])
def substitution_list():
    actor = api_actor()
    query = parse(s.SubstitutionQuery, request.args.to_dict())
    views = substitutions.list_substitutions(engine_ctx(), actor, agency_code=query.get("agency"),
                                             include_past=query["include_past"])
    return dump(s.SubstitutionOut, views, many=True)


@bp.post("/substitutions")
@documented("/api/v1/substitutions", "post", "Đặt người làm thay cho cán bộ vắng mặt (cùng cơ quan, cùng vai trò)",
            request=s.SubstitutionIn, response=s.SubstitutionOut, status=201, errors=(400, 401, 403, 409))
def substitution_create():
    actor = api_actor()
    p = parse(s.SubstitutionIn, body())
    view = substitutions.set_substitute(engine_ctx(), actor, p["user_id"], p["substitute_id"], p["starts_on"],
                                        p["ends_on"], p["reason"])
    return dump(s.SubstitutionOut, view), 201


@bp.post("/substitutions/<id:substitution_id>/end")
@documented("/api/v1/substitutions/{substitution_id}/end", "post", "Kết thúc sớm lịch làm thay",
            response=s.SubstitutionOut, parameters=SUBSTITUTION_ID, errors=(401, 403, 404, 409))
def substitution_end(substitution_id: int):
    return dump(s.SubstitutionOut, substitutions.end_substitution(engine_ctx(), api_actor(), substitution_id))


@bp.get("/officials")
@documented("/api/v1/officials", "get", "Cán bộ của cơ quan (để chọn người được giao hoặc người làm thay)",
            response=s.OfficialOut, many=True, errors=(400, 401, 403), parameters=[
                AGENCY, {"name": "role", "in": "query", "schema": {"type": "string",
                                                                   "enum": list(substitutions.OFFICIAL_ROLES)}}])
def officials():
    actor = api_actor()
    query = parse(s.OfficialsQuery, request.args.to_dict())
    views = substitutions.list_officials(engine_ctx(), actor, role=query.get("role"), agency_code=query.get("agency"))
    return dump(s.OfficialOut, views, many=True)
