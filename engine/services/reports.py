"""Reports for people: who may see which figures, and the dossiers behind each one.

Admins see the whole province; a leader sees their own agency (the agency filter is forced to it);
nobody else reads reports. The figures come from `engine.reports` (rollup tables, no scans); this
module adds the scope, the default period (this month up to today, Vietnam time) and the paged
lists of dossiers behind a figure, without any personal data in them (code, procedure, status,
dates: what a leader needs to follow a figure up, not who applied).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.calendar import VN_TZ
from engine.context import EngineContext
from engine.errors import Forbidden, InvalidInput, ProcedureNotFound
from engine.models import Agency, Dossier, Procedure, ProcedureVersion
from engine.procedures.editor_properties import main_bpmn_file
from engine.reports import indicators, rollup
from engine.reports import scorecard as scorecards
from engine.reports.filters import Filters
from engine.reports.replica import report_session
from engine.services.accounts import Actor

#: The most rows one list page shows, and the most one export writes.
MAX_PER_PAGE = 200
MAX_EXPORT_ROWS = 100_000
#: The report's query arguments, by the name `Filters` gives a field in its own errors.
#: The largest id a BIGINT column holds (a longer number in a URL is simply not a procedure).
MAX_ID = 2**63 - 1
FILTER_ARGS = {"date_from": "tu_ngay", "date_to": "den_ngay", "agency_code": "co_quan", "procedure_id": "thu_tuc"}


@dataclass(frozen=True)
class DossierRow:
    code: str
    procedure_name: str
    agency_code: str
    status: str
    channel: str
    submitted_at: datetime
    received_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    timeliness: str | None


@dataclass(frozen=True)
class DossierPage:
    indicator: str
    filters: Filters
    rows: list[DossierRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class Diagram:
    """The BPMN a procedure's newest dossiers run on, for the heat view of where dossiers wait."""

    procedure_id: int
    procedure_name: str
    version: int
    xml: str


@dataclass(frozen=True)
class BreakdownRow:
    key: Any
    name: str
    counts: dict[str, int]


@dataclass(frozen=True)
class Overview:
    board: indicators.Dashboard
    agencies: list[BreakdownRow]
    procedures: list[BreakdownRow]


def require_reader(actor: Actor) -> None:
    if actor.role not in ("admin", "leader"):
        raise Forbidden("only admins and leaders read reports",
                        message_vi="Chỉ quản trị viên và lãnh đạo được xem báo cáo.")
    if actor.role == "leader" and not actor.agency_code:
        raise Forbidden("a leader without an agency has no report scope",
                        message_vi="Tài khoản lãnh đạo chưa được gắn với cơ quan nào nên chưa xem được báo cáo.")


def _scoped(actor: Actor, filters: Filters) -> Filters:
    """`filters` as `actor` may read them: a leader's own agency, whatever was asked."""
    require_reader(actor)
    if actor.role == "leader" and filters.agency_code != actor.agency_code:
        return dataclasses.replace(filters, agency_code=actor.agency_code)
    return filters


def report_filters(ctx: EngineContext, actor: Actor, args: Mapping[str, Any], *,
                   today: date | None = None) -> Filters:
    """The report's scope from query arguments (`tu_ngay`, `den_ngay`, `co_quan`, `thu_tuc`), the
    period defaulting to this month up to today; a leader's agency replaces any other agency.
    Errors are keyed by those argument names, so a form can show each beside its field."""
    require_reader(actor)
    today = today or datetime.now(UTC).astimezone(VN_TZ).date()
    values = {key: str(args.get(key) or "").strip() for key in FILTER_ARGS.values()}
    values["tu_ngay"] = values["tu_ngay"] or today.replace(day=1).isoformat()
    values["den_ngay"] = values["den_ngay"] or today.isoformat()
    if actor.role == "leader":
        values["co_quan"] = actor.agency_code
    try:
        filters = Filters.parse(values)
    except InvalidInput as exc:
        raise InvalidInput({FILTER_ARGS.get(key, key): messages for key, messages in exc.errors.items()},
                           str(exc)) from exc
    with ctx.sessions() as session:
        if filters.agency_code and session.get(Agency, filters.agency_code) is None:
            raise InvalidInput({"co_quan": ["Không có cơ quan này."]}, "unknown agency")
        if filters.procedure_id and (filters.procedure_id > MAX_ID or session.get(Procedure, filters.procedure_id) is None):
            raise InvalidInput({"thu_tuc": ["Không có thủ tục này."]}, "unknown procedure")
    return filters


def dashboard(ctx: EngineContext, actor: Actor, filters: Filters) -> indicators.Dashboard:
    return indicators.dashboard(ctx, _scoped(actor, filters))


def overview(ctx: EngineContext, actor: Actor, filters: Filters) -> Overview:
    """The dashboard with its per-agency and per-procedure tables (the page, its export, its print):
    one rollup refresh and one session for the three."""
    filters = _scoped(actor, filters)
    rollup.refresh(ctx)
    with report_session(ctx) as session:
        board = indicators.read_dashboard(session, filters,
                                          minutes_per_day=indicators.minutes_per_day(ctx.settings.calendar_config()))
        return Overview(board, _breakdown(session, filters, "agency"), _breakdown(session, filters, "procedure"))


def breakdown(ctx: EngineContext, actor: Actor, filters: Filters, by: str) -> list[BreakdownRow]:
    """The period's counts per agency or per procedure, with their names, largest intake first."""
    filters = _scoped(actor, filters)
    rollup.refresh(ctx)
    with report_session(ctx) as session:
        return _breakdown(session, filters, by)


def _breakdown(session: Session, filters: Filters, by: str) -> list[BreakdownRow]:
    counts = indicators.breakdown(session, filters, by)
    model = Agency if by == "agency" else Procedure
    key = Agency.code if by == "agency" else Procedure.id
    names = dict(session.execute(select(key, model.name).where(key.in_(list(counts)))).all())
    rows = [BreakdownRow(k, names.get(k, str(k)), c) for k, c in counts.items()]
    return sorted(rows, key=lambda row: (-row.counts["received"], -row.counts["submitted"], row.name))


def scorecard(ctx: EngineContext, actor: Actor, filters: Filters) -> list[scorecards.Score]:
    return scorecards.scorecard(ctx, _scoped(actor, filters))


def choices(ctx: EngineContext, actor: Actor) -> dict[str, list[tuple[Any, str]]]:
    """The agencies and procedures a report filter offers (a leader: their own agency only)."""
    require_reader(actor)
    with ctx.sessions() as session:
        agencies = select(Agency.code, Agency.name).order_by(Agency.name)
        if actor.role == "leader":
            agencies = agencies.where(Agency.code == actor.agency_code)
        return {"agencies": [tuple(row) for row in session.execute(agencies)],
                "procedures": [tuple(row) for row in
                               session.execute(select(Procedure.id, Procedure.name).order_by(Procedure.name))]}


def dossiers_behind(ctx: EngineContext, actor: Actor, indicator: str, filters: Filters, *,
                    page: int = 1, per_page: int = 50) -> DossierPage:
    """One page of the dossiers a figure counts (newest first; overdue ones by due date) and how many
    there are in all."""
    filters = _scoped(actor, filters)
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    page = max(1, int(page))
    query = indicators.dossiers_behind(indicator, filters)
    rollup.refresh(ctx)  # a list opened on its own (a bookmark) agrees with the figure shown now
    with report_session(ctx) as session:
        total = int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)
        rows = _rows(session, query.limit(per_page).offset((page - 1) * per_page))
    return DossierPage(indicator, filters, rows, total, page, per_page)


def iter_dossiers_behind(ctx: EngineContext, actor: Actor, indicator: str, filters: Filters, *,
                         limit: int = MAX_EXPORT_ROWS) -> Iterator[DossierRow]:
    """Every dossier behind a figure (for an export), at most `limit`, read a thousand at a time.
    Each batch has its own short session: a download as slow as its reader holds no transaction
    open (on SQLite a transaction holds the database's write lock)."""
    filters = _scoped(actor, filters)
    query = indicators.dossiers_behind(indicator, filters)
    rollup.refresh(ctx)
    for offset in range(0, limit, 1000):
        with report_session(ctx, wait=offset == 0) as session:
            batch = _rows(session, query.limit(min(1000, limit - offset)).offset(offset))
        yield from batch
        if len(batch) < 1000:
            return


def procedure_diagram(ctx: EngineContext, actor: Actor, procedure_id: int) -> Diagram:
    """The main BPMN of the procedure's latest version (for any report reader: a procedure's model is
    no secret, and the studio's own export is for analysts)."""
    require_reader(actor)
    with ctx.sessions() as session:
        procedure = session.get(Procedure, procedure_id) if 0 < procedure_id <= MAX_ID else None
        version = session.get(ProcedureVersion, procedure.latest_version_id) \
            if procedure is not None and procedure.latest_version_id else None
        if version is None:
            raise ProcedureNotFound(f"procedure {procedure_id} has no published version")
        return Diagram(procedure.id, procedure.name, version.number,
                       version.package["bpmn"][main_bpmn_file(version.package)])


def _rows(session, query) -> list[DossierRow]:
    """The listed columns of the dossiers `query` selects, in the query's own order."""
    ids = list(session.scalars(query.with_only_columns(Dossier.id)))
    if not ids:
        return []
    listed = (select(Dossier.id, Dossier.code, Procedure.name, Dossier.agency_code, Dossier.status, Dossier.channel,
                     Dossier.submitted_at, Dossier.received_at, Dossier.due_at, Dossier.finished_at,
                     Dossier.timeliness)
              .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
              .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
              .where(Dossier.id.in_(ids)))
    found = {row[0]: DossierRow(*row[1:]) for row in session.execute(listed)}
    return [found[dossier_id] for dossier_id in ids if dossier_id in found]
