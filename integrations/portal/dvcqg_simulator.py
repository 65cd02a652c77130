"""A loopback Cổng DVCQG (adapter style) for tests, drills and provinces checking their settings.

It answers like the portal behind the data bus as far as CONNECTORS.md §1 knows it: sessions
from ``/mapi/login`` that expire, ``DongBoHoSoMC`` with insert/update semantics ("đã tồn tại"
3/-3 on a repeated insert), ``CapNhatTienDoHoSoMC``, ``TraCuuHoSo`` over what it stores,
``error_code`` as a string or a number, Vietnamese texts, and the validation a province
meets in production (14-digit times, known ``MaTTHC``, status 1–10, batch size). On top of
that it honours ``Idempotency-Key`` on the writing services (a replay returns the first
answer and changes nothing) and inherits fault injection from :class:`HttpSimulator`.

Run it stand-alone with ``python -m integrations.portal.dvcqg_simulator``.
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from flask import Flask, Response, jsonify, request

from .. import simulation
from ._http import HttpSimulator
from .dvcqg import DEFAULT_DSTCODE

__all__ = ["ADAPTER_PREFIX", "DEFAULT_PROCEDURE_PATTERN", "PortalSimulator", "main", "serve"]

#: Where the Cà Mau client reaches the adapter (CONNECTORS.md): login at ``{prefix}/mapi/login``.
ADAPTER_PREFIX = "/XrdAdapter/RestService/forward"
#: National procedure codes look like ``1.001234`` or ``1.001234.000.00.00.H99``.
DEFAULT_PROCEDURE_PATTERN = r"\d\.\d{6}(\.\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})?"

_WRITES = ("DongBoHoSoMC", "CapNhatTienDoHoSoMC")
_HOSO_REQUIRED = (
    "MaHoSo", "MaTTHC", "TenTTHC", "KenhThucHien", "ChuHoSo", "LoaiDoiTuong", "NgayTiepNhan",
    "TrangThaiHoSo", "DonViXuLy",
)  # fmt: skip
_TIENDO_REQUIRED = ("MaHoSo", "ThoiDiemXuLy", "NoiDungXuLy", "TrangThai")
_CHOICES = {
    "KenhThucHien": {"1", "2", "3"},
    "LoaiDoiTuong": {"1", "2", "3", "4"},
    "HinhThuc": {"0", "1"},
    "TrangThaiHoSo": {str(n) for n in range(1, 11)},
    "TrangThai": {str(n) for n in range(1, 11)},
}


class PortalSimulator(HttpSimulator):
    """The portal on loopback; ``adapter_url`` is what a connector's ``adapter_url`` points at.

    ``lookup_lag`` (seconds) makes ``TraCuuHoSo`` miss dossiers written less than that long
    ago, like a search index catching up: the race in which an insert meets "đã tồn tại".
    """

    name = "dvcqg-simulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str = "motcua",
        password: str = "mat-khau",
        dstcode: str = DEFAULT_DSTCODE,
        madonvi: str | None = None,
        session_ttl: float = 1800.0,
        error_code_as: str = "string",
        duplicate_code: int = 3,
        session_expired_code: int = -2,
        procedures: Iterable[str] = (),
        procedure_pattern: str | None = DEFAULT_PROCEDURE_PATTERN,
        batch_limit: int = 10,
        require_dossier_for_progress: bool = True,
        lookup_lag: float = 0.0,
    ) -> None:
        if error_code_as not in ("string", "number"):
            raise ValueError("error_code_as must be 'string' or 'number'")
        if duplicate_code not in (3, -3):
            raise ValueError("duplicate_code must be 3 or -3")
        self.username, self.password, self.dstcode, self.madonvi = username, password, dstcode, madonvi
        self.session_ttl = session_ttl
        self.error_code_as = error_code_as
        self.duplicate_code = duplicate_code
        self.session_expired_code = session_expired_code
        self.procedures = set(procedures)
        self._procedure_re = re.compile(procedure_pattern) if procedure_pattern else None
        self.batch_limit = batch_limit
        self.require_dossier_for_progress = require_dossier_for_progress
        self.lookup_lag = lookup_lag
        self._state = threading.RLock()
        self._sessions: dict[str, float] = {}
        self._dossiers: dict[str, dict[str, Any]] = {}
        self._stored_at: dict[str, float] = {}
        self._progress: dict[str, list[dict[str, Any]]] = {}
        self._answers: dict[tuple[str, str, str], tuple[int, str, dict[str, Any]]] = {}
        self._logins = 0
        self._replays = 0
        super().__init__(host, port)

    def _add_routes(self, app: Flask) -> None:
        app.add_url_rule(f"{ADAPTER_PREFIX}/mapi/login", "login", self._login_view, methods=["POST"])
        app.add_url_rule(f"{ADAPTER_PREFIX}/mapi/g", "service", self._service_view, methods=["POST"])

    @property
    def adapter_url(self) -> str:
        return self.url + ADAPTER_PREFIX

    # -- inspection ------------------------------------------------------------------------

    @property
    def dossiers(self) -> dict[str, dict[str, Any]]:
        """Stored ``HoSo`` records by ``MaHoSo`` (a deep copy)."""
        with self._state:
            return copy.deepcopy(self._dossiers)

    def progress(self, code: str) -> list[dict[str, Any]]:
        """The ``TienDo`` records of one dossier, in the order received (a copy)."""
        with self._state:
            return copy.deepcopy(self._progress.get(code, []))

    @property
    def logins(self) -> int:
        """How many sessions were issued."""
        return self._logins

    @property
    def replays(self) -> int:
        """How many writes were answered from the idempotency cache (no second effect)."""
        return self._replays

    def calls(self, service: str) -> list[dict[str, Any]]:
        """Bodies of the requests received for ``service`` (including refused and repeated ones)."""
        return [
            r.body for r in self.requests if isinstance(r.body, dict) and r.body.get("service") == service
        ]

    def expire_sessions(self) -> None:
        """Make every issued session stale, as if the TTL had passed."""
        with self._state:
            self._sessions.clear()

    def add_dossier(self, hoso: dict[str, Any]) -> None:
        """Seed a dossier as if another system had synced it."""
        with self._state:
            self._dossiers[hoso["MaHoSo"]] = copy.deepcopy(hoso)
            self._stored_at[hoso["MaHoSo"]] = float("-inf")

    def clear(self) -> None:
        """Forget dossiers, progress, sessions and cached answers (between tests or drills)."""
        with self._state:
            for store in (self._sessions, self._dossiers, self._stored_at, self._progress, self._answers):
                store.clear()
            self._logins = self._replays = 0

    # -- HTTP ------------------------------------------------------------------------------

    def _answer(self, code: int, message: str, **extra: Any) -> Response:
        value: int | str = code if self.error_code_as == "number" else str(code)
        return jsonify({"error_code": value, "message": message, **extra})

    def _gateway_refusal(self) -> tuple[Response, int] | None:
        if request.headers.get("dstcode") != self.dstcode:
            return self._answer(-1, "Không tìm thấy dịch vụ đích (dstcode không đúng)"), 400
        if not isinstance(request.get_json(silent=True), dict):
            return self._answer(-1, "Nội dung yêu cầu phải là một đối tượng JSON"), 400
        return None

    def _login_view(self) -> Response | tuple[Response, int]:
        refusal = self._gateway_refusal()
        if refusal:
            return refusal
        body = request.get_json()
        if body.get("username") != self.username or body.get("password") != self.password:
            return self._answer(1, "Tên đăng nhập hoặc mật khẩu không đúng")
        token = secrets.token_urlsafe(24)
        with self._state:
            self._sessions[token] = time.monotonic() + self.session_ttl
            self._logins += 1
        return self._answer(0, "Đăng nhập thành công", session=token)

    def _service_view(self) -> Response | tuple[Response, int]:
        refusal = self._gateway_refusal()
        if refusal:
            return refusal
        body = request.get_json()
        with self._state:
            expiry = self._sessions.get(str(body.get("session")))
            if expiry is None or expiry < time.monotonic():
                return self._answer(self.session_expired_code, "Phiên làm việc không hợp lệ hoặc đã hết hạn")
            if self.madonvi is not None and body.get("madonvi") != self.madonvi:
                return self._answer(-1, f"Mã đơn vị (madonvi) '{body.get('madonvi')}' không đúng")
            service = body.get("service")
            handler = {
                "DongBoHoSoMC": self._sync_dossiers,
                "CapNhatTienDoHoSoMC": self._sync_progress,
                "TraCuuHoSo": self._lookup,
            }.get(service)
            if handler is None:
                return self._answer(-1, f"Dịch vụ '{service}' không được hỗ trợ")
            key = request.headers.get("Idempotency-Key")
            slot = (key or "", str(service), str(body.get("isUpdating")))
            if key and service in _WRITES and slot in self._answers:
                self._replays += 1
                code, message, extra = self._answers[slot]
                return self._answer(code, message, **extra)
            code, message, extra = handler(body)
            if key and service in _WRITES:
                self._answers[slot] = (code, message, extra)
        return self._answer(code, message, **extra)

    # -- services --------------------------------------------------------------------------

    def _batch(self, body: dict[str, Any]) -> tuple[list[Any] | None, str]:
        data = body.get("data")
        if not isinstance(data, list) or not data:
            return None, "Thiếu danh sách dữ liệu 'data'"
        if len(data) > self.batch_limit:
            return None, f"Vượt quá số bản ghi cho phép trong một lần gửi (tối đa {self.batch_limit})"
        return data, ""

    def _sync_dossiers(self, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
        data, problem = self._batch(body)
        if data is None:
            return -1, problem, {}
        updating = body.get("isUpdating")
        if updating not in ("True", "False"):
            return -1, 'Trường isUpdating phải là "True" hoặc "False"', {}
        for hoso in data:
            problem = self._check_hoso(hoso)
            code = hoso.get("MaHoSo") if isinstance(hoso, dict) else None
            if problem:
                return -1, f"Hồ sơ {code or '?'}: {problem}", {}
            if updating == "False" and code in self._dossiers:
                return self.duplicate_code, f"Mã hồ sơ {code} đã tồn tại", {}
            if updating == "True" and code not in self._dossiers:
                return -1, f"Hồ sơ {code} không tồn tại trên Cổng", {}
        for hoso in data:  # all or nothing: validated first, stored afterwards
            self._dossiers[hoso["MaHoSo"]] = copy.deepcopy(hoso)
            self._stored_at.setdefault(hoso["MaHoSo"], time.monotonic())
        return 0, "Đồng bộ thành công", {}

    def _sync_progress(self, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
        data, problem = self._batch(body)
        if data is None:
            return -1, problem, {}
        for item in data:
            problem = _check_record(item, _TIENDO_REQUIRED)
            code = item.get("MaHoSo") if isinstance(item, dict) else None
            if problem:
                return -1, f"Tiến độ hồ sơ {code or '?'}: {problem}", {}
            if self.require_dossier_for_progress and code not in self._dossiers:
                return -1, f"Hồ sơ {code} không tồn tại trên Cổng", {}
        for item in data:
            self._progress.setdefault(item["MaHoSo"], []).append(copy.deepcopy(item))
        return 0, "Cập nhật tiến độ thành công", {}

    def _lookup(self, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
        code = body.get("mahoso") or body.get("MaHoSo")
        if not isinstance(code, str) or not code:
            return -1, "Thiếu mã hồ sơ cần tra cứu", {}
        found = self._dossiers.get(code)
        if found is not None and time.monotonic() - self._stored_at.get(code, 0.0) < self.lookup_lag:
            found = None  # the portal's search index has not caught up with the write yet
        return 0, "Tra cứu thành công", {"result": [copy.deepcopy(found)] if found else []}

    def _check_hoso(self, hoso: Any) -> str:
        problem = _check_record(hoso, _HOSO_REQUIRED)
        if problem:
            return problem
        code = hoso["MaTTHC"]
        known = code in self.procedures or bool(self._procedure_re and self._procedure_re.fullmatch(code))
        if not known:
            return f"Mã thủ tục hành chính (MaTTHC) '{code}' không có trong danh mục"
        if len(hoso.get("TrichYeuHoSo", "")) > 1000:
            return "Trích yếu hồ sơ (TrichYeuHoSo) vượt quá 1000 ký tự"
        for identity in hoso.get("DinhDanhCHS", []):
            kind, number = identity.get("LoaiDinhDanh"), identity.get("SoDinhDanh", "")
            digits = {"1": 12, "2": 9}.get(kind)
            if digits is None or not (number.isdigit() and len(number) == digits):
                return f"Định danh chủ hồ sơ không hợp lệ (LoaiDinhDanh {kind}, SoDinhDanh {number})"
        return ""


def _check_record(record: Any, required: Sequence[str]) -> str:
    """Shape rules shared by HoSo and TienDo; returns the first problem in Vietnamese, or ''."""
    if not isinstance(record, dict):
        return "bản ghi phải là một đối tượng JSON"
    missing = [k for k in required if not record.get(k)]
    if missing:
        return f"thiếu trường bắt buộc {', '.join(missing)}"
    for key, value in record.items():
        items = value if isinstance(value, list) else [value]
        for item in items:
            fields = item.items() if isinstance(item, dict) else [(key, item)]
            for name, text in fields:
                if not isinstance(text, str):
                    return f"giá trị của '{name}' phải là chuỗi ký tự"
                if (name.startswith("Ngay") or name.startswith("ThoiDiem")) and text:
                    if not re.fullmatch(r"\d{14}", text) or not _valid_time(text):
                        return f"'{name}' phải có dạng yyyyMMddHHmmss (14 chữ số), nhận '{text}'"
    for key, allowed in _CHOICES.items():
        if key in record and record[key] not in allowed:
            return f"'{key}' không hợp lệ: '{record[key]}'"
    return ""


def _valid_time(text: str) -> bool:
    try:
        time.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        return False
    return True


def serve(
    host: str = "127.0.0.1",
    port: int = 8085,
    *,
    stop_event: threading.Event | None = None,
    out: TextIO | None = None,
    **options: Any,
) -> None:
    """Run a portal simulator until Ctrl-C or ``stop_event``; ``options`` go to :class:`PortalSimulator`."""
    simulation.serve(
        PortalSimulator(host, port, **options),
        lambda sim: (
            f"Cổng DVCQG mô phỏng: adapter_url={sim.adapter_url} username={sim.username} "
            f"password={sim.password} dstcode={sim.dstcode} (Ctrl-C để dừng)"
        ),
        "Cổng DVCQG mô phỏng đã dừng",
        stop_event=stop_event,
        out=out,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m integrations.portal.dvcqg_simulator [--host H] [--port P] [--username U] ...``."""
    parser = simulation.cli_parser("motcua: Cổng DVCQG simulator (loopback)", 8085)
    parser.add_argument("--username", default="motcua")
    parser.add_argument("--password", default="mat-khau")
    parser.add_argument("--madonvi", default=None)
    parser.add_argument("--session-ttl", type=float, default=1800.0)
    parser.add_argument("--error-code-as", choices=("string", "number"), default="string")
    args = parser.parse_args(argv)
    serve(
        args.host, args.port, username=args.username, password=args.password, madonvi=args.madonvi,
        session_ttl=args.session_ttl, error_code_as=args.error_code_as,
    )  # fmt: skip


if __name__ == "__main__":
    main()
