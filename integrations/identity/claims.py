"""Who logged in: the national-account claims (CONNECTORS.md §2) turned into an :class:`Identity`.

The national SSO (WSO2 at xacthuc.dichvucong.gov.vn, VNeID behind it) names its claims in
Vietnamese (``HoVaTen``, ``SoDinhDanh``, ``LoaiTaiKhoan``...), sends numbers as strings or
numbers depending on the deployment, and writes dates "year first". This module is the one
place that knows those spellings, so the web app only ever sees :class:`Identity`.
Personal fields are left out of ``repr`` so that logging an identity never leaks an ID
number or a name (Luật 91/2025/QH15).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = [
    "ACCOUNT_TYPES",
    "Identity",
    "IdentityError",
    "IdentityUnavailable",
    "Tokens",
    "identity_from_claims",
]

#: ``LoaiTaiKhoan`` -> our account type.
ACCOUNT_TYPES: dict[str, str] = {"1": "citizen", "2": "business", "3": "organization"}

_GENDERS = {
    "1": "nam",
    "nam": "nam",
    "m": "nam",
    "male": "nam",
    "0": "nữ",
    "2": "nữ",
    "nữ": "nữ",
    "nu": "nữ",
    "f": "nữ",
    "female": "nữ",
}
_DATE_RE = re.compile(r"(\d{4})[-/]?(\d{2})[-/]?(\d{2})(?:[T ]?\d{2}:?\d{2}:?\d{2}.*)?")


class IdentityError(Exception):
    """The login cannot complete; ``message_vi`` is shown to the citizen, ``reason`` is for code.

    ``reason`` is one of ``state_mismatch``, ``access_denied``, ``invalid_grant``,
    ``invalid_client``, ``invalid_id_token``, ``expired_id_token``, ``nonce_mismatch``,
    ``audience_mismatch``, ``issuer_mismatch``, ``subject_mismatch``, ``invalid_response``,
    ``provider_error``, ``unavailable``.
    """

    def __init__(self, message_vi: str, *, reason: str, detail: str = "") -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message_vi} [{self.reason}] ({self.detail})" if self.detail else self.message_vi


class IdentityUnavailable(IdentityError):
    """The provider could not be reached or failed (network, timeout, 5xx): try again later."""


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint gave; kept by the web session for logout and revocation."""

    access_token: str = field(repr=False)
    id_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str = ""


@dataclass(frozen=True)
class Identity:
    """A person or organisation as the national account vouches for them.

    ``account_type`` is ``citizen``, ``business`` or ``organization`` (``LoaiTaiKhoan``
    1/2/3; ``None`` if the provider sent something else). ``id_number`` is the personal
    identification number (``SoDinhDanh``, or the old ``SoCMND``); for a business it is
    its representative's, the business itself being ``tax_code`` / ``organization_name``.
    ``assurance_level`` is VNeID's ``IAL`` when present, else the highest ``loAs`` entry,
    else the ID token's ``acr``. ``raw_claims`` keeps everything the provider sent.
    """

    subject: str
    account_type: str | None
    id_number: str | None = field(default=None, repr=False)
    full_name: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)
    gender: str | None = field(default=None, repr=False)
    assurance_level: str | None = None
    tax_code: str | None = field(default=None, repr=False)
    organization_name: str | None = field(default=None, repr=False)
    tech_id: str | None = field(default=None, repr=False)
    raw_claims: dict[str, Any] = field(default_factory=dict, repr=False)
    tokens: Tokens | None = field(default=None, repr=False, compare=False)


def identity_from_claims(claims: Mapping[str, Any], *, tokens: Tokens | None = None) -> Identity:
    """Build an :class:`Identity` from merged ID-token and userinfo claims.

    Lenient on spelling (numbers or strings, empty strings as absent) because deployments
    differ; strict only on ``sub``, without which nobody can be recognised twice.
    """
    subject = _text(claims.get("sub"))
    if not subject:
        raise IdentityError(
            "Hệ thống xác thực không trả về mã định danh tài khoản (sub)",
            reason="invalid_response",
            detail="missing sub",
        )
    account_code = _text(claims.get("LoaiTaiKhoan"))
    gender = _text(claims.get("GioiTinh"))
    return Identity(
        subject=subject,
        account_type=ACCOUNT_TYPES.get(account_code or ""),
        id_number=_text(claims.get("SoDinhDanh")) or _text(claims.get("SoCMND")),
        full_name=_text(claims.get("HoVaTen")),
        email=_text(claims.get("ThuDienTu")),
        phone=_text(claims.get("SoDienThoai")),
        address=_text(claims.get("DiaChi")),
        birth_date=_birth_date(claims.get("NgayThangNamSinh")),
        gender=_GENDERS.get(gender.casefold()) if gender else None,
        assurance_level=_assurance(claims),
        tax_code=_text(claims.get("MaSoDoanhNghiep")) or _text(claims.get("MaSoThue")),
        organization_name=_text(claims.get("TenDoanhNghiep")),
        tech_id=_text(claims.get("TechID")),
        raw_claims=dict(claims),
        tokens=tokens,
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _birth_date(value: Any) -> date | None:
    """``NgayThangNamSinh`` is written year first: ``19900115``, ``1990-01-15`` or ``1990/01/15``."""
    match = _DATE_RE.fullmatch(_text(value) or "")
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _assurance(claims: Mapping[str, Any]) -> str | None:
    ial = _text(claims.get("IAL"))
    if ial:
        return f"IAL{ial}" if ial.isdigit() else ial
    loas = claims.get("loAs")
    if isinstance(loas, str):
        loas = re.split(r"[\s,]+", loas)
    if isinstance(loas, list):
        levels = sorted((str(v).strip() for v in loas if str(v).strip()), key=_level_rank)
        if levels:
            return levels[-1]
    return _text(claims.get("acr"))


def _level_rank(level: str) -> tuple[int, str]:
    digits = re.findall(r"\d+", level)
    return (int(digits[-1]) if digits else 0, level)
