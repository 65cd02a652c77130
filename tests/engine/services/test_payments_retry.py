"""Trying a payment again ("Thanh toán lại"): after a failed or abandoned attempt the applicant opens
a new one on the platform (new MaThamChieu, the old one kept), once however often they click, only
while the dossier waits for its fee; a late confirm of a replaced attempt is still honoured."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine.errors import Conflict, DossierNotFound, InvalidInput
from engine.models import Dossier, OutboxMessage, Payment
from engine.outbox import drain
from engine.services import get_dossier
from engine.services.payments import confirm, fee_payment, payment_of, retry_offers, retry_payment
from tests.conftest import with_payment
from tests.factories import bpmn_ids, open_task, submit


@pytest.fixture
def pay(ctx, payment_platform):
    return with_payment(ctx, payment_platform)


def waiting_for_the_fee(pay, actors):
    """An online household-business dossier whose first attempt (100.000 đ) is open on the platform."""
    dossier = submit(pay, actors["congdan"])
    assert all(o.state == "done" for o in drain(pay))
    payment = payment_of(pay, dossier.code)
    assert payment.state == "pending" and payment.amount == 100000
    return dossier, payment


def platform_says(pay, platform, reference: str, outcome: str) -> None:
    """The citizen finishes on the platform's page with `outcome`; its signed confirm reaches us."""
    platform.pay(reference, outcome, deliver=False)
    assert confirm(pay, platform.confirm_for(reference))["MaLoi"] == "00"


def attempt_states(pay, code: str) -> dict[str, str]:
    """The dossier's payment attempts, oldest first: reference -> state."""
    with pay.sessions() as session:
        rows = session.scalars(select(Payment).join(Dossier, Dossier.id == Payment.dossier_id)
                               .where(Dossier.code == code).order_by(Payment.id))
        return {p.reference: p.state for p in rows}


def retry_calls(pay) -> list[int]:
    """The INIT calls a "Thanh toán lại" queued (the workflow's own INIT waits for its result)."""
    with pay.sessions() as session:
        return list(session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.operation == "init_payment", OutboxMessage.waits.is_(False))))


def test_after_a_failed_payment_a_new_attempt_with_a_new_reference_completes_the_payment_task(
        pay, actors, payment_platform):
    citizen = actors["congdan"]
    dossier, first = waiting_for_the_fee(pay, actors)
    platform_says(pay, payment_platform, first.reference, "failed")
    fee = fee_payment(pay, citizen, dossier.code)
    assert fee.due and fee.payable is None and fee.retryable.reference == first.reference
    assert retry_offers(pay, citizen) == {dossier.code: first.reference}

    retry = retry_payment(pay, citizen, dossier.code, first.reference)
    assert retry.started and retry.fee.starting and retry.fee.retryable is None
    assert all(o.state == "done" for o in drain(pay))
    second = payment_of(pay, dossier.code)
    assert second.reference != first.reference and second.state == "pending" and second.amount == 100000
    assert payment_platform.transactions[second.reference]["amount"] == 100000
    assert attempt_states(pay, dossier.code) == {first.reference: "failed", second.reference: "pending"}
    fee = fee_payment(pay, citizen, dossier.code)
    assert fee.payable.reference == second.reference and fee.payable.redirect_url.endswith(second.reference)
    assert retry_offers(pay, citizen) == {}  # a pending attempt has its own payment link
    assert open_task(pay, citizen, dossier.code).bpmn_id == "thanh_toan_le_phi"

    platform_says(pay, payment_platform, second.reference, "paid")
    assert bpmn_ids(pay, actors["tiepnhan"]) == ["tiep_nhan"]
    view = get_dossier(pay, citizen, dossier.code)
    assert view.status == "submitted" and view.milestones[-1]["text"] == "Đã nộp lệ phí"
    fee = fee_payment(pay, citizen, dossier.code)
    assert not fee.due and fee.paid.reference == second.reference and fee.retryable is None
    history = [(e["kind"], e["data"].get("state")) for e in view.history if e["kind"].startswith("payment")]
    assert history == [("payment", "failed"), ("payment_retry", "failed"), ("payment", "paid")]


def test_a_double_click_or_a_stale_page_starts_one_new_attempt_only(pay, actors, payment_platform):
    citizen = actors["congdan"]
    dossier, first = waiting_for_the_fee(pay, actors)
    platform_says(pay, payment_platform, first.reference, "failed")

    assert retry_payment(pay, citizen, dossier.code, first.reference).started
    assert not retry_payment(pay, citizen, dossier.code, first.reference).started  # the second click
    drain(pay)
    assert not retry_payment(pay, citizen, dossier.code, first.reference).started  # the page from before
    drain(pay)
    assert len(attempt_states(pay, dossier.code)) == 2 and len(payment_platform.transactions) == 2
    assert payment_platform.duplicate_inits == 0 and len(retry_calls(pay)) == 1
    history = get_dossier(pay, citizen, dossier.code).history
    assert [e["kind"] for e in history].count("payment_retry") == 1


def test_two_clicks_racing_make_one_attempt(pay, actors, payment_platform):
    citizen = actors["congdan"]
    dossier, first = waiting_for_the_fee(pay, actors)
    platform_says(pay, payment_platform, first.reference, "failed")
    start, results, failures = threading.Barrier(2), [], []

    def click() -> None:
        start.wait()
        try:
            results.append(retry_payment(pay, citizen, dossier.code, first.reference).started)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows what went wrong
            failures.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == [] and sorted(results) == [False, True]
    drain(pay)
    assert len(attempt_states(pay, dossier.code)) == 2


def test_an_abandoned_attempt_is_superseded_yet_its_late_confirm_still_pays_the_fee(pay, actors, payment_platform):
    citizen = actors["congdan"]
    dossier, first = waiting_for_the_fee(pay, actors)
    fee = fee_payment(pay, citizen, dossier.code)  # the citizen came back without paying
    assert fee.payable.reference == first.reference and fee.retryable.reference == first.reference

    assert retry_payment(pay, citizen, dossier.code, first.reference).started
    assert attempt_states(pay, dossier.code) == {first.reference: "superseded"}
    assert fee_payment(pay, citizen, dossier.code).payable is None  # no page until the new one is open
    drain(pay)
    second = payment_of(pay, dossier.code)

    platform_says(pay, payment_platform, first.reference, "paid")  # the old page was still open
    assert bpmn_ids(pay, actors["tiepnhan"]) == ["tiep_nhan"]
    assert attempt_states(pay, dossier.code) == {first.reference: "paid", second.reference: "superseded"}
    with pytest.raises(Conflict) as refused:
        retry_payment(pay, citizen, dossier.code, second.reference)
    assert refused.value.message_vi == "Hồ sơ không còn chờ nộp phí, lệ phí trực tuyến."

    platform_says(pay, payment_platform, second.reference, "paid")  # and paid twice: the desk refunds
    payments = [e["data"] for e in get_dossier(pay, citizen, dossier.code).history if e["kind"] == "payment"]
    assert [(p["reference"], p.get("duplicate", False)) for p in payments] == \
        [(first.reference, False), (second.reference, True)]


def test_only_the_applicant_tries_again_and_only_the_latest_attempt(pay, actors, payment_platform):
    dossier, first = waiting_for_the_fee(pay, actors)
    platform_says(pay, payment_platform, first.reference, "failed")
    for someone in (actors["tiepnhan"], actors["quantri"]):
        with pytest.raises(DossierNotFound):
            retry_payment(pay, someone, dossier.code, first.reference)
    with pytest.raises(InvalidInput) as refused:
        retry_payment(pay, actors["congdan"], dossier.code, "mc000000000000000000000000")
    assert "tải lại trang" in refused.value.errors["thay_cho"][0]
    assert len(attempt_states(pay, dossier.code)) == 1 and retry_calls(pay) == []


def test_nothing_to_try_again_before_the_platform_is_asked_or_without_it(ctx, pay, actors):
    dossier = submit(pay, actors["congdan"])  # the worker has not asked the platform yet
    fee = fee_payment(pay, actors["congdan"], dossier.code)
    assert fee.current is None and fee.payable is None and fee.retryable is None
    without = submit(ctx, actors["congdan"])  # a province without the platform: the desk collects
    assert fee_payment(ctx, actors["congdan"], without.code) is None
    with pytest.raises(Conflict) as refused:
        retry_payment(ctx, actors["congdan"], without.code, "mc1")
    assert "Nền tảng thanh toán hiện không sẵn sàng" in refused.value.message_vi
