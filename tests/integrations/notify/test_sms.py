"""The SMS connector, in real HTTP conversations with the brandname-gateway simulator on loopback."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import integrations
from integrations import ConnectorRejected, ConnectorUnavailable
from integrations.notify.sms import SmsConnector, encode_info, normalise_phone, strip_vietnamese_diacritics
from integrations.notify.sms_simulator import SmsSimulator

API_KEY = "khoa-thu-nghiem"
BRANDNAME = "UBND-DEMO"
TEXT = "Hồ sơ 000.00.21.H12-261125-0007 của ông/bà Nguyễn Văn Ánh đã được tiếp nhận."


@pytest.fixture
def gateway() -> Iterator[SmsSimulator]:
    with SmsSimulator(api_key=API_KEY, brandnames=[BRANDNAME], delivery_delay=0.2) as sim:
        yield sim


def connector_for(base_url: str, **overrides: Any) -> SmsConnector:
    config: dict[str, Any] = {"url": base_url, "api_key": API_KEY, "brandname": BRANDNAME, "timeout": 2}
    config.update(overrides)
    return SmsConnector(config)


def sms(**overrides: Any) -> dict[str, Any]:
    return {"to": "0912345678", "text": TEXT, **overrides}


def test_a_vietnamese_sms_reaches_the_gateway_intact_with_the_idempotency_key_as_request_id(gateway):
    result = connector_for(gateway.url).call("send", sms(), idempotency_key="dossier-7/received")

    [message] = gateway.wait_for(1)
    assert message.message == TEXT
    assert message.phone == "84912345678"
    assert message.brandname == BRANDNAME
    assert message.request_id == "dossier-7/received"
    assert gateway.requests[-1].headers["Idempotency-Key"] == "dossier-7/received"
    assert result == {
        "message_id": message.message_id,
        "status": "accepted",
        "phone": "84912345678",
        "request_id": "dossier-7/received",
        "encoding": "ucs2",
        "segments": 2,
    }


@pytest.mark.parametrize(
    "given", ["0912345678", "+84912345678", "84912345678", "091 234 5678", "+84 (91) 234-5678"]
)
def test_every_usual_way_of_writing_a_mobile_number_is_sent_as_84_and_nine_digits(gateway, given):
    connector_for(gateway.url).call("send", sms(to=given), idempotency_key=f"k-{given}")

    assert gateway.wait_for(1)[0].phone == "84912345678"


def test_the_same_idempotency_key_twice_sends_one_sms(gateway):
    connector = connector_for(gateway.url)

    first = connector.call("send", sms(), idempotency_key="dossier-1/received")
    second = connector.call("send", sms(), idempotency_key="dossier-1/received")

    assert first["message_id"] == second["message_id"]
    assert len(gateway.messages) == 1
    assert gateway.replays == 1


@pytest.mark.parametrize("key", ["dossier/" + "x" * 200, "hồ-sơ/tiếp-nhận"])
def test_a_long_or_non_ascii_idempotency_key_is_hashed_into_a_stable_request_id(gateway, key):
    connector = connector_for(gateway.url)

    first = connector.call("send", sms(), idempotency_key=key)
    second = connector.call("send", sms(), idempotency_key=key)

    assert first["request_id"] == second["request_id"] != key
    assert len(gateway.messages) == 1


def test_an_answer_lost_after_the_gateway_accepted_is_retried_without_a_second_sms(gateway):
    connector = connector_for(gateway.url)
    gateway.fail_next(1, status=502, after_effect=True)

    with pytest.raises(ConnectorUnavailable):
        connector.call("send", sms(), idempotency_key="k")
    assert len(gateway.messages) == 1

    result = connector.call("send", sms(), idempotency_key="k")
    assert result["message_id"] == gateway.messages[0].message_id
    assert len(gateway.messages) == 1


def test_a_500_is_transient_and_the_retry_succeeds(gateway):
    connector = connector_for(gateway.url)
    gateway.fail_next(1, status=500)

    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("send", sms(), idempotency_key="k")

    assert caught.value.code == 500
    assert "sẽ thử lại" in caught.value.message_vi
    assert gateway.messages == []
    connector.call("send", sms(), idempotency_key="k")
    assert len(gateway.messages) == 1


def test_a_429_is_transient(gateway):
    gateway.fail_next(1, status=429)

    with pytest.raises(ConnectorUnavailable):
        connector_for(gateway.url).call("send", sms(), idempotency_key="k")


@pytest.mark.parametrize(
    "code, error, words",
    [
        ("99", ConnectorUnavailable, "đang bận"),
        ("06", ConnectorUnavailable, "hết hạn mức"),
        ("01", ConnectorRejected, "số điện thoại"),
        ("04", ConnectorRejected, "nội dung"),
        ("42", ConnectorRejected, "không xác định"),
    ],
)
def test_gateway_codes_are_mapped_to_retry_or_give_up(gateway, code, error, words):
    gateway.fail_next_code(1, code=code, message="Thông báo của cổng")

    with pytest.raises(error) as caught:
        connector_for(gateway.url).call("send", sms(), idempotency_key="k")

    assert type(caught.value) is error
    assert f"'{code}'" in caught.value.message_vi
    assert words in caught.value.message_vi
    assert "Thông báo của cổng" in caught.value.message_vi


def test_an_answer_slower_than_the_timeout_is_transient_and_the_retry_is_not_duplicated(gateway):
    connector = connector_for(gateway.url, timeout=0.3)
    gateway.delay_next(1, seconds=1.5)

    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("send", sms(), idempotency_key="k")
    assert time.monotonic() - started < 1.4
    assert "không trả lời" in caught.value.message_vi

    connector.call("send", sms(), idempotency_key="k")
    assert len(gateway.messages) == 1
    assert gateway.replays == 1


def test_a_gateway_that_is_down_is_transient(closed_port):
    with pytest.raises(ConnectorUnavailable) as caught:
        connector_for(f"http://127.0.0.1:{closed_port}").call("send", sms(), idempotency_key="k")

    assert "Không kết nối được" in caught.value.message_vi


def test_a_wrong_api_key_is_a_permanent_rejection(gateway):
    with pytest.raises(ConnectorRejected) as caught:
        connector_for(gateway.url, api_key="sai-khoa").call("send", sms(), idempotency_key="k")

    assert caught.value.code == 401
    assert "api_key" in caught.value.message_vi
    assert gateway.messages == []


def test_an_unregistered_brandname_is_a_permanent_rejection(gateway):
    with pytest.raises(ConnectorRejected) as caught:
        connector_for(gateway.url, brandname="KHAC").call("send", sms(), idempotency_key="k")

    assert "brandname" in caught.value.message_vi


@pytest.mark.parametrize(
    "bad, reason",
    [
        ({"to": "0241234567"}, "số điện thoại"),  # a landline cannot receive SMS
        ({"to": "091234567"}, "số điện thoại"),
        ({"to": "+1 555 0100"}, "số điện thoại"),
        ({"to": None}, "số điện thoại"),
        ({"text": "   "}, "thiếu nội dung"),
        ({"text": None}, "thiếu nội dung"),
        ({"template": "x"}, "không được hỗ trợ"),
    ],
)
def test_an_unusable_payload_is_rejected_without_contacting_the_gateway(closed_port, bad, reason):
    data = {k: v for k, v in sms(**bad).items() if v is not None}

    with pytest.raises(ConnectorRejected) as caught:
        connector_for(f"http://127.0.0.1:{closed_port}").call("send", data, idempotency_key="k")

    assert reason in caught.value.message_vi


def test_accented_text_fits_in_three_parts_of_67_characters_and_no_more(gateway):
    connector = connector_for(gateway.url)

    result = connector.call("send", sms(text="ệ" * 201), idempotency_key="fits")
    assert (result["encoding"], result["segments"]) == ("ucs2", 3)

    with pytest.raises(ConnectorRejected) as caught:
        connector.call("send", sms(text="ệ" * 202), idempotency_key="too-long")
    assert "tối đa 201" in caught.value.message_vi
    assert "strip_diacritics" in caught.value.message_vi
    assert len(gateway.messages) == 1


def test_unaccented_text_fits_in_three_parts_of_153_characters_and_no_more(gateway):
    connector = connector_for(gateway.url)

    result = connector.call("send", sms(text="a" * 459), idempotency_key="fits")
    assert (result["encoding"], result["segments"]) == ("gsm7", 3)

    with pytest.raises(ConnectorRejected) as caught:
        connector.call("send", sms(text="a" * 460), idempotency_key="too-long")
    assert "tối đa 459" in caught.value.message_vi


def test_strip_diacritics_sends_a_long_vietnamese_text_unaccented(gateway):
    long_text = "Ủy ban nhân dân xã Đông Hưng thông báo: " * 7  # 280 characters, too long with accents

    result = connector_for(gateway.url, strip_diacritics=True).call(
        "send", sms(text=long_text), idempotency_key="k"
    )

    [message] = gateway.wait_for(1)
    assert message.message.startswith("Uy ban nhan dan xa Dong Hung thong bao: Uy ban")
    assert (result["encoding"], result["segments"]) == ("gsm7", 2)


def test_vietnamese_letters_lose_exactly_their_accents():
    text = "Đặng Thị Ngọc Ánh, Ưng Hòa, Ơn Trời, Quảng Ngãi, Bắc Giang, Huế, Cần Thơ: nghiêng ngửa đủ đầy."

    assert strip_vietnamese_diacritics(text) == (
        "Dang Thi Ngoc Anh, Ung Hoa, On Troi, Quang Ngai, Bac Giang, Hue, Can Tho: nghieng ngua du day."
    )
    every_vowel = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    assert (
        strip_vietnamese_diacritics(every_vowel)
        == "a" * 17 + "e" * 11 + "i" * 5 + "o" * 17 + "u" * 11 + "y" * 5 + "d"
    )
    assert (
        strip_vietnamese_diacritics(every_vowel.upper()) == strip_vietnamese_diacritics(every_vowel).upper()
    )


def test_decomposed_unicode_from_a_template_is_sent_composed(gateway):
    decomposed = unicodedata.normalize("NFD", TEXT)

    connector_for(gateway.url).call("send", sms(text=decomposed), idempotency_key="k")

    assert gateway.wait_for(1)[0].message == TEXT


def test_a_gateway_that_only_takes_unaccented_text_refuses_accents_and_accepts_stripped_text():
    with SmsSimulator(api_key=API_KEY, brandnames=[BRANDNAME], require_unaccented=True) as sim:
        with pytest.raises(ConnectorRejected) as caught:
            connector_for(sim.url).call("send", sms(), idempotency_key="k")
        assert "'04'" in caught.value.message_vi

        connector_for(sim.url, strip_diacritics=True).call("send", sms(), idempotency_key="k")
        assert sim.messages[0].message == strip_vietnamese_diacritics(TEXT)


def test_the_delivery_report_goes_from_pending_to_delivered(gateway):
    connector = connector_for(gateway.url)
    sent = connector.call("send", sms(), idempotency_key="k")

    first = connector.call("status", {"message_id": sent["message_id"]}, idempotency_key="s1")
    assert first["state"] == "pending"
    with pytest.raises(ConnectorUnavailable):
        connector.call(
            "status", {"message_id": sent["message_id"], "until_final": True}, idempotency_key="s2"
        )

    time.sleep(0.25)
    later = connector.call(
        "status", {"message_id": sent["message_id"], "until_final": True}, idempotency_key="s3"
    )
    assert later["message_id"] == sent["message_id"]
    assert later["state"] == "delivered"


def test_a_phone_that_cannot_be_reached_reports_failed(gateway):
    gateway.fail_delivery_to("84987654321")
    connector = connector_for(gateway.url)
    sent = connector.call("send", sms(to="0987654321"), idempotency_key="k")
    time.sleep(0.25)

    assert (
        connector.call("status", {"message_id": sent["message_id"]}, idempotency_key="s")["state"] == "failed"
    )


def test_the_status_of_an_unknown_message_is_a_permanent_rejection(gateway):
    with pytest.raises(ConnectorRejected) as caught:
        connector_for(gateway.url).call("status", {"message_id": "khong-co"}, idempotency_key="s")

    assert "không tìm thấy" in caught.value.message_vi


def test_the_registry_knows_send_as_fire_and_forget_and_status_as_awaited():
    assert integrations.registry.classes()["sms"] is SmsConnector
    assert SmsConnector.kind == "notify"
    assert SmsConnector.operations["send"].waits_for_result is False
    assert SmsConnector.operations["status"].waits_for_result is True


def test_check_config_is_ok_against_the_simulator(gateway):
    report = connector_for(gateway.url).check_config()

    assert report.ok is True
    assert BRANDNAME in report.detail


def test_check_config_is_not_ok_against_a_closed_port(closed_port):
    report = connector_for(f"http://127.0.0.1:{closed_port}").check_config()

    assert report.ok is False
    assert "Không kết nối được" in report.detail


def test_check_config_reports_a_wrong_api_key_and_an_unregistered_brandname(gateway):
    wrong_key = connector_for(gateway.url, api_key="sai").check_config()
    wrong_brand = connector_for(gateway.url, brandname="KHAC").check_config()

    assert wrong_key.ok is False and "api_key" in wrong_key.detail
    assert wrong_brand.ok is False and "KHAC" in wrong_brand.detail


@pytest.mark.parametrize(
    "bad",
    [
        {"url": "sms.example.vn"},
        {"api_key": ""},
        {"api_key": "khóa"},
        {"brandname": ""},
        {"brandname": "TEN-QUA-DAI-12"},
        {"timeout": 0},
        {"strip_diacritics": "yes"},
        {"sender": "typo"},
    ],
)
def test_an_invalid_configuration_is_refused_when_the_connector_is_built(bad):
    with pytest.raises(ValueError):
        connector_for("http://127.0.0.1:1", **bad)


def test_the_helpers_agree_with_the_operator_counting_rules():
    assert encode_info("a" * 160) == ("gsm7", 160, 1)
    assert encode_info("a" * 161) == ("gsm7", 161, 2)
    assert encode_info("{" * 80) == ("gsm7", 160, 1)  # extension characters cost two septets
    assert encode_info("ă" * 70) == ("ucs2", 70, 1)
    assert encode_info("ă" * 71) == ("ucs2", 71, 2)
    with pytest.raises(ValueError):
        normalise_phone("0123456789")


def test_the_simulator_speaks_plain_http_json():
    """Guard against the fixtures silently testing something else than the gateway API."""
    with SmsSimulator(api_key=API_KEY) as sim:
        answer = httpx.get(f"{sim.url}/sms/account", headers={"Authorization": f"Bearer {API_KEY}"})
        headers = {"Authorization": f"Bearer {API_KEY}"}
        refused = httpx.post(f"{sim.url}/sms/send", json={"phone": "84912345678"}, headers=headers)
    assert answer.json()["code"] == "00"
    assert refused.status_code == 400 and refused.json()["code"] == "05"


def test_gateway_words_for_delivery_states_are_mapped_and_the_mapping_is_configuration(gateway):
    connector = connector_for(gateway.url)
    sent = connector.call("send", sms(), idempotency_key="k")
    gateway.set_state(sent["message_id"], "EXPIRED")
    assert connector.call("status", {"message_id": sent["message_id"]}, idempotency_key="s1")["state"] == "failed"
    gateway.set_state(sent["message_id"], "DA_NHAN")
    with pytest.raises(ConnectorUnavailable, match="DA_NHAN"):
        connector.call("status", {"message_id": sent["message_id"]}, idempotency_key="s2")
    mapped = connector_for(gateway.url, states={"DA_NHAN": "delivered"})
    assert mapped.call("status", {"message_id": sent["message_id"]}, idempotency_key="s3")["state"] == "delivered"
    with pytest.raises(ValueError, match="states"):
        connector_for(gateway.url, states={"DA_NHAN": "ok"})


def test_waiting_for_a_final_report_does_not_spend_the_outbox_attempts(gateway):
    from integrations import ConnectorPending

    connector = connector_for(gateway.url)
    sent = connector.call("send", sms(), idempotency_key="k")
    gateway.set_state(sent["message_id"], "pending")
    with pytest.raises(ConnectorPending):
        connector.call("status", {"message_id": sent["message_id"], "until_final": True}, idempotency_key="s")
