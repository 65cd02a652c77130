"""Schemathesis against the served OpenAPI document: every operation, fed generated input (valid and
invalid values, boundary values, unexpected methods), never answers 500 and always answers a
documented status with a body of the documented shape and content type.

The cases come from `build_spec()`, and each run first checks that /api/v1/openapi.json serves that
very document, so what is tested is what clients download. Each operation is called with a bearer
token of the role it serves. Seeded objects (a dossier, its task, a draft, a calendar exception, a
substitution) are named by the path parameters part of the time, and a valid body or query is
offered part of the time, so the success paths run (and are checked) as well as the refusals.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from engine.models import User
from engine.services import Actor, list_attachments, save_draft
from engine.services.calendar_admin import set_exception
from engine.services.substitutions import set_substitute, vietnam_today
from tests.factories import APPLICANT, HKD, drain_all, household_form, open_task, submit, work
from tests.web.conftest import HKD_CODE
from web import create_app
from web.api.openapi import build_spec

DOC = "/api/v1/openapi.json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Examples per operation in the fuzzing phase; the coverage phase adds its boundary cases on top.
#: Fixed and small for CI; set them for a deeper, different run (e.g. 300 examples, another seed).
MAX_EXAMPLES = int(os.environ.get("MOTCUA_SCHEMATHESIS_EXAMPLES", "20"))
SEED = int(os.environ.get("MOTCUA_SCHEMATHESIS_SEED", "20240901"))
V1 = "/api/v1"

#: Which demo account calls which part of the API (public operations get the header and ignore it).
ROLES = [("/admin/", "quantri"), ("/tasks/{task_id}/reassign", "lanhdao"), ("/tasks", "tiepnhan"),
         ("/inbox/", "lanhdao"), ("/substitutions", "lanhdao"), ("/officials", "lanhdao")]

#: Operations whose success answer the seeds make reachable: each must have answered 2xx at least
#: once, or the fuzzing only ever met refusals and the success body went unchecked.
REACHES_SUCCESS = {
    "POST /auth/token", "DELETE /auth/token", "GET /procedures", "GET /procedures/{code}", "POST /dossiers",
    "GET /dossiers/{code}", "GET /dossiers/{code}/attachments", "GET /dossiers/{code}/attachments/{attachment_id}",
    "GET /admin/calendar", "PUT /admin/calendar/{day}", "DELETE /admin/calendar/{day}", "GET /track/{code}",
    "GET /tasks", "GET /tasks/{task_id}", "POST /tasks/{task_id}/claim", "POST /tasks/{task_id}/complete",
    "GET /admin/health", "GET /admin/incidents", "GET /drafts", "POST /drafts", "GET /drafts/{draft_id}",
    "PUT /drafts/{draft_id}", "DELETE /drafts/{draft_id}", "GET /inbox/summary", "POST /inbox/seen",
    "POST /tasks/{task_id}/reassign", "GET /substitutions", "POST /substitutions",
    "POST /substitutions/{substitution_id}/end", "GET /officials"}


def caller_of(path: str) -> str:
    return next((user for prefix, user in ROLES if path.startswith(V1 + prefix)), "congdan")


def label(method: str, path: str) -> str:
    return f"{method.upper()} {path.removeprefix(V1)}"


@dataclass
class Seeded:
    """Objects the fuzzed calls can name, and the valid input that reaches them, per operation."""

    dossier: str
    task: str
    draft: int
    day: str
    substitution: int
    attachment: int | None
    users: dict[str, int]

    def path_parameters(self, path: str) -> dict[str, Any] | None:
        path = path.removeprefix(V1)
        if "{attachment_id}" in path:
            return None if self.attachment is None else {"code": self.dossier, "attachment_id": self.attachment}
        by_prefix = [("/procedures/", {"code": HKD_CODE}), ("/dossiers/", {"code": self.dossier}),
                     ("/track/", {"code": self.dossier}), ("/tracking/", {"code": self.dossier}),
                     ("/tasks/", {"task_id": self.task}), ("/drafts/", {"draft_id": self.draft}),
                     ("/admin/calendar/", {"day": self.day}),
                     ("/substitutions/", {"substitution_id": self.substitution})]
        return next((params for prefix, params in by_prefix if path.startswith(prefix)), None)

    def body(self, operation: str) -> dict[str, Any] | None:
        starts = vietnam_today() + timedelta(days=40)
        return {
            "POST /auth/token": {"username": "congdan", "password": "demo"},
            "POST /dossiers": {"procedure": HKD_CODE, "applicant": dict(APPLICANT), "data": household_form()},
            "POST /drafts": {"procedure": HKD, "step": 0, "data": {}},
            "PUT /drafts/{draft_id}": {"step": 1, "data": {"ho_ten": "Nguyễn Văn Nháp"}},
            "POST /tasks/{task_id}/complete": {"data": {"ket_qua_tiep_nhan": "tiep_nhan"}},
            "POST /tasks/{task_id}/reassign": {"user_id": self.users["tiepnhan2"], "reason": "Cân đối công việc"},
            "POST /substitutions": {"user_id": self.users["tiepnhan"], "substitute_id": self.users["tiepnhan2"],
                                    "starts_on": starts.isoformat(), "ends_on": (starts + timedelta(days=2)).isoformat(),
                                    "reason": "Đi công tác"},
            "POST /tracking/{code}/rating": {"score": 5, "secret": APPLICANT["phone"]},
        }.get(operation)

    def query(self, operation: str) -> dict[str, Any] | None:
        return {"GET /track/{code}": {"secret": APPLICANT["phone"]}}.get(operation)


def seed(ctx, *, received: bool = False) -> Seeded:
    """`received`: the desk has received the dossier and the receipt (biên nhận) PDF is rendered, an
    attachment to download; a second of work, so only for the operations that need it."""
    with ctx.sessions() as session:
        actors = {user.username: Actor.of(user) for user in session.scalars(select(User))}
    dossier = submit(ctx, actors["congdan"])
    receipt = None
    if received:
        work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
        drain_all(ctx)
        [receipt, *_] = list_attachments(ctx, actors["congdan"], dossier.code)
    task = open_task(ctx, actors["chuyenvien" if received else "tiepnhan"], dossier.code)
    draft = save_draft(ctx, actors["congdan"], HKD, {"ho_ten": "Nguyễn Văn Nháp"}, step=1)
    day = vietnam_today() + timedelta(days=30)
    set_exception(ctx, actors["quantri"], day, "off", "Nghỉ bù (dữ liệu kiểm thử)")
    start = vietnam_today() + timedelta(days=7)
    substitution = set_substitute(ctx, actors["lanhdao"], actors["tiepnhan"].id, actors["tiepnhan2"].id, start,
                                  start + timedelta(days=3), "Nghỉ phép")
    return Seeded(dossier=dossier.code, task=task.id, draft=draft.id, day=date.isoformat(day),
                  substitution=substitution.id, attachment=receipt and receipt.id,
                  users={name: actor.id for name, actor in actors.items()})


class Current:
    """The running test's seeds and what it saw. The strategies are built once, at collection; they
    read the seeds at draw time through this."""

    seeded: Seeded | None = None
    statuses: Counter[int] = Counter()


def seeded_value(what: str, operation) -> st.SearchStrategy:
    """A strategy drawing the seeded `what` for `operation` (None when it has none)."""

    def draw() -> dict[str, Any] | None:
        if Current.seeded is None:
            return None
        if what == "path":
            return Current.seeded.path_parameters(operation.path)
        return getattr(Current.seeded, what)(label(operation.method, operation.path))

    return st.builds(draw).filter(lambda value: value is not None)


schema = schemathesis.openapi.from_dict(build_spec(), config=schemathesis.Config.from_dict(
    {"seed": SEED, "cache": {"enabled": False}}))


def _offer(what: str, context, strategy):
    """The generated values, or now and then the seeded valid one, when the operation has one."""
    probe = Seeded("", "", 0, "", 0, 0, {"tiepnhan": 0, "tiepnhan2": 0})  # which operations have seeds
    key = label(context.operation.method, context.operation.path)
    known = probe.path_parameters(context.operation.path) if what == "path" else getattr(probe, what)(key)
    return strategy if known is None else st.one_of(seeded_value(what, context.operation), strategy)


@schema.hook
def before_generate_path_parameters(context, strategy):
    return _offer("path", context, strategy)


@schema.hook
def before_generate_body(context, strategy):
    return _offer("body", context, strategy)


@schema.hook
def before_generate_query(context, strategy):
    return _offer("query", context, strategy)


@pytest.fixture
def served(request, app, ctx):
    """The app under test, once its served document is shown to be the one the cases come from;
    afterwards, the operation must have reached its success answer if the seeds make it reachable.

    Without the tracking rate limit: after 30 lookups every tracking call would answer 429 and the
    handlers behind it would go unfuzzed (the limit has its own tests)."""
    unlimited = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, tracking_rate_limit=""))
    served_app = create_app(ctx=unlimited, start_worker=False)
    assert served_app.test_client().get(DOC).get_json() == schema.raw_schema
    operation = request.node.name.split("[", 1)[1].split("]", 1)[0]
    Current.seeded, Current.statuses = seed(ctx, received="{attachment_id}" in operation), Counter()
    yield served_app
    statuses, Current.seeded = Current.statuses, None
    if label(*operation.split(" ", 1)) in REACHES_SUCCESS:
        assert any(200 <= s < 300 for s in statuses), f"{operation} never succeeded: {dict(statuses)}"


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_a_documented_status_with_a_documented_body(case, served, token):
    # identity: the WSGI test transport hands back the raw body, and web/compression.py gzips large ones
    headers = {"Authorization": f"Bearer {token(caller_of(case.operation.path))}", "Accept-Encoding": "identity"}
    response = case.call_and_validate(app=served, headers=headers, checks=CHECKS)
    if case.method.upper() == case.operation.method.upper():  # not a probe with another method
        Current.statuses[response.status_code] += 1


# --- the defects it found, and the ones found by hand beside it, as fixed examples -----------------


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def dossier_with(**data: Any) -> dict[str, Any]:
    return {"procedure": HKD_CODE, "applicant": dict(APPLICANT), "data": household_form(**data)}


#: (method, path, raw JSON body or None, caller, status, field the 400 names)
HOSTILE = [
    # an id past BIGINT: OverflowError in the driver (500); PUT/DELETE answered 405 instead of 404
    ("GET", "/api/v1/drafts/9223372036854775808", None, "congdan", 404, None),
    ("PUT", "/api/v1/drafts/9223372036854775808", '{"data": {}}', "congdan", 404, None),
    ("POST", "/api/v1/admin/instance-incidents/99999999999999999999999/retry", None, "quantri", 404, None),
    ("POST", "/api/v1/tasks/x/reassign", '{"user_id": 9223372036854775808, "reason": "r"}', "lanhdao", 400, "user_id"),
    ("GET", "/api/v1/tasks?offset=99999999999999999999", None, "tiepnhan", 400, "offset"),
    # a tracking proof with non-ASCII text: hmac.compare_digest raised TypeError (500)
    ("GET", "/api/v1/track/000.00.21.H99-000000-0001?secret=s%E1%BB%91-m%E1%BB%99t", None, None, 400, "secret"),
    ("POST", "/api/v1/tracking/x/rating", '{"score": 5, "secret": "số một hai"}', None, 400, "secret"),
    # NUL characters: PostgreSQL refuses them in text (500 on PostgreSQL only)
    ("GET", "/api/v1/tasks?procedure=a%00b", None, "tiepnhan", 400, "procedure"),
    ("POST", "/api/v1/dossiers", json.dumps(dossier_with(ten_ho_kinh_doanh="Phở\x00")), "congdan", 400,
     "data.ten_ho_kinh_doanh"),
    ("GET", "/api/v1/dossiers/abc%00def", None, "congdan", 404, None),
    # a lone surrogate: no driver encodes it
    ("POST", "/api/v1/drafts", '{"procedure": "x", "data": {"ho_ten": "\\ud800"}}', "congdan", 400, "data.ho_ten"),
    # NaN / Infinity: stored, then sent back as a body that is not JSON
    ("POST", "/api/v1/drafts", '{"procedure": "x", "data": {"so": NaN}}', "congdan", 400, "data.so"),
    ("POST", "/api/v1/drafts", '{"procedure": "x", "data": {"so": 1e999}}', "congdan", 400, "data.so"),
    # an integer past 64 bits in form data: orjson refused it while storing the workflow (500)
    ("POST", "/api/v1/dossiers", json.dumps(dossier_with(von_kinh_doanh=2**70)), "congdan", 400, "data.von_kinh_doanh"),
    # deep nesting: RecursionError while reading the body (500)
    ("POST", "/api/v1/drafts", "[" * 50000 + "]" * 50000, "congdan", 400, ""),
    ("POST", "/api/v1/inbox/seen", "[" * 50000 + "]" * 50000, "lanhdao", 400, ""),
    ("POST", "/api/v1/drafts", '{"procedure": "x", "data": ' + nested(40) + "}", "congdan", 400, None),
    # over the 20 MiB limit: 413, documented on every operation taking a body
    ("POST", "/api/v1/drafts", '{"procedure": "x", "data": {"a": "' + "x" * (21 << 20) + '"}}', "congdan", 413, None),
    # a time with no UTC equivalent: OverflowError comparing it with now (500)
    ("POST", "/api/v1/inbox/seen", '{"until": "0001-01-01T00:00:00+23:59"}', "lanhdao", 400, "until"),
]


@pytest.mark.parametrize(("method", "path", "raw", "user", "status", "field"), HOSTILE)
def test_hostile_input_gets_a_documented_error_in_vietnamese_not_a_500(api, method, path, raw, user, status, field):
    response = api.call(method, path, user=user, data=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["message"] and body["error"]
    if field is not None:
        assert field in body["fields"], body
        assert all(message and not message.isascii() for message in body["fields"][field])  # Vietnamese


def test_a_form_nested_a_few_levels_deep_is_still_accepted(api):
    response = api.post("/api/v1/drafts", user="congdan",
                        json={"procedure": HKD, "data": {"a": json.loads(nested(20))}})

    assert response.status_code == 201, response.get_json()
