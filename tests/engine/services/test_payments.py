"""Online payment: the platform is asked through the outbox, the citizen pays on its page, the
signed confirm completes the dossier's payment task; forged and replayed confirms change nothing."""

from __future__ import annotations

import pytest

from engine.bootstrap import load_catalogue
from engine.config import PROJECT_ROOT
from engine.outbox import drain
from engine.services import get_dossier, list_inbox, submit_dossier
from engine.services.payments import confirm, payment_of
from tests.conftest import with_payment
from tests.factories import APPLICANT

SLUG = "thu-phi-truc-tuyen"


@pytest.fixture
def platform(payment_platform):
    return payment_platform


@pytest.fixture
def pay_ctx(ctx, platform):
    pay = with_payment(ctx, platform)
    load_catalogue(pay, PROJECT_ROOT / "tests" / "fixtures" / "procedures")
    return pay


def started(ctx, actors):
    dossier = submit_dossier(ctx, actors["congdan"], SLUG, dict(APPLICANT), {})
    assert all(o.state == "done" for o in drain(ctx))
    payment = payment_of(ctx, dossier.code)
    assert payment is not None and payment.state == "pending" and payment.amount == 50000
    assert get_dossier(ctx, actors["congdan"], dossier.code).status == "payment_requested"
    return dossier, payment


def test_a_confirmed_payment_completes_the_payment_task(pay_ctx, actors, platform):
    dossier, payment = started(pay_ctx, actors)
    assert [t.bpmn_id for t in list_inbox(pay_ctx, actors["congdan"])] == ["thanh_toan"]
    platform.pay(payment.reference, "paid", deliver=False)
    reply = confirm(pay_ctx, platform.confirm_for(payment.reference))
    assert reply["MaLoi"] == "00"
    assert payment_of(pay_ctx, dossier.code).state == "paid"
    assert [t.bpmn_id for t in list_inbox(pay_ctx, actors["tiepnhan"]) if t.dossier_code == dossier.code] == \
        ["tiep_nhan"]
    history = get_dossier(pay_ctx, actors["congdan"], dossier.code).history
    assert [e["data"]["state"] for e in history if e["kind"] == "payment"] == ["paid"]


def test_a_payment_confirmed_while_the_dossier_is_suspended_is_kept_and_applied_on_resume(pay_ctx, actors, platform):
    from engine.services import operations

    dossier, payment = started(pay_ctx, actors)
    operations.suspend(pay_ctx, actors["quantri"], dossier.code, "Rà soát phí")
    platform.pay(payment.reference, "paid", deliver=False)
    assert confirm(pay_ctx, platform.confirm_for(payment.reference))["MaLoi"] == "00"  # the platform is answered
    assert payment_of(pay_ctx, dossier.code).state == "paid"  # the money is recorded at once
    assert get_dossier(pay_ctx, actors["congdan"], dossier.code).status == "payment_requested"  # the step waits
    operations.resume(pay_ctx, actors["quantri"], dossier.code)
    assert [t.bpmn_id for t in list_inbox(pay_ctx, actors["tiepnhan"]) if t.dossier_code == dossier.code] == \
        ["tiep_nhan"]


def test_a_tampered_confirm_is_refused_and_a_replay_has_no_second_effect(pay_ctx, actors, platform):
    dossier, payment = started(pay_ctx, actors)
    platform.pay(payment.reference, "paid", deliver=False)
    genuine = platform.confirm_for(payment.reference)
    forged = {**genuine, "SoTien": 1}
    assert confirm(pay_ctx, forged)["MaLoi"] == "99"
    assert payment_of(pay_ctx, dossier.code).state == "pending"
    assert confirm(pay_ctx, genuine)["MaLoi"] == "00"
    assert confirm(pay_ctx, genuine)["MaLoi"] == "00"  # acknowledged, not applied twice
    history = get_dossier(pay_ctx, actors["congdan"], dossier.code).history
    assert [e["kind"] for e in history].count("payment") == 1


def test_the_callback_route_answers_the_platform_in_its_own_format(pay_ctx, actors, platform):
    from web import create_app

    dossier, payment = started(pay_ctx, actors)
    platform.pay(payment.reference, "failed", deliver=False)
    client = create_app(ctx=pay_ctx, start_worker=False).test_client()
    reply = client.post("/api/v1/payments/confirm", json=platform.confirm_for(payment.reference)).get_json()
    assert reply["MaLoi"] == "00" and reply["MaThamChieu"] == payment.reference
    assert payment_of(pay_ctx, dossier.code).state == "failed"
    assert client.post("/api/v1/payments/confirm", json=[1]).status_code == 400
