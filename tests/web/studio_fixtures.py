"""Fixtures for the studio page tests: a procedure of the test's own (so publishing changes nothing
the other tests read) and no draft left behind (drafts outlive a test: they are not dossier data)."""

from __future__ import annotations

import re
import uuid

import pytest

from engine.db import transaction
from engine.procedures.catalogue import publish
from engine.services import studio
from tests.engine.procedures.models import event, flow, lanes, linear, package, user_task
from tests.web.conftest import csrf_of

_DRAFT_URL = re.compile(r"/thiet-ke/ban-nhap/(\d+)")
_REVISION = re.compile(r'name="revision" value="(\d+)"')

#: A model from another modeller with one thing our engine cannot run (a complex gateway).
FOREIGN_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="nhap_thu" name="Thủ tục nhập thử" isExecutable="true">
    <bpmn:startEvent id="bat_dau"/>
    <bpmn:sequenceFlow id="f1" sourceRef="bat_dau" targetRef="chon"/>
    <bpmn:complexGateway id="chon" name="Chọn cách xử lý"/>
    <bpmn:sequenceFlow id="f2" sourceRef="chon" targetRef="ket_thuc"/>
    <bpmn:endEvent id="ket_thuc"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def discard_all_drafts(ctx, analyst) -> None:
    for row in studio.list_procedures(ctx, analyst):
        if row.draft_id is not None:
            studio.discard_draft(ctx, analyst, row.draft_id)


@pytest.fixture
def no_drafts(ctx, actors):
    discard_all_drafts(ctx, actors["phantich"])
    yield
    discard_all_drafts(ctx, actors["phantich"])


@pytest.fixture
def fresh(ctx, no_drafts) -> str:
    """The slug of a new three-step procedure published once (version 1) for this test alone."""
    return published_once(ctx, linear(pid=f"studio_{uuid.uuid4().hex[:8]}"))


def published_once(ctx, package: dict) -> str:
    """Publish `package` as version 1 of a procedure of the test's own; its slug."""
    with transaction(ctx.sessions) as session:
        publish(session, package, published_by="test")
    return package["procedure"]["slug"]


def waiting_package(pid: str) -> dict:
    """start → a payment call that waits for its result → a two-working-day timer → a desk task → end:
    one of each thing a test run waits for."""
    service = ('<bpmn:serviceTask id="thanh_toan" name="Khởi tạo giao dịch nộp lệ phí"><bpmn:extensionElements>'
               '<spiffworkflow:serviceTaskOperator id="dvcqg_payment/init_payment" resultVariable="giao_dich">'
               '<spiffworkflow:parameters>'
               '<spiffworkflow:parameter id="dossier_code" type="str" value="dossier[\'code\']" />'
               '<spiffworkflow:parameter id="amount" type="int" value="50000" />'
               '<spiffworkflow:parameter id="description" type="str" value="\'Le phi\'" />'
               '</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>'
               '</bpmn:extensionElements></bpmn:serviceTask>\n')
    timer = ('<bpmn:intermediateCatchEvent id="cho_hai_ngay" name="Chờ 02 ngày làm việc">'
             '<bpmn:timerEventDefinition id="cho_hai_ngay_timer">'
             '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">working_days(2)</bpmn:timeDate>'
             '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n')
    ids = ["bat_dau", "thanh_toan", "cho_hai_ngay", "tiep_nhan", "ket_thuc"]
    body = (lanes({"Bộ phận một cửa": ["tiep_nhan"]}) + event("startEvent", "bat_dau", "Nộp hồ sơ")
            + service + timer + user_task("tiep_nhan", "Tiếp nhận hồ sơ", "tiep-nhan")
            + event("endEvent", "ket_thuc", "Đã trả kết quả", dossierStatus="returned")
            + "".join(flow(a, b) for a, b in zip(ids, ids[1:], strict=False)))
    return package(body, pid=pid)


@pytest.fixture
def waiting(ctx, no_drafts) -> str:
    """The slug of a published procedure whose test run waits for a connector, a timer and a person."""
    return published_once(ctx, waiting_package(f"studio_{uuid.uuid4().hex[:8]}"))


@pytest.fixture
def draft_of(ctx, actors):
    """`draft_of(slug)`: the id of the procedure's open draft (opened by the analyst through the service)."""

    def make(slug: str) -> int:
        return studio.open_draft(ctx, actors["phantich"], slug).id

    return make


@pytest.fixture
def second_browser(app):
    """`second_browser(username)`: another person's browser (a client with its own session) logged in
    as `username`, and its CSRF token: what they save lands between this test's page load and save."""

    def make(username: str = "quantri") -> tuple:
        other = app.test_client()
        form_token = csrf_of(other.get("/dang-nhap").get_data(as_text=True))
        response = other.post("/dang-nhap", data={"username": username, "password": "demo", "csrf_token": form_token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return other, csrf_of(other.get(response.headers["Location"]).get_data(as_text=True))

    return make


def revision_in(response) -> int:
    """The draft revision a page's form carries (hidden field), the one its save is checked against."""
    revisions = set(_REVISION.findall(html_of(response)))
    assert len(revisions) == 1, f"expected one revision on the page, found {revisions or 'none'}"
    return int(revisions.pop())


def draft_id_in(location: str) -> int:
    match = _DRAFT_URL.search(location)
    assert match, f"not a draft's page: {location}"
    return int(match.group(1))


def html_of(response) -> str:
    return response.get_data(as_text=True)


def main_of(response) -> str:
    text = html_of(response)
    return text[text.index('<main id="main">'):]
