"""The SMTP simulator, driven with plain smtplib (no connector in between)."""

from __future__ import annotations

import io
import re
import smtplib
import socket
import threading
import time
from email.message import EmailMessage

import pytest

from integrations.notify.smtp_simulator import SmtpSimulator, serve


def message(
    message_id: str | None = "<1@motcua>", key: str | None = None, subject: str = "Thông báo"
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "motcua@ubnd.demo.gov.vn"
    msg["To"] = "dan@example.vn"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    if key:
        msg["X-Idempotency-Key"] = key
    msg.set_content("Nội dung có dấu tiếng Việt.")
    return msg


def send(port: int, msg: EmailMessage, timeout: float = 2) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=timeout, local_hostname="client.test") as smtp:
        smtp.send_message(msg)


def test_port_zero_binds_a_free_port_that_accepts_connections():
    with SmtpSimulator() as first, SmtpSimulator() as second:
        assert first.port > 0 and second.port > 0
        assert first.port != second.port
        send(first.port, message())
        assert len(first.messages) == 1 and second.messages == []


def test_a_stopped_simulator_no_longer_accepts_connections():
    sim = SmtpSimulator().start()
    port = sim.port
    sim.stop()

    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_received_messages_keep_their_envelope_and_vietnamese_text(simulator):
    send(simulator.port, message(subject="Giấy chứng nhận đã sẵn sàng"))

    [delivery] = simulator.deliveries
    assert delivery.mail_from == "motcua@ubnd.demo.gov.vn"
    assert delivery.rcpt_tos == ("dan@example.vn",)
    assert delivery.message["Subject"] == "Giấy chứng nhận đã sẵn sàng"
    assert delivery.message.get_content().strip() == "Nội dung có dấu tiếng Việt."


def test_a_repeated_message_id_is_acknowledged_but_stored_once(simulator):
    send(simulator.port, message("<same@motcua>"))
    send(simulator.port, message("<same@motcua>"))  # no exception: the client saw 250

    assert len(simulator.messages) == 1
    assert simulator.duplicates == 1


def test_a_repeated_idempotency_key_is_stored_once_even_without_message_id(simulator):
    send(simulator.port, message(None, key="dossier-1/received"))
    send(simulator.port, message(None, key="dossier-1/received"))

    assert len(simulator.messages) == 1


def test_messages_without_any_id_are_all_stored(simulator):
    send(simulator.port, message(None))
    send(simulator.port, message(None))

    assert len(simulator.wait_for(2)) == 2


def test_fail_next_answers_the_next_messages_with_the_given_code_then_recovers(simulator):
    simulator.fail_next(2, code=452, message="4.3.1 Hết chỗ tạm thời")

    for _ in range(2):
        with pytest.raises(smtplib.SMTPDataError) as caught:
            send(simulator.port, message())
        assert caught.value.smtp_code == 452
    send(simulator.port, message())

    assert len(simulator.messages) == 1


def test_fail_next_refuses_codes_that_are_not_errors(simulator):
    with pytest.raises(ValueError):
        simulator.fail_next(1, code=250)


def test_delay_next_makes_a_client_time_out_after_the_message_was_stored(simulator):
    simulator.delay_next(1, seconds=1.0)

    with pytest.raises((smtplib.SMTPServerDisconnected, TimeoutError)):
        send(simulator.port, message(), timeout=0.2)

    assert len(simulator.wait_for(1, timeout=1)) == 1
    send(simulator.port, message())  # the next reply is prompt again
    assert simulator.duplicates == 1


def test_delay_every_holds_back_each_reply_until_switched_off(simulator):
    simulator.delay_every(0.3)
    for n in range(2):
        started = time.monotonic()
        send(simulator.port, message(f"<{n}@motcua>"))
        assert time.monotonic() - started >= 0.3
    simulator.delay_every(0)
    started = time.monotonic()
    send(simulator.port, message("<2@motcua>"))
    assert time.monotonic() - started < 0.3
    assert len(simulator.messages) == 3


def test_wait_for_gives_up_with_a_timeout_error(simulator):
    with pytest.raises(TimeoutError):
        simulator.wait_for(1, timeout=0.1)


def test_wait_for_returns_as_soon_as_a_message_arrives_from_another_thread(simulator):
    threading.Timer(0.1, send, args=(simulator.port, message())).start()

    assert len(simulator.wait_for(1, timeout=3)) == 1


def test_clear_forgets_messages_seen_ids_and_pending_faults(simulator):
    send(simulator.port, message())
    simulator.fail_next(1)
    simulator.clear()

    send(simulator.port, message())
    assert len(simulator.messages) == 1


def test_with_users_mail_is_accepted_only_after_login():
    with SmtpSimulator(users={"motcua": "secret"}) as sim:
        with pytest.raises(smtplib.SMTPSenderRefused) as caught:
            send(sim.port, message())
        assert caught.value.smtp_code == 530

        with smtplib.SMTP("127.0.0.1", sim.port, timeout=2) as smtp:
            smtp.login("motcua", "secret")
            smtp.send_message(message())
        assert len(sim.messages) == 1


def test_serve_runs_until_stopped_and_prints_each_message():
    out = io.StringIO()
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=("127.0.0.1", 0), kwargs={"stop_event": stop, "out": out})
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while "listening" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
        port = int(re.search(r"127\.0\.0\.1:(\d+)", out.getvalue()).group(1))
        send(port, message(subject="Hồ sơ đã tiếp nhận"))
    finally:
        stop.set()
        thread.join(5)

    assert not thread.is_alive()
    assert "Hồ sơ đã tiếp nhận" in out.getvalue()
    assert "stopped" in out.getvalue()
