"""Custom and standard string formats used by Vietnamese administrative forms."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms.formats import FORMAT_CHECKER, is_cccd, is_date, is_date_time, is_email, is_phone_vn, is_tax_code

DIGITS = "0123456789"


@given(st.text(alphabet=DIGITS, min_size=12, max_size=12))
def test_any_twelve_digit_string_is_a_valid_cccd(number: str) -> None:
    assert is_cccd(number)


@given(st.text().filter(lambda text: sum(char in DIGITS for char in text) != 12))
def test_a_string_whose_digit_count_is_not_twelve_is_never_a_valid_cccd(text: str) -> None:
    assert not is_cccd(text)


@given(st.text(alphabet=DIGITS).filter(lambda text: len(text) != 12))
def test_a_run_of_digits_that_is_not_twelve_long_is_not_a_valid_cccd(number: str) -> None:
    assert not is_cccd(number)


@pytest.mark.parametrize("value", ["00109001234 5", "０01090012345", "٠٠١٠٩٠٠١٢٣٤٥١٢", "001090012345\n"])
def test_a_cccd_with_spaces_or_non_ascii_digits_is_rejected(value: str) -> None:
    assert not is_cccd(value)


@pytest.mark.parametrize(
    "value",
    ["0912345678", "+84912345678", "0912 345 678", "091.234.5678", "+84 91 234 56 78", "0243 826 123"],
)
def test_vietnamese_phone_numbers_with_spaces_or_dots_are_accepted(value: str) -> None:
    assert is_phone_vn(value)


@pytest.mark.parametrize(
    "value",
    ["912345678", "09123456789", "+8491234567", "84912345678", "0912-345-678", "số máy", "", "+1 912345678"],
)
def test_malformed_phone_numbers_are_rejected(value: str) -> None:
    assert not is_phone_vn(value)


@pytest.mark.parametrize("value", ["0101234567", "0101234567-001", "0101234567001"])
def test_tax_codes_of_ten_or_thirteen_digits_are_accepted(value: str) -> None:
    assert is_tax_code(value)


@pytest.mark.parametrize(
    "value", ["010123456", "0101234567-01", "0101234567-0011", "01012345678", "0101234567 001"]
)
def test_tax_codes_of_other_shapes_are_rejected(value: str) -> None:
    assert not is_tax_code(value)


@pytest.mark.parametrize("value", ["2024-02-29", "1945-09-02", "0001-01-01"])
def test_real_calendar_dates_are_accepted(value: str) -> None:
    assert is_date(value)


@pytest.mark.parametrize(
    "value", ["2023-02-29", "2024-1-2", "02/01/2024", "２０２４-01-01", "2024-01-01T00:00:00"]
)
def test_impossible_or_non_iso_dates_are_rejected(value: str) -> None:
    assert not is_date(value)


@pytest.mark.parametrize(
    "value", ["2024-01-02T03:04:05+07:00", "2024-01-02T03:04:05Z", "2024-01-02t03:04:05.123z"]
)
def test_rfc3339_timestamps_with_an_offset_are_accepted(value: str) -> None:
    assert is_date_time(value)


@pytest.mark.parametrize(
    "value", ["2024-01-02T03:04:05", "2024-01-02 03:04", "2024-13-02T03:04:05Z", "hôm nay"]
)
def test_timestamps_without_offset_or_out_of_range_are_rejected(value: str) -> None:
    assert not is_date_time(value)


@pytest.mark.parametrize("value", ["a@b.vn", "nguyen.van.a+hs@gmail.com", "cán.bộ@ubnd.hanoi.gov.vn"])
def test_plausible_email_addresses_are_accepted(value: str) -> None:
    assert is_email(value)


@pytest.mark.parametrize("value", ["a@b", "ab.vn", "a @b.vn", "a@@b.vn", "a@b..vn", "@b.vn"])
def test_implausible_email_addresses_are_rejected(value: str) -> None:
    assert not is_email(value)


@pytest.mark.parametrize("fmt", ["cccd", "phone-vn", "tax-code", "date", "date-time", "email"])
def test_formats_leave_non_strings_to_the_type_keyword(fmt: str) -> None:
    assert FORMAT_CHECKER.conforms(12, fmt)
    assert FORMAT_CHECKER.conforms(None, fmt)
