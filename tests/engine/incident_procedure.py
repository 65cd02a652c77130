"""A test procedure that can fail where incidents come from (tests/fixtures/incidents/su-co-kich-ban):
a waiting call to a fake lookup connector whose result a script reads, then a one-hour timer whose
path runs two scripts; `tinh_phi` asks a lookup helper (`so_lieu`) that is down for chosen dossiers.

    tra_cuu (tra_cuu/lookup → ket_qua) → doc_ket_qua (muc = ket_qua['muc'], 0 if skipped)
    → xac_minh (da_xac_minh = xac_minh(code)) → cho (timer, 1 hour) → tinh_phi (phi = so_lieu(code) * 1000) → ghi_so (so = phi + muc)
    → xu_ly (desk, status "processing") → end
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine.bootstrap import load_catalogue
from engine.config import PROJECT_ROOT
from engine.context import own_registry
from engine.models import Dossier, OutboxMessage, WorkflowInstance
from engine.outbox import drain
from engine.scripting import RestrictedEvaluator, RestrictedScriptEngine
from engine.services import submit_dossier
from engine.services.instances import load_runner
from integrations import Connector, ConnectorRejected, HealthReport, operation
from tests.factories import APPLICANT

SLUG = "su-co-kich-ban"
FOLDER = PROJECT_ROOT / "tests" / "fixtures" / "incidents"


class LookupService:
    """What the fake remote lookup answers, and every call it got (idempotency keys)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.mode = "ok"  # ok | no_level (a result the script cannot read) | reject
        self.keys: list[str] = []
        self.down_for: set[str] = set()  # dossier codes the `so_lieu` helper fails for
        self.verifier_down = False  # the `xac_minh` helper fails

    def so_lieu(self, code: str) -> int:
        if code in self.down_for:
            raise RuntimeError("máy chủ số liệu không trả lời")
        return 3

    def xac_minh(self, code: str) -> bool:
        if self.verifier_down:
            raise RuntimeError("chưa xác minh được")
        return True


SERVICE = LookupService()


class TraCuu(Connector):
    id = "tra_cuu"
    kind = "portal"
    title = "Tra cứu thử nghiệm"

    @operation(waits_for_result=True, description="Tra cứu dữ liệu (giả lập cho kiểm thử)")
    def lookup(self, payload: dict, *, idempotency_key: str) -> dict:
        SERVICE.keys.append(idempotency_key)
        if SERVICE.mode == "reject":
            raise ConnectorRejected("Hệ thống tra cứu từ chối yêu cầu", detail="400 bad request")
        return {} if SERVICE.mode == "no_level" else {"muc": 2, "ma": payload["dossier_code"]}

    def check_config(self) -> HealthReport:
        return HealthReport(ok=True, detail="giả lập")


def incident_context(ctx):
    """`ctx` with the lookup connector and the `so_lieu` helper, the test procedure published."""
    SERVICE.reset()
    registry = own_registry(ctx.settings)
    registry.register(TraCuu)
    registry.configure({**ctx.settings.connectors, "tra_cuu": {}}, allow_demo=ctx.settings.embedded)
    evaluator = RestrictedEvaluator(time_limit=ctx.settings.script_time_limit,
                                    functions={"so_lieu": SERVICE.so_lieu, "xac_minh": SERVICE.xac_minh})
    view = dataclasses.replace(ctx, connectors=registry, evaluator=evaluator,
                               script_engine=RestrictedScriptEngine(evaluator=evaluator))
    load_catalogue(view, FOLDER)
    return view


def submitted(ctx, actors):
    """A dossier whose lookup went through (or became an incident, as SERVICE says)."""
    dossier = submit_dossier(ctx, actors["congdan"], SLUG, dict(APPLICANT), {})
    drain(ctx)
    return dossier


def at_timer(ctx, actors, *, failing: bool = True):
    """A dossier waiting at the timer, its `so_lieu` lookup down (or not); returns (dossier, instance id, due)."""
    dossier = submitted(ctx, actors)
    if failing:
        SERVICE.down_for.add(dossier.code)
    with ctx.sessions() as session:
        instance_id, due = session.execute(select(WorkflowInstance.id, WorkflowInstance.next_timer_at)
                                           .join(Dossier, Dossier.id == WorkflowInstance.dossier_id)
                                           .where(Dossier.code == dossier.code)).one()
    assert due is not None, "the dossier should wait at the timer"
    return dossier, instance_id, (due if due.tzinfo else due.replace(tzinfo=UTC))


def after(due: datetime) -> datetime:
    return due + timedelta(seconds=1)


def instance_id_of(ctx, code: str) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(WorkflowInstance.id).join(Dossier, Dossier.id == WorkflowInstance.dossier_id)
                              .where(Dossier.code == code))


def instance_row(ctx, instance_id: int) -> WorkflowInstance:
    with ctx.sessions() as session:
        return session.get(WorkflowInstance, instance_id)


def calls(ctx, code: str) -> list[OutboxMessage]:
    with ctx.sessions() as session:
        return list(session.scalars(select(OutboxMessage).join(Dossier, Dossier.id == OutboxMessage.dossier_id)
                                    .where(Dossier.code == code, OutboxMessage.connector == "tra_cuu")))


def workflow_data(ctx, code: str) -> dict:
    with ctx.sessions() as session:
        dossier = session.scalar(select(Dossier).where(Dossier.code == code))
        return load_runner(ctx, session, dossier)[1].data


def events(ctx, code: str) -> list[tuple[str, dict, str | None]]:
    """The dossier's history as (kind, data, actor name), oldest first."""
    from engine.models import Event

    with ctx.sessions() as session:
        return [(e.kind, e.data, e.actor_name) for e in session.scalars(
            select(Event).join(Dossier, Dossier.id == Event.dossier_id).where(Dossier.code == code)
            .order_by(Event.seq))]
