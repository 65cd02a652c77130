"""The e-mail connector, in real SMTP conversations with the simulator on loopback."""

from __future__ import annotations

import smtplib
import time

import pytest

from integrations import ConnectorRejected, ConnectorUnavailable
from integrations.notify.email import EmailConnector, message_id_for
from integrations.notify.smtp_simulator import SmtpSimulator

SUBJECT = "Hồ sơ số 000.00.12.H56-250101-0001 đã được tiếp nhận"
TEXT = (
    "Kính gửi ông Nguyễn Văn Ánh,\nhồ sơ đăng ký khai sinh của ông/bà đã được Ủy ban nhân dân xã tiếp nhận.\n"
)
HTML = "<p>Kính gửi ông <b>Nguyễn Văn Ánh</b>, hồ sơ đã được tiếp nhận.</p>"


def payload(**overrides):
    data = {"to": "Nguyễn Văn Ánh <anh@example.vn>", "subject": SUBJECT, "text": TEXT}
    data.update(overrides)
    return data


def test_vietnamese_subject_and_body_arrive_intact(simulator, make_connector):
    connector = make_connector(simulator.port)

    result = connector.call("send", payload(html=HTML), idempotency_key="dossier-1/received")

    [message] = simulator.wait_for(1)
    assert message["Subject"] == SUBJECT
    assert message["From"].addresses[0].display_name == "UBND Xã Demo"
    assert message["To"].addresses[0].display_name == "Nguyễn Văn Ánh"
    assert message.get_body(("plain",)).get_content() == TEXT
    assert message.get_body(("html",)).get_content().strip() == HTML
    assert result == {"message_id": message["Message-ID"], "accepted": ["anh@example.vn"], "refused": {}}


def test_the_message_id_is_derived_from_the_idempotency_key(simulator, make_connector):
    connector = make_connector(simulator.port)

    connector.call("send", payload(), idempotency_key="dossier-7/step-3")

    [message] = simulator.wait_for(1)
    assert message["Message-ID"] == message_id_for("dossier-7/step-3")
    assert message_id_for("dossier-7/step-3") != message_id_for("dossier-7/step-4")
    assert message["X-Idempotency-Key"] == "dossier-7/step-3"


def test_the_same_idempotency_key_twice_stores_one_message(simulator, make_connector):
    connector = make_connector(simulator.port)

    first = connector.call("send", payload(), idempotency_key="dossier-1/received")
    second = connector.call("send", payload(), idempotency_key="dossier-1/received")

    assert first["message_id"] == second["message_id"]
    assert len(simulator.messages) == 1
    assert simulator.duplicates == 1


def test_different_idempotency_keys_store_different_messages(simulator, make_connector):
    connector = make_connector(simulator.port)

    connector.call("send", payload(), idempotency_key="a")
    connector.call("send", payload(), idempotency_key="b")

    assert len(simulator.wait_for(2)) == 2


def test_all_recipients_of_a_list_are_sent_once_each(simulator, make_connector):
    connector = make_connector(simulator.port)
    to = ["a@example.vn", "Trần Thị Bích <b@example.vn>", "a@example.vn"]

    result = connector.call("send", payload(to=to), idempotency_key="k")

    [delivery] = simulator.deliveries
    assert delivery.rcpt_tos == ("a@example.vn", "b@example.vn")
    assert delivery.mail_from == "motcua@ubnd.demo.gov.vn"
    assert result["accepted"] == ["a@example.vn", "b@example.vn"]


def test_a_451_reply_is_transient_and_the_retry_succeeds(simulator, make_connector):
    connector = make_connector(simulator.port)
    simulator.fail_next(1, code=451, message="4.3.0 Hệ thống bận")

    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("send", payload(), idempotency_key="k")

    assert caught.value.code == 451
    assert "sẽ thử lại" in caught.value.message_vi
    assert simulator.messages == []
    connector.call("send", payload(), idempotency_key="k")
    assert len(simulator.messages) == 1


def test_a_550_reply_is_a_permanent_rejection(simulator, make_connector):
    connector = make_connector(simulator.port)
    simulator.fail_next(1, code=550, message="5.7.1 Message refused")

    with pytest.raises(ConnectorRejected) as caught:
        connector.call("send", payload(), idempotency_key="k")

    assert caught.value.code == 550
    assert "từ chối" in caught.value.message_vi
    assert simulator.messages == []


def test_a_server_that_is_down_is_transient(closed_port, make_connector):
    connector = make_connector(closed_port)

    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("send", payload(), idempotency_key="k")

    assert "Không kết nối được" in caught.value.message_vi


def test_a_reply_slower_than_the_timeout_is_transient_and_the_retry_is_not_duplicated(
    simulator, make_connector
):
    connector = make_connector(simulator.port, timeout=0.3)
    simulator.delay_next(1, seconds=1.5)

    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable):
        connector.call("send", payload(), idempotency_key="k")
    assert time.monotonic() - started < 1.4

    # The relay had queued the message before its "250" got lost: the retry has no second effect.
    connector.call("send", payload(), idempotency_key="k")
    assert len(simulator.messages) == 1
    assert simulator.duplicates == 1


def test_a_relay_requiring_login_refuses_a_connector_without_credentials_permanently(make_connector):
    with SmtpSimulator(users={"motcua": "mat-khau"}) as sim:
        with pytest.raises(ConnectorRejected) as caught:
            make_connector(sim.port).call("send", payload(), idempotency_key="k")
        assert caught.value.code == 530

        make_connector(sim.port, username="motcua", password="mat-khau").call(
            "send", payload(), idempotency_key="k"
        )
        assert len(sim.messages) == 1


def test_check_config_is_ok_against_the_simulator(simulator, make_connector):
    report = make_connector(simulator.port).check_config()

    assert report.ok is True
    assert str(simulator.port) in report.detail


def test_check_config_is_not_ok_against_a_closed_port(closed_port, make_connector):
    report = make_connector(closed_port).check_config()

    assert report.ok is False
    assert "Không kết nối được" in report.detail


def test_check_config_reports_a_wrong_password(make_connector):
    with SmtpSimulator(users={"motcua": "dung"}) as sim:
        assert make_connector(sim.port, username="motcua", password="dung").check_config().ok is True
        report = make_connector(sim.port, username="motcua", password="sai").check_config()

    assert report.ok is False
    assert "535" in report.detail


def test_check_config_reports_a_relay_without_starttls(simulator, make_connector):
    report = make_connector(simulator.port, starttls=True).check_config()

    assert report.ok is False
    assert "STARTTLS" in report.detail


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"to": None}, "thiếu người nhận"),
        ({"to": []}, "thiếu người nhận"),
        ({"to": "không-phải-địa-chỉ"}, "không hợp lệ"),
        ({"to": "a@example.vn, b@example.vn"}, "không hợp lệ"),
        ({"subject": ""}, "tiêu đề"),
        ({"subject": "Tiêu đề\nBcc: victim@example.vn"}, "xuống dòng"),
        ({"text": None}, "nội dung"),
        ({"html": 42}, "html"),
        ({"attachments": []}, "không được hỗ trợ"),
    ],
)
def test_an_unusable_payload_is_rejected_without_contacting_the_relay(
    closed_port, make_connector, bad, reason
):
    data = payload(**bad)
    data = {k: v for k, v in data.items() if v is not None}

    with pytest.raises(ConnectorRejected) as caught:
        make_connector(closed_port).call("send", data, idempotency_key="k")

    assert reason in caught.value.message_vi


@pytest.mark.parametrize(
    "bad",
    [
        {"host": ""},
        {"port": "25"},
        {"port": 70000},
        {"sender": "không-phải-địa-chỉ"},
        {"timeout": 0},
        {"starttls": "yes"},
        {"ssl": True, "starttls": True},
        {"password": "x"},
        {"username": 42},
        {"username": "motcua", "password": "mật-khẩu"},
        {"smtp_host": "typo"},
    ],
)
def test_an_invalid_configuration_is_refused_when_the_connector_is_built(bad):
    config = {"host": "127.0.0.1", "port": 25, "sender": "motcua@ubnd.demo.gov.vn", **bad}

    with pytest.raises(ValueError):
        EmailConnector(config)


def test_smtplib_sees_a_real_smtp_server(simulator):
    """Guard against the fixtures silently testing something else than SMTP."""
    with smtplib.SMTP("127.0.0.1", simulator.port, timeout=2) as smtp:
        code, banner = smtp.ehlo("probe")
    assert code == 250
    assert b"motcua-smtp-simulator" in banner


def test_a_long_vietnamese_subject_keeps_every_space():
    """Regression: folding split 'xin lỗi' into 'xinlỗi' once the subject passed ~40 characters."""
    from integrations.notify.email import EmailConnector
    from integrations.notify.smtp_simulator import SmtpSimulator

    subject = "Hồ sơ 000.00.21.H99-261130-0001: xin lỗi và hẹn lại ngày trả kết quả cho công dân"
    with SmtpSimulator() as simulator:
        connector = EmailConnector({"host": "127.0.0.1", "port": simulator.port, "sender": "motcua@example.vn"})
        connector.call("send", {"to": "a@example.vn", "subject": subject, "text": "Nội dung"},
                       idempotency_key="subject-spaces")
        [message] = simulator.wait_for(1)
    assert message["Subject"] == subject
