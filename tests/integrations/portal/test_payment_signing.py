"""MaXacThuc and the confirm callback checks (pure functions, no network)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from integrations.portal.payment_signing import (
    CONFIRM_FIELDS,
    REPLY_FIELDS,
    confirm_reply,
    field_text,
    sign_fields,
    sign_message,
    verify_confirm_callback,
)

SECRET = "bi-mat"


def confirm(**overrides) -> dict:
    body = {
        "LoaiBanTin": "CONFIRM", "MaLoi": "00", "MaDoiTac": "H99", "MaThamChieu": "dvcH99250812",
        "SoTien": 50000, "MaTienTe": "VND", "MaGiaoDich": "PP1", "MaNganHang": "VCB",
        "ThoiGianGD": "20250812091500", "ThongTinGiaoDich": "Thanh toan ho so 000.00.01.H99-250812-0042",
    }  # fmt: skip
    body.update(overrides)
    body["MaXacThuc"] = sign_message(body, CONFIRM_FIELDS, SECRET)
    return body


def test_the_hash_is_lowercase_hex_sha256_of_the_fields_joined_by_pipes_with_the_secret_last():
    expected = hashlib.sha256("INIT|1.0.6|H99|Lệ phí|bi-mat".encode()).hexdigest()

    assert sign_fields(["INIT", "1.0.6", "H99", "Lệ phí"], SECRET) == expected
    assert sign_fields(["INIT", "1.0.6", "H99"], SECRET) != sign_fields(["INIT", "1.0.6", "H98"], SECRET)
    assert expected == expected.lower() and len(expected) == 64


def test_a_numeric_amount_hashes_as_the_platform_wrote_it():
    assert field_text(50000) == "50000"
    assert field_text(50000.0) == "50000"
    assert field_text(None) == ""
    body = confirm()
    assert body["MaXacThuc"] == sign_fields([field_text(body[name]) for name in CONFIRM_FIELDS], SECRET)
    assert verify_confirm_callback({**body, "SoTien": 50000.0}, SECRET, set()).valid


def test_an_authentic_paid_confirm_is_accepted_as_paid():
    result = verify_confirm_callback(confirm(), SECRET, set(), partner_code="H99")

    assert (result.valid, result.accepted, result.paid, result.duplicate) == (True, True, True, False)
    assert result.reference == "dvcH99250812"
    assert result.amount == 50000
    assert result.transaction_id == "PP1" and result.bank_code == "VCB"
    assert result.reply_code == "00"


def test_an_authentic_failed_confirm_is_accepted_but_not_paid():
    result = verify_confirm_callback(confirm(MaLoi="24"), SECRET, set())

    assert result.accepted is True
    assert result.paid is False
    assert result.error_code == "24"


def test_a_tampered_confirm_is_refused():
    body = confirm()
    body["SoTien"] = 5000000

    result = verify_confirm_callback(body, SECRET, set())

    assert (result.valid, result.accepted, result.paid) == (False, False, False)
    assert result.reply_code == "99"
    assert "MaXacThuc" in result.reply_message_vi


def test_a_confirm_signed_with_another_secret_or_unsigned_is_refused():
    assert not verify_confirm_callback(confirm(), "khac", set()).valid
    unsigned = confirm()
    del unsigned["MaXacThuc"]
    assert not verify_confirm_callback(unsigned, SECRET, set()).valid
    assert not verify_confirm_callback("not a dict", SECRET, set()).valid  # type: ignore[arg-type]


def test_an_uppercase_signature_is_still_the_same_signature():
    body = confirm()
    body["MaXacThuc"] = body["MaXacThuc"].upper()

    assert verify_confirm_callback(body, SECRET, set()).accepted


def test_a_confirm_for_another_partner_is_refused():
    result = verify_confirm_callback(confirm(MaDoiTac="H01"), SECRET, set(), partner_code="H99")

    assert result.valid is False
    assert "MaDoiTac" in result.reply_message_vi


def test_a_replay_of_an_already_confirmed_reference_is_refused_but_acknowledged():
    result = verify_confirm_callback(confirm(), SECRET, {"dvcH99250812"})

    assert result.valid is True
    assert result.accepted is False and result.paid is False
    assert result.duplicate is True
    assert result.reply_code == "00"


def test_the_seen_references_can_be_a_lookup_function():
    asked = []

    def seen(reference: str) -> bool:
        asked.append(reference)
        return True

    assert verify_confirm_callback(confirm(), SECRET, seen).duplicate
    assert asked == ["dvcH99250812"]


def test_the_reply_is_signed_and_names_the_reference():
    result = verify_confirm_callback(confirm(), SECRET, set())

    reply = confirm_reply(
        result, partner_code="H99", secret=SECRET, now=datetime(2025, 8, 12, 2, 15, tzinfo=UTC)
    )

    assert reply["MaLoi"] == "00" and reply["MoTaLoi"] == "Thành công"
    assert reply["MaThamChieu"] == "dvcH99250812"
    assert reply["ThoiGianGD"] == "20250812091500"
    assert reply["MaXacThuc"] == sign_message(reply, REPLY_FIELDS, SECRET)


def test_the_reply_to_a_refused_confirm_says_other_error():
    reply = confirm_reply(
        verify_confirm_callback(confirm(SoTien=1), "khac", set()), partner_code="H99", secret=SECRET
    )

    assert reply["MaLoi"] == "99"
    assert reply["MoTaLoi"].startswith("Các lỗi khác")
