"""The national document axis over the VXP transport (connector id ``vdxp``).

The VPCP VXP SDK talks JSON over HTTP with the agency's ``systemId`` (its own OrganId) and
``secretKey``: ``sendEdoc`` (edXML body; ``from``/``to``/``servicetype``/``messagetype`` as
headers) answers ``{status: OK|FAIL, DocId, ErrorDesc}``; ``getReceivedEdocList``,
``getEdoc`` and ``updateStatus`` (done|fail|processing) drain the agency's mailbox.

Why it is shaped this way:

* the outbox retries, so every call carries ``Idempotency-Key`` (derived from the outbox
  key): a resend after a lost answer returns the first ``DocId`` and delivers nothing twice,
  and a repeated ``fetch_received`` gets the same listing back, so documents acknowledged
  by an attempt whose answer was lost are still returned to the engine;
* an incoming package is acknowledged ``done`` only once it passed strict validation; a
  malformed one is acknowledged ``fail`` with its problems and handed back raw under
  ``rejected``, so the engine keeps it for inspection and the sender learns why;
* ``FAIL`` and 4xx answers are permanent (:class:`ConnectorRejected`), network errors,
  timeouts, 5xx and 429 transient (:class:`ConnectorUnavailable`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from ..base import Connector, ConnectorRejected, ConnectorUnavailable, HealthReport, operation
from ..registry import register
from .edxml import build_package, build_status, parse_package, parse_status
from .model import (
    ORGAN_ID_RE,
    STATUS_CODES,
    Attachment,
    Limits,
    Organ,
    PackageInvalid,
    ResponseFor,
    Staff,
    envelope_from_dict,
    envelope_to_dict,
    response_for_from_dict,
    status_to_dict,
)

__all__ = ["VdxpConnector"]

_CONFIG_KEYS = frozenset(
    {
        "base_url",
        "system_id",
        "secret_key",
        "organ_name",
        "timeout",
        "check_timeout",
        "verify_tls",
        "max_package_bytes",
        "max_attachment_bytes",
        "max_attachments",
        "fetch_limit",
        "identities",
        "paths",
    }
)
#: The SDK's operations; a provincial LGSP relaying the axis may expose them under other paths.
_OPERATIONS = ("sendEdoc", "getReceivedEdocList", "getEdoc", "updateStatus", "getAgenciesList")
_ATTACHMENT_KEYS = frozenset({"content_id", "name", "content_type", "data_b64", "description"})
_STATUS_KEYS = frozenset({"response_for", "status_code", "description", "staff", "to", "sender_id"})


@register
class VdxpConnector(Connector):
    """Sends and receives edXML packages through the national document axis (VXP).

    Config: ``base_url`` (the axis endpoint), ``system_id`` (this agency's OrganId, e.g.
    ``000.00.01.H99``), ``secret_key``, ``organ_name`` (written as From in status packages),
    optional ``timeout`` (default 30 s), ``check_timeout`` (default 5 s), ``verify_tls``
    (default true), ``max_package_bytes``, ``max_attachment_bytes``, ``max_attachments``
    (limits for incoming packages), ``fetch_limit`` (documents per fetch, default 20) and
    ``identities``: the other agencies of the province this system sends and receives for, as
    ``{OrganId: {secret_key, organ_name}}`` (a provincial one-stop system serves the Công an
    tỉnh, the Sở and the phường with one installation, each with its own mailbox on the axis).
    A package goes out under its ``sender`` (default: ``system_id``); ``fetch_received`` drains
    every mailbox. ``paths`` maps SDK operation names to other URL paths where a provincial
    LGSP relays the axis (default: ``/sendEdoc`` and so on; the HTTP shape is inferred from the
    SDK, so it is configuration).
    """

    id = "vdxp"
    kind = "exchange"
    title = "Trục liên thông văn bản quốc gia (edXML)"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        base_url = config.get("base_url")
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError("'base_url' must be an http(s) URL")
        self.base_url: str = base_url.rstrip("/")
        system_id = config.get("system_id")
        if not isinstance(system_id, str) or not ORGAN_ID_RE.fullmatch(system_id):
            raise ValueError("'system_id' must be this agency's OrganId (000.00.00.A00)")
        self.system_id: str = system_id
        for key in ("secret_key", "organ_name"):
            if not isinstance(config.get(key), str) or not config[key].strip():
                raise ValueError(f"'{key}' is required")
        self.secret_key: str = config["secret_key"]
        self.organ = Organ(system_id, config["organ_name"])
        #: OrganId -> (secret key, organ) of every mailbox this system acts for, its own first
        self.identities: dict[str, tuple[str, Organ]] = {system_id: (self.secret_key, self.organ)}
        identities = config.get("identities") or {}
        if not isinstance(identities, Mapping):
            raise ValueError("'identities' must map OrganId -> {secret_key, organ_name}")
        for organ_id, item in identities.items():
            if not isinstance(organ_id, str) or not ORGAN_ID_RE.fullmatch(organ_id):
                raise ValueError(f"'identities': {organ_id!r} is not an OrganId (000.00.00.A00)")
            if not isinstance(item, Mapping) or set(item) != {"secret_key", "organ_name"} or \
                    not all(isinstance(v, str) and v.strip() for v in item.values()):
                raise ValueError(f"'identities.{organ_id}' needs exactly secret_key and organ_name")
            self.identities.setdefault(organ_id, (item["secret_key"], Organ(organ_id, item["organ_name"])))
        self.timeout = _positive(config, "timeout", 30)
        self.check_timeout = _positive(config, "check_timeout", 5)
        self.verify_tls = config.get("verify_tls", True)
        if not isinstance(self.verify_tls, bool):
            raise ValueError("'verify_tls' must be true or false")
        defaults = Limits()
        self.limits = Limits(
            max_package_bytes=int(_positive(config, "max_package_bytes", defaults.max_package_bytes)),
            max_attachment_bytes=int(
                _positive(config, "max_attachment_bytes", defaults.max_attachment_bytes)
            ),
            max_attachments=int(_positive(config, "max_attachments", defaults.max_attachments)),
        )
        self.fetch_limit = int(_positive(config, "fetch_limit", 20))
        paths = config.get("paths") or {}
        if not isinstance(paths, Mapping) or set(paths) - set(_OPERATIONS) or \
                not all(isinstance(v, str) and v.strip("/") for v in paths.values()):
            raise ValueError(f"'paths' maps operations ({', '.join(_OPERATIONS)}) to URL paths")
        self.paths = {op: "/" + str(paths.get(op, op)).strip("/") for op in _OPERATIONS}
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._client_pid = 0

    # -- operations --------------------------------------------------------------------

    @operation(
        waits_for_result=True,
        description="Gửi văn bản điện tử (edXML) tới cơ quan khác qua trục liên thông",
    )
    def send_edoc(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Build the package from the envelope fields and files, post it; ``{doc_id, status, document_id}``."""
        fields = dict(payload)
        attachments = _attachments(fields.pop("attachments", []))
        sender = fields.get("sender")
        if isinstance(sender, Mapping) and sender.get("organ_id") in self.identities and not sender.get("name"):
            fields["sender"] = {**sender, "name": self.identities[sender["organ_id"]][1].name}
        try:
            envelope = envelope_from_dict(fields, default_sender=self.organ)
            if envelope.sender.organ_id not in self.identities:
                raise PackageInvalid([f"sender.organ_id: {envelope.sender.organ_id} không phải đơn vị hệ thống này "
                                      f"gửi thay ({', '.join(self.identities)})"])
            package = build_package(envelope, attachments, limits=self.limits)
        except PackageInvalid as exc:
            raise _invalid("văn bản gửi liên thông", exc) from None
        to = ",".join(r.organ_id for r in envelope.receivers)
        body = self._send(package, to, "edoc", idempotency_key, "văn bản", as_id=envelope.sender.organ_id)
        return {"doc_id": body["DocId"], "status": "OK", "document_id": envelope.document_id}

    @operation(
        waits_for_result=False,
        description="Gửi gói tin trạng thái xử lý văn bản (đã đến, đã tiếp nhận, hoàn thành, thu hồi...)",
    )
    def send_status(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Post a status package about a document; ``{doc_id, status}``."""
        sender_id = payload.get("sender_id") or self.system_id
        try:
            if sender_id not in self.identities:
                raise PackageInvalid([f"sender_id: {sender_id!r} không phải đơn vị hệ thống này gửi thay"])
            response_for, code, description, staff, to = _status_fields(payload)
            if sender_id in to:
                raise PackageInvalid(
                    ["to: không gửi trạng thái cho chính mình (thu hồi cần ghi rõ nơi nhận)"]
                )
            package = build_status(response_for, self.identities[sender_id][1], code, description, staff)
        except PackageInvalid as exc:
            raise _invalid("gói tin trạng thái", exc) from None
        body = self._send(package, ",".join(to), "status", idempotency_key, "gói tin trạng thái", as_id=sender_id)
        return {"doc_id": body["DocId"], "status": "OK"}

    @operation(
        waits_for_result=True,
        description="Nhận văn bản (hoặc gói tin trạng thái) từ trục liên thông, kiểm tra chặt và báo đã nhận",
    )
    def fetch_received(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Drain the mailbox: ``{received, rejected, errors, remaining}`` (see the module docstring).

        ``received`` items carry ``envelope`` + ``attachments`` (``data_b64``) for documents,
        ``status`` for status packages; ``rejected`` items carry ``problems`` and ``raw_b64``.
        """
        messagetype = payload.get("messagetype", "edoc")
        limit = payload.get("limit", self.fetch_limit)
        if set(payload) - {"messagetype", "limit"} or messagetype not in ("edoc", "status"):
            raise ConnectorRejected(
                "Dữ liệu nhận văn bản không hợp lệ: chỉ gồm messagetype (edoc|status), limit"
            )
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= 500:
            raise ConnectorRejected("Dữ liệu nhận văn bản không hợp lệ: limit phải là số nguyên 1-500")
        result: dict[str, Any] = {"received": [], "rejected": [], "errors": [], "remaining": 0}
        for as_id in self.identities:
            key = idempotency_key if as_id == self.system_id else f"{idempotency_key}:{as_id}"
            listing = self._post(
                "getReceivedEdocList",
                "danh sách văn bản đến",
                json={"servicetype": "eDoc", "messagetype": messagetype},
                headers={"Idempotency-Key": f"{key}:list"},
                as_id=as_id,
            )
            items = [i for i in listing.get("data") or [] if isinstance(i, dict) and i.get("DocId")]
            for item in items[:limit]:
                self._take(item, messagetype, key, result, as_id)
            result["remaining"] += max(0, len(items) - limit)
        return result

    def check_config(self) -> HealthReport:
        """Really call the axis (``getAgenciesList``) and check this agency is registered there."""
        try:
            body = self._post("getAgenciesList", "danh sách đơn vị", json={}, timeout=self.check_timeout)
        except (ConnectorRejected, ConnectorUnavailable) as exc:
            return HealthReport(ok=False, detail=exc.message_vi)
        except Exception as exc:  # a health probe reports, it never raises
            return HealthReport(ok=False, detail=f"Lỗi không mong đợi khi kiểm tra trục liên thông: {exc!r}")
        codes = {a.get("code") for a in body.get("data") or [] if isinstance(a, dict)}
        missing = [organ_id for organ_id in self.identities if organ_id not in codes]
        if missing:
            return HealthReport(
                ok=False, detail=f"Mã định danh {', '.join(missing)} chưa được đăng ký trên trục {self.base_url}"
            )
        return HealthReport(
            ok=True,
            detail=f"Kết nối được trục liên thông {self.base_url} với mã {', '.join(self.identities)} "
            f"({len(codes)} đơn vị)",
        )

    # -- helpers -----------------------------------------------------------------------

    def _take(self, item: dict[str, Any], messagetype: str, key: str, result: dict[str, Any], as_id: str) -> None:
        """Fetch, check and acknowledge one item of `as_id`'s mailbox, filing it under the right key."""
        doc_id = str(item["DocId"])
        meta = {"doc_id": doc_id, "from": item.get("from", ""), "created_time": item.get("created_time", ""),
                "mailbox": as_id}
        try:
            body = self._post("getEdoc", "văn bản", json={"docId": doc_id}, as_id=as_id)
            raw = base64.b64decode(body.get("data") or "", validate=True)
        except (ConnectorRejected, binascii.Error, ValueError) as exc:
            result["errors"].append({**meta, "error": getattr(exc, "message_vi", str(exc))})
            return
        try:
            if messagetype == "status":
                parsed: dict[str, Any] = {"status": status_to_dict(parse_status(raw, limits=self.limits))}
            else:
                envelope, attachments = parse_package(raw, limits=self.limits)
                if as_id not in {r.organ_id for r in envelope.receivers}:
                    raise PackageInvalid(
                        [f"/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To: gói tin không gửi tới đơn vị {as_id}"]
                    )
                parsed = {
                    "envelope": envelope_to_dict(envelope),
                    "attachments": [_file(a) for a in attachments],
                }
        except PackageInvalid as exc:
            desc = "Gói tin không hợp lệ: " + "; ".join(exc.problems)
            self._ack(doc_id, "fail", key, as_id, desc)
            result["rejected"].append(
                {**meta, "problems": exc.problems, "raw_b64": base64.b64encode(raw).decode()}
            )
            return
        self._ack(doc_id, "done", key, as_id)
        result["received"].append({**meta, **parsed})

    def _ack(self, doc_id: str, status: str, key: str, as_id: str, desc: str = "") -> None:
        self._post(
            "updateStatus",
            "xác nhận đã nhận văn bản",
            json={"docId": doc_id, "status": status, **({"ErrorDesc": desc} if desc else {})},
            headers={"Idempotency-Key": f"{key}:ack:{doc_id}"},
            as_id=as_id,
        )

    def _send(self, package: bytes, to: str, messagetype: str, key: str, what_vi: str, *,
              as_id: str) -> dict[str, Any]:
        headers = {
            "from": as_id,
            "to": to,
            "servicetype": "eDoc",
            "messagetype": messagetype,
            "Content-Type": "application/xml",
            "Idempotency-Key": key,
        }
        body = self._post("sendEdoc", what_vi, content=package, headers=headers, as_id=as_id)
        if not body.get("DocId"):
            raise ConnectorRejected(
                f"Trục liên thông nhận {what_vi} nhưng không trả về DocId", detail=str(body)
            )
        return body

    def _http(self) -> httpx.Client:
        """One pooled client per connector and process (building its TLS context costs ~0.1 s).

        Re-created after a fork, so prefork workers never share sockets with their parent.
        """
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                self._client = httpx.Client(
                    base_url=self.base_url,
                    timeout=httpx.Timeout(self.timeout),
                    verify=self.verify_tls,
                    headers={"systemId": self.system_id, "secretKey": self.secret_key},
                )
                self._client_pid = os.getpid()
            return self._client

    def _post(self, op: str, what_vi: str, *, timeout: float | None = None, as_id: str | None = None,
              headers: Mapping[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
        """One VXP call as `as_id` (default: this system); maps every failure to the outbox contract,
        returns the ``OK`` body."""
        where = f"{self.base_url}{self.paths[op]}"
        secret = self.identities[as_id or self.system_id][0]
        auth = {"systemId": as_id or self.system_id, "secretKey": secret}
        try:
            response = self._http().post(self.paths[op], timeout=timeout or self.timeout,
                                         headers={**auth, **(headers or {})}, **kwargs)
        except httpx.TimeoutException as exc:
            raise ConnectorUnavailable(
                f"Trục liên thông không trả lời trong thời hạn ({where}), sẽ thử lại", detail=repr(exc)
            ) from exc
        except httpx.HTTPError as exc:
            raise ConnectorUnavailable(
                f"Không kết nối được trục liên thông {where}, sẽ thử lại", detail=repr(exc)
            ) from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        desc = str(body.get("ErrorDesc") or "") if isinstance(body, dict) else response.text[:200]
        code = response.status_code
        if code >= 500 or code == 429:
            raise ConnectorUnavailable(
                f"Trục liên thông tạm thời lỗi (HTTP {code}) khi nhận {what_vi}, sẽ thử lại",
                detail=desc,
                code=code,
            )
        if code in (401, 403):
            raise ConnectorRejected(
                f"Trục liên thông từ chối xác thực (HTTP {code}): kiểm tra system_id và secret_key. {desc}".strip(),
                detail=desc,
                code=code,
            )
        if code >= 400:
            raise ConnectorRejected(
                f"Trục liên thông từ chối {what_vi} (HTTP {code}): {desc}", detail=desc, code=code
            )
        if not isinstance(body, dict):
            raise ConnectorRejected(
                f"Trục liên thông trả lời không đúng định dạng JSON ({where})", detail=desc
            )
        if body.get("status") != "OK":
            raise ConnectorRejected(
                f"Trục liên thông từ chối {what_vi}: {desc or 'không rõ lý do'}", detail=desc
            )
        return body


def _positive(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"'{key}' must be a positive number, got {value!r}")
    return float(value)


def _invalid(what_vi: str, exc: PackageInvalid) -> ConnectorRejected:
    return ConnectorRejected(f"Dữ liệu {what_vi} không hợp lệ: {'; '.join(exc.problems)}", detail=str(exc))


def _status_fields(payload: Mapping[str, Any]) -> tuple[ResponseFor, str, str, Staff, list[str]]:
    """Read ``send_status``'s payload; ``to`` defaults to the document's sender."""
    unknown = sorted(set(payload) - _STATUS_KEYS)
    if unknown:
        raise PackageInvalid([f"trường không được hỗ trợ: {', '.join(unknown)}"])
    code = payload.get("status_code")
    if code not in STATUS_CODES:
        raise PackageInvalid([f"status_code: phải là một trong {', '.join(STATUS_CODES)}"])
    staff = payload.get("staff") or {}
    if not isinstance(staff, Mapping) or set(staff) - {"department", "staff", "mobile", "email"}:
        raise PackageInvalid(["staff: chỉ gồm department, staff, mobile, email"])
    response_for = response_for_from_dict(payload.get("response_for"))
    to = payload.get("to") or [response_for.organ_id]
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not all(isinstance(t, str) and ORGAN_ID_RE.fullmatch(t) for t in to):
        raise PackageInvalid(["to: phải là danh sách mã định danh cơ quan"])
    description = str(payload.get("description") or STATUS_CODES[code])
    return response_for, code, description, Staff(**{k: str(v) for k, v in staff.items()}), to


def _attachments(raw: Any) -> list[Attachment]:
    """Files of ``send_edoc``: ``[{name, content_type, data_b64, content_id?, description?}]``."""
    if not isinstance(raw, list):
        raise ConnectorRejected("Dữ liệu văn bản gửi liên thông không hợp lệ: attachments phải là danh sách")
    result: list[Attachment] = []
    for i, item in enumerate(raw):
        where = f"attachments[{i}]"
        if not isinstance(item, Mapping) or set(item) - _ATTACHMENT_KEYS:
            raise ConnectorRejected(
                f"Dữ liệu văn bản gửi liên thông không hợp lệ: {where} chỉ gồm {', '.join(sorted(_ATTACHMENT_KEYS))}"
            )
        name, ctype = item.get("name"), item.get("content_type")
        if not isinstance(name, str) or not name or not isinstance(ctype, str) or not ctype:
            raise ConnectorRejected(
                f"Dữ liệu văn bản gửi liên thông không hợp lệ: {where} thiếu name hoặc content_type"
            )
        try:
            data = base64.b64decode(str(item.get("data_b64") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise ConnectorRejected(
                f"Dữ liệu văn bản gửi liên thông không hợp lệ: {where}.data_b64 không phải base64"
            ) from None
        content_id = str(item.get("content_id") or f"att{i + 1}")
        result.append(Attachment(content_id, name, ctype, data, str(item.get("description") or "")))
    return result


def _file(attachment: Attachment) -> dict[str, Any]:
    return {
        "content_id": attachment.content_id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "description": attachment.description,
        "size": len(attachment.data),
        "sha256": hashlib.sha256(attachment.data).hexdigest(),
        "data_b64": base64.b64encode(attachment.data).decode("ascii"),
    }
