"""Drafts: a submission saved half-way and resumed later, by the citizen or the desk that started it.

A draft's data is whatever the form held (only its size and shape are checked): validation
happens once, when the draft is submitted through the same path as any dossier. The draft's
`data` is the start form's values; its optional "applicant" object holds the applicant's name,
phone, ID number and e-mail (a citizen's own profile when absent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Draft, Procedure
from engine.procedures.catalogue import find_procedure
from engine.services.accounts import Actor
from engine.services.dossiers import DossierView, submit_in

MAX_BYTES = 256 * 1024
#: Drafts one person may keep: enough for real work, not a free file store.
MAX_DRAFTS = 50
MAX_STEP = 1000
DRAFTERS = ("citizen", "desk")


@dataclass(frozen=True)
class DraftView:
    id: int
    procedure: str
    procedure_name: str
    step: int
    created_at: datetime
    updated_at: datetime
    data: dict[str, Any] | None = None


def _not_found(draft_id: int) -> NotFound:
    return NotFound(f"draft {draft_id}", message_vi="Không tìm thấy bản nháp.")


def _check(actor: Actor, data: Any, step: Any) -> None:
    if actor.role not in DRAFTERS:
        raise Forbidden(f"{actor.role} keeps no drafts",
                        message_vi="Chỉ công dân và bộ phận một cửa lưu được bản nháp hồ sơ.")
    errors: dict[str, list[str]] = {}
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
        errors["step"] = [f"Bước phải là số nguyên từ 0 đến {MAX_STEP}."]
    if not isinstance(data, dict):
        errors["data"] = ["Dữ liệu bản nháp phải là một đối tượng JSON."]
    else:
        try:
            size = len(orjson.dumps(data))
        except TypeError:
            errors["data"] = ["Dữ liệu bản nháp phải là JSON hợp lệ."]
        else:
            if size > MAX_BYTES:
                errors["data"] = [f"Bản nháp quá lớn ({size // 1024} KB); tối đa {MAX_BYTES // 1024} KB."]
    if errors:
        raise InvalidInput(errors)


def _own(session: Session, actor: Actor, draft_id: int, *, lock: bool = False) -> Draft:
    query = select(Draft).where(Draft.id == draft_id, Draft.owner_id == actor.id)
    draft = session.scalar(query.with_for_update() if lock else query)
    if draft is None:  # someone else's draft is as invisible as a missing one
        raise _not_found(draft_id)
    return draft


def _view(draft: Draft, name: str, *, with_data: bool = True) -> DraftView:
    return DraftView(draft.id, draft.procedure, name, draft.step, draft.created_at, draft.updated_at,
                     dict(draft.data) if with_data else None)


def save_draft(ctx: EngineContext, actor: Actor, procedure: str | None, data: dict[str, Any], *, step: int = 0,
               draft_id: int | None = None) -> DraftView:
    """Create a draft (`draft_id` None) or overwrite one of the actor's own drafts."""
    _check(actor, data, step)
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        if draft_id is None:
            if procedure is None:
                raise InvalidInput({"procedure": ["Vui lòng chọn thủ tục."]})
            found = find_procedure(session, procedure)
            count = session.scalar(select(func.count(Draft.id)).where(Draft.owner_id == actor.id))
            if count >= MAX_DRAFTS:
                raise Conflict("too many drafts", message_vi=f"Bạn đã có {MAX_DRAFTS} bản nháp; "
                               "hãy nộp hoặc xóa bớt bản nháp cũ trước khi lưu bản mới.")
            draft = Draft(owner_id=actor.id, procedure=found.slug, step=step, data=data, created_at=now,
                          updated_at=now)
            session.add(draft)
            session.flush()
            return _view(draft, found.name)
        draft = _own(session, actor, draft_id, lock=True)
        found = find_procedure(session, draft.procedure)
        if procedure is not None and procedure not in (found.slug, found.code):
            raise InvalidInput({"procedure": ["Không đổi được thủ tục của bản nháp; hãy tạo bản nháp mới."]})
        draft.step, draft.data, draft.updated_at = step, data, now
        session.flush()
        return _view(draft, found.name)


def get_draft(ctx: EngineContext, actor: Actor, draft_id: int) -> DraftView:
    with ctx.sessions() as session:
        draft = _own(session, actor, draft_id)
        return _view(draft, _procedure_names(session, [draft.procedure]).get(draft.procedure, draft.procedure))


def list_drafts(ctx: EngineContext, actor: Actor) -> list[DraftView]:
    """The actor's own drafts, most recently saved first, without their data (open one to get it)."""
    with ctx.sessions() as session:
        drafts = list(session.scalars(select(Draft).where(Draft.owner_id == actor.id)
                                      .order_by(Draft.updated_at.desc(), Draft.id.desc())))
        names = _procedure_names(session, [d.procedure for d in drafts])
        return [_view(d, names.get(d.procedure, d.procedure), with_data=False) for d in drafts]


def _procedure_names(session: Session, slugs: list[str]) -> dict[str, str]:
    if not slugs:
        return {}
    return dict(session.execute(select(Procedure.slug, Procedure.name).where(Procedure.slug.in_(set(slugs)))).all())


def delete_draft(ctx: EngineContext, actor: Actor, draft_id: int) -> None:
    with transaction(ctx.sessions) as session:
        session.delete(_own(session, actor, draft_id, lock=True))


def submit_draft(ctx: EngineContext, actor: Actor, draft_id: int) -> DossierView:
    """Submit the draft as a dossier and delete it, in one transaction: a draft is never submitted
    twice, and when validation fails nothing changes (the draft stays, the errors come back)."""
    with transaction(ctx.sessions) as session:
        draft = _own(session, actor, draft_id, lock=True)
        data = dict(draft.data)
        view, outbox = submit_in(ctx, session, actor, draft.procedure, _applicant(actor, data.pop("applicant", None)),
                              data)
        session.delete(draft)
    ctx.notify_outbox(outbox)
    return view


def _applicant(actor: Actor, saved: Any) -> dict[str, Any]:
    """The applicant block a draft saved (unchecked, as all draft data), reduced to text fields;
    a citizen's own profile when the draft has none."""
    if saved is None and actor.role == "citizen":
        return {"name": actor.full_name, "phone": actor.phone, "id_number": actor.id_number, "email": actor.email}
    saved = saved if isinstance(saved, dict) else {}
    applicant: dict[str, Any] = {key: saved[key] if isinstance(saved.get(key), str) else None
                                 for key in ("name", "phone", "id_number", "email")}
    applicant["kind"] = saved.get("kind", 1)
    return applicant
