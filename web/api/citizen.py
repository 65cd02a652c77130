"""Citizen endpoints beyond submission: rating a finished dossier, drafts saved to resume later."""

from __future__ import annotations

from engine.services import drafts, ratings
from web.api import bp
from web.api import schemas as s
from web.api.openapi import documented, id_parameter
from web.api.views import CODE, body, dump, parse
from web.auth import api_actor, engine_ctx

DRAFT_ID = id_parameter("draft_id")


@bp.post("/dossiers/<code>/rating")
@documented("/api/v1/dossiers/{code}/rating", "post", "Đánh giá mức độ hài lòng với hồ sơ đã có kết quả (chủ hồ sơ)",
            request=s.RatingIn, response=s.DossierRatingOut, status=201, parameters=CODE)
def rate(code: str):
    actor = api_actor()
    payload = parse(s.RatingIn, body())
    view = ratings.rate_dossier(engine_ctx(), actor, code, payload["score"], payload.get("comment"))
    return dump(s.DossierRatingOut, view), 201


@bp.post("/tracking/<code>/rating")
@documented("/api/v1/tracking/{code}/rating", "post",
            "Đánh giá hồ sơ nộp không qua tài khoản, bằng số điện thoại hoặc số định danh đã khai",
            request=s.PublicRatingIn, response=s.DossierRatingOut, status=201, auth=False, parameters=CODE,
            errors=(400, 403, 404, 409, 429))
def rate_public(code: str):
    payload = parse(s.PublicRatingIn, body())
    view = ratings.rate_dossier(engine_ctx(), None, code, payload["score"], payload.get("comment"),
                                proof=payload["secret"])
    return dump(s.DossierRatingOut, view), 201


@bp.get("/drafts")
@documented("/api/v1/drafts", "get", "Bản nháp hồ sơ của tôi (mới lưu trước)", response=s.DraftSummary, many=True,
            errors=(401,))
def draft_list():
    return dump(s.DraftSummary, drafts.list_drafts(engine_ctx(), api_actor()), many=True)


@bp.post("/drafts")
@documented("/api/v1/drafts", "post", "Lưu bản nháp hồ sơ mới", request=s.DraftIn, response=s.DraftOut, status=201)
def draft_create():
    actor = api_actor()
    payload = parse(s.DraftIn, body())
    view = drafts.save_draft(engine_ctx(), actor, payload["procedure"], payload["data"], step=payload["step"])
    return dump(s.DraftOut, view), 201


@bp.get("/drafts/<id:draft_id>")
@documented("/api/v1/drafts/{draft_id}", "get", "Mở bản nháp để điền tiếp", response=s.DraftOut, parameters=DRAFT_ID,
            errors=(401, 404))
def draft_get(draft_id: int):
    return dump(s.DraftOut, drafts.get_draft(engine_ctx(), api_actor(), draft_id))


@bp.put("/drafts/<id:draft_id>")
@documented("/api/v1/drafts/{draft_id}", "put", "Cập nhật bản nháp", request=s.DraftUpdate, response=s.DraftOut,
            parameters=DRAFT_ID, errors=(400, 401, 403, 404))
def draft_update(draft_id: int):
    actor = api_actor()
    payload = parse(s.DraftUpdate, body())
    view = drafts.save_draft(engine_ctx(), actor, None, payload["data"], step=payload["step"], draft_id=draft_id)
    return dump(s.DraftOut, view)


@bp.delete("/drafts/<id:draft_id>")
@documented("/api/v1/drafts/{draft_id}", "delete", "Xóa bản nháp", status=204, parameters=DRAFT_ID,
            errors=(401, 404))
def draft_delete(draft_id: int):
    drafts.delete_draft(engine_ctx(), api_actor(), draft_id)
    return "", 204


@bp.post("/drafts/<id:draft_id>/submit")
@documented("/api/v1/drafts/{draft_id}/submit", "post",
            "Nộp hồ sơ từ bản nháp (kiểm tra dữ liệu; nộp được thì bản nháp bị xóa, lỗi thì bản nháp giữ nguyên)",
            response=s.DossierOut, status=201, parameters=DRAFT_ID, errors=(400, 401, 403, 404, 409, 422))
def draft_submit(draft_id: int):
    view = drafts.submit_draft(engine_ctx(), api_actor(), draft_id)
    return dump(s.DossierOut, view), 201
