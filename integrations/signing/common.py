"""What the two signing connectors share: the sign request, the result store, config checks.

The result store is why signing can be idempotent at all: a signature embeds the time it
was made, so signing the same PDF twice gives different bytes (and a different verification
code). The first result is therefore kept on disk under the idempotency key, and a retried
outbox call gets exactly those bytes back. For remote signing the store also keeps the
prepared document between attempts, because the hash the official approves must be the hash
of the very bytes we finish later. ``cache_dir`` must be shared by every worker that may
retry a call (the data directory in embedded mode, a shared volume in production).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base import ConnectorRejected
from .codes import verification_code
from .verify import VerificationReport

__all__ = [
    "MAX_PDF_BYTES",
    "ResultStore",
    "SignRequest",
    "bad_payload",
    "check_keys",
    "optional_str",
    "positive_number",
    "required_str",
    "signed_result",
]

#: Result documents are a few pages; anything far larger is a mistake upstream.
MAX_PDF_BYTES = 20 * 1024 * 1024

_BASE_PAYLOAD_KEYS = frozenset(
    {"pdf_b64", "reason", "location", "signer_title", "appearance_text", "field_name"}
)


def bad_payload(reason_vi: str) -> ConnectorRejected:
    return ConnectorRejected(f"Dữ liệu yêu cầu ký số không hợp lệ: {reason_vi}", detail=reason_vi)


@dataclass(frozen=True)
class SignRequest:
    """A validated ``sign_pdf`` payload."""

    pdf: bytes
    reason: str
    location: str
    signer_title: str | None
    appearance_text: str | None
    field_name: str
    extra: dict[str, Any]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()

    @property
    def stamp_text(self) -> str | None:
        """Visible signature text: the explicit one, else the signer's title, else invisible."""
        return self.appearance_text if self.appearance_text is not None else self.signer_title

    @classmethod
    def parse(cls, payload: Mapping[str, Any], *, extra_keys: frozenset[str] = frozenset()) -> SignRequest:
        """Validate a payload; every problem is permanent (:class:`ConnectorRejected`)."""
        unknown = sorted(set(payload) - _BASE_PAYLOAD_KEYS - extra_keys)
        if unknown:
            raise bad_payload(f"trường không được hỗ trợ: {', '.join(unknown)}")
        encoded = payload.get("pdf_b64")
        if not isinstance(encoded, str) or not encoded:
            raise bad_payload("thiếu tệp PDF 'pdf_b64'")
        if len(encoded) > MAX_PDF_BYTES * 4 // 3 + 4:
            raise bad_payload(f"tệp PDF lớn hơn {MAX_PDF_BYTES // (1024 * 1024)} MB")
        try:
            pdf = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise bad_payload("'pdf_b64' không phải là dữ liệu base64") from None
        if pdf.lstrip()[:5] != b"%PDF-":
            raise bad_payload("'pdf_b64' không phải là tệp PDF")
        reason = payload.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise bad_payload("thiếu lý do ký 'reason'")
        values = {key: _optional(payload, key) for key in ("location", "signer_title", "appearance_text")}
        field_name = _optional(payload, "field_name") or "Chu ky so"
        if "." in field_name:
            raise bad_payload("tên trường chữ ký 'field_name' không được chứa dấu chấm")
        return cls(
            pdf=pdf,
            reason=reason.strip(),
            location=values["location"] or "",
            signer_title=values["signer_title"],
            appearance_text=values["appearance_text"],
            field_name=field_name,
            extra={key: payload[key] for key in extra_keys if key in payload},
        )


def _optional(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_payload(f"'{key}' phải là chuỗi ký tự")
    return value.strip() if isinstance(value, str) and value.strip() else None


def signed_result(signed: bytes, report: VerificationReport) -> dict[str, Any]:
    """The operation's result, shared by both connectors (the engine stores and serves it)."""
    digest = hashlib.sha256(signed).hexdigest()
    return {
        "pdf_b64": base64.b64encode(signed).decode("ascii"),
        "sha256": digest,
        "verification_code": verification_code(digest),
        "signer": report.signer_name,
        "signer_organisation": report.signer_organisation,
        "signed_at": report.signed_at.isoformat() if report.signed_at else None,
    }


class ResultStore:
    """JSON documents on disk, one per idempotency key, written atomically and owner-only."""

    def __init__(self, directory: Path, prefix: str) -> None:
        self.directory = directory
        self.prefix = prefix

    def path(self, idempotency_key: str) -> Path:
        name = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
        return self.directory / f"{self.prefix}-{name}.json"

    def load(self, idempotency_key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path(idempotency_key).read_text("utf-8"))
        except FileNotFoundError:
            return None
        if not isinstance(data, dict) or data.get("idempotency_key") != idempotency_key:
            return None  # a hash-prefix collision or a damaged file: start afresh
        return data

    def save(self, idempotency_key: str, data: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(idempotency_key)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        body = json.dumps({**data, "idempotency_key": idempotency_key}, ensure_ascii=False)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(body)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def writable(self) -> bool:
        """Whether results can be stored (for ``check_config``)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".probe-{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            return False
        return True


# -- configuration checks (raise ValueError, as Connector.__init__ must) ----------------------


def check_keys(config: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")


def required_str(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{key}' is required")
    return value


def optional_str(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{key}' must be a string")
    return value


def positive_number(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"'{key}' must be a positive number of seconds, got {value!r}")
    return float(value)
