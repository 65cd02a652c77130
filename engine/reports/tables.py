"""The reporting tables: one fact row per dossier and per finished task, and the rollups the
dashboards read, kept up to date from the event stream by `engine.reports.rollup`.

Why facts at all: the processing time the law counts (working time from the clock's start to the
result, supplement pauses excluded) needs the working-day calendar, which lives in Python; it is
computed once per dossier change and stored, never per request. Why rollups: at a million
dossiers a dashboard must not scan them; it sums a few thousand daily rows instead.

No foreign keys to the live tables: facts are derived data, rebuilt at will, and must never stand
in the way of the live tables (tests empty those between runs).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.models import Base, BigId


class ReportDossier(Base):
    """What the indicators need to know about one dossier, each measure dated by its own day
    (Vietnam dates): submitted, received, finished, paid, rated."""

    __tablename__ = "report_dossier"
    __table_args__ = (
        Index("ix_report_dossier_submitted", "submitted_on"),
        Index("ix_report_dossier_received", "received_on"),
        Index("ix_report_dossier_finished", "finished_on"),
        Index("ix_report_dossier_paid", "paid_on"),
        Index("ix_report_dossier_rated", "rated_on"),
    )
    dossier_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    agency_code: Mapped[str] = mapped_column(String(32))
    procedure_id: Mapped[int] = mapped_column(BigId)
    #: online | desk | post
    channel: Mapped[str] = mapped_column(String(16))
    submitted_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date | None] = mapped_column(Date)
    finished_on: Mapped[date | None] = mapped_column(Date)
    #: the final status (returned | refused | withdrawn | stopped), None while open
    outcome: Mapped[str | None] = mapped_column(String(32))
    #: early | on_time | late, as the engine classified it at the end
    timeliness: Mapped[str | None] = mapped_column(String(16))
    #: working minutes from the clock's (re)start to the end, supplement pauses excluded; only for
    #: dossiers resolved after reception
    processing_minutes: Mapped[int | None] = mapped_column(Integer)
    #: how many times a supplement was requested (at reception or during processing)
    supplements: Mapped[int] = mapped_column(Integer, default=0)
    #: the procedure charges a fee (unconditionally) or the dossier paid one online
    fee_required: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_on: Mapped[date | None] = mapped_column(Date)
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    rated_on: Mapped[date | None] = mapped_column(Date)
    #: the dossier's documents exist in electronic form: submitted online or scanned at reception
    digitized: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the result was issued as an electronic document (kết quả điện tử)
    e_result: Mapped[bool] = mapped_column(Boolean, default=False)
    #: its status reached the national portal: synchronisation rows exist and none became an incident
    synced: Mapped[bool] = mapped_column(Boolean, default=False)


class ReportTask(Base):
    """One completed human task (a step of the internal process) with its working time."""

    __tablename__ = "report_task"
    __table_args__ = (
        Index("ix_report_task_completed", "completed_on"),
        Index("ix_report_task_dossier", "dossier_id"),
    )
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dossier_id: Mapped[int] = mapped_column(BigId)
    #: the dossier's agency (the one the dashboards filter by), not the lane's
    agency_code: Mapped[str] = mapped_column(String(32))
    procedure_id: Mapped[int] = mapped_column(BigId)
    bpmn_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    completed_on: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    #: completed after the step's own due date (its budget in the internal process)
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class ReportDaily(Base):
    """Per Vietnam day, agency and procedure: every count the dashboards sum. A measure is counted
    on its own day (a dossier submitted on the 3rd and returned on the 9th adds to `submitted` of
    the 3rd and `returned` of the 9th)."""

    __tablename__ = "report_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    procedure_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    # by submission day
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    submitted_online: Mapped[int] = mapped_column(Integer, default=0)
    submitted_synced: Mapped[int] = mapped_column(Integer, default=0)
    # by reception day
    received: Mapped[int] = mapped_column(Integer, default=0)
    received_online: Mapped[int] = mapped_column(Integer, default=0)
    received_digitized: Mapped[int] = mapped_column(Integer, default=0)
    # by finishing day
    finished: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    refused_at_reception: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    stopped: Mapped[int] = mapped_column(Integer, default=0)
    finished_with_supplement: Mapped[int] = mapped_column(Integer, default=0)
    resolved: Mapped[int] = mapped_column(Integer, default=0)
    early: Mapped[int] = mapped_column(Integer, default=0)
    on_time: Mapped[int] = mapped_column(Integer, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)
    resolved_e_result: Mapped[int] = mapped_column(Integer, default=0)
    resolved_dissatisfied: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    processing_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_finished: Mapped[int] = mapped_column(Integer, default=0)
    fee_paid_online: Mapped[int] = mapped_column(Integer, default=0)
    # by payment day
    paid_online: Mapped[int] = mapped_column(Integer, default=0)
    paid_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # by rating day
    rating_1: Mapped[int] = mapped_column(Integer, default=0)
    rating_2: Mapped[int] = mapped_column(Integer, default=0)
    rating_3: Mapped[int] = mapped_column(Integer, default=0)
    rating_4: Mapped[int] = mapped_column(Integer, default=0)
    rating_5: Mapped[int] = mapped_column(Integer, default=0)


class ReportStepDaily(Base):
    """Per Vietnam day of completion, agency, procedure and BPMN element: how many tasks ended
    and how much working time they took (where dossiers wait)."""

    __tablename__ = "report_step_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    procedure_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    bpmn_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    tasks: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    late: Mapped[int] = mapped_column(Integer, default=0)


class ReportDuration(Base):
    """Per month of finishing, agency and procedure, how many resolved dossiers took how long
    (processing minutes rounded up to `BUCKET_MINUTES`): the histogram the p90 is read from."""

    __tablename__ = "report_duration"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    procedure_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    dossiers: Mapped[int] = mapped_column(Integer, default=0)


class ReportState(Base):
    """How far the facts have followed the event stream (one row, id 1)."""

    __tablename__ = "report_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)


#: p90 resolution: processing minutes are rounded up to a quarter of an hour in the histogram.
BUCKET_MINUTES = 15

REPORT_TABLES = (ReportDossier, ReportTask, ReportDaily, ReportStepDaily, ReportDuration, ReportState)
