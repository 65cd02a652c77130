"""Masking of identity numbers, phones and e-mails (lists) and of free text (application logs)."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.config import PROJECT_ROOT
from engine.privacy import (
    PersonalDataFilter,
    install_log_masking,
    mask_email,
    mask_id_number,
    mask_phone,
    mask_text,
)


@pytest.mark.parametrize(("value", "masked"), [
    ("001090000001", "001******001"),  # CCCD: province code and last three stay
    ("123456789", "123***789"),  # CMND
    ("0101234567", "010****567"),  # a tax code
    (" 001 090 000 001 ", "001******001"),
    ("AB12", "**12"),  # an unexpected format keeps only its last two characters
    ("", ""), (None, ""),
])
def test_an_identity_number_keeps_its_province_code_and_last_three_digits(value, masked):
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(("value", "masked"), [
    ("0912345678", "0912***678"), ("0912 345 678", "0912***678"), ("+84912345678", "+84912***678"),
    ("84912345678", "84912***678"), ("12345", "*****"), (None, ""), ("", ""),
])
def test_a_phone_keeps_its_network_prefix_and_last_three_digits(value, masked):
    assert mask_phone(value) == masked


def test_an_email_keeps_its_first_letter_and_domain():
    assert mask_email("congdan@example.vn") == "c***@example.vn"
    assert (mask_email("not-an-address"), mask_email(None)) == ("***", "")


@given(st.from_regex(r"\A(\d{9}|\d{12})\Z"))
def test_no_masked_identity_number_shows_more_than_six_of_its_digits(number):
    masked = mask_id_number(number)
    assert len(masked) == len(number) and masked.count("*") == len(number) - 6
    assert number not in mask_text(f"số định danh {number}.")


def test_free_text_is_masked_but_codes_dates_and_amounts_in_context_stay():
    text = ("Hồ sơ 000.00.21.H99-261125-0007 của CCCD 001090000001, CMND 123456789, gọi 0912 345 678 "
            "hoặc +84987654321 lúc 20261125143000, lệ phí 100000 đ")
    assert mask_text(text) == ("Hồ sơ 000.00.21.H99-261125-0007 của CCCD 001******001, CMND 123***789, gọi "
                               "0912***678 hoặc +84987***321 lúc 20261125143000, lệ phí 100000 đ")


@pytest.mark.parametrize("text", [
    "hạn 03-12-2026 10:00", "hạn 03.12.2026 14:30", "hồ sơ UBND-261203-0001 2026-12-03",
    "xử lý mất 0.123456789 s", "tỉ lệ 1.0123456789",
    "GET /static/uploads.js?v=d0981234925c4 HTTP/1.1", "tệp 5f0912345678a0c1e2 đã lưu", "khoá H99:001090000001x",
])
def test_dates_dossier_codes_and_decimals_are_not_taken_for_phone_numbers(text):
    assert mask_text(text) == text


@pytest.mark.parametrize(("text", "masked"), [
    ("gọi 0912.345.678.", "gọi 0912***678."), ("gọi 091 234 5678", "gọi 0912***678"),
    ("gọi 0912-345-678", "gọi 0912***678"), ("gọi +84 912 345 678", "gọi +84912***678"),
])
def test_phone_numbers_written_in_groups_are_masked(text, masked):
    assert mask_text(text) == masked


def test_the_log_filter_masks_message_arguments_and_exception_text(caplog):
    handler_filter = PersonalDataFilter()
    caplog.handler.addFilter(handler_filter)
    log = logging.getLogger("motcua.test.privacy")
    try:
        with caplog.at_level(logging.INFO, logger="motcua.test.privacy"):
            log.info("nộp hồ sơ: cccd=%s sđt=%s", "001090000001", 912345678)
            try:
                raise ValueError("không tìm thấy 0912345678")
            except ValueError:
                log.exception("tra cứu %s thất bại", "001090000001")
    finally:
        caplog.handler.removeFilter(handler_filter)

    assert [r.getMessage() for r in caplog.records] == ["nộp hồ sơ: cccd=001******001 sđt=912***678",
                                                        "tra cứu 001******001 thất bại"]
    assert "001090000001" not in caplog.text and "0912345678" not in caplog.text
    assert "0912***678" in caplog.text  # the traceback is kept, masked


def test_arguments_without_personal_data_are_left_as_they_are_and_a_masked_number_never_breaks_formatting(
        caplog):
    handler_filter = PersonalDataFilter()
    caplog.handler.addFilter(handler_filter)
    log = logging.getLogger("motcua.test.privacy")
    try:
        with caplog.at_level(logging.INFO, logger="motcua.test.privacy"):
            log.warning("could not enqueue outbox %s", [41, 42])
            log.info("người nộp CMND %d", 123456789)  # the masked value no longer fits %d
    finally:
        caplog.handler.removeFilter(handler_filter)

    assert caplog.records[0].args == ([41, 42],)
    assert [r.getMessage() for r in caplog.records] == ["could not enqueue outbox [41, 42]",
                                                        "người nộp CMND 123***789"]
    assert "Logging error" not in caplog.text


def test_installed_masking_reaches_every_logger_and_installing_twice_masks_once(caplog):
    previous = logging.getLogRecordFactory()
    try:
        install_log_masking()
        install_log_masking()
        with caplog.at_level(logging.WARNING):
            logging.getLogger("some.library.deep.down").warning("gọi %s không được", "0912345678")
        assert caplog.records[-1].getMessage() == "gọi 0912***678 không được"
    finally:
        logging.setLogRecordFactory(previous)


def _installed_after(code: str) -> str:
    """Whether masking is on in a fresh interpreter after running `code` (the app, the worker)."""
    probe = (f"{code}\nimport logging\n"
             "print(getattr(logging.getLogRecordFactory(), '_motcua_masking', False))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "MOTCUA_DATA_DIR": "/tmp/motcua-privacy-probe",
                                            "MOTCUA_DATABASE_URL": "sqlite://"})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_celery_worker_and_the_web_app_install_the_masking():
    assert _installed_after("import logging") == "False"
    assert _installed_after("import engine.jobs") == "True"
    assert _installed_after("from engine.config import Settings\nfrom web import create_app\n"
                            "create_app(Settings(database_url='sqlite://', worker='inprocess', mode='embedded'), "
                            "start_worker=False)") == "True"
