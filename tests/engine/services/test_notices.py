"""Whether the citizen's notices reached them: the SMS gateway (simulator over HTTP) accepts, the clock
sweep asks for the delivery report until it is final, every change lands in the dossier's history;
a gateway that is down changes nothing and raises nothing; e-mail ends at the relay's "accepted"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.models import Dossier, OutboxMessage
from engine.outbox import drain
from engine.services import get_dossier
from engine.services.notices import mask, poll_sms_status
from engine.sweeps import clock_sweep
from integrations.notify.sms_simulator import SmsSimulator
from tests.conftest import with_connectors
from tests.factories import submit, work

API_KEY = "khoa-sms-thu"
PHONE = "84912345678"  # the factories' applicant, 0912345678, as the gateway writes it


@pytest.fixture
def gateway():
    # The operator's report comes "later": the test decides when, with set_state.
    with SmsSimulator(api_key=API_KEY, brandnames=["UBND-DEMO"], delivery_delay=3600) as simulator:
        yield simulator


@pytest.fixture
def sms_ctx(ctx, gateway):
    return with_connectors(ctx, sms={"url": gateway.url, "api_key": API_KEY, "brandname": "UBND-DEMO",
                                     "timeout": 2})


def received_and_notified(ctx, actors):
    """A dossier received at the desk, its receipt notice delivered by the outbox worker."""
    dossier = submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    outcomes = drain(ctx)
    assert outcomes and all(o.state == "done" for o in outcomes), outcomes
    return dossier


def notice_row(ctx, dossier, channel: str) -> OutboxMessage:
    with ctx.sessions() as session:
        query = (select(OutboxMessage).join(Dossier, Dossier.id == OutboxMessage.dossier_id)
                 .where(Dossier.code == dossier.code, OutboxMessage.connector == channel))
        return session.scalars(query).one()


def events(ctx, actors, dossier, kind: str) -> list[dict]:
    return [e["data"] for e in get_dossier(ctx, actors["congdan"], dossier.code).history if e["kind"] == kind]


def later(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_an_sms_receipt_notice_is_polled_to_delivered_and_each_step_is_in_history(sms_ctx, actors, gateway):
    dossier = received_and_notified(sms_ctx, actors)
    [sms] = gateway.messages
    assert sms.phone == PHONE and dossier.code in sms.message
    row = notice_row(sms_ctx, dossier, "sms")
    assert row.delivery_status == "accepted" and row.result["message_id"] == sms.message_id
    [sent] = [e for e in events(sms_ctx, actors, dossier, "notice") if e["channel"] == "sms"]
    assert sent["template"] == "tiep-nhan" and sent["to"] == "091****678"
    assert sent["delivery_status"] == "accepted" and sent["label"] == "Đã gửi tới nhà mạng"

    assert poll_sms_status(sms_ctx) == {"checked": 0, "changed": 0}  # just sent: not asked again yet
    assert poll_sms_status(sms_ctx, now=later(2)) == {"checked": 1, "changed": 0}  # operator: pending
    assert notice_row(sms_ctx, dossier, "sms").delivery_status == "accepted"

    gateway.set_state(sms.message_id, "delivered")
    swept = clock_sweep(sms_ctx, now=later(4))
    assert (swept["sms_checked"], swept["sms_changed"]) == (1, 1)
    row = notice_row(sms_ctx, dossier, "sms")
    assert row.delivery_status == "delivered" and row.delivery_checked_at >= later(3)
    [report] = events(sms_ctx, actors, dossier, "notice_status")
    assert report["previous"] == "accepted" and report["delivery_status"] == "delivered"
    assert report["label"] == "Đã đến máy người nhận" and report["to"] == "091****678"

    assert poll_sms_status(sms_ctx, now=later(30)) == {"checked": 0, "changed": 0}  # final: never asked again
    assert len([r for r in gateway.requests if r.path.startswith("/sms/status/")]) == 2


def test_an_sms_the_operator_could_not_deliver_is_recorded_as_failed(sms_ctx, actors, gateway):
    gateway.fail_delivery_to(PHONE)
    gateway.delivery_delay = 0
    dossier = received_and_notified(sms_ctx, actors)

    assert poll_sms_status(sms_ctx, now=later(2)) == {"checked": 1, "changed": 1}

    assert notice_row(sms_ctx, dossier, "sms").delivery_status == "failed"
    [report] = events(sms_ctx, actors, dossier, "notice_status")
    assert report["delivery_status"] == "failed" and report["label"] == "Không gửi được tới máy người nhận"


def test_a_gateway_down_while_polling_changes_nothing_and_the_next_sweep_asks_again(sms_ctx, actors, gateway):
    dossier = received_and_notified(sms_ctx, actors)
    [sms] = gateway.messages
    gateway.set_state(sms.message_id, "delivered")
    checked_at = notice_row(sms_ctx, dossier, "sms").delivery_checked_at
    gateway.fail_next(1, status=503)

    assert clock_sweep(sms_ctx, now=later(2))["sms_checked"] == 0

    row = notice_row(sms_ctx, dossier, "sms")
    assert row.delivery_status == "accepted" and row.delivery_checked_at == checked_at
    assert events(sms_ctx, actors, dossier, "notice_status") == []
    assert poll_sms_status(sms_ctx, now=later(2.5)) == {"checked": 1, "changed": 1}
    assert notice_row(sms_ctx, dossier, "sms").delivery_status == "delivered"


def test_a_message_unknown_to_the_gateway_is_not_asked_again_within_the_interval(sms_ctx, actors, gateway):
    dossier = received_and_notified(sms_ctx, actors)
    gateway.clear()  # the gateway answers 08, "không tìm thấy tin nhắn"

    assert poll_sms_status(sms_ctx, now=later(2)) == {"checked": 0, "changed": 0}
    assert poll_sms_status(sms_ctx, now=later(2.5)) == {"checked": 0, "changed": 0}

    assert [r.path.startswith("/sms/status/") for r in gateway.requests] == [True]
    row = notice_row(sms_ctx, dossier, "sms")
    assert row.delivery_status == "accepted" and row.delivery_checked_at >= later(1)


def test_an_sms_older_than_the_window_is_not_asked_about(sms_ctx, actors, gateway):
    received_and_notified(sms_ctx, actors)
    assert poll_sms_status(sms_ctx, now=later(49 * 60)) == {"checked": 0, "changed": 0}
    assert not [r for r in gateway.requests if r.path.startswith("/sms/status/")]


def test_an_email_notice_accepted_by_the_relay_is_final(ctx, actors, smtp):
    dossier = received_and_notified(ctx, actors)
    [mail] = [m for m in smtp.wait_for(1) if dossier.code in m["Subject"]]
    assert mail["To"] == "congdan@example.vn"

    row = notice_row(ctx, dossier, "email")
    assert row.delivery_status == "accepted" and row.delivery_checked_at is not None
    [sent] = events(ctx, actors, dossier, "notice")
    assert sent == {"outbox": row.id, "channel": "email", "channel_label": "thư điện tử",
                    "template": "tiep-nhan", "notice": "Tiếp nhận hồ sơ", "to": "c***@example.vn",
                    "delivery_status": "accepted", "label": "Máy chủ thư đã nhận"}
    assert poll_sms_status(ctx, now=later(2)) == {"checked": 0, "changed": 0}  # no SMS connector here


@pytest.mark.parametrize(("channel", "address", "shown"), [
    ("email", "congdan@example.vn", "c***@example.vn"),
    ("email", "a@b.vn", "a***@b.vn"),
    ("sms", "0912345678", "091****678"),
    ("sms", "+84 912 345 678", "849*****678"),
    ("sms", "12345", "*****"),
])
def test_the_history_shows_the_recipient_masked(channel, address, shown):
    assert mask(channel, address) == shown
