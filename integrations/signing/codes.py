"""Verification codes: a short handle a citizen can type to find a signed result.

Printed on the result (and shown on the portal) next to the QR code; typed on the public
verification page, which looks the file up by it. The code is derived from the SHA-256 of
the signed file, so it needs no counter, is the same on every server, and any change to
the file gives another code.

Twelve characters of Crockford's base32 (60 bits of the hash): digits and capitals without
I, L, O and U, so that nothing reads as another character, grouped by four for the eye:
``7G3Q-K2MA-X9DE``. :func:`normalise_verification_code` forgives what people type (case,
spaces, missing dashes, O for 0, I/L for 1).
"""

from __future__ import annotations

import re

__all__ = ["normalise_verification_code", "verification_code"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_LENGTH = 12
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_TYPO = str.maketrans({"O": "0", "I": "1", "L": "1"})


def verification_code(sha256_hex: str) -> str:
    """``XXXX-XXXX-XXXX`` from the first 60 bits of a SHA-256 hex digest."""
    if not isinstance(sha256_hex, str) or not _HEX.fullmatch(sha256_hex):
        raise ValueError("expected a SHA-256 digest as 64 hexadecimal characters")
    bits = int(sha256_hex[:16], 16) >> 4  # 64 bits -> the top 60
    chars = []
    for _ in range(_LENGTH):
        chars.append(_ALPHABET[bits & 31])
        bits >>= 5
    code = "".join(reversed(chars))
    return "-".join(code[i : i + 4] for i in range(0, _LENGTH, 4))


def normalise_verification_code(text: str) -> str | None:
    """The canonical form of a typed code, or ``None`` if it cannot be one."""
    if not isinstance(text, str):
        return None
    compact = re.sub(r"[\s\-_.]", "", text).upper().translate(_TYPO)
    if len(compact) != _LENGTH or any(ch not in _ALPHABET for ch in compact):
        return None
    return "-".join(compact[i : i + 4] for i in range(0, _LENGTH, 4))
