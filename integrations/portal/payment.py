"""Online payment of fees through the DVCQG Payment Platform (connector id ``dvcqg_payment``).

``init_payment`` sends the signed ``INIT`` message and gives back the platform's payer page
to redirect the citizen to; the platform later POSTs a signed *confirm* to our web app
(see :mod:`.payment_signing`), and ``query_payment`` asks for the state when that confirm
is late or lost. Why the details matter:

* ``MaThamChieu`` (unique per payment attempt) is derived from the outbox idempotency key:
  a retried ``INIT`` carries the same reference, and the platform answers an ``INIT`` it
  already has with the same transaction -- one payment attempt, however many retries;
* every message is signed (``MaXacThuc``) with the partner secret; a QUERY answer that
  carries a signature is verified, so a forged "paid" cannot slip in through a proxy;
* ``ThongTinGiaoDich`` travels to banks and is hashed: it is folded to plain ASCII and kept
  free of ``|`` (the hash separator).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from ..base import Connector, ConnectorRejected, ConnectorUnavailable, HealthReport, operation
from ..registry import register
from ._http import check_timeout, check_url, json_body, new_client, post, reject_client_error
from .hoso import VN_TZ
from .payment_signing import (
    CONFIRM_FIELDS,
    INIT_FIELDS,
    QUERY_FIELDS,
    ConfirmResult,
    confirm_reply,
    sign_fields,
    sign_message,
    verify_confirm_callback,
)

__all__ = [
    "ConfirmResult",
    "DvcqgPaymentConnector",
    "ascii_fold",
    "confirm_reply",
    "reference_for",
    "sign_fields",
    "verify_confirm_callback",
]

_CONFIG_KEYS = frozenset(
    {
        "init_url", "query_url", "bill_url", "partner_code", "secret", "access_token", "timeout", "version",
        "reference_prefix", "ip", "beneficiary_account", "beneficiary_bank", "beneficiary_name",
        "require_signed_answers", "verify_tls",
    }
)  # fmt: skip
_INIT_KEYS = frozenset(
    {
        "dossier_code", "amount", "description", "procedure_code", "procedure_name", "service_code",
        "agency_code", "agency_name", "payer", "fees", "service_kind", "ip",
    }
)  # fmt: skip
_WHERE = "Nền tảng thanh toán DVCQG"
#: TrangThaiGD -> our state (1 paid, 3 pending, 4 failed).
STATES = {"1": "paid", "3": "pending", "4": "failed"}
#: QUERY answers meaning "the platform works and our signature is right" (?: "01" = not found).
_PROBE_OK = frozenset({"00", "01"})


def reference_for(idempotency_key: str, prefix: str = "mc") -> str:
    """``MaThamChieu`` for a payment attempt: stable across retries of one outbox row."""
    return prefix + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:24]


def ascii_fold(text: str) -> str:
    """Vietnamese text as plain ASCII without ``|`` ("Lệ phí đăng ký" -> "Le phi dang ky"): bank-safe and hash-safe."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in folded if c.isascii() and not unicodedata.combining(c)).replace("|", "/")


@register
class DvcqgPaymentConnector(Connector):
    """Partner client of the DVCQG Payment Platform (INIT, QUERY, GET_BILL).

    Config: ``init_url``, ``query_url``, optional ``bill_url`` (the platform publishes one
    URL per message type), ``partner_code`` (MaDoiTac), ``secret`` (the hash secret),
    optional ``access_token`` (sent as ``Authorization: Bearer``), ``timeout`` (10 s),
    ``version`` (PhienBan, "1.0.6"), ``reference_prefix`` ("mc"), ``ip`` (our public address,
    "127.0.0.1"), receipt defaults ``beneficiary_account``/``beneficiary_bank``/
    ``beneficiary_name``, ``require_signed_answers`` (false: refuse unsigned QUERY answers)
    and ``verify_tls`` (true).
    """

    id = "dvcqg_payment"
    kind = "payment"
    title = "Cổng DVCQG – thanh toán trực tuyến (Payment Platform)"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        self.init_url: str = check_url(self.config, "init_url")  # type: ignore[assignment]
        self.query_url: str = check_url(self.config, "query_url")  # type: ignore[assignment]
        self.bill_url = check_url(self.config, "bill_url", required=False)
        for key in ("partner_code", "secret"):
            if not isinstance(config.get(key), str) or not config[key]:
                raise ValueError(f"'{key}' is required (a non-empty string)")
        self.partner_code: str = config["partner_code"]
        self.secret: str = config["secret"]
        texts = {}
        for key, default in (
            ("access_token", ""), ("version", "1.0.6"), ("reference_prefix", "mc"), ("ip", "127.0.0.1"),
            ("beneficiary_account", ""), ("beneficiary_bank", ""), ("beneficiary_name", ""),
        ):  # fmt: skip
            value = config.get(key, default)
            if not isinstance(value, str) or "\n" in value or "|" in value:
                raise ValueError(f"'{key}' must be a single-line string without '|'")
            texts[key] = value
        if not texts["reference_prefix"].isalnum():
            raise ValueError("'reference_prefix' must be letters and digits only")
        self.access_token, self.version = texts["access_token"], texts["version"]
        self.reference_prefix, self.ip = texts["reference_prefix"], texts["ip"]
        self.beneficiary = (
            texts["beneficiary_account"],
            texts["beneficiary_bank"],
            texts["beneficiary_name"],
        )
        self.timeout = check_timeout(self.config)
        self.require_signed_answers = config.get("require_signed_answers", False)
        self.verify_tls = config.get("verify_tls", True)
        if not isinstance(self.require_signed_answers, bool) or not isinstance(self.verify_tls, bool):
            raise ValueError("'require_signed_answers' and 'verify_tls' must be true or false")

    # -- operations ----------------------------------------------------------------------

    @operation(waits_for_result=True, description="Khởi tạo giao dịch thanh toán phí, lệ phí hồ sơ (INIT)")
    def init_payment(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Returns ``{"redirect_url", "reference", "amount"}``; the citizen pays at ``redirect_url``."""
        reference = reference_for(idempotency_key, self.reference_prefix)
        message = self._init_message(payload, reference)
        answer = self._send(self.init_url, message, "khởi tạo thanh toán", idempotency_key)
        code = str(answer.get("error_code", "")).strip()
        if code != "0":
            raise ConnectorRejected(
                f"{_WHERE} từ chối khởi tạo thanh toán: {answer.get('message') or 'không rõ lý do'} (mã {code})",
                detail=str(answer)[:300],
            )
        try:
            inner = (
                json.loads(answer["message"]) if isinstance(answer.get("message"), str) else answer["message"]
            )
            url = inner["UrlThanhToan"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectorUnavailable(
                f"{_WHERE} không trả về địa chỉ trang thanh toán (UrlThanhToan), sẽ thử lại",
                detail=str(answer)[:300],
            ) from exc
        return {"redirect_url": url, "reference": reference, "amount": int(message["SoTien"])}

    @operation(waits_for_result=True, description="Tra cứu trạng thái giao dịch thanh toán (QUERY)")
    def query_payment(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """``{"reference"}`` -> ``{"reference", "state": "paid"|"pending"|"failed", ...}``."""
        reference = _reference(payload)
        answer = self._send(self.query_url, self._short_message("QUERY", reference), "tra cứu giao dịch",
                            idempotency_key)  # fmt: skip
        self._check_answer_signature(answer)
        if str(answer.get("MaLoi")) != "00":
            raise ConnectorRejected(
                f"{_WHERE} từ chối tra cứu giao dịch {reference}: {answer.get('MoTaLoi') or 'không rõ lý do'}"
                f" (mã {answer.get('MaLoi')})",
                detail=str(answer)[:300],
            )
        platform_state = str(answer.get("TrangThaiGD", "")).strip()
        amount = str(answer.get("SoTien", ""))
        return {
            "reference": reference,
            "state": STATES.get(platform_state, "pending"),  # unknown states: ask again later
            "platform_state": platform_state,
            "amount": int(float(amount)) if amount.replace(".", "", 1).isdigit() else None,
            "transaction_id": answer.get("MaGiaoDich") or None,
            "bank_code": answer.get("MaNganHang") or None,
            "paid_at": answer.get("ThoiGianGD") or None,
        }

    @operation(
        waits_for_result=True, description="Lấy biên lai điện tử (PDF) của giao dịch đã thanh toán (GET_BILL)"
    )
    def get_receipt(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """``{"reference"}`` -> ``{"reference", "content_type", "pdf_base64", "size"}``."""
        reference = _reference(payload)
        if not self.bill_url:
            raise ConnectorRejected("Chưa cấu hình địa chỉ lấy biên lai (bill_url) của Nền tảng thanh toán")
        what = "lấy biên lai"
        with self._client() as client:
            response = post(
                client,
                self.bill_url,
                where_vi=_WHERE,
                what_vi=what,
                json=self._short_message("GET_BILL", reference),
                headers=self._headers(idempotency_key),
            )
        reject_client_error(response, where_vi=_WHERE, what_vi=what)
        if not response.content.startswith(b"%PDF"):
            answer = json_body(response, where_vi=_WHERE, what_vi=what)
            reason = answer.get("MoTaLoi") or answer.get("message") if isinstance(answer, dict) else None
            raise ConnectorRejected(
                f"{_WHERE} không trả biên lai của giao dịch {reference}: {reason or answer}"
            )
        return {
            "reference": reference,
            "content_type": "application/pdf",
            "pdf_base64": base64.b64encode(response.content).decode("ascii"),
            "size": len(response.content),
        }

    def check_config(self) -> HealthReport:
        """A signed QUERY for a reference that does not exist: proves the URL, token and secret."""
        try:
            answer = self._send(self.query_url, self._short_message("QUERY", f"{self.reference_prefix}probe"),
                                "kiểm tra cấu hình", None)  # fmt: skip
            self._check_answer_signature(answer)
        except (ConnectorRejected, ConnectorUnavailable) as exc:
            return HealthReport(ok=False, detail=exc.message_vi)
        except Exception as exc:  # a health probe reports, it never raises
            return HealthReport(ok=False, detail=f"Lỗi không mong đợi khi kiểm tra {_WHERE}: {exc!r}")
        if str(answer.get("MaLoi")) not in _PROBE_OK:
            return HealthReport(
                ok=False, detail=f"{_WHERE} từ chối: {answer.get('MoTaLoi')} (mã {answer.get('MaLoi')})"
            )
        return HealthReport(ok=True, detail=f"{_WHERE} trả lời đúng chữ ký cho đối tác {self.partner_code}")

    # -- messages --------------------------------------------------------------------------

    def _now(self) -> str:
        return datetime.now(VN_TZ).strftime("%Y%m%d%H%M%S")

    def _short_message(self, kind: str, reference: str) -> dict[str, str]:
        message = {"LoaiBanTin": kind, "PhienBan": self.version, "MaDoiTac": self.partner_code,
                   "MaThamChieu": reference, "ThoiGianGD": self._now()}  # fmt: skip
        message["MaXacThuc"] = sign_message(message, QUERY_FIELDS, self.secret)
        return message

    def _init_message(self, payload: Mapping[str, Any], reference: str) -> dict[str, Any]:
        unknown = sorted(set(payload) - _INIT_KEYS)
        if unknown:
            raise _bad(f"trường không được hỗ trợ: {', '.join(unknown)}")
        code, amount = payload.get("dossier_code"), payload.get("amount")
        if not isinstance(code, str) or not code.strip():
            raise _bad("thiếu mã hồ sơ 'dossier_code'")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise _bad(f"'amount' phải là số tiền nguyên dương (VND): {amount!r}")
        payer = payload.get("payer") or {}
        if not isinstance(payer, Mapping) or set(payer) - {"name", "id_number", "address"}:
            raise _bad("'payer' chỉ gồm name, id_number, address")
        fees = _fees(payload.get("fees"), amount, code)
        kind = payload.get("service_kind", "fee")
        if kind not in ("fee", "fine"):
            raise _bad("'service_kind' phải là 'fee' hoặc 'fine'")
        info = ascii_fold(str(payload.get("description") or f"Thanh toan ho so {code}"))[:255]
        text = lambda key: str(payload.get(key) or "")  # noqa: E731
        account, bank, account_name = self.beneficiary
        message: dict[str, Any] = {
            "LoaiBanTin": "INIT", "PhienBan": self.version, "MaDoiTac": self.partner_code, "MaThamChieu": reference,
            "SoTien": str(amount), "LoaiHinhThanhToan": "PAY", "MaKenhThanhToan": "1", "MaThietBi": "1",
            "NgonNgu": "vi-VN", "MaTienTe": "VND", "MaNganHang": "PAYMENT", "ThongTinGiaoDich": info,
            "ThoiGianGD": self._now(), "Ip": ascii_fold(str(payload.get("ip") or self.ip)),
            "ThongTinBienLai": {
                "MaDichVu": "2" if kind == "fee" else "1", "MaDVC": text("service_code") or text("procedure_code"),
                "TenDVC": text("procedure_name"), "MaTTHC": text("procedure_code"), "TenTTHC": text("procedure_name"),
                "MaDonVi": text("agency_code"), "TenDonVi": text("agency_name"), "MaHoSo": code,
                "TKThuHuong": account, "MaNHThuHuong": bank, "TenTKThuHuong": account_name,
                "NoiDungThanhToan": info, "HoTenNguoiNop": str(payer.get("name") or ""),
                "SoCMNDNguoiNop": str(payer.get("id_number") or ""), "DiaChiNguoiNop": str(payer.get("address") or ""),
                "PhiLePhi": fees, "DSKhoanNop": [{"NoiDung": ascii_fold(f["TenPhiLePhi"]), "SoTien": f["SoTien"]} for f in fees],
            },
        }  # fmt: skip
        message["MaXacThuc"] = sign_message(message, INIT_FIELDS, self.secret)
        return message

    def _check_answer_signature(self, answer: Mapping[str, Any]) -> None:
        if "MaXacThuc" not in answer and not self.require_signed_answers:
            return
        given = str(answer.get("MaXacThuc") or "").strip().lower()
        if not hmac.compare_digest(given, sign_message(answer, CONFIRM_FIELDS, self.secret)):
            raise ConnectorRejected(
                f"Chữ ký (MaXacThuc) trong trả lời của {_WHERE} không đúng; kiểm tra mã bí mật (secret)",
                detail=str(answer)[:300],
            )

    # -- transport -------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        return new_client(self.timeout, verify_tls=self.verify_tls)

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _send(self, url: str, message: dict[str, Any], what_vi: str, key: str | None) -> dict[str, Any]:
        with self._client() as client:
            response = post(
                client, url, where_vi=_WHERE, what_vi=what_vi, json=message, headers=self._headers(key)
            )
        reject_client_error(response, where_vi=_WHERE, what_vi=what_vi)
        answer = json_body(response, where_vi=_WHERE, what_vi=what_vi)
        if not isinstance(answer, dict):
            raise ConnectorUnavailable(
                f"{_WHERE} trả lời sai định dạng khi {what_vi}", detail=str(answer)[:300]
            )
        return answer


def _reference(payload: Mapping[str, Any]) -> str:
    reference = payload.get("reference")
    if set(payload) != {"reference"} or not isinstance(reference, str) or not reference.isalnum():
        raise _bad("cần đúng một trường 'reference' (mã tham chiếu, chữ và số)")
    return reference


def _fees(value: Any, amount: int, code: str) -> list[dict[str, str]]:
    """PhiLePhi lines; they must add up to the amount charged (a receipt that does not is refused later)."""
    if value is None:
        return [
            {
                "LoaiPhiLePhi": "2",
                "MaPhiLePhi": "",
                "TenPhiLePhi": f"Le phi ho so {code}",
                "SoTien": str(amount),
            }
        ]
    if not isinstance(value, list) or not value:
        raise _bad("'fees' phải là danh sách khoản phí, lệ phí")
    lines = []
    for i, fee in enumerate(value):
        if not isinstance(fee, Mapping) or set(fee) - {"kind", "code", "name", "amount"}:
            raise _bad(f"'fees[{i}]' chỉ gồm kind, code, name, amount")
        fee_amount = fee.get("amount")
        if (
            isinstance(fee_amount, bool)
            or not isinstance(fee_amount, int)
            or fee_amount < 0
            or not fee.get("name")
        ):
            raise _bad(f"'fees[{i}]' cần 'name' và 'amount' nguyên không âm")
        kind = {"fee": "1", "charge": "2"}.get(fee.get("kind", "charge"))
        if kind is None:
            raise _bad(f"'fees[{i}].kind' phải là 'fee' hoặc 'charge'")
        lines.append({"LoaiPhiLePhi": kind, "MaPhiLePhi": str(fee.get("code") or ""),
                      "TenPhiLePhi": str(fee["name"]), "SoTien": str(fee_amount)})  # fmt: skip
    if sum(int(line["SoTien"]) for line in lines) != amount:
        raise _bad(f"tổng các khoản phí khác số tiền thanh toán {amount}")
    return lines


def _bad(reason_vi: str) -> ConnectorRejected:
    return ConnectorRejected(f"Dữ liệu thanh toán không hợp lệ: {reason_vi}", detail=reason_vi)
