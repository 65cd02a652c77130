"""E-mail notifications over SMTP (connector id ``email``, operation ``send``).

Why the details below matter:

* the outbox worker retries, so the same notification can be sent twice; the
  ``Message-ID`` is derived from the idempotency key, so every attempt carries the same id
  and a relay or mail client (and our :mod:`~integrations.notify.smtp_simulator`) can
  recognise the repetition;
* the worker only distinguishes "retry" from "give up", so every SMTP outcome is mapped:
  4xx replies, network errors and timeouts are transient (:class:`ConnectorUnavailable`),
  5xx replies and unusable payloads or settings are permanent (:class:`ConnectorRejected`);
* citizens' names and procedure titles are Vietnamese: subject and body are UTF-8, with a
  transfer encoding (RFC 2047 words, base64 body) that survives any relay, even 7-bit ones.
"""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from ..base import Connector, ConnectorError, ConnectorRejected, ConnectorUnavailable, HealthReport, operation
from ..registry import register
from ..tls import system_context

__all__ = ["EmailConnector", "message_id_for"]

_CONFIG_KEYS = frozenset(
    {"host", "port", "sender", "timeout", "starttls", "ssl", "username", "password", "helo_name"}
)
_PAYLOAD_KEYS = frozenset({"to", "subject", "text", "html"})

#: CPython's header folder drops the space between an ASCII word and the next encoded word when
#: it splits a long non-ASCII subject ("xin lỗi" arrives as "xinlỗi"). Not folding keeps one
#: encoded word per header, which every mail client decodes.
_UNFOLDED = email.policy.default.clone(max_line_length=998)


def message_id_for(idempotency_key: str) -> str:
    """The ``Message-ID`` of the notification with this idempotency key (same on every retry)."""
    return f"<{hashlib.sha256(idempotency_key.encode('utf-8')).hexdigest()[:32]}@motcua>"


def _parse_address(value: Any) -> Address:
    """Parse ``addr@domain`` or ``Tên <addr@domain>``; ``ValueError`` unless exactly one clean address.

    Uses the same parser that will render the header, so what passes here is what is sent.
    """
    if not isinstance(value, str) or not value.strip() or "\r" in value or "\n" in value:
        raise ValueError(f"not an e-mail address: {value!r}")
    try:
        header = email.policy.default.header_factory("To", value.strip())
    except Exception as exc:  # the header parser raises assorted errors on garbage
        raise ValueError(f"not an e-mail address: {value!r}") from exc
    groups = header.groups
    if (
        header.defects
        or len(groups) != 1
        or groups[0].display_name is not None
        or len(groups[0].addresses) != 1
    ):
        raise ValueError(f"not exactly one valid e-mail address: {value!r}")
    address = groups[0].addresses[0]
    if not address.username or not address.domain:
        raise ValueError(f"not an e-mail address: {value!r}")
    return address


def _reply_text(message: bytes | str) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


def _by_code(code: int, what_vi: str, message: bytes | str) -> ConnectorError:
    """SMTP reply code -> transient (4xx, or no real code) or permanent (5xx) failure."""
    text = _reply_text(message)
    if 500 <= code <= 599:
        return ConnectorRejected(f"Máy chủ thư từ chối {what_vi} (mã {code}: {text})", detail=text, code=code)
    return ConnectorUnavailable(
        f"Máy chủ thư tạm thời không nhận {what_vi} (mã {code}: {text}), sẽ thử lại", detail=text, code=code
    )


@register
class EmailConnector(Connector):
    """Sends notifications through the province's SMTP relay.

    Config: ``host``, ``port`` (default 25, or 465 with ``ssl``), ``sender`` (``addr`` or
    ``Tên <addr>``), ``timeout`` seconds per network operation (default 10), ``starttls``
    (default false), ``ssl`` (implicit TLS, default false), optional ``username`` /
    ``password`` and ``helo_name`` (name sent in EHLO; defaults to this host's FQDN).
    """

    id = "email"
    kind = "notify"
    title = "Thư điện tử (SMTP)"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        host = config.get("host")
        if not isinstance(host, str) or not host:
            raise ValueError("'host' is required")
        self.host: str = host
        self.use_ssl: bool = _flag(config, "ssl")
        self.starttls: bool = _flag(config, "starttls")
        if self.use_ssl and self.starttls:
            raise ValueError("'ssl' and 'starttls' are mutually exclusive")
        port = config.get("port", 465 if self.use_ssl else 25)
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise ValueError(f"'port' must be an integer 1-65535, got {port!r}")
        self.port: int = port
        timeout = config.get("timeout", 10)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise ValueError(f"'timeout' must be a positive number of seconds, got {timeout!r}")
        self.timeout: float = float(timeout)
        try:
            self.sender: Address = _parse_address(config.get("sender"))
        except ValueError as exc:
            raise ValueError(f"'sender': {exc}") from exc
        for key in ("username", "password", "helo_name"):
            if not isinstance(config.get(key) or "", str):
                raise ValueError(f"'{key}' must be a string")
        self.username: str | None = config.get("username") or None
        self.password: str = config.get("password") or ""
        if self.password and not self.username:
            raise ValueError("'password' given without 'username'")
        if not (self.username or "").isascii() or not self.password.isascii():
            # smtplib encodes AUTH credentials as ASCII; better refuse now than at every send.
            raise ValueError("'username' and 'password' must be ASCII (smtplib cannot send others)")
        self.helo_name: str | None = config.get("helo_name") or None

    # -- operation ---------------------------------------------------------------------

    @operation(
        waits_for_result=False,
        description="Gửi thư điện tử thông báo (payload: to, subject, text, html tùy chọn)",
    )
    def send(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send one message; returns ``message_id``, ``accepted`` and ``refused`` recipients.

        If the relay accepts some recipients and refuses others the call succeeds and the
        refusals are reported in ``refused`` (``{address: {"code", "message"}}``): retrying
        would deliver a second copy to the accepted ones.
        """
        message, recipients = self._build(payload, idempotency_key)
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(message, from_addr=self.sender.addr_spec, to_addrs=recipients)
        except ConnectorError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._all_refused(exc.recipients) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise self._translate(exc, "thư") from exc
        return {
            "message_id": message["Message-ID"],
            "accepted": [r for r in recipients if r not in refused],
            "refused": {r: {"code": code, "message": _reply_text(msg)} for r, (code, msg) in refused.items()},
        }

    def check_config(self) -> HealthReport:
        """Really talk to the relay: connect, EHLO, STARTTLS and login if configured, QUIT."""
        try:
            with self._connect() as smtp:
                smtp.noop()
        except ConnectorError as exc:
            return HealthReport(ok=False, detail=exc.message_vi)
        except (smtplib.SMTPException, OSError) as exc:
            return HealthReport(ok=False, detail=self._translate(exc, "kết nối").message_vi)
        except Exception as exc:  # a health probe reports, it never raises
            return HealthReport(ok=False, detail=f"Lỗi không mong đợi khi kiểm tra máy chủ thư: {exc!r}")
        mode = "SSL" if self.use_ssl else "STARTTLS" if self.starttls else "không mã hóa"
        auth = f", đăng nhập '{self.username}'" if self.username else ""
        return HealthReport(
            ok=True, detail=f"Kết nối được máy chủ thư {self.host}:{self.port} ({mode}{auth})"
        )

    # -- helpers -----------------------------------------------------------------------

    def _build(self, payload: Mapping[str, Any], idempotency_key: str) -> tuple[EmailMessage, list[str]]:
        """Validate the payload and build the message; every problem here is permanent."""
        if "\r" in idempotency_key or "\n" in idempotency_key:
            raise _bad_payload("khóa chống lặp (idempotency key) không được chứa xuống dòng")
        unknown = sorted(set(payload) - _PAYLOAD_KEYS)
        if unknown:
            raise _bad_payload(f"trường không được hỗ trợ: {', '.join(unknown)}")
        to = payload.get("to")
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not to:
            raise _bad_payload("thiếu người nhận 'to'")
        addresses: list[Address] = []
        for value in to:
            try:
                address = _parse_address(value)
            except ValueError:
                raise _bad_payload(f"địa chỉ người nhận không hợp lệ: {value!r}") from None
            if address.addr_spec not in {a.addr_spec for a in addresses}:
                addresses.append(address)
        subject, text, html = payload.get("subject"), payload.get("text"), payload.get("html")
        if not isinstance(subject, str) or not subject.strip():
            raise _bad_payload("thiếu tiêu đề 'subject'")
        if "\r" in subject or "\n" in subject:
            raise _bad_payload("tiêu đề 'subject' không được chứa xuống dòng")
        if not isinstance(text, str):
            raise _bad_payload("thiếu nội dung 'text'")
        if html is not None and not isinstance(html, str):
            raise _bad_payload("'html' phải là chuỗi ký tự")

        message = EmailMessage(policy=_UNFOLDED)
        message["From"] = self.sender
        message["To"] = addresses
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = message_id_for(idempotency_key)
        message["X-Idempotency-Key"] = idempotency_key
        message.set_content(text, charset="utf-8", cte="base64")
        if html is not None:
            message.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
        return message, [a.addr_spec for a in addresses]

    def _connect(self) -> smtplib.SMTP:
        """Open a session ready to send: connected, greeted, TLS and login done as configured."""
        try:
            if self.use_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    local_hostname=self.helo_name,
                    timeout=self.timeout,
                    context=system_context(),
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.helo_name, timeout=self.timeout)
        except (smtplib.SMTPException, OSError) as exc:
            raise self._translate(exc, "kết nối") from exc
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=system_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
        except Exception as exc:
            smtp.close()
            if isinstance(exc, smtplib.SMTPNotSupportedError):
                raise ConnectorRejected(
                    f"Máy chủ thư {self.host}:{self.port} không hỗ trợ chức năng được cấu hình ({exc}); "
                    "kiểm tra lại cấu hình",
                    detail=str(exc),
                ) from exc
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                raise self._translate(exc, "đăng nhập (kiểm tra tài khoản/mật khẩu)") from exc
            if isinstance(exc, smtplib.SMTPException | OSError):
                raise self._translate(exc, "phiên làm việc") from exc
            raise
        return smtp

    def _translate(self, exc: BaseException, what_vi: str = "thư") -> ConnectorError:
        """Map an smtplib/socket failure to the outbox contract (see the module docstring)."""
        where = f"{self.host}:{self.port}"
        if isinstance(exc, ConnectorError):
            return exc
        if isinstance(exc, smtplib.SMTPResponseException) and 400 <= exc.smtp_code <= 599:
            return _by_code(exc.smtp_code, what_vi, exc.smtp_error)
        if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPResponseException):
            return ConnectorUnavailable(f"Máy chủ thư {where} ngắt kết nối, sẽ thử lại", detail=str(exc))
        if isinstance(exc, ssl.SSLCertVerificationError):
            return ConnectorRejected(
                f"Chứng chỉ TLS của máy chủ thư {where} không hợp lệ; kiểm tra lại cấu hình", detail=str(exc)
            )
        if isinstance(exc, TimeoutError):
            return ConnectorUnavailable(
                f"Máy chủ thư {where} không trả lời trong {self.timeout:g} giây, sẽ thử lại", detail=repr(exc)
            )
        if isinstance(exc, OSError):
            return ConnectorUnavailable(
                f"Không kết nối được máy chủ thư {where}, sẽ thử lại", detail=repr(exc)
            )
        return ConnectorRejected(f"Lỗi SMTP với máy chủ thư {where}: {exc}", detail=repr(exc))

    def _all_refused(self, recipients: Mapping[str, tuple[int, bytes]]) -> ConnectorError:
        """Every recipient refused: permanent unless some refusal is temporary (greylisting)."""
        detail = "; ".join(f"{r}: {code} {_reply_text(msg)}" for r, (code, msg) in recipients.items())
        if any(400 <= code < 500 for code, _ in recipients.values()):
            return ConnectorUnavailable(
                f"Máy chủ thư tạm thời không nhận người nhận ({detail}), sẽ thử lại", detail=detail
            )
        codes = {code for code, _ in recipients.values()}
        return ConnectorRejected(
            f"Máy chủ thư từ chối tất cả người nhận ({detail})",
            detail=detail,
            code=codes.pop() if len(codes) == 1 else None,
        )


def _flag(config: Mapping[str, Any], key: str) -> bool:
    value = config.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"'{key}' must be true or false, got {value!r}")
    return value


def _bad_payload(reason_vi: str) -> ConnectorRejected:
    return ConnectorRejected(f"Dữ liệu gửi thư không hợp lệ: {reason_vi}", detail=reason_vi)
