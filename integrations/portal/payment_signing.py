"""``MaXacThuc`` of the DVCQG Payment Platform, and the confirm callback our web app receives.

Every Payment Platform message is authenticated by ``MaXacThuc`` = lowercase hex SHA-256 of
a fixed list of its fields joined by ``|`` with the partner secret last (CONNECTORS.md §3a).
These are pure functions so that the connector (outbound INIT/QUERY/GET_BILL), the
simulator (both directions) and the web app's callback route (``POST /DvcPayment/Confirm``
or wherever the province registered it) share one implementation of the rule.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .hoso import VN_TZ

__all__ = [
    "CONFIRM_FIELDS",
    "INIT_FIELDS",
    "QUERY_FIELDS",
    "REPLY_FIELDS",
    "ConfirmResult",
    "confirm_reply",
    "field_text",
    "sign_fields",
    "sign_message",
    "verify_confirm_callback",
]

INIT_FIELDS = (
    "LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "SoTien", "LoaiHinhThanhToan", "MaKenhThanhToan",
    "MaThietBi", "NgonNgu", "MaTienTe", "MaNganHang", "ThongTinGiaoDich", "ThoiGianGD", "Ip",
)  # fmt: skip
#: QUERY and GET_BILL requests.
QUERY_FIELDS = ("LoaiBanTin", "PhienBan", "MaDoiTac", "MaThamChieu", "ThoiGianGD")
#: The confirm callback (platform -> us); the simulator signs QUERY answers the same way.
CONFIRM_FIELDS = (
    "LoaiBanTin", "MaLoi", "MaDoiTac", "MaThamChieu", "SoTien", "MaTienTe", "MaGiaoDich", "MaNganHang",
    "ThoiGianGD", "ThongTinGiaoDich",
)  # fmt: skip
#: Our reply to the confirm callback (?: the field list is inferred, the reply shape is ✔).
REPLY_FIELDS = ("MaLoi", "MaDoiTac", "MaThamChieu", "ThoiGianGD")

PAID = "00"
OTHER_ERROR = "99"


def sign_fields(fields: list[str], secret: str) -> str:
    """``sha256("f1|f2|…|secret")`` as lowercase hex: the platform's ``MaXacThuc``."""
    return hashlib.sha256("|".join([*fields, secret]).encode("utf-8")).hexdigest()


def field_text(value: Any) -> str:
    """How a field value enters the hash: ``None`` -> ``""``; ``50000.0`` -> ``"50000"``.

    The callback sends ``SoTien`` as a JSON number; its text must be what the platform
    hashed, which never has a trailing ``.0``.
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sign_message(message: Mapping[str, Any], names: tuple[str, ...], secret: str) -> str:
    """``MaXacThuc`` of ``message`` over the fields ``names``."""
    return sign_fields([field_text(message.get(name)) for name in names], secret)


def _matches(message: Mapping[str, Any], names: tuple[str, ...], secret: str) -> bool:
    given = message.get("MaXacThuc")
    if not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.strip().lower(), sign_message(message, names, secret))


@dataclass(frozen=True)
class ConfirmResult:
    """What the callback route needs to decide and to answer.

    ``accepted`` means: authentic and not seen before, record it (``paid`` says how). A
    replayed confirm of an already confirmed reference is authentic but not accepted; it
    is still answered "00" (``reply_code``) because the platform re-sends a confirm whose
    answer it did not get, and acknowledging it stops the re-sending without a second effect.
    """

    valid: bool
    accepted: bool
    paid: bool
    duplicate: bool
    reference: str
    amount: int | None
    error_code: str
    transaction_id: str
    bank_code: str
    paid_at: str
    reply_code: str
    reply_message_vi: str


def verify_confirm_callback(
    body: Mapping[str, Any],
    secret: str,
    seen_references: set[str] | frozenset[str] | Callable[[str], bool],
    *,
    partner_code: str | None = None,
) -> ConfirmResult:
    """Check a confirm callback's ``MaXacThuc`` (and partner), refuse replays, read the outcome.

    ``seen_references`` holds (or answers for) the references already confirmed; this
    function does not add to it -- the caller records the reference in the same
    transaction that records the payment.
    """
    reference = field_text(body.get("MaThamChieu")) if isinstance(body, Mapping) else ""
    error_code = field_text(body.get("MaLoi")) if isinstance(body, Mapping) else ""

    def refuse(reason_vi: str) -> ConfirmResult:
        return ConfirmResult(
            valid=False, accepted=False, paid=False, duplicate=False, reference=reference, amount=None,
            error_code=error_code, transaction_id="", bank_code="", paid_at="", reply_code=OTHER_ERROR,
            reply_message_vi=reason_vi,
        )  # fmt: skip

    if not isinstance(body, Mapping) or not reference:
        return refuse("Thiếu mã tham chiếu (MaThamChieu)")
    if not _matches(body, CONFIRM_FIELDS, secret):
        return refuse("Sai mã xác thực (MaXacThuc)")
    if partner_code is not None and field_text(body.get("MaDoiTac")) != partner_code:
        return refuse("Sai mã đối tác (MaDoiTac)")
    seen = seen_references(reference) if callable(seen_references) else reference in seen_references
    amount_text = field_text(body.get("SoTien"))
    return ConfirmResult(
        valid=True,
        accepted=not seen,
        paid=not seen and error_code == PAID,
        duplicate=seen,
        reference=reference,
        amount=int(amount_text) if amount_text.isdigit() else None,
        error_code=error_code,
        transaction_id=field_text(body.get("MaGiaoDich")),
        bank_code=field_text(body.get("MaNganHang")),
        paid_at=field_text(body.get("ThoiGianGD")),
        reply_code=PAID,
        reply_message_vi="Giao dịch đã được ghi nhận trước đó" if seen else "Thành công",
    )


def confirm_reply(
    result: ConfirmResult, *, partner_code: str, secret: str, now: datetime | None = None
) -> dict[str, str]:
    """The signed JSON answer to a confirm callback: ``{MaLoi, MoTaLoi, MaDoiTac, MaThamChieu, ThoiGianGD, MaXacThuc}``."""
    moment = (now or datetime.now(VN_TZ)).astimezone(VN_TZ)
    reply = {
        "MaLoi": result.reply_code,
        "MoTaLoi": result.reply_message_vi
        if result.reply_code == PAID
        else f"Các lỗi khác: {result.reply_message_vi}",
        "MaDoiTac": partner_code,
        "MaThamChieu": result.reference,
        "ThoiGianGD": moment.strftime("%Y%m%d%H%M%S"),
    }
    reply["MaXacThuc"] = sign_message(reply, REPLY_FIELDS, secret)
    return reply
