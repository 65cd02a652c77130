"""Dossier and progress sync with Cổng Dịch vụ công quốc gia (connector id ``dvcqg``).

Adapter style (CONNECTORS.md §1, as OpenCPS speaks it): ``POST {adapter_url}{auth_endpoint}``
with ``{"username","password"}`` gives a session; every later ``POST
{adapter_url}{integration_endpoint}`` carries ``session``, ``madonvi`` and ``service`` in
its JSON body and the bus service id in the ``dstcode`` header. Why the details matter:

* sessions expire: the client keeps one and, on an expired-session answer, logs in again
  and resends once, transparently; the outbox never sees an expiry;
* ``DongBoHoSoMC`` distinguishes insert from update (``isUpdating``) and answers a repeated
  insert with "đã tồn tại" (3/-3): the client looks the dossier up first (``TraCuuHoSo``) and
  turns a duplicate answer into an update, so a sync is an upsert whatever the remote state;
* every request carries ``Idempotency-Key``: a retried progress push is recorded once by a
  receiver that honours it (the simulator does); the portal's own semantics (upsert by
  ``MaHoSo``) make a retried dossier sync harmless anyway.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from ..base import Connector, ConnectorRejected, ConnectorUnavailable, HealthReport, operation
from ..registry import register
from ._http import check_timeout, check_url, json_body, new_client, post, reject_client_error
from .hoso import PayloadError, build_hoso, build_tiendo, record_from_hoso

__all__ = ["DEFAULT_DSTCODE", "DvcqgConnector"]

log = logging.getLogger(__name__)

#: The national portal's service id on the government data bus (✔✔ CONNECTORS.md).
DEFAULT_DSTCODE = "VN:GOV:000.00.00.G22:vpcpdvcprovider"

_CONFIG_KEYS = frozenset(
    {
        "adapter_url", "auth_endpoint", "integration_endpoint", "dstcode", "username", "password",
        "madonvi", "timeout", "session_expired_codes", "verify_tls",
    }
)  # fmt: skip
_WHERE = "Cổng DVCQG"


@register
class DvcqgConnector(Connector):
    """Pushes dossiers (``sync_dossier``) and their progress (``sync_progress``) to the portal.

    Config: ``adapter_url`` (e.g. ``https://lgsp.example/XrdAdapter/RestService/forward``),
    ``username``, ``password``, ``madonvi`` (our agency's code at the portal), optional
    ``dstcode`` (default :data:`DEFAULT_DSTCODE`), ``auth_endpoint`` (``/mapi/login``),
    ``integration_endpoint`` (``/mapi/g``), ``timeout`` seconds (10),
    ``session_expired_codes`` (error codes meaning "log in again", default ``["-2"]``; HTTP
    401 always means it) and ``verify_tls`` (true).
    """

    id = "dvcqg"
    kind = "portal"
    title = "Cổng Dịch vụ công quốc gia – đồng bộ hồ sơ và tiến độ"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        self.adapter_url: str = check_url(self.config, "adapter_url").rstrip("/")  # type: ignore[union-attr]
        self.auth_endpoint = _path(config, "auth_endpoint", "/mapi/login")
        self.integration_endpoint = _path(config, "integration_endpoint", "/mapi/g")
        for key in ("username", "password", "madonvi"):
            if not isinstance(config.get(key), str) or not config[key]:
                raise ValueError(f"'{key}' is required (a non-empty string)")
        self.username: str = config["username"]
        self.password: str = config["password"]
        self.madonvi: str = config["madonvi"]
        dstcode = config.get("dstcode", DEFAULT_DSTCODE)
        if not isinstance(dstcode, str) or not dstcode or "\n" in dstcode:
            raise ValueError("'dstcode' must be a non-empty single-line string")
        self.dstcode: str = dstcode
        self.timeout = check_timeout(self.config)
        codes = config.get("session_expired_codes", ["-2"])
        if not isinstance(codes, list) or not all(isinstance(c, str | int) for c in codes):
            raise ValueError("'session_expired_codes' must be a list of error codes")
        self.session_expired_codes = frozenset(str(c) for c in codes)
        self.verify_tls = config.get("verify_tls", True)
        if not isinstance(self.verify_tls, bool):
            raise ValueError("'verify_tls' must be true or false")
        self._session: str | None = None
        self._lock = threading.Lock()

    # -- operations ----------------------------------------------------------------------

    @operation(
        waits_for_result=False,
        description="Đồng bộ hồ sơ lên Cổng DVCQG (thêm mới hoặc cập nhật theo mã hồ sơ)",
    )
    def sync_dossier(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Upsert one dossier; returns ``{"code", "action": "created"|"updated", "message"}``."""
        hoso = _build(build_hoso, payload, "hồ sơ")
        code = hoso["MaHoSo"]
        with self._client() as client:
            updating = self._find(client, code, idempotency_key) is not None
            answer = self._push(client, hoso, updating, idempotency_key)
            if not _ok(answer) and not updating and _is_duplicate(answer):
                updating = True  # created meanwhile (or by an earlier attempt): send as update
                answer = self._push(client, hoso, updating, idempotency_key)
            elif not _ok(answer) and updating and _is_missing(answer):
                updating = False  # deleted meanwhile: send as new
                answer = self._push(client, hoso, updating, idempotency_key)
        if not _ok(answer):
            raise _refusal(answer, f"đồng bộ hồ sơ {code}")
        return {"code": code, "action": "updated" if updating else "created", "message": _message(answer)}

    @operation(
        waits_for_result=False,
        description="Cập nhật tiến độ xử lý hồ sơ lên Cổng DVCQG (một lần đổi trạng thái)",
    )
    def sync_progress(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Send one ``TienDo``; returns ``{"code", "status", "message"}``.

        "Hồ sơ không tồn tại" is transient here: the dossier's own sync is another outbox row
        that may simply not have gone through yet.
        """
        tiendo = _build(build_tiendo, payload, "tiến độ")
        code = tiendo["MaHoSo"]
        with self._client() as client:
            answer = self._service(
                client, {"service": "CapNhatTienDoHoSoMC", "data": [tiendo]}, idempotency_key,
                f"cập nhật tiến độ hồ sơ {code}",
            )  # fmt: skip
        if not _ok(answer):
            if _is_missing(answer):
                raise ConnectorUnavailable(
                    f"Cổng DVCQG chưa có hồ sơ {code}; sẽ gửi lại tiến độ sau khi hồ sơ được đồng bộ",
                    detail=_message(answer),
                )
            raise _refusal(answer, f"cập nhật tiến độ hồ sơ {code}")
        return {"code": code, "status": int(tiendo["TrangThai"]), "message": _message(answer)}

    @operation(waits_for_result=True, description="Tra cứu hồ sơ trên Cổng DVCQG theo mã hồ sơ")
    def lookup_dossier(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """``{"code"}`` -> ``{"found": bool, "dossier": record | None}`` (record: see hoso.py)."""
        code = payload.get("code")
        if set(payload) != {"code"} or not isinstance(code, str) or not code.strip():
            raise ConnectorRejected(
                "Dữ liệu tra cứu Cổng DVCQG không hợp lệ: cần đúng một trường 'code' (mã hồ sơ)",
                detail=f"payload keys {sorted(payload)}",
            )
        with self._client() as client:
            hoso = self._find(client, code.strip(), idempotency_key)
        return {"found": hoso is not None, "dossier": record_from_hoso(hoso) if hoso is not None else None}

    def check_config(self) -> HealthReport:
        """Really log in (a fresh session): proves the URL, ``dstcode`` and credentials."""
        try:
            with self._client() as client:
                self._login(client)
        except (ConnectorRejected, ConnectorUnavailable) as exc:
            return HealthReport(ok=False, detail=exc.message_vi)
        except Exception as exc:  # a health probe reports, it never raises
            return HealthReport(ok=False, detail=f"Lỗi không mong đợi khi kiểm tra Cổng DVCQG: {exc!r}")
        return HealthReport(
            ok=True, detail=f"Đăng nhập được Cổng DVCQG tại {self.adapter_url} (đơn vị {self.madonvi})"
        )

    # -- protocol --------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        return new_client(self.timeout, verify_tls=self.verify_tls)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"dstcode": self.dstcode, "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    def _login(self, client: httpx.Client) -> str:
        what = "đăng nhập"
        response = post(
            client, self.adapter_url + self.auth_endpoint, where_vi=_WHERE, what_vi=what,
            json={"username": self.username, "password": self.password}, headers=self._headers(),
        )  # fmt: skip
        reject_client_error(response, where_vi=_WHERE, what_vi=what)
        answer = _as_dict(json_body(response, where_vi=_WHERE, what_vi=what), what)
        session = answer.get("session")
        if not _ok(answer) or not isinstance(session, str) or not session:
            raise ConnectorRejected(
                f"Cổng DVCQG từ chối đăng nhập: {_message(answer) or 'không có phiên làm việc'}; "
                "kiểm tra tài khoản, mật khẩu và dstcode",
                detail=str(answer)[:300],
            )
        return session

    def _session_for(self, client: httpx.Client, stale: str | None = None) -> str:
        """The current session, logging in when there is none or the one we used went stale.

        Comparing with ``stale`` keeps concurrent workers from logging in once each after a
        single expiry.
        """
        with self._lock:
            if self._session is None or self._session == stale:
                self._session = self._login(client)
            return self._session

    def _service(
        self, client: httpx.Client, fields: dict[str, Any], key: str, what_vi: str
    ) -> dict[str, Any]:
        """One integration call, re-logging in once if the session expired."""
        session = self._session_for(client)
        for attempt in (1, 2):
            body = {"session": session, "madonvi": self.madonvi, **fields}
            response = post(
                client, self.adapter_url + self.integration_endpoint, where_vi=_WHERE, what_vi=what_vi,
                json=body, headers=self._headers(key),
            )  # fmt: skip
            answer: dict[str, Any] | None = None
            if response.status_code != 401:
                reject_client_error(response, where_vi=_WHERE, what_vi=what_vi)
                answer = _as_dict(json_body(response, where_vi=_WHERE, what_vi=what_vi), what_vi)
                if _code(answer) not in self.session_expired_codes:
                    return answer
            if attempt == 2:
                raise ConnectorUnavailable(
                    f"Phiên làm việc với Cổng DVCQG hết hạn ngay sau khi đăng nhập lại khi {what_vi}, sẽ thử lại",
                    detail=str(answer)[:300],
                )
            log.info("dvcqg session expired, logging in again")
            session = self._session_for(client, stale=session)
        raise AssertionError("unreachable")

    def _find(self, client: httpx.Client, code: str, key: str) -> dict[str, Any] | None:
        """``TraCuuHoSo``: the portal's record of ``code`` or None.

        Both spellings of the field are sent: the guide's ``mahoso`` and OpenCPS's ``MaHoSo``.
        """
        what = f"tra cứu hồ sơ {code}"
        answer = self._service(client, {"service": "TraCuuHoSo", "mahoso": code, "MaHoSo": code}, key, what)
        if _code(answer) not in ("", "0"):
            raise _refusal(answer, what)
        result = answer.get("result") or []
        if not isinstance(result, list):
            raise ConnectorUnavailable(
                f"Cổng DVCQG trả lời sai định dạng khi {what}", detail=str(answer)[:300]
            )
        return next((r for r in result if isinstance(r, dict)), None)

    def _push(self, client: httpx.Client, hoso: dict[str, Any], updating: bool, key: str) -> dict[str, Any]:
        fields = {"service": "DongBoHoSoMC", "isUpdating": "True" if updating else "False", "data": [hoso]}
        return self._service(client, fields, key, f"đồng bộ hồ sơ {hoso['MaHoSo']}")


def _path(config: Mapping[str, Any], key: str, default: str) -> str:
    value = config.get(key, default)
    if not isinstance(value, str) or not value.startswith("/") or any(c.isspace() for c in value):
        raise ValueError(f"'{key}' must be a path starting with '/', got {value!r}")
    return value


def _build(
    builder: Callable[[Mapping[str, Any]], dict[str, Any]], payload: Mapping[str, Any], what_vi: str
) -> dict[str, Any]:
    try:
        return builder(payload)
    except PayloadError as exc:
        raise ConnectorRejected(
            f"Dữ liệu {what_vi} gửi Cổng DVCQG không hợp lệ: {exc}", detail=str(exc)
        ) from exc


def _as_dict(answer: Any, what_vi: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise ConnectorUnavailable(
            f"Cổng DVCQG trả lời sai định dạng khi {what_vi}, sẽ thử lại", detail=str(answer)[:300]
        )
    return answer


def _code(answer: Mapping[str, Any]) -> str:
    """``error_code`` as text: the portal sends it as a number or a string."""
    value = answer.get("error_code")
    return "" if value is None else str(value).strip()


def _ok(answer: Mapping[str, Any]) -> bool:
    return _code(answer) == "0"


def _message(answer: Mapping[str, Any]) -> str:
    return str(answer.get("message") or "")


def _is_duplicate(answer: Mapping[str, Any]) -> bool:
    return _code(answer) in ("3", "-3") or "đã tồn tại" in _message(answer).lower()


def _is_missing(answer: Mapping[str, Any]) -> bool:
    return "không tồn tại" in _message(answer).lower()


def _refusal(answer: Mapping[str, Any], what_vi: str) -> ConnectorRejected:
    code = _code(answer)
    return ConnectorRejected(
        f"Cổng DVCQG từ chối {what_vi}: {_message(answer) or 'không rõ lý do'} (mã lỗi {code or '?'})",
        detail=str(answer)[:300],
        code=int(code) if code.lstrip("-").isdigit() else None,
    )
