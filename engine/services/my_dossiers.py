"""A citizen's own dossiers, newest first: the list behind "Hồ sơ của tôi"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.context import EngineContext
from engine.models import Dossier, Payment, Procedure, ProcedureVersion
from engine.services.accounts import Actor
from engine.statuses import label

#: A page of the list: enough for a person, not an export.
LIMIT = 200


@dataclass(frozen=True)
class OwnDossier:
    code: str
    procedure_name: str
    status: str
    status_label: str
    submitted_at: datetime
    due_at: datetime | None
    #: where to pay, while the agency waits for an online fee payment (the platform's page)
    payment_url: str | None = None


def list_own_dossiers(ctx: EngineContext, actor: Actor) -> list[OwnDossier]:
    """The dossiers `actor` submitted from their account (none for officials: they use the inbox),
    each with the payment page to go to when the dossier waits for its fee."""
    if actor.role != "citizen":
        return []
    pending = (select(Payment.redirect_url).where(Payment.dossier_id == Dossier.id, Payment.state == "pending")
               .order_by(Payment.id.desc()).limit(1).correlate(Dossier).scalar_subquery())
    with ctx.sessions() as session:
        rows = session.execute(
            select(Dossier, Procedure.name, pending)
            .join(ProcedureVersion, ProcedureVersion.id == Dossier.procedure_version_id)
            .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
            .where(Dossier.owner_id == actor.id)
            .order_by(Dossier.submitted_at.desc(), Dossier.id.desc()).limit(LIMIT)).all()
        return [OwnDossier(d.code, name, d.status, label(d.status), d.submitted_at, d.due_at,
                           payment_url=url if d.status == "payment_requested" else None)
                for d, name, url in rows]
