"""Tables (SQLAlchemy 2 typed mappings). The same models serve SQLite (embedded) and PostgreSQL.

Schema changes go through Alembic (engine/migrations); these classes are the source for autogenerate.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

#: SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a real bigint.
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite stores naive text; we add the zone back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: UTCDateTime}


class Agency(Base):
    """A receiving or processing agency, identified by its QCVN 102:2016 electronic code."""

    __tablename__ = "agency"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    parent_code: Mapped[str | None] = mapped_column(String(32))


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str] = mapped_column(String(255))
    #: desk | specialist | leader | citizen | analyst | admin
    role: Mapped[str] = mapped_column(String(32))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agency.code"))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    #: when the official last looked at their inbox: tasks created later count as new
    inbox_seen_at: Mapped[datetime | None]


class ApiToken(Base):
    """Bearer tokens: only a hash is stored, so a database leak reveals no usable token."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship(lazy="joined")


class LoginThrottle(Base):
    """Failed logins per username ("user:<name>") and per client address ("ip:<address>"), kept in
    the database so every web process (gunicorn worker, machine) sees the same count and lock."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(index=True)
    locked_until: Mapped[datetime | None]


class FileDeletion(Base):
    """A stored file whose last reference was erased (engine/retention.py): queued in the erasing
    transaction, removed once the file is gone from the store, so a store out of reach only delays it."""

    __tablename__ = "file_deletion"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    queued_at: Mapped[datetime]


class Procedure(Base):
    __tablename__ = "procedure"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(512))
    latest_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("procedure_version.id", use_alter=True, name="fk_procedure_latest_version")
    )


class ProcedureVersion(Base):
    """An immutable published version: the package content and its hash. Dossiers point here."""

    __tablename__ = "procedure_version"
    __table_args__ = (
        UniqueConstraint("procedure_id", "number"),
        UniqueConstraint("procedure_id", "content_hash"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id"))
    number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: {"procedure": {...procedure.json}, "bpmn": {filename: xml}, "forms": {name: {schema, ui_schema}}}
    package: Mapped[dict[str, Any]]
    published_at: Mapped[datetime]
    published_by: Mapped[str | None] = mapped_column(String(64))
    #: what changed against the previous version, in one Vietnamese paragraph (engine/procedures/diff.py)
    diff_summary: Mapped[str | None] = mapped_column(Text)


class ProcedureDraft(Base):
    """A procedure package being edited in the analyst studio, free to be invalid until it is published.

    One open draft per procedure (slug): publishing or discarding it deletes the row. A draft of a
    procedure never published (imported) has no procedure_id yet.
    """

    __tablename__ = "procedure_draft"
    #: ids are never reused (SQLite would): an editor left open on a discarded draft must not save into a new one
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedure.id"))
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    #: the published version it was copied from (the studio warns when a newer one appeared since)
    based_on_version_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_version.id"))
    #: the same shape as ProcedureVersion.package
    package: Mapped[dict[str, Any]]
    #: what the import could not run or ignored (engine.procedures.lint.Finding as dicts)
    import_findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]
    created_at: Mapped[datetime]
    #: optimistic lock: two people saving the same draft at once cannot silently overwrite each other
    revision: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": revision}


class CodeCounter(Base):
    """Per agency and day, the last dossier sequence number issued (row-locked while issuing)."""

    __tablename__ = "code_counter"
    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Dossier(Base):
    __tablename__ = "dossier"
    __table_args__ = (
        Index("ix_dossier_applicant_phone", "applicant_phone"),
        Index("ix_dossier_applicant_id_number", "applicant_id_number"),
        Index("ix_dossier_status_due", "status", "due_at"),
        #: the operations search by period, with or without an agency
        Index("ix_dossier_submitted", "submitted_at"),
        Index("ix_dossier_agency_submitted", "agency_code", "submitted_at"),
        Index("ix_dossier_version", "procedure_version_id"),
        #: the admin search by a code's beginning (LIKE 'prefix%'), PostgreSQL only (migration 0010)
        Index("ix_dossier_code_prefix", "code", postgresql_ops={"code": "varchar_pattern_ops"})
        .ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    agency_code: Mapped[str] = mapped_column(ForeignKey("agency.code"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(255))
    #: the name lower-cased without diacritics, for the inbox search ("nguyen" finds "Nguyễn"): the
    #: databases' own lower() is ASCII-only on SQLite and locale-dependent on PostgreSQL
    applicant_name_folded: Mapped[str | None] = mapped_column(String(255))
    applicant_id_number: Mapped[str | None] = mapped_column(String(32))
    applicant_phone: Mapped[str | None] = mapped_column(String(32))
    applicant_email: Mapped[str | None] = mapped_column(String(255))
    #: 1 công dân, 2 doanh nghiệp (national portal's LoaiDoiTuong)
    applicant_kind: Mapped[int] = mapped_column(Integer, default=1)
    #: online | desk | post
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    #: the clock: when it last (re)started, the alternative legal deadline in force (procedure.json
    #: deadline_rules), and while a supplement is awaited under the pause rule, when it stopped
    clock_started_at: Mapped[datetime | None]
    deadline_rule: Mapped[str | None] = mapped_column(String(64))
    clock_paused_at: Mapped[datetime | None]
    #: the new appointment promised in the apology letter (the dossier still counts as late)
    new_appointment_at: Mapped[datetime | None]
    #: trước hạn / đúng hạn / quá hạn at finish: early | on_time | late
    timeliness: Mapped[str | None] = mapped_column(String(16))
    #: the head of this dossier's hash-chained event history
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    event_hash: Mapped[str] = mapped_column(String(64), default="")
    #: optimistic lock: every change to a dossier (status, history head) checks and bumps it
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


class WorkflowInstance(Base):
    """The running SpiffWorkflow instance: instance state only (the spec is cached per version)."""

    __tablename__ = "workflow_instance"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), unique=True)
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("procedure_version.id"))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    #: an admin suspended the instance: no task completes, no timer fires, no connector call goes out
    suspended_at: Mapped[datetime | None] = mapped_column(index=True)
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    #: what the outside world delivered while suspended (a payment confirmed, an agency's reply):
    #: [{"marker", "data", "at"}], applied in order on resume (engine.services.instances)
    held_inputs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: the engine could not move the instance on its own (a script error while a timer fired or a
    #: connector result resumed it): an incident until an admin retries or skips it
    error: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}


class Task(Base):
    """A human task row: the inbox query runs on this table, never on the serialized workflow."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_inbox", "state", "role", "agency_code", "due_at"),
        Index("ix_task_assignee", "assignee_id", "state"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    bpmn_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    agency_code: Mapped[str | None] = mapped_column(String(32))
    #: open | done | cancelled
    state: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    claimed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: when the overdue escalation (assignee + leader notified) was sent, once per task
    escalated_at: Mapped[datetime | None]
    dossier: Mapped[Dossier] = relationship(lazy="joined")


class Event(Base):
    """Append-only history of a dossier (phiếu kiểm soát), hash-chained per dossier.

    On PostgreSQL the table is partitioned by the month of `at` (migration 0013, engine/event_months.py),
    where its keys include `at`: primary key (id, at), per-dossier key (dossier_id, seq, at)."""

    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("dossier_id", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: where the action came from: "ip:203.0.113.7", "worker", "cli" (covered by the hash when set)
    origin: Mapped[str | None] = mapped_column(String(80))


class AccessLog(Base):
    """Who looked at a dossier's personal data, when and from where (append-only). Kept apart from
    the dossier's history so that reading never contends with the dossier's optimistic lock."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_dossier", "dossier_id", "at"),
        Index("ix_access_log_actor", "actor_id", "at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str | None] = mapped_column(String(255))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"))
    #: what was read: dossier_view | task_view | document_download | export ...
    what: Mapped[str] = mapped_column(String(48))
    origin: Mapped[str | None] = mapped_column(String(80))


class Payment(Base):
    """An online fee payment started for a dossier on the national payment platform."""

    __tablename__ = "payment"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id"), index=True)
    #: MaThamChieu: unique per attempt, the key of the platform's callback
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    redirect_url: Mapped[str] = mapped_column(Text)
    #: pending | paid | failed | superseded (a newer attempt replaced it before it was paid)
    state: Mapped[str] = mapped_column(String(16))
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]


class ExchangeMessage(Base):
    """An edXML package sent to or received from another agency over the document-exchange axis.
    Received packages that fail validation are kept (raw file in the store) for inspection."""

    __tablename__ = "exchange_message"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: out | in
    direction: Mapped[str] = mapped_column(String(8))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    doc_id: Mapped[str | None] = mapped_column(String(128))
    #: edXML DocumentId "{organ},{date},{number}/{notation}"; replies point at it (ResponseFor)
    document_id: Mapped[str | None] = mapped_column(String(255), index=True)
    peer: Mapped[str | None] = mapped_column(String(255))
    #: edoc | status
    kind: Mapped[str] = mapped_column(String(16))
    #: sent | matched | unmatched | rejected | held (fetched, waiting for the file store: services/exchange.py)
    state: Mapped[str] = mapped_column(String(16), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raw_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class CalendarException(Base):
    """An admin-managed exception to the national calendar: an extra day off (compensatory day)
    or an extra working day (a swapped Saturday), decided per year by the government."""

    __tablename__ = "calendar_exception"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: off | working
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Attachment(Base):
    """A stored file: uploaded by a person or generated (receipt, supplement request, result...).
    Content lives in the file store under its sha256; the row says what it is and whose."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    #: e.g. giay-tiep-nhan, phieu-yeu-cau-bo-sung, phieu-tu-choi, phieu-xin-loi, ket-qua, upload
    kind: Mapped[str] = mapped_column(String(48))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: for digitally signed files: the short code citizens type on the public verification page
    verification_code: Mapped[str | None] = mapped_column(String(20), index=True)


class OutboxMessage(Base):
    """A connector call decided inside a transaction, executed later by a worker."""

    def __init__(self, **kwargs: Any) -> None:
        # Every new row names the same columns, so the rows one step writes (a notice with its
        # follow-up context, a document without) go out as a single multi-row INSERT.
        kwargs.setdefault("context", None)
        super().__init__(**kwargs)

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_delivery", "connector", "delivery_status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossier.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    connector: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    #: the workflow waits in the service task until the result arrives
    waits: Mapped[bool] = mapped_column(Boolean, default=True)
    #: pending | running | done | incident | skipped
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: engine-side follow-up for the result (never sent to the connector), e.g. store a signed file
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: citizen notices (e-mail, SMS): what the relay or gateway last said about delivery, see
    #: engine/services/notices.py (accepted | delivered | failed ...; None for other calls)
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivery_checked_at: Mapped[datetime | None]


class Rating(Base):
    """The applicant's satisfaction with a finished dossier (đánh giá mức độ hài lòng), once per dossier."""

    __tablename__ = "rating"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 5", name="ck_rating_score"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossier.id", ondelete="CASCADE"), unique=True)
    #: 1 (very dissatisfied) to 5 (very satisfied)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(index=True)
    #: the citizen account that rated; None when rated with the tracking proof (desk, no account)
    rated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class Draft(Base):
    """A submission in progress, saved by its owner to resume later. Its data is not validated
    until it is submitted: half-filled forms must be savable."""

    __tablename__ = "draft"
    __table_args__ = (Index("ix_draft_owner", "owner_id", "updated_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    #: the procedure's slug
    procedure: Mapped[str] = mapped_column(String(128))
    #: the step of a multi-step form the owner was on
    step: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Substitution(Base):
    """While an official is away (starts_on..ends_on, Vietnam dates, inclusive), another official of
    the same agency and role works the tasks assigned to them."""

    __tablename__ = "substitution"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    substitute_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime]
    #: ended early by a supervisor (the row stays: who stood in for whom is part of the record)
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
