"""Dossier services: the catalogue as citizens see it, submission, reading a dossier, public tracking."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, select

import forms
from engine import access_log, history, portal_sync
from engine.calendar import VN_TZ
from engine.codes import next_dossier_code
from engine.context import EngineContext
from engine.db import hold_locks, transaction
from engine.errors import DossierNotFound, Forbidden, InvalidInput, NotFound
from engine.models import Attachment, Dossier, Event, OutboxMessage, Rating, WorkflowInstance
from engine.procedures.catalogue import find_procedure, published_procedures
from engine.procedures.versions import PublishedVersion
from engine.reads import read_only
from engine.runtime.runner import Runner
from engine.runtime.state import dump_state
from engine.services.accounts import Actor
from engine.services.instances import apply_report
from engine.services.search import fold
from engine.statuses import PORTAL_STATUS, label


@dataclass(frozen=True)
class ProcedureView:
    slug: str
    code: str
    name: str
    level: str | None
    field: str | None
    agency: str | None
    deadline: dict[str, Any] | None
    fee: int | None
    fees: list[dict[str, Any]]
    required_documents: list[dict[str, Any]]
    version: int
    start_form: dict[str, Any] | None = None


def _current_fee(fees: list[dict[str, Any]], today: date) -> int | None:
    """The fee schedule valid today (fees carry validity dates: decrees change them)."""
    for fee in fees:
        start = date.fromisoformat(fee["valid_from"]) if fee.get("valid_from") else date.min
        end = date.fromisoformat(fee["valid_to"]) if fee.get("valid_to") else date.max
        if start <= today <= end:
            return int(fee.get("amount", 0))
    return None


def _procedure_view(procedure: Any, version: PublishedVersion, with_form: bool = False) -> ProcedureView:
    meta = version.meta
    fees = meta.get("fees") or []
    start = meta.get("start_form")
    return ProcedureView(
        slug=procedure.slug, code=procedure.code, name=procedure.name, level=meta.get("level"),
        field=meta.get("field"), agency=meta.get("agency"), deadline=meta.get("deadline"),
        fee=_current_fee(fees, datetime.now(VN_TZ).date()), fees=fees, required_documents=meta.get("required_documents") or [],
        version=version.number,
        start_form=version.package["forms"].get(start) if with_form and start else None,
    )


def list_procedures(ctx: EngineContext) -> list[ProcedureView]:
    with ctx.sessions() as session:
        return [_procedure_view(p, ctx.versions.get(session, p.latest_version_id))
                for p in published_procedures(session)]


def get_procedure(ctx: EngineContext, key: str) -> ProcedureView:
    with ctx.sessions() as session:
        procedure = find_procedure(session, key)
        return _procedure_view(procedure, ctx.versions.get(session, procedure.latest_version_id), with_form=True)


_DIGITS = re.compile(r"\D")


def _normalize_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = _DIGITS.sub("", phone)
    return "0" + digits[2:] if digits.startswith("84") and len(digits) == 11 else digits


def check_applicant(applicant: dict[str, Any]) -> dict[str, Any]:
    """The applicant's name, phone, ID number, e-mail and kind, normalised, or InvalidInput."""
    errors: dict[str, list[str]] = {}
    name = (applicant.get("name") or "").strip()
    if not name:
        errors["applicant.name"] = ["Vui lòng nhập họ tên người nộp hồ sơ."]
    phone = _normalize_phone(applicant.get("phone"))
    if phone is not None and not re.fullmatch(r"0\d{9}", phone):
        errors["applicant.phone"] = ["Số điện thoại không hợp lệ."]
    id_number = (applicant.get("id_number") or "").strip() or None
    if id_number is not None and not re.fullmatch(r"\d{12}", id_number):
        errors["applicant.id_number"] = ["Số định danh cá nhân phải gồm đúng 12 chữ số."]
    if not phone and not id_number:
        errors["applicant.phone"] = ["Cần số điện thoại hoặc số định danh để tra cứu hồ sơ."]
    if errors:
        raise InvalidInput(errors)
    kind = applicant.get("kind", 1)
    return {"name": name, "phone": phone, "id_number": id_number, "email": applicant.get("email") or None,
            "kind": 2 if kind in (2, "2", "business") else 1}


def submit_dossier(ctx: EngineContext, actor: Actor, procedure_key: str, applicant: dict[str, Any],
                   data: dict[str, Any], *, channel: str | None = None) -> DossierView:
    """Create the dossier, its code and workflow, and run to the first wait state, in one transaction."""
    # the rows are new until the commit (nobody else can see them): their writes go out in one pipeline
    with transaction(ctx.sessions, pipelined=True) as session:
        view, outbox = submit_in(ctx, session, actor, procedure_key, applicant, data, channel=channel)
    ctx.notify_outbox(outbox)
    return view


def submit_in(ctx: EngineContext, session: Any, actor: Actor, procedure_key: str, applicant: dict[str, Any],
              data: dict[str, Any], *, channel: str | None = None) -> tuple[DossierView, list[OutboxMessage]]:
    """The submission inside the caller's transaction (a draft is deleted in the same one); returns
    the view and the outbox rows to announce once the caller has committed (their ids come with the
    commit's flush)."""
    if actor.role not in ("citizen", "desk"):
        raise Forbidden("only citizens and the desk submit dossiers")
    channel = channel or ("online" if actor.role == "citizen" else "desk")
    applicant = check_applicant(applicant)
    now = datetime.now(UTC)
    procedure = find_procedure(session, procedure_key)
    version = ctx.versions.get(session, procedure.latest_version_id)
    meta = version.meta
    start = meta.get("start_form")
    cleaned = _validate_form(version, start, data) if start else dict(data)
    agency = actor.agency_code if actor.role == "desk" and actor.agency_code else meta["agency"]
    code = next_dossier_code(session, agency, now)
    dossier = Dossier(code=code, procedure_version_id=version.id, agency_code=agency,
                      owner_id=actor.id if actor.role == "citizen" else None,
                      applicant_name=applicant["name"], applicant_name_folded=fold(applicant["name"])[:255],
                      applicant_id_number=applicant["id_number"],
                      applicant_phone=applicant["phone"], applicant_email=applicant["email"],
                      applicant_kind=applicant["kind"], channel=channel, status="submitted", milestones=[],
                      submitted_at=now, event_seq=0, event_hash="")
    session.add(dossier)
    session.flush()
    hold_locks(session, dossier)  # inserted by this transaction: invisible to any other until it commits
    history.record(session, dossier, "submitted", actor=actor, status="submitted",
                   data={"channel": channel, "procedure": procedure.code, "version": version.number}, at=now)
    workflow_data = start_data(ctx, meta, cleaned, applicant, code=code, procedure_code=procedure.code,
                               procedure_name=procedure.name, agency=agency, channel=channel, now=now)
    specs = ctx.specs.get(version.content_hash, version.package)
    ctx.calendar(session)  # fresh before the run: timer expressions read it
    runner, report = Runner.start(specs, workflow_data, ctx.script_engine)
    instance = WorkflowInstance(dossier_id=dossier.id, procedure_version_id=version.id,
                                state=dump_state(runner.workflow), completed=False, updated_at=now)
    session.add(instance)
    # The portal learns of the dossier first (its rows are ordered per dossier by id).
    portal = portal_sync.status_rows(ctx, session, dossier, meta, "submitted", actor, now,
                                     set(ctx.connectors.available()))
    session.add_all(portal)
    outbox = portal + apply_report(ctx, session, dossier, instance, runner, report, actor)
    view = _dossier_view(dossier, version, [], include_history=False)
    return view, outbox


def start_data(ctx: EngineContext, meta: dict[str, Any], form_data: dict[str, Any], applicant: dict[str, Any], *,
               code: str, procedure_code: str, procedure_name: str, agency: str, channel: str,
               now: datetime) -> dict[str, Any]:
    """What a new dossier's workflow starts with: the start form's answers, the dossier's own facts
    and the peer agencies. The studio's test run starts a draft from this too, so a draft is tried
    on exactly the data a submitted dossier gets."""
    available = set(ctx.connectors.available())
    return {**form_data,
            "dossier": {"code": code, "procedure_code": procedure_code, "procedure_name": procedure_name,
                        "agency": agency, "submitted_at": now.isoformat(), "channel": channel,
                        # fees are paid online only where the province connected the platform
                        "online_payment": "dvcqg_payment" in available,
                        # liên thông letters travel the national axis where it is connected
                        "document_exchange": "vdxp" in available},
            "applicant": applicant, "peers": meta.get("peers") or {}}


def _validate_form(version: PublishedVersion, name: str, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return forms.validate(version.form(name), data)
    except forms.FormInvalid as exc:
        raise InvalidInput(exc.errors) from exc


@dataclass(frozen=True)
class DossierView:
    code: str
    procedure_code: str
    procedure_name: str
    procedure_version: int
    status: str
    status_label: str
    portal_status: int
    channel: str
    applicant_name: str
    agency_code: str
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    milestones: list[dict[str, Any]]
    #: early | on_time | late once finished (trước hạn / đúng hạn / quá hạn)
    timeliness: str | None = None
    #: the new appointment promised by an apology letter (the dossier still counts as late)
    new_appointment_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] | None = None
    #: the applicant's satisfaction rating: {"score", "comment", "created_at"}, once given
    rating: dict[str, Any] | None = None
    #: the dossier has its result and no rating yet: the applicant may rate it now
    rating_open: bool = False
    #: the start form ({"schema", "ui_schema"}) of the procedure version the dossier was submitted
    #: on (asked for with `with_form`): its data reads right even after a newer version changed the form
    start_form: dict[str, Any] | None = None


#: Statuses in which a dossier has its outcome, so the applicant can rate the service.
RATEABLE = ("result_ready", "returned", "refused")


def rating_of(session: Any, dossier: Dossier) -> dict[str, Any] | None:
    return _rating(session.scalar(select(Rating).where(Rating.dossier_id == dossier.id)))


def _rating(row: Rating | None) -> dict[str, Any] | None:
    return {"score": row.score, "comment": row.comment, "created_at": row.created_at} if row else None


def _dossier_view(dossier: Dossier, version: PublishedVersion, events: list[Event], *,
                  include_history: bool = True, data: dict[str, Any] | None = None,
                  rating: dict[str, Any] | None = None, with_form: bool = False) -> DossierView:
    meta = version.meta
    start = meta.get("start_form")
    return DossierView(
        code=dossier.code, procedure_code=meta.get("code") or meta["slug"], procedure_name=meta["name"],
        procedure_version=version.number, status=dossier.status, status_label=label(dossier.status),
        portal_status=PORTAL_STATUS.get(dossier.status, 0), channel=dossier.channel,
        applicant_name=dossier.applicant_name, agency_code=dossier.agency_code, submitted_at=dossier.submitted_at,
        received_at=dossier.received_at, due_at=dossier.due_at, finished_at=dossier.finished_at,
        milestones=list(dossier.milestones), timeliness=dossier.timeliness,
        new_appointment_at=dossier.new_appointment_at,
        history=[{"seq": e.seq, "kind": e.kind, "at": e.at, "actor": e.actor_name, "status": e.status,
                  "data": e.data} for e in events] if include_history else [],
        data=data, rating=rating, rating_open=rating is None and dossier.status in RATEABLE,
        start_form=version.package["forms"].get(start) if with_form and start else None,
    )


def can_read(actor: Actor, dossier: Dossier) -> bool:
    if actor.role == "citizen":
        return dossier.owner_id == actor.id
    if actor.role == "admin":
        return True
    return actor.is_staff and actor.agency_code == dossier.agency_code


def get_dossier(ctx: EngineContext, actor: Actor, code: str, *, with_data: bool = False,
                with_form: bool = False) -> DossierView:
    """The dossier as `actor` may read it, with its history; `with_data` adds the workflow's data,
    `with_form` the start form of the dossier's own procedure version. A staff read is logged."""
    with transaction(ctx.sessions) as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        if dossier is None:
            raise DossierNotFound(code)
        if not can_read(actor, dossier):
            # Same answer as a missing dossier: a code alone reveals nothing.
            raise DossierNotFound(code)
        access_log.log_access(session, actor, dossier, access_log.DOSSIER_VIEW)
        events = list(session.scalars(select(Event).where(Event.dossier_id == dossier.id).order_by(Event.seq)))
        data = None
        if with_data:
            from engine.services.instances import load_runner

            _instance, runner = load_runner(ctx, session, dossier)
            data = runner.data
        return _dossier_view(dossier, ctx.versions.get(session, dossier.procedure_version_id), events, data=data,
                             rating=rating_of(session, dossier), with_form=with_form)


@dataclass(frozen=True)
class AttachmentView:
    id: int
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


def _readable(session: Any, actor: Actor, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code))
    if dossier is None or not can_read(actor, dossier):
        raise DossierNotFound(code)
    return dossier


def list_attachments(ctx: EngineContext, actor: Actor, code: str) -> list[AttachmentView]:
    """The dossier's documents (generated receipts, requests, results; uploads) for its owner or staff."""
    with ctx.sessions() as session:
        dossier = _readable(session, actor, code)
        rows = session.scalars(select(Attachment).where(Attachment.dossier_id == dossier.id).order_by(Attachment.id))
        return [AttachmentView(a.id, a.kind, a.filename, a.content_type, a.size, a.sha256, a.created_at) for a in rows]


def read_attachment(ctx: EngineContext, actor: Actor, code: str, attachment_id: int) -> tuple[AttachmentView, bytes]:
    """One of the dossier's documents with its content; a staff download is logged."""
    with ctx.sessions() as session:
        dossier = _readable(session, actor, code)
        row = session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                      Attachment.dossier_id == dossier.id))
        if row is None:
            raise NotFound(f"attachment {attachment_id}", message_vi="Không tìm thấy tệp đính kèm.")
        view = AttachmentView(row.id, row.kind, row.filename, row.content_type, row.size, row.sha256, row.created_at)
        dossier_id, logged = dossier.id, access_log.will_log(actor, dossier)
    # read with no transaction open (a bucket is asked over the network), before the download is
    # logged: no log row for a failed read
    content = ctx.files.open(view.sha256)
    if logged:
        with transaction(ctx.sessions) as session:
            access_log.log_access(session, actor, session.get(Dossier, dossier_id), access_log.DOCUMENT_DOWNLOAD)
    return view, content


def proof_matches(dossier: Dossier | None, secret: str | None) -> bool:
    """Whether `secret` is the phone number or ID number given at submission (the tracking proof).
    Compared in constant time, so the answer's timing does not leak how much of it was right."""
    secret = (secret or "").strip()
    candidates = [dossier.applicant_phone, dossier.applicant_id_number] if dossier is not None else []
    given = {secret, _normalize_phone(secret) or ""}
    # as bytes: compare_digest refuses str with non-ASCII characters, which anyone can type
    return any(c and any(hmac.compare_digest(c.encode(), g.encode()) for g in given if g) for c in candidates)


#: A wrong proof and an unknown code get the same answer: a code alone reveals nothing.
NO_MATCH = "Không tìm thấy hồ sơ với mã và thông tin đã nhập."


def _tracked(session: Any, code: str, secret: str) -> Dossier:
    return _proven(session.scalar(select(Dossier).where(Dossier.code == code)), code, secret)


def _proven(dossier: Dossier | None, code: str, secret: str) -> Dossier:
    if dossier is None or not proof_matches(dossier, secret):
        raise DossierNotFound(code, message_vi=NO_MATCH)
    return dossier


#: public tracking's statement, built once: building it and its cache key cost a sixth of a lookup
_TRACKED = (select(Dossier, Rating).outerjoin(Rating, Rating.dossier_id == Dossier.id)
            .where(Dossier.code == bindparam("code")))


def track_dossier(ctx: EngineContext, code: str, secret: str) -> DossierView:
    """Public tracking: the code plus the phone number or ID number given at submission. The dossier
    and its rating in one statement (a rating is unique per dossier)."""
    with read_only(ctx.sessions) as session:
        row = session.execute(_TRACKED, {"code": code}).first()
        dossier, rating = row if row is not None else (None, None)
        dossier = _proven(dossier, code, secret)
        return _dossier_view(dossier, ctx.versions.get(session, dossier.procedure_version_id), [],
                             include_history=False, rating=_rating(rating))


#: What public tracking hands out: the signed result only. The applicant's own uploads and the
#: agency's letters stay behind an account or the desk; the result is what a walk-in applicant
#: without an account comes back for, and its signature lets anyone check it is genuine.
TRACKED_KINDS = ("ket-qua-ky-so",)


def tracked_documents(ctx: EngineContext, code: str, secret: str) -> list[AttachmentView]:
    """The signed result(s) of a dossier, for whoever proves it with the tracking proof."""
    with ctx.sessions() as session:
        dossier = _tracked(session, code, secret)
        rows = session.scalars(select(Attachment).where(Attachment.dossier_id == dossier.id,
                                                        Attachment.kind.in_(TRACKED_KINDS)).order_by(Attachment.id))
        return [AttachmentView(a.id, a.kind, a.filename, a.content_type, a.size, a.sha256, a.created_at) for a in rows]


def read_tracked_document(ctx: EngineContext, code: str, secret: str,
                          attachment_id: int) -> tuple[AttachmentView, bytes]:
    """One of :func:`tracked_documents` with its content; any other attachment id is not found."""
    view = next((d for d in tracked_documents(ctx, code, secret) if d.id == attachment_id), None)
    if view is None:
        raise NotFound(f"attachment {attachment_id}", message_vi="Không tìm thấy tệp đính kèm.")
    return view, ctx.files.open(view.sha256)
