"""The service-quality scorecard of Quyết định 766/QĐ-TTg (23/6/2022), per agency, as far as our
data supports it.

766 scores 100 points in six groups (DOMAIN.md): công khai, minh bạch 18; tiến độ giải quyết 20;
dịch vụ công trực tuyến 12; thanh toán trực tuyến 10; mức độ hài lòng 18; số hóa hồ sơ 22. Each
group is split into sub-indicators; a sub-indicator scores `points × ratio` (linear). The split
below and each formula are *verify*: the Decision's annex and the province's guidance set them,
so `DEFAULT_SCORECARD` is data a province can replace (`scorecard(..., definition=...)`).
Sub-indicators our system has no data for (the national TTHC database, citizens' feedback
handling, re-use of digitised data) are listed with `measurable=False`: their points are shown as
not measured, never guessed; `Score.measured_max` says how many points the figure is out of.

Formulas (period = the report's Vietnam days; counts as in `engine.reports.indicators`):

1. Công khai, minh bạch (18)
   1.1 TTHC công khai đúng hạn (4) — not measured (national TTHC database).
   1.2 Hồ sơ đồng bộ trên Cổng DVCQG (14) = dossiers submitted whose status reached the national
       portal without an incident / dossiers submitted.
2. Tiến độ, kết quả giải quyết (20)
   2.1 Hồ sơ giải quyết trước và đúng hạn (20) = (early + on time) / resolved.
3. Cung cấp dịch vụ công trực tuyến (12)
   3.1 TTHC cung cấp trực tuyến (4) = procedures with dossiers received that are offered online
       (procedure.json `online`: toan_trinh or mot_phan) / procedures with dossiers received.
   3.2 TTHC phát sinh hồ sơ trực tuyến (4) = of those offered online, the ones with at least one
       online dossier received / procedures offered online with dossiers received.
   3.3 Hồ sơ trực tuyến (4) = dossiers received online / dossiers received.
4. Thanh toán trực tuyến (10)
   4.1 TTHC có thanh toán trực tuyến (5) = procedures with finished dossiers owing a fee that had
       at least one paid online / procedures with finished dossiers owing a fee.
   4.2 Hồ sơ thanh toán trực tuyến (5) = finished dossiers owing a fee paid online / finished
       dossiers owing a fee.
5. Mức độ hài lòng (18)
   5.1 Phản ánh, kiến nghị xử lý đúng hạn (6) — not measured (no feedback-handling module).
   5.2 Hài lòng trong xử lý phản ánh, kiến nghị (6) — not measured.
   5.3 Hài lòng trong tiếp nhận, giải quyết TTHC (6) = (resolved − resolved rated dissatisfied,
       score 1–2) / resolved.
6. Số hóa hồ sơ (22)
   6.1 Số hóa thành phần hồ sơ khi tiếp nhận (8) = dossiers received in electronic form (online,
       or scanned at the desk) / dossiers received.
   6.2 Cấp kết quả điện tử (8) = resolved dossiers returned with an electronic result / resolved.
   6.3 Khai thác, sử dụng lại dữ liệu số hóa (6) — not measured.

A sub-indicator with nothing to count (no dossier in its denominator) scores nothing and is marked
`ratio=None`; it still counts in `measured_max`, so an idle agency does not get full marks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.models import Agency, Procedure, ProcedureVersion
from engine.reports import rollup
from engine.reports.filters import Filters
from engine.reports.indicators import Ratio, breakdown
from engine.reports.replica import report_session
from engine.reports.tables import ReportDaily

ONLINE_LEVELS = ("toan_trinh", "mot_phan")


@dataclass(frozen=True)
class Context:
    """What a formula may read: the agency's period totals and its per-procedure totals."""

    counts: dict[str, int]
    procedures: dict[int, dict[str, int]]
    online_procedures: frozenset[int]


Formula = Callable[[Context], Ratio]


@dataclass(frozen=True)
class SubIndicator:
    key: str
    name: str
    points: float
    formula: Formula | None = None
    #: which dashboard list shows the dossiers behind the numerator, if any
    behind: str | None = None

    @property
    def measurable(self) -> bool:
        return self.formula is not None


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    points: float
    parts: tuple[SubIndicator, ...]


def _ratio(part: str, whole: str) -> Formula:
    return lambda c: Ratio(c.counts[part], c.counts[whole])


def _satisfied_resolved(c: Context) -> Ratio:
    return Ratio(c.counts["resolved"] - c.counts["resolved_dissatisfied"], c.counts["resolved"])


def _on_time(c: Context) -> Ratio:
    return Ratio(c.counts["early"] + c.counts["on_time"], c.counts["resolved"])


def _procedures_online(c: Context) -> Ratio:
    active = [p for p, counts in c.procedures.items() if counts["received"]]
    return Ratio(sum(1 for p in active if p in c.online_procedures), len(active))


def _procedures_with_online_dossiers(c: Context) -> Ratio:
    offered = [p for p, counts in c.procedures.items() if counts["received"] and p in c.online_procedures]
    return Ratio(sum(1 for p in offered if c.procedures[p]["received_online"]), len(offered))


def _procedures_paid_online(c: Context) -> Ratio:
    owing = [p for p, counts in c.procedures.items() if counts["fee_finished"]]
    return Ratio(sum(1 for p in owing if c.procedures[p]["fee_paid_online"]), len(owing))


DEFAULT_SCORECARD: tuple[Group, ...] = (
    Group("cong_khai", "Công khai, minh bạch", 18, (
        SubIndicator("tthc_cong_khai", "Tỷ lệ TTHC được cập nhật, công khai đúng hạn", 4),
        SubIndicator("dong_bo_dvcqg", "Tỷ lệ hồ sơ được đồng bộ, công khai trên Cổng DVCQG", 14,
                     _ratio("submitted_synced", "submitted"), "submitted_synced"),
    )),
    Group("tien_do", "Tiến độ, kết quả giải quyết", 20, (
        SubIndicator("dung_han", "Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn", 20, _on_time, "resolved"),
    )),
    Group("truc_tuyen", "Cung cấp dịch vụ công trực tuyến", 12, (
        SubIndicator("tthc_truc_tuyen", "Tỷ lệ TTHC cung cấp dịch vụ công trực tuyến", 4, _procedures_online),
        SubIndicator("tthc_phat_sinh", "Tỷ lệ TTHC trực tuyến có phát sinh hồ sơ trực tuyến", 4,
                     _procedures_with_online_dossiers),
        SubIndicator("ho_so_truc_tuyen", "Tỷ lệ hồ sơ tiếp nhận trực tuyến", 4,
                     _ratio("received_online", "received"), "received_online"),
    )),
    Group("thanh_toan", "Thanh toán trực tuyến", 10, (
        SubIndicator("tthc_thanh_toan", "Tỷ lệ TTHC có phát sinh thanh toán trực tuyến", 5, _procedures_paid_online),
        SubIndicator("ho_so_thanh_toan", "Tỷ lệ hồ sơ thanh toán trực tuyến", 5,
                     _ratio("fee_paid_online", "fee_finished"), "fee_paid_online"),
    )),
    Group("hai_long", "Mức độ hài lòng", 18, (
        SubIndicator("pakn_dung_han", "Tỷ lệ phản ánh, kiến nghị được xử lý đúng hạn", 6),
        SubIndicator("pakn_hai_long", "Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị", 6),
        SubIndicator("hai_long_tthc", "Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC", 6, _satisfied_resolved,
                     "resolved_dissatisfied"),
    )),
    Group("so_hoa", "Số hóa hồ sơ", 22, (
        SubIndicator("so_hoa_tiep_nhan", "Tỷ lệ số hóa thành phần hồ sơ khi tiếp nhận", 8,
                     _ratio("received_digitized", "received"), "received_digitized"),
        SubIndicator("ket_qua_dien_tu", "Tỷ lệ cấp kết quả giải quyết điện tử", 8,
                     _ratio("resolved_e_result", "resolved"), "resolved_e_result"),
        SubIndicator("tai_su_dung", "Tỷ lệ khai thác, sử dụng lại thông tin, dữ liệu số hóa", 6),
    )),
)


@dataclass(frozen=True)
class SubScore:
    indicator: SubIndicator
    ratio: Ratio | None

    @property
    def points(self) -> float | None:
        """Points earned; None when not measured."""
        if self.ratio is None:
            return None
        share = self.ratio.share
        return 0.0 if share is None else round(self.indicator.points * share, 2)


@dataclass(frozen=True)
class GroupScore:
    group: Group
    parts: tuple[SubScore, ...]

    @property
    def points(self) -> float:
        return round(sum(part.points or 0.0 for part in self.parts), 2)

    @property
    def measured_max(self) -> float:
        return sum(part.indicator.points for part in self.parts if part.indicator.measurable)


@dataclass(frozen=True)
class Score:
    agency_code: str
    agency_name: str
    groups: tuple[GroupScore, ...]

    @property
    def points(self) -> float:
        return round(sum(group.points for group in self.groups), 2)

    @property
    def measured_max(self) -> float:
        return sum(group.measured_max for group in self.groups)


def score(counts: dict[str, int], procedures: dict[int, dict[str, int]], online_procedures: frozenset[int],
          definition: tuple[Group, ...] = DEFAULT_SCORECARD) -> tuple[GroupScore, ...]:
    """Apply `definition` to one agency's figures."""
    context = Context(counts, procedures, online_procedures)
    return tuple(GroupScore(group, tuple(SubScore(part, part.formula(context) if part.formula else None)
                                         for part in group.parts))
                 for group in definition)


def online_procedures(session: Session) -> frozenset[int]:
    """Procedures whose current version is offered online (toàn trình or một phần)."""
    rows = session.execute(select(Procedure.id, ProcedureVersion.package)
                           .join(ProcedureVersion, ProcedureVersion.id == Procedure.latest_version_id))
    return frozenset(pid for pid, package in rows
                     if ((package or {}).get("procedure") or {}).get("online") in ONLINE_LEVELS)


def scorecard(ctx: EngineContext, filters: Filters, *, definition: tuple[Group, ...] = DEFAULT_SCORECARD,
              refresh: bool = True) -> list[Score]:
    """The 766 scorecard of every agency with activity in the period (or of `filters.agency_code`)."""
    if refresh:
        rollup.refresh(ctx)
    with report_session(ctx) as session:
        return read_scorecard(session, filters, definition=definition)


def read_scorecard(session: Session, filters: Filters, *,
                   definition: tuple[Group, ...] = DEFAULT_SCORECARD) -> list[Score]:
    per_agency = breakdown(session, filters, "agency")
    per_procedure = _per_procedure(session, filters)
    online = online_procedures(session)
    names = dict(session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(list(per_agency)))).all())
    return [Score(agency, names.get(agency, agency), score(counts, per_procedure.get(agency, {}), online, definition))
            for agency, counts in sorted(per_agency.items())]


def _per_procedure(session: Session, filters: Filters) -> dict[str, dict[int, dict[str, int]]]:
    """agency → procedure → the counts the procedure-level formulas read (one query for all)."""
    D = ReportDaily
    wanted = ("received", "received_online", "fee_finished", "fee_paid_online")
    query = (select(D.agency_code, D.procedure_id, *[func.sum(getattr(D, name)).label(name) for name in wanted])
             .where(D.day >= filters.date_from, D.day <= filters.date_to).group_by(D.agency_code, D.procedure_id))
    if filters.agency_code:
        query = query.where(D.agency_code == filters.agency_code)
    if filters.procedure_id:
        query = query.where(D.procedure_id == filters.procedure_id)
    result: dict[str, dict[int, dict[str, int]]] = {}
    for row in session.execute(query).mappings():
        result.setdefault(row["agency_code"], {})[row["procedure_id"]] = {name: int(row[name] or 0) for name in wanted}
    return result


def as_dict(scores: list[Score]) -> list[dict[str, Any]]:
    """The scorecard as plain data (for the API, CSV/XLSX export)."""
    return [{"agency_code": s.agency_code, "agency_name": s.agency_name, "points": s.points,
             "measured_max": s.measured_max,
             "groups": [{"key": g.group.key, "name": g.group.name, "max": g.group.points, "points": g.points,
                         "measured_max": g.measured_max,
                         "parts": [{"key": p.indicator.key, "name": p.indicator.name, "max": p.indicator.points,
                                    "measured": p.indicator.measurable, "points": p.points,
                                    "part": p.ratio.part if p.ratio else None,
                                    "whole": p.ratio.whole if p.ratio else None,
                                    "behind": p.indicator.behind}
                                   for p in g.parts]}
                        for g in s.groups]}
            for s in scores]
