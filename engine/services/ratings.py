"""Satisfaction ratings (đánh giá mức độ hài lòng): the applicant rates a dossier once it has its outcome.

Who may rate: the citizen account that submitted it online; for dossiers submitted at the desk (no
account), whoever presents the tracking proof, as public tracking checks it. Officials never rate:
the share of satisfied applicants is one of the province's service-quality indicators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import history
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, DossierNotFound, Forbidden, InvalidInput
from engine.models import Dossier, Rating
from engine.services.accounts import Actor
from engine.services.dossiers import NO_MATCH, RATEABLE, proof_matches

MAX_COMMENT = 1000
#: Who the history names when a rating comes with the tracking proof instead of an account.
APPLICANT_BY_PROOF = Actor(None, "applicant", "Người nộp hồ sơ (tra cứu bằng mã hồ sơ)", "applicant")
ALREADY_RATED = "Hồ sơ đã được đánh giá."


@dataclass(frozen=True)
class RatingView:
    dossier_code: str
    score: int
    comment: str | None
    created_at: datetime


def _check(score: Any, comment: Any) -> str | None:
    errors: dict[str, list[str]] = {}
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        errors["score"] = ["Mức độ hài lòng phải là số nguyên từ 1 đến 5."]
    if comment is not None and not isinstance(comment, str):
        errors["comment"] = ["Nhận xét phải là chuỗi ký tự."]
    elif comment is not None and len(comment.strip()) > MAX_COMMENT:
        errors["comment"] = [f"Nhận xét không được dài quá {MAX_COMMENT} ký tự."]
    if errors:
        raise InvalidInput(errors)
    return (comment or "").strip() or None


def _rater(actor: Actor | None, dossier: Dossier | None, code: str, proof: str | None) -> Actor:
    """Who is rating, or the refusal. A code without the right account or proof reveals nothing."""
    if actor is not None and actor.role == "citizen" and dossier is not None and dossier.owner_id == actor.id:
        return actor
    if proof is None or dossier is None or not proof_matches(dossier, proof):
        raise DossierNotFound(code, message_vi=NO_MATCH if proof is not None else None)
    if dossier.owner_id is not None:
        raise Forbidden("online dossiers are rated from the submitting account",
                        message_vi="Hồ sơ nộp trực tuyến được đánh giá từ tài khoản đã nộp hồ sơ. "
                                   "Vui lòng đăng nhập để đánh giá.")
    return actor if actor is not None and actor.role == "citizen" else APPLICANT_BY_PROOF


def rate_dossier(ctx: EngineContext, actor: Actor | None, code: str, score: int, comment: str | None = None,
                 proof: str | None = None) -> RatingView:
    """Record the applicant's rating of dossier `code` (and a history event), once per dossier.

    `actor` is the logged-in person, None on the public route; `proof` the phone or ID number
    given at submission, for dossiers submitted without an account.
    """
    comment = _check(score, comment)
    if actor is not None and actor.role != "citizen":
        raise Forbidden(f"{actor.role} cannot rate dossiers",
                        message_vi="Cán bộ không đánh giá thay người nộp hồ sơ.")
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        rater = _rater(actor, dossier, code, proof)
        assert dossier is not None  # _rater refused otherwise
        if dossier.status not in RATEABLE:
            raise Conflict(f"dossier {code} is {dossier.status}",
                           message_vi="Chỉ đánh giá được khi hồ sơ đã có kết quả giải quyết.")
        if session.scalar(select(Rating.id).where(Rating.dossier_id == dossier.id)) is not None:
            raise Conflict(f"dossier {code} already rated", message_vi=ALREADY_RATED)
        session.add(Rating(dossier_id=dossier.id, score=score, comment=comment, created_at=now, rated_by=rater.id))
        # The comment is the applicant's free text: it stays in the rating, not in the audit trail.
        history.record(session, dossier, "rated", actor=rater, status=dossier.status, at=now,
                       data={"score": score, "comment": comment is not None})
        try:
            session.flush()
        except IntegrityError as exc:  # rated meanwhile by a concurrent request
            raise Conflict(f"dossier {code} already rated", message_vi=ALREADY_RATED) from exc
        return RatingView(dossier.code, score, comment, now)
