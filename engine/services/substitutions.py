"""Substitutes during leave: while an official is away, a colleague of the same agency and role
works the tasks assigned to them. Set and ended by the agency's leader (or an admin).

Dates are Vietnam calendar days, inclusive at both ends. The rows are kept when a substitution is
ended early: who stood in for whom, and when, is part of the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from engine.calendar import VN_TZ
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Substitution, User
from engine.services.accounts import Actor

#: The roles that work dossier tasks (and so can be absent, stand in or receive a reassigned task).
OFFICIAL_ROLES = ("desk", "specialist", "leader")
MAX_REASON = 500
SAME_LANE = "Người thay thế phải cùng cơ quan và cùng vai trò với cán bộ vắng mặt."


def vietnam_today() -> date:
    return datetime.now(VN_TZ).date()


def active_on(day: date):
    """The condition of a substitution in force on `day` (set for it and not ended early)."""
    return (Substitution.starts_on <= day) & (Substitution.ends_on >= day) & Substitution.cancelled_at.is_(None)


def stands_in(session: Session, substitute_id: int | None, user_id: int, day: date | None = None) -> bool:
    if substitute_id is None:
        return False
    return session.scalar(select(Substitution.id).where(
        Substitution.substitute_id == substitute_id, Substitution.user_id == user_id,
        active_on(day or vietnam_today())).limit(1)) is not None


def check_supervisor(actor: Actor, agency_code: str | None) -> None:
    """Leaders run their own agency's work; admins any agency's."""
    if actor.role == "admin":
        return
    if actor.role != "leader":
        raise Forbidden(f"{actor.role} is not a supervisor",
                        message_vi="Chỉ lãnh đạo cơ quan hoặc quản trị viên được thực hiện thao tác này.")
    if actor.agency_code != agency_code:
        raise Forbidden("another agency", message_vi="Bạn chỉ điều hành công việc của cơ quan mình.")


def official(session: Session, user_id: int, field: str) -> User:
    """An active official (desk, specialist, leader), or a field error naming `field`."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.role not in OFFICIAL_ROLES:
        raise InvalidInput({field: ["Không tìm thấy cán bộ đang làm việc với mã này."]})
    return user


@dataclass(frozen=True)
class SubstitutionView:
    id: int
    user_id: int
    user_name: str
    substitute_id: int
    substitute_name: str
    agency_code: str | None
    role: str
    starts_on: date
    ends_on: date
    reason: str
    created_by: int
    created_at: datetime
    cancelled_at: datetime | None
    #: in force today (Vietnam date)
    active: bool


def _view(row: Substitution, user: User, substitute: User, today: date) -> SubstitutionView:
    return SubstitutionView(row.id, user.id, user.full_name, substitute.id, substitute.full_name, user.agency_code,
                            user.role, row.starts_on, row.ends_on, row.reason, row.created_by, row.created_at,
                            row.cancelled_at,
                            row.cancelled_at is None and row.starts_on <= today <= row.ends_on)


def _check_period(starts_on: date, ends_on: date, reason: str, today: date) -> str:
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = ["Vui lòng nêu lý do (ví dụ: nghỉ phép, đi công tác)."]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [f"Lý do không được dài quá {MAX_REASON} ký tự."]
    if ends_on < starts_on:
        errors["ends_on"] = ["Ngày kết thúc phải bằng hoặc sau ngày bắt đầu."]
    elif ends_on < today:
        errors["ends_on"] = ["Không đặt người thay thế cho thời gian đã qua."]
    if errors:
        raise InvalidInput(errors)
    return reason


def _overlapping(session: Session, user_id: int, starts_on: date, ends_on: date) -> bool:
    return session.scalar(select(Substitution.id).where(
        Substitution.user_id == user_id, Substitution.cancelled_at.is_(None),
        Substitution.starts_on <= ends_on, Substitution.ends_on >= starts_on).limit(1)) is not None


def set_substitute(ctx: EngineContext, supervisor: Actor, user_id: int, substitute_id: int, starts_on: date,
                   ends_on: date, reason: str, *, today: date | None = None) -> SubstitutionView:
    """`substitute_id` works the tasks assigned to `user_id` from `starts_on` to `ends_on`."""
    check_supervisor(supervisor, supervisor.agency_code)  # only supervisors go further
    today = today or vietnam_today()
    reason = _check_period(starts_on, ends_on, reason, today)
    if user_id == substitute_id:
        raise InvalidInput({"substitute_id": ["Người thay thế phải là một cán bộ khác."]})
    with transaction(ctx.sessions) as session:
        user = official(session, user_id, "user_id")
        substitute = official(session, substitute_id, "substitute_id")
        check_supervisor(supervisor, user.agency_code)
        if substitute.agency_code != user.agency_code or substitute.role != user.role:
            raise Forbidden("substitute from another agency or role", message_vi=SAME_LANE)
        if _overlapping(session, user.id, starts_on, ends_on):
            raise Conflict("overlapping substitution",
                           message_vi="Cán bộ này đã có người thay thế trong khoảng thời gian đã chọn.")
        if _overlapping(session, substitute.id, starts_on, ends_on):
            raise Conflict("substitute away", message_vi="Người thay thế cũng vắng mặt trong khoảng thời gian này.")
        row = Substitution(user_id=user.id, substitute_id=substitute.id, starts_on=starts_on, ends_on=ends_on,
                           reason=reason, created_by=supervisor.id, created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        return _view(row, user, substitute, vietnam_today())


def list_substitutions(ctx: EngineContext, supervisor: Actor, *, agency_code: str | None = None,
                       include_past: bool = False) -> list[SubstitutionView]:
    """The substitutions of the supervisor's agency (an admin names any), current and planned first
    by start date; past and ended ones only when asked."""
    agency_code = agency_code if supervisor.role == "admin" and agency_code else supervisor.agency_code
    check_supervisor(supervisor, agency_code)
    today = vietnam_today()
    user, substitute = aliased(User), aliased(User)
    query = (select(Substitution, user, substitute).join(user, user.id == Substitution.user_id)
             .join(substitute, substitute.id == Substitution.substitute_id)
             .where(user.agency_code == agency_code).order_by(Substitution.starts_on, Substitution.id))
    if not include_past:
        query = query.where(Substitution.cancelled_at.is_(None), Substitution.ends_on >= today)
    with ctx.sessions() as session:
        return [_view(row, u, s, today) for row, u, s in session.execute(query)]


def end_substitution(ctx: EngineContext, supervisor: Actor, substitution_id: int) -> SubstitutionView:
    """End a substitution now (the absent official is back early, or it was set by mistake)."""
    with transaction(ctx.sessions) as session:
        row = session.get(Substitution, substitution_id)
        user = session.get(User, row.user_id) if row is not None else None
        if row is None or user is None or (supervisor.role != "admin" and supervisor.agency_code != user.agency_code):
            check_supervisor(supervisor, supervisor.agency_code)  # a non-supervisor learns nothing more
            raise NotFound(f"substitution {substitution_id}", message_vi="Không tìm thấy lịch thay thế.")
        check_supervisor(supervisor, user.agency_code)
        today = vietnam_today()
        if row.cancelled_at is not None or row.ends_on < today:
            raise Conflict("substitution already over", message_vi="Lịch thay thế này đã kết thúc.")
        row.cancelled_at, row.cancelled_by = datetime.now(UTC), supervisor.id
        session.flush()
        return _view(row, user, session.get(User, row.substitute_id), today)


@dataclass(frozen=True)
class OfficialView:
    id: int
    username: str
    full_name: str
    role: str
    agency_code: str | None
    #: the colleagues this official stands in for today
    standing_in_for: list[int]
    #: ids of the colleagues standing in for this official today (they are away)
    substituted_by: list[int]


def list_officials(ctx: EngineContext, supervisor: Actor, *, role: str | None = None,
                   agency_code: str | None = None) -> list[OfficialView]:
    """The active officials of the supervisor's agency (to pick an assignee or a substitute)."""
    agency_code = agency_code if supervisor.role == "admin" and agency_code else supervisor.agency_code
    check_supervisor(supervisor, agency_code)
    query = select(User).where(User.agency_code == agency_code, User.active.is_(True),
                               User.role.in_(OFFICIAL_ROLES)).order_by(User.role, User.full_name, User.id)
    if role is not None:
        query = query.where(User.role == role)
    today = vietnam_today()
    with ctx.sessions() as session:
        users = list(session.scalars(query))
        pairs = session.execute(select(Substitution.user_id, Substitution.substitute_id).where(
            Substitution.user_id.in_([u.id for u in users]), active_on(today))).all() if users else []
        return [OfficialView(u.id, u.username, u.full_name, u.role, u.agency_code,
                             [away for away, sub in pairs if sub == u.id],
                             [sub for away, sub in pairs if away == u.id]) for u in users]

