"""The world the authorization matrix (test_authorization_matrix.py) asks its questions in: one app on
its own SQLite database, two agencies, two citizens, and for each a dossier with an open task and a
file, built through the service layer; a logged-in client and an API token for every role.

Agency A (000.00.21.H99) is the officials' own; agency B (000.00.22.H99, Công an) is the other one.
Citizen 1 (congdan) owns agency A's dossiers, citizen 2 (congdan2) agency B's. A target names whose
objects a URL points at: "A" (citizen 1 / agency A), "B" (citizen 2 / agency B), "Adesk" (agency A's
dossier still at the desk, for the desk's own task), "-" (no object).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.bootstrap import prepare
from engine.config import PROJECT_ROOT
from engine.context import build_context
from engine.models import Dossier, OutboxMessage, Procedure, ProcedureVersion, User, WorkflowInstance
from engine.services import (
    Actor,
    calendar_admin,
    complete_task,
    create_user,
    drafts,
    issue_token,
    list_attachments,
    studio,
    submit_dossier,
    substitutions,
)
from tests.conftest import make_settings
from tests.factories import APPLICANT, HKD, drain_all, household_form, open_task
from tests.web.conftest import _ensure_extra_users, csrf_of
from web import create_app

ROLES = ("citizen", "desk", "specialist", "leader", "analyst", "admin", "anonymous")
#: The account playing each role; every official (and the analyst and admin) belongs to agency A.
USERNAMES = {"citizen": "congdan", "desk": "tiepnhan", "specialist": "chuyenvien", "leader": "lanhdao",
             "analyst": "phantich", "admin": "quantri", "anonymous": None}
AGENCY_A, AGENCY_B = "000.00.21.H99", "000.00.22.H99"
LLTP = "cap-phieu-ly-lich-tu-phap"
LLTP_APPLICANT = {"name": "Nguyễn Thị Minh Anh", "phone": "0987123456", "id_number": "099198000321",
                  "email": "minhanh.nguyen@example.vn", "kind": 1}
#: Studio draft whose form the studio rows name, and the procedure fresh drafts are opened on.
STUDIO_FORM = "tiep-nhan"
SPARE_SLUG = "chung-thuc-ban-sao"


@dataclass
class World:
    ctx: Any
    app: Any
    actors: dict[str, Actor]
    clients: dict[str, Any] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def actor(self, username: str) -> Actor:
        return self.actors[username]


def build(data_dir: Path, smtp_port: int) -> World:
    """Everything, once per module: prepare (~3 s), six dossiers' worth of work, seven logins."""
    # Tracking's rate limit is off: forty-odd tracking cells from one address would trip it (it has
    # tests of its own); authorization, not throttling, is what the matrix asks about.
    settings = make_settings(f"sqlite:///{data_dir / 'motcua.db'}", smtp_port, data_dir, tracking_rate_limit="")
    ctx = build_context(settings)
    prepare(ctx, demo=True)
    _ensure_extra_users(ctx)
    create_user(ctx, username="tiepnhan_ca2", password="demo", full_name="Lê Văn Thay Thế", role="desk",
                agency_code=AGENCY_B)
    with ctx.sessions() as session:
        actors = {u.username: Actor.of(u) for u in session.scalars(select(User))}
    world = World(ctx, create_app(ctx=ctx, start_worker=False), actors)
    world.targets = {"A": _agency_a(world), "B": _agency_b(world)}
    world.targets["Adesk"] = _at_the_desk(world)
    drain_all(ctx)  # the reception receipts (giay-tiep-nhan) are rendered by the outbox
    for target in ("A", "B"):
        values = world.targets[target]
        receipts = list_attachments(ctx, world.actor("quantri"), values["code"])
        values["attachment_id"] = next(a.id for a in receipts if a.kind.startswith("giay-tiep-nhan"))
    _studio(world)
    world.targets["-"] = dict(world.targets["A"])  # rows about no one's object still need a procedure
    for role in ROLES:
        world.clients[role], world.csrf[role] = log_in(world, role)
        if USERNAMES[role] is not None:
            world.tokens[role] = issue_token(ctx, world.actor(USERNAMES[role]))
    return world


def _agency_a(world: World) -> dict[str, Any]:
    ctx, citizen = world.ctx, world.actor("congdan")
    dossier = submit_dossier(ctx, citizen, HKD, dict(APPLICANT), household_form())
    complete_task(ctx, world.actor("tiepnhan"), open_task(ctx, world.actor("tiepnhan"), dossier.code).id,
                  {"ket_qua_tiep_nhan": "tiep_nhan"})
    return {"code": dossier.code, "task_id": open_task(ctx, world.actor("chuyenvien"), dossier.code).id,
            "instance_id": _instance_id(ctx, dossier.code),
            "secret": APPLICANT["phone"], "draft_id": new_citizen_draft(world, "A"),
            "substitution_id": new_substitution(world, "A"), **_procedure_ids(ctx, HKD)}


def _agency_b(world: World) -> dict[str, Any]:
    ctx, citizen = world.ctx, world.actor("congdan2")
    example = json.loads((PROJECT_ROOT / "processes" / LLTP / "example-submission.json").read_text("utf-8"))
    dossier = submit_dossier(ctx, citizen, LLTP, dict(LLTP_APPLICANT), example)
    desk = world.actor("tiepnhan_ca")
    complete_task(ctx, desk, open_task(ctx, desk, dossier.code).id, {"ket_qua_tiep_nhan": "tiep_nhan"})
    task = open_task(ctx, world.actor("chuyenvien_ca"), dossier.code)
    # Citizen 1's proof (their phone) with citizen 2's dossier: the proof must not open it.
    return {"code": dossier.code, "task_id": task.id, "secret": APPLICANT["phone"],
            "instance_id": _instance_id(ctx, dossier.code),
            "draft_id": new_citizen_draft(world, "B"), "substitution_id": new_substitution(world, "B"),
            **_procedure_ids(ctx, LLTP)}


def _at_the_desk(world: World) -> dict[str, Any]:
    ctx = world.ctx
    dossier = submit_dossier(ctx, world.actor("congdan"), HKD, dict(APPLICANT), household_form())
    return {**world.targets["A"], "code": dossier.code, "instance_id": _instance_id(ctx, dossier.code),
            "task_id": open_task(ctx, world.actor("tiepnhan"), dossier.code).id}


def _procedure_ids(ctx, slug: str) -> dict[str, Any]:
    with ctx.sessions() as session:
        procedure = session.scalar(select(Procedure).where(Procedure.slug == slug))
        version = session.get(ProcedureVersion, procedure.latest_version_id)
        return {"slug": slug, "procedure": slug, "procedure_code": procedure.code, "procedure_id": procedure.id,
                "version_id": version.id, "number": version.number}


def _instance_id(ctx, code: str) -> int:
    with ctx.sessions() as session:
        return session.scalar(select(WorkflowInstance.id).join(Dossier, Dossier.id == WorkflowInstance.dossier_id)
                              .where(Dossier.code == code))


def _studio(world: World) -> None:
    """The analyst's open draft of agency A's procedure, shared by the studio rows that only read it."""
    draft = studio.open_draft(world.ctx, world.actor("phantich"), HKD)
    for target in ("A", "B", "Adesk"):
        world.targets[target]["studio_draft_id"] = draft.id


def log_in(world: World, role: str) -> tuple[Any, str]:
    """A client logged in as `role` through the login page, as a browser is, and its CSRF token."""
    client = world.app.test_client()
    form_token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    username = USERNAMES[role]
    if username is not None:
        answer = client.post("/dang-nhap", data={"username": username, "password": "demo", "csrf_token": form_token})
        assert answer.status_code == 302, f"{username} could not log in"
        form_token = csrf_of(client.get("/dang-nhap").get_data(as_text=True))
    return client, form_token


# --- fresh objects for the cells that use one up ---------------------------------------------------


def new_citizen_draft(world: World, target: str) -> int:
    owner = world.actor("congdan" if target != "B" else "congdan2")
    return drafts.save_draft(world.ctx, owner, HKD, {"ten_ho_kinh_doanh": "Nháp"}, step=1).id


def new_substitution(world: World, target: str) -> int:
    """A substitution in agency A (desk → second desk) or B, each on days of its own (no overlap)."""
    ctx, start = world.ctx, date.today() + timedelta(days=400 + 7 * next(world.counter))
    leader, user, substitute = (("lanhdao", "tiepnhan", "tiepnhan2") if target != "B"
                                else ("lanhdao_ca", "tiepnhan_ca", "tiepnhan_ca2"))
    return substitutions.set_substitute(ctx, world.actor(leader), world.actor(user).id, world.actor(substitute).id,
                                        start, start + timedelta(days=2), "Nghỉ phép").id


def new_token(world: World, role: str) -> str:
    return issue_token(world.ctx, world.actor(USERNAMES[role]))


def new_incident(world: World, target: str) -> int:
    with world.ctx.sessions() as session:
        now = datetime.now(UTC)
        row = OutboxMessage(connector="email", operation="send", payload={"to": "a@example.vn"},
                            idempotency_key=f"authz-{next(world.counter)}", waits=False, state="incident",
                            attempts=3, next_attempt_at=now, created_at=now, last_error="550 hộp thư không tồn tại")
        session.add(row)
        session.commit()
        return row.id


def new_calendar_day(world: World, target: str) -> str:
    day = date(2099, 1, 1) + timedelta(days=next(world.counter))
    calendar_admin.set_exception(world.ctx, world.actor("quantri"), day, "off", "Nghỉ bù")
    return day.isoformat()


def new_studio_draft(world: World, target: str) -> int:
    """A new draft of a procedure no read-only row uses, for the cells that discard, publish or cut one."""
    analyst = world.actor("phantich")
    for row in studio.list_procedures(world.ctx, analyst):
        if row.slug == SPARE_SLUG and row.draft_id is not None:
            studio.discard_draft(world.ctx, analyst, row.draft_id)
    return studio.open_draft(world.ctx, analyst, SPARE_SLUG).id
