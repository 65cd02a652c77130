"""One seeded dossier's life: submission, payment, reception, supplements, the steps of its
internal process, the result, its return and rating — cut off at "now" for dossiers still open.

The legal clock is the engine's: every status change goes through `engine.services.clock`
(appointment at reception, restart or pause after a supplement, deadline rules, timeliness at the
end) and every history line through `engine.history.record`, so the seeded chain verifies and the
seeded due dates are the ones the engine would have set. Durations are drawn on the engine's
calendar (`add_working_hours`): work happens in office hours, never on Tết.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from engine import history
from engine.calendar import WorkingCalendar, deadline
from engine.models import Dossier
from engine.procedures.graph import FlowGraph
from engine.seeding.province import Staff, in_province
from engine.seeding.templates import Template, Variant
from engine.services import clock
from engine.services.accounts import SYSTEM, Actor
from engine.services.instances import lane_assignment
from engine.statuses import label


class SeedDossier:
    """A dossier row as plain attributes, for the engine's clock and history to read and write.

    They only get and set these attributes; an ORM instance would spend a third of the seeding
    time in attribute instrumentation, for nothing: the rows are written by COPY.
    """

    __slots__ = tuple(column.key for column in Dossier.__table__.columns)

    def __init__(self, **values: Any) -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))
        self.status = values.get("status", "submitted")
        self.milestones = []
        self.event_seq, self.event_hash, self.version = 0, "", 1


class Cutoff(Exception):
    """The next moment of this life is after "now": the dossier stays where it is."""


@dataclass
class Procedure:
    """A published procedure as the seeder needs it."""

    template: Template
    procedure_id: int
    version_id: int
    version_number: int
    code: str
    meta: dict[str, Any]
    graph: FlowGraph
    fee: int
    hours_per_day: float

    def budget_hours(self, bpmn_id: str) -> float:
        budget = (self.meta.get("step_budgets") or {}).get(bpmn_id)
        if not budget:
            return 4.0
        value = float(budget.get("value", 1))
        return value * self.hours_per_day if budget.get("unit", "working_days") == "working_days" else value


@dataclass
class Plan:
    """The dice thrown for one dossier before its life is played."""

    variant: Variant
    online: bool
    pays_online: bool
    refused_at_reception: bool = False
    asked_at_reception: bool = False
    withdraws: bool = False
    asked_in_review: bool = False
    refused_after_review: bool = False
    slowness: float = 1.0


@dataclass
class Life:
    procedure: Procedure
    #: a SeedDossier, typed as the Dossier the clock and history functions take (same attributes)
    dossier: Dossier
    recorder: Session
    calendar: WorkingCalendar
    end: datetime
    rng: random.Random
    staff: Staff
    now: datetime = field(init=False)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    result_at: datetime | None = None
    scanned_at: datetime | None = None

    def __post_init__(self) -> None:
        self.now = self.dossier.submitted_at

    # -- moments ------------------------------------------------------------------------------------

    def at(self, moment: datetime) -> None:
        if moment > self.end:
            raise Cutoff
        self.now = moment

    def after_work(self, hours: float) -> None:
        """Move on by `hours` of office time (at least a minute: nothing happens in no time)."""
        self.at(self.calendar.add_working_hours(self.now, max(hours, 1 / 60)))

    def step_hours(self, bpmn_id: str, slowness: float) -> float:
        budget = self.procedure.budget_hours(bpmn_id)
        roll = self.rng.random()
        factor = self.rng.uniform(0.05, 0.7) if roll < 0.85 else \
            self.rng.uniform(0.7, 1.0) if roll < 0.96 else self.rng.uniform(1.0, 2.5)
        return budget * factor * slowness

    # -- what the engine records --------------------------------------------------------------------

    def record(self, kind: str, actor: Any = None, data: dict[str, Any] | None = None) -> None:
        history.record(self.recorder, self.dossier, kind, actor=actor, status=self.dossier.status, data=data,
                       at=self.now)

    def status(self, new: str, element: str, actor: Any = SYSTEM) -> None:
        old = self.dossier.status
        clock.status_changed(self.recorder, self.dossier, self.procedure.meta, old, new, self.calendar, self.now)
        self.dossier.status = new
        history.record(self.recorder, self.dossier, "status", actor=actor, status=new,
                       data={"element": element, "label": label(new)}, at=self.now)

    def rule(self, name: str) -> None:
        clock.deadline_rule_entered(self.recorder, self.dossier, self.procedure.meta, name, self.calendar, self.now)

    def open(self, bpmn_id: str) -> dict[str, Any]:
        node = self.procedure.graph.nodes[bpmn_id]
        role, agency = lane_assignment(self.procedure.meta, node.lane, self.dossier)
        agency = in_province(agency) if agency else agency
        budget = (self.procedure.meta.get("step_budgets") or {}).get(bpmn_id)
        due = deadline(self.now, budget["value"], budget.get("unit", "working_days"), self.calendar) if budget \
            else self.dossier.due_at
        # random high bits, the dossier id and the task's number below: unique across seedings
        unique = (self.rng.getrandbits(64) << 64) | (self.dossier.id << 12) | len(self.tasks)
        task = {"id": str(uuid.UUID(int=unique, version=4)), "dossier_id": self.dossier.id,
                "bpmn_id": bpmn_id, "title": (node.name or bpmn_id)[:255], "lane": node.lane, "role": role,
                "agency_code": agency, "state": "open", "assignee_id": None, "claimed_at": None,
                "created_at": self.now, "due_at": due, "completed_at": None, "completed_by_id": None,
                "escalated_at": None}
        self.tasks.append(task)
        self.record("task_opened", data={"task": task["id"], "element": bpmn_id, "title": task["title"], "role": role})
        return task

    def complete(self, task: dict[str, Any], decision: dict[str, Any] | None = None) -> Actor:
        actor = SYSTEM if task["role"] == "applicant" else self.staff.pick(task["agency_code"], task["role"])
        task["state"], task["completed_at"] = "done", self.now
        self.record("task_completed", actor, {"task": task["id"], "element": task["bpmn_id"],
                                              "title": task["title"], "decision": decision or {}})
        return actor

    def finish(self) -> None:
        clock.finished(self.dossier, self.calendar, self.now)


def play(life: Life, plan: Plan) -> None:
    """Play the dossier's life until it ends or "now" comes (Cutoff leaves it open)."""
    try:
        _play(life, plan)
    except Cutoff:
        pass


def _play(life: Life, plan: Plan) -> None:
    template, rng = life.procedure.template, life.rng
    life.record("submitted", data={"channel": life.dossier.channel, "procedure": life.procedure.code,
                                   "version": life.procedure.version_number})
    if plan.pays_online:
        _pay(life)
    task = life.open(template.reception)
    reception_hours = rng.uniform(0.05, 0.4) if not plan.online else life.step_hours(template.reception, 1.0)
    life.after_work(reception_hours)
    if plan.refused_at_reception:
        life.status("refused", "khong_tiep_nhan", life.complete(task, {"ket_qua_tiep_nhan": "tu_choi"}))
        life.finish()
        return
    if plan.asked_at_reception and template.supplement:
        life.status("supplement_requested", template.supplement, life.complete(task, {"ket_qua_tiep_nhan": "bo_sung"}))
        if not _supplement(life, plan):
            return
        task = life.open(template.reception)
        life.after_work(rng.uniform(0.05, 0.5))
    actor = life.complete(task, {"ket_qua_tiep_nhan": "tiep_nhan"})
    life.status("received", "da_tiep_nhan", actor)
    if not plan.online and rng.random() < 0.55:
        life.scanned_at = life.now  # the desk scans the papers into the system
    variant = plan.variant
    if variant.rule and variant.rule_at is None:
        life.rule(variant.rule)
    _steps(life, plan, variant)


def _steps(life: Life, plan: Plan, variant: Variant) -> None:
    template = life.procedure.template
    for index, step in enumerate(variant.steps):
        if index == 0:
            life.status("processing", step)
        if variant.rule and variant.rule_at == step:
            life.rule(variant.rule)
        task = life.open(step)
        if index == 0 and plan.asked_in_review and template.supplement:
            life.after_work(life.step_hours(step, plan.slowness) / 2)
            life.status("supplement_requested", template.supplement, life.complete(task, {"ket_qua": "bo_sung"}))
            if not _supplement(life, plan):
                return
            life.status("processing", step)
            task = life.open(step)
        life.after_work(life.step_hours(step, plan.slowness))
        last = index == len(variant.steps) - 1
        if last and plan.refused_after_review:
            life.status("refused", "tu_choi_giai_quyet", life.complete(task, {"quyet_dinh": "tu_choi"}))
            life.finish()
            return
        actor = life.complete(task, {"quyet_dinh": "dong_y"} if last else {})
        if last:
            life.status("result_ready", "thong_bao_ket_qua", actor)
            life.result_at = life.now
    _return(life, plan)


def _return(life: Life, plan: Plan) -> None:
    template, rng = life.procedure.template, life.rng
    task = life.open(template.returning)
    # online results are sent at once; at the desk the applicant comes back for them
    life.after_work(rng.uniform(0.05, 0.5) if plan.online else life.step_hours(template.returning, plan.slowness))
    life.status("returned", "da_tra_ket_qua", life.complete(task, {"hinh_thuc_tra": "truc_tiep"}))
    life.finish()
    if rng.random() < 0.33:
        late = life.dossier.timeliness == "late"
        score = rng.choices((1, 2, 3, 4, 5), (12, 18, 25, 25, 20) if late else (1.5, 2.5, 8, 30, 58))[0]
        life.at(life.now + timedelta(hours=rng.uniform(0.1, 72)))
        life.ratings.append({"dossier_id": life.dossier.id, "score": score, "comment": None,
                             "created_at": life.now, "rated_by": None})
        life.record("rated", data={"score": score, "comment": False})


def _supplement(life: Life, plan: Plan) -> bool:
    """The applicant's supplement task; False when they withdraw instead."""
    assert life.procedure.template.supplement is not None
    task = life.open(life.procedure.template.supplement)
    life.after_work(life.rng.uniform(0.5, 6) * life.procedure.hours_per_day)
    if plan.withdraws:
        life.complete(task, {"rut_ho_so": True})
        life.status("withdrawn", "da_rut_ho_so")
        life.finish()
        return False
    life.complete(task, {"noi_dung_bo_sung": "Đã bổ sung"})
    return True


def _pay(life: Life) -> None:
    life.status("payment_requested", "thanh_toan_le_phi")
    task = life.open("thanh_toan_le_phi")
    started = life.now
    life.at(life.now + timedelta(minutes=life.rng.uniform(2, 300)))
    reference = f"MAU{life.dossier.id:012d}"
    life.payments.append({"dossier_id": life.dossier.id, "reference": reference, "amount": life.procedure.fee,
                          "redirect_url": f"https://thanhtoan.dichvucong.gov.vn/mau/{reference}", "state": "paid",
                          "transaction_id": f"GD{life.rng.randrange(10**12):012d}", "created_at": started,
                          "paid_at": life.now})
    life.record("payment", SYSTEM, {"reference": reference, "amount": life.procedure.fee, "state": "paid"})
    life.complete(task, {"da_thanh_toan": True})
