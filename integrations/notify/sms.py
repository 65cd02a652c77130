"""SMS notifications through a brandname-SMS HTTP gateway (connector id ``sms``).

Why the details below matter:

* Vietnamese brandname gateways take a JSON ``POST /sms/send`` with ``brandname``,
  ``phone`` (``84xxxxxxxxx``), ``message`` and a ``request_id``; the outbox worker's
  idempotency key *is* that ``request_id`` (and the ``Idempotency-Key`` header), so a
  retried call is recognised by the gateway and the citizen gets one SMS, not three;
* the gateway answers with its own codes (``"00"`` accepted, ``"01"`` invalid phone,
  ``"99"`` system busy...) inside HTTP 200; every code is mapped to the outbox contract:
  busy or out of credit is transient (:class:`ConnectorUnavailable`), anything about the
  request itself is permanent (:class:`ConnectorRejected`);
* a long Vietnamese text is expensive and may be refused: with diacritics the message is
  UCS-2 (67 characters per part), without it GSM 7-bit (153 per part); at most three parts
  are sent. Many brandname contracts only allow unaccented text, which
  :func:`strip_vietnamese_diacritics` produces correctly (``đ`` -> ``d``, ``ư`` -> ``u``);
* delivery is asynchronous at the operator: ``status`` asks the gateway for the delivery
  report of a sent message.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ..base import (
    Connector,
    ConnectorError,
    ConnectorPending,
    ConnectorRejected,
    ConnectorUnavailable,
    HealthReport,
    operation,
)
from ..registry import register
from ..tls import system_context

__all__ = [
    "MAX_SEGMENTS",
    "SmsConnector",
    "encode_info",
    "normalise_phone",
    "request_id_for",
    "strip_vietnamese_diacritics",
]

_CONFIG_KEYS = frozenset({"url", "api_key", "brandname", "timeout", "strip_diacritics", "states"})
_PAYLOAD_KEYS = frozenset({"to", "text"})

#: Longest message the gateway accepts: three concatenated parts.
MAX_SEGMENTS = 3

# GSM 03.38: the basic set costs one septet per character, the extension set two (escape + char).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# Characters that NFD does not decompose, and typographic ones a template may carry.
_UNACCENTED = str.maketrans(
    {
        "đ": "d",
        "Đ": "D",
        "\u00a0": " ",
        "“": '"',
        "”": '"',
        "‘": "'",
        "’": "'",
        "–": "-",
        "—": "-",
        "…": "...",
    }
)

_PHONE_RE = re.compile(r"(?:\+?84|0)([35789]\d{8})")
_PHONE_NOISE = re.compile(r"[\s.\-()]")
_BRANDNAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,10}")
_URL_RE = re.compile(r"https?://[^\s/]+(/\S*)?")
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:/-]{1,64}")

# Gateway codes -> (transient?, Vietnamese explanation). Unknown codes are permanent: an
# answer we do not understand should reach an administrator, not loop in retries.
_GATEWAY_CODES: dict[str, tuple[bool, str]] = {
    "01": (False, "số điện thoại không hợp lệ"),
    "02": (False, "sai khóa API (api_key), kiểm tra lại cấu hình"),
    "03": (False, "tên thương hiệu (brandname) chưa được đăng ký"),
    "04": (False, "nội dung tin nhắn không hợp lệ (quá dài hoặc chứa ký tự không được phép)"),
    "05": (False, "thiếu hoặc sai trường dữ liệu"),
    "06": (True, "tài khoản SMS đã hết hạn mức"),
    "08": (False, "không tìm thấy tin nhắn"),
    "99": (True, "hệ thống SMS đang bận"),
}


def normalise_phone(value: Any) -> str:
    """``0912 345 678``, ``+84912345678`` or ``84912345678`` -> ``84912345678``; ``ValueError`` otherwise.

    Only mobile prefixes (3, 5, 7, 8, 9 after the country code) can receive an SMS.
    """
    if not isinstance(value, str):
        raise ValueError(f"not a phone number: {value!r}")
    match = _PHONE_RE.fullmatch(_PHONE_NOISE.sub("", value))
    if match is None:
        raise ValueError(f"not a Vietnamese mobile number: {value!r}")
    return "84" + match.group(1)


def strip_vietnamese_diacritics(text: str) -> str:
    """Vietnamese without accents, as brandname gateways want it: ``Đường`` -> ``Duong``.

    NFD splits every accented letter into its base and combining marks (``ư`` is ``u`` plus
    a horn, ``ế`` is ``e`` plus circumflex and acute); dropping the marks leaves the base.
    ``đ`` has no decomposition, so it is mapped explicitly.
    """
    decomposed = unicodedata.normalize("NFD", text.translate(_UNACCENTED))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare)


def encode_info(text: str) -> tuple[str, int, int]:
    """``(encoding, length, segments)`` of ``text`` as the operator will count it.

    ``gsm7`` counts septets (extension characters cost two), ``ucs2`` UTF-16 code units.
    """
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text):
        length = sum(2 if ch in _GSM7_EXTENSION else 1 for ch in text)
        single, part = 160, 153
        encoding = "gsm7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part = 70, 67
        encoding = "ucs2"
    segments = 1 if length <= single else math.ceil(length / part)
    return encoding, length, segments


def request_id_for(idempotency_key: str) -> str:
    """The gateway's ``request_id`` for an idempotency key: the key itself when it fits, else its hash.

    Stable across retries, which is the whole point.
    """
    if _REQUEST_ID_RE.fullmatch(idempotency_key):
        return idempotency_key
    return "h-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


#: Delivery states seen at Vietnamese brandname gateways, mapped to ours (``states`` adds or overrides).
DEFAULT_STATES = {"delivered": "delivered", "success": "delivered", "pending": "pending", "sent": "pending",
                  "accepted": "pending", "queued": "pending", "failed": "failed", "undelivered": "failed",
                  "expired": "failed", "rejected": "failed", "error": "failed"}


@register
class SmsConnector(Connector):
    """Sends SMS through the province's brandname gateway and reads delivery reports.

    Config: ``url`` (gateway base URL), ``api_key`` (sent as ``Authorization: Bearer``),
    ``brandname`` (registered sender name, at most 11 characters), ``timeout`` seconds
    (default 10), ``strip_diacritics`` (default false: send Vietnamese with accents),
    ``states``: how the gateway's delivery states map to ours (``delivered``, ``pending``,
    ``failed``; gateways differ, so this is configuration; defaults in :data:`DEFAULT_STATES`).
    """

    id = "sms"
    kind = "notify"
    title = "Tin nhắn SMS (brandname)"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        url = config.get("url")
        if not isinstance(url, str) or not _URL_RE.fullmatch(url):
            raise ValueError(f"'url' must be an http(s) URL, got {url!r}")
        self.url: str = url.rstrip("/")
        api_key = config.get("api_key")
        if not isinstance(api_key, str) or not api_key.strip() or not api_key.isascii():
            raise ValueError("'api_key' is required (ASCII)")
        self.api_key: str = api_key
        brandname = config.get("brandname")
        if not isinstance(brandname, str) or not _BRANDNAME_RE.fullmatch(brandname):
            raise ValueError(f"'brandname' must be 1-11 letters, digits, space . _ -, got {brandname!r}")
        self.brandname: str = brandname
        timeout = config.get("timeout", 10)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise ValueError(f"'timeout' must be a positive number of seconds, got {timeout!r}")
        self.timeout: float = float(timeout)
        strip = config.get("strip_diacritics", False)
        if not isinstance(strip, bool):
            raise ValueError(f"'strip_diacritics' must be true or false, got {strip!r}")
        self.strip_diacritics: bool = strip
        states = config.get("states") or {}
        if not isinstance(states, Mapping) or not all(
                isinstance(k, str) and v in ("delivered", "pending", "failed") for k, v in states.items()):
            raise ValueError("'states' maps the gateway's states to delivered, pending or failed")
        self.states: dict[str, str] = {**DEFAULT_STATES, **{k.lower(): v for k, v in states.items()}}

    # -- operations --------------------------------------------------------------------

    @operation(
        waits_for_result=False,
        description="Gửi tin nhắn SMS thông báo (payload: to, text)",
    )
    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Hand one SMS to the gateway; returns ``message_id``, ``status``, ``phone``, ``encoding``, ``segments``.

        "accepted" means the gateway queued it; whether the phone received it is what
        ``status`` answers later.
        """
        phone, message, encoding, segments = self._prepare(payload)
        request_id = request_id_for(idempotency_key)
        body = {"brandname": self.brandname, "phone": phone, "message": message, "request_id": request_id}
        answer = self._request("POST", "/sms/send", "gửi tin nhắn", json=body, idempotency_key=request_id)
        message_id = answer.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise ConnectorUnavailable(
                "Cổng SMS trả lời thiếu mã tin nhắn (message_id), sẽ thử lại", detail=repr(answer)[:300]
            )
        return {
            "message_id": message_id,
            "status": str(answer.get("status") or "accepted"),
            "phone": phone,
            "request_id": request_id,
            "encoding": encoding,
            "segments": segments,
        }

    @operation(
        waits_for_result=True,
        description="Tra cứu báo cáo phát tin nhắn SMS (payload: message_id, until_final tùy chọn)",
    )
    def status(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Delivery state of a sent message: ``{"message_id", "state", "updated_at"}``.

        ``state`` is ``delivered``, ``pending`` or ``failed``. With ``until_final`` a
        ``pending`` state raises :class:`ConnectorUnavailable`, so the outbox keeps asking
        (with back-off) until the operator reports a final state.
        """
        unknown = sorted(set(payload) - {"message_id", "until_final"})
        if unknown:
            raise _bad_payload(f"trường không được hỗ trợ: {', '.join(unknown)}")
        message_id = payload.get("message_id")
        if not isinstance(message_id, str) or not message_id.strip():
            raise _bad_payload("thiếu mã tin nhắn 'message_id'")
        until_final = payload.get("until_final", False)
        if not isinstance(until_final, bool):
            raise _bad_payload("'until_final' phải là true hoặc false")
        path = f"/sms/status/{quote(message_id, safe='')}"
        answer = self._request(
            "GET", path, "tra cứu trạng thái tin nhắn", idempotency_key=request_id_for(idempotency_key)
        )
        reported = answer.get("state")
        state = self.states.get(reported.lower()) if isinstance(reported, str) else None
        if state is None:
            raise ConnectorUnavailable(
                f"Cổng SMS trả về trạng thái không xác định {reported!r}, sẽ thử lại", detail=repr(answer)[:300]
            )
        if until_final and state == "pending":
            raise ConnectorPending(
                "Tin nhắn chưa có báo cáo phát từ nhà mạng, sẽ kiểm tra lại", detail=f"{message_id}: pending"
            )
        return {"message_id": message_id, "state": state, "updated_at": answer.get("updated_at")}

    def check_config(self) -> HealthReport:
        """Ask the gateway for the account: proves URL, API key and brandname in one call."""
        try:
            answer = self._request(
                "GET", "/sms/account", "kiểm tra tài khoản", timeout=min(self.timeout, 5.0)
            )
        except ConnectorError as exc:
            return HealthReport(ok=False, detail=exc.message_vi)
        except Exception as exc:  # a health probe reports, it never raises
            return HealthReport(ok=False, detail=f"Lỗi không mong đợi khi kiểm tra cổng SMS: {exc!r}")
        brandnames = answer.get("brandnames")
        if isinstance(brandnames, list) and self.brandname not in brandnames:
            return HealthReport(
                ok=False,
                detail=f"Tên thương hiệu '{self.brandname}' chưa được đăng ký với cổng SMS "
                f"(đã đăng ký: {', '.join(map(str, brandnames)) or '-'})",
            )
        balance = answer.get("balance")
        extra = f", hạn mức còn {balance}" if balance is not None else ""
        return HealthReport(
            ok=True, detail=f"Kết nối được cổng SMS {self.url} (brandname '{self.brandname}'{extra})"
        )

    # -- helpers -----------------------------------------------------------------------

    def _prepare(self, payload: Mapping[str, Any]) -> tuple[str, str, str, int]:
        """Validate the payload; every problem found here is permanent."""
        unknown = sorted(set(payload) - _PAYLOAD_KEYS)
        if unknown:
            raise _bad_payload(f"trường không được hỗ trợ: {', '.join(unknown)}")
        try:
            phone = normalise_phone(payload.get("to"))
        except ValueError:
            raise _bad_payload(f"số điện thoại di động không hợp lệ: {payload.get('to')!r}") from None
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad_payload("thiếu nội dung 'text'")
        message = unicodedata.normalize("NFC", text.strip())
        if self.strip_diacritics:
            message = strip_vietnamese_diacritics(message)
        encoding, length, segments = encode_info(message)
        if segments > MAX_SEGMENTS:
            limit = MAX_SEGMENTS * (153 if encoding == "gsm7" else 67)
            hint = (
                ""
                if self.strip_diacritics or encoding == "gsm7"
                else "; có thể bật 'strip_diacritics' để gửi không dấu"
            )
            raise _bad_payload(
                f"nội dung quá dài ({length} ký tự {'không dấu' if encoding == 'gsm7' else 'có dấu'}, "
                f"tối đa {limit}){hint}"
            )
        return phone, message, encoding, segments

    def _request(
        self,
        method: str,
        path: str,
        what_vi: str,
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One call to the gateway, every failure translated to the outbox contract."""
        url = self.url + path
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            with httpx.Client(timeout=timeout or self.timeout, verify=system_context()) as client:
                response = client.request(method, url, json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise ConnectorUnavailable(
                f"Cổng SMS không trả lời trong {timeout or self.timeout:g} giây khi {what_vi}, sẽ thử lại",
                detail=f"{url}: {exc!r}",
            ) from exc
        except httpx.TransportError as exc:
            raise ConnectorUnavailable(
                f"Không kết nối được cổng SMS khi {what_vi}, sẽ thử lại", detail=f"{url}: {exc!r}"
            ) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ConnectorUnavailable(
                f"Cổng SMS tạm thời lỗi (HTTP {response.status_code}) khi {what_vi}, sẽ thử lại",
                detail=f"{url}: {response.text[:300]}",
                code=response.status_code,
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            if response.is_success:  # a proxy's page instead of the gateway: may pass
                raise ConnectorUnavailable(
                    f"Cổng SMS trả lời không đúng định dạng khi {what_vi}, sẽ thử lại",
                    detail=response.text[:300],
                )
            raise ConnectorRejected(
                f"Cổng SMS từ chối yêu cầu (HTTP {response.status_code}) khi {what_vi}",
                detail=f"{url}: {response.text[:300]}",
                code=response.status_code,
            )
        code = str(answer.get("code", ""))
        if code == "00" and response.is_success:
            return answer
        raise _gateway_error(code, answer, response.status_code, what_vi)


def _gateway_error(code: str, answer: Mapping[str, Any], http_status: int, what_vi: str) -> ConnectorError:
    transient, reason = _GATEWAY_CODES.get(code, (False, "lỗi không xác định"))
    remote = str(answer.get("message") or "")
    text = f"Cổng SMS báo lỗi mã '{code or '-'}' khi {what_vi}: {reason}"
    if remote:
        text += f" ({remote})"
    detail = f"HTTP {http_status}: {answer!r}"[:300]
    if transient:
        return ConnectorUnavailable(text + ", sẽ thử lại", detail=detail, code=http_status)
    return ConnectorRejected(text, detail=detail, code=http_status)


def _bad_payload(reason_vi: str) -> ConnectorRejected:
    return ConnectorRejected(f"Dữ liệu gửi SMS không hợp lệ: {reason_vi}", detail=reason_vi)
