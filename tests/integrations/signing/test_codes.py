"""Verification codes: short, typable, stable for a file, different between files."""

from __future__ import annotations

import hashlib
import re

import pytest

from integrations.signing.codes import normalise_verification_code, verification_code

_FORMAT = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


def test_the_code_of_a_hash_never_changes():
    digest = hashlib.sha256(b"ket qua ho so 000.00.01.H99-250812-00042").hexdigest()

    assert verification_code(digest) == verification_code(digest.upper())
    # pinned: codes are printed on paper and must stay valid across releases
    assert verification_code("0" * 64) == "0000-0000-0000"
    assert verification_code("f" * 64) == "ZZZZ-ZZZZ-ZZZZ"
    # worked by hand: the 5-bit groups of 0x0123456789abcde (the top 60 bits)
    assert verification_code("0123456789abcdef" + "0" * 48) == "04HM-ASW9-NF6Y"


def test_codes_are_twelve_unambiguous_characters_in_groups_of_four():
    for n in range(200):
        code = verification_code(hashlib.sha256(str(n).encode()).hexdigest())
        assert _FORMAT.fullmatch(code), code
        assert not set(code) & set("ILOU")


def test_different_files_get_different_codes():
    codes = {verification_code(hashlib.sha256(str(n).encode()).hexdigest()) for n in range(20_000)}

    assert len(codes) == 20_000


def test_what_people_type_is_brought_back_to_the_printed_code():
    code = verification_code(hashlib.sha256(b"x").hexdigest())
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")

    assert normalise_verification_code(code) == code
    assert normalise_verification_code(code.replace("-", "")) == code
    assert normalise_verification_code(f"  {sloppy} ") == code
    assert normalise_verification_code("ABCD-EFGH") is None
    assert normalise_verification_code("ABCD-EFGH-IJKU") is None  # U is not in the alphabet


@pytest.mark.parametrize("value", ["", "abc", "g" * 64, "0" * 63, None])
def test_only_sha256_hex_digests_have_codes(value):
    with pytest.raises(ValueError):
        verification_code(value)
