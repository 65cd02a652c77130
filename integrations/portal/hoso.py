"""Our dossier snapshot ↔ the national portal's ``HoSo`` and ``TienDo`` records.

Pure functions, no I/O: the engine sends English snake_case payloads (documented in
``integrations/portal/README.md``); the portal wants Vietnamese PascalCase records whose
values are all strings and whose times are ``yyyyMMddHHmmss`` in Vietnam time. Keeping the
translation here, away from HTTP, lets it be tested exhaustively and lets the reconciliation
command read a portal record back into our vocabulary with :func:`record_from_hoso`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "CHANNELS",
    "VN_TZ",
    "PayloadError",
    "build_hoso",
    "build_tiendo",
    "parse_portal_time",
    "portal_time",
    "record_from_hoso",
]

#: Vietnam has had no daylight saving since 1975: a fixed offset needs no tz database.
VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

#: Our channel name -> KenhThucHien (1 trực tiếp, 2 trực tuyến, 3 bưu chính).
CHANNELS: dict[str, str] = {"desk": "1", "online": "2", "post": "3"}
#: Our return method -> HinhThuc (0 at the desk, 1 by post).
RETURN_METHODS: dict[str, str] = {"desk": "0", "post": "1"}
#: Fee kind -> LoaiPhiLePhi (?: inferred, "1" phí, "2" lệ phí).
FEE_KINDS: dict[str, str] = {"fee": "1", "charge": "2"}
#: How a fee is collected -> HinhThucThu (?: inferred, same numbering as the channel).
FEE_METHODS: dict[str, str] = {"desk": "1", "online": "2", "post": "3"}
#: Supplement state -> TrangThaiBoSung (?: inferred, "0" awaiting the citizen, "1" supplied).
SUPPLEMENT_STATES: dict[str, str] = {"requested": "0", "supplied": "1"}

_PORTAL_TIME_RE = re.compile(r"\d{14}")
_SUMMARY_MAX = 1000


class PayloadError(ValueError):
    """The engine's payload cannot be turned into a portal record (the message is Vietnamese)."""


def portal_time(value: Any, field: str) -> str:
    """ISO 8601 with an offset (or an already formatted ``yyyyMMddHHmmss``) -> portal time.

    A naive time is refused rather than guessed: the engine works in UTC and a wrong guess
    would shift every appointment date by seven hours on the citizens' portal.
    """
    if isinstance(value, str) and _PORTAL_TIME_RE.fullmatch(value):
        parse_portal_time(value, field)  # validates the calendar date
        return value
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PayloadError(f"'{field}' không phải thời điểm ISO 8601: {value!r}") from None
    else:
        raise PayloadError(f"'{field}' phải là thời điểm ISO 8601, nhận {type(value).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PayloadError(f"'{field}' thiếu múi giờ (cần dạng 2025-08-12T08:30:00+07:00): {value!r}")
    return moment.astimezone(VN_TZ).strftime("%Y%m%d%H%M%S")


def parse_portal_time(value: str, field: str = "thời điểm") -> datetime:
    """``yyyyMMddHHmmss`` (Vietnam time) -> an aware datetime; :class:`PayloadError` if invalid."""
    if not isinstance(value, str) or not _PORTAL_TIME_RE.fullmatch(value):
        raise PayloadError(f"'{field}' phải gồm đúng 14 chữ số yyyyMMddHHmmss: {value!r}")
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=VN_TZ)
    except ValueError:
        raise PayloadError(f"'{field}' không phải ngày giờ hợp lệ: {value!r}") from None


# -- payload reading helpers --------------------------------------------------------------


class _Reader:
    """Reads one payload object strictly: unknown keys refused, types checked, Vietnamese errors."""

    def __init__(self, data: Any, where: str, allowed: frozenset[str]) -> None:
        if not isinstance(data, Mapping):
            raise PayloadError(f"'{where}' phải là một đối tượng")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise PayloadError(f"'{where}' có trường không được hỗ trợ: {', '.join(unknown)}")
        self.data, self.where = data, where

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where != "payload" else key

    def text(self, key: str, *, required: bool = False, limit: int | None = None) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise PayloadError(f"thiếu '{self._name(key)}'")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise PayloadError(f"'{self._name(key)}' phải là chuỗi ký tự")
        text = str(value).strip()
        return text[:limit] if limit else text

    def time(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                raise PayloadError(f"thiếu '{self._name(key)}'")
            return None
        return portal_time(value, self._name(key))

    def choice(self, key: str, choices: Mapping[str, str], *, default: str | None = None) -> str | None:
        value = self.data.get(key, default)
        if value is None:
            return None
        if value not in choices:
            raise PayloadError(f"'{self._name(key)}' phải là một trong {', '.join(choices)}: {value!r}")
        return choices[value]

    def integer(self, key: str, low: int, high: int | None = None, *, required: bool = False) -> int | None:
        value = self.data.get(key)
        if value is None:
            if required:
                raise PayloadError(f"thiếu '{self._name(key)}'")
            return None
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
            bounds = f"{low}–{high}" if high else f"≥ {low}"
            raise PayloadError(f"'{self._name(key)}' phải là số nguyên {bounds}: {value!r}")
        return value

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            raise PayloadError(f"'{self._name(key)}' phải là true/false")
        return value

    def items(self, key: str, convert: Callable[[Any, str], dict[str, str]]) -> list[dict[str, str]] | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise PayloadError(f"'{self._name(key)}' phải là một danh sách")
        return [convert(item, f"{self._name(key)}[{i}]") for i, item in enumerate(value)]


def _put(record: dict[str, Any], **fields: Any) -> None:
    """Set only the fields that have a value: the portal reads a missing field as "not given"."""
    record.update({k: v for k, v in fields.items() if v is not None})


def _bool_text(value: bool | None, true: str = "1", false: str = "0") -> str | None:
    return None if value is None else (true if value else false)


# -- HoSo ---------------------------------------------------------------------------------

_DOSSIER_KEYS = frozenset(
    {
        "code", "procedure_code", "procedure_name", "field_code", "field_name", "channel", "applicant",
        "summary", "submitted_at", "received_at", "due_at", "finished_at", "returned_at", "refused_at",
        "status", "agency_name", "return_method", "note", "paid_online", "documents", "fees",
        "supplements", "results",
    }
)  # fmt: skip
_APPLICANT_KEYS = frozenset({"name", "id_number", "kind", "phone", "email"})


def build_hoso(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``HoSo`` record for ``DongBoHoSoMC`` from the engine's dossier snapshot."""
    r = _Reader(payload, "payload", _DOSSIER_KEYS)
    a = _Reader(payload.get("applicant"), "applicant", _APPLICANT_KEYS)
    received = r.time("received_at") or r.time("submitted_at")
    if received is None:
        raise PayloadError("thiếu 'received_at' (hoặc 'submitted_at' với hồ sơ chưa tiếp nhận)")
    hoso: dict[str, Any] = {
        "MaHoSo": r.text("code", required=True),
        "MaTTHC": r.text("procedure_code", required=True),
        "TenTTHC": r.text("procedure_name", required=True),
        "KenhThucHien": r.choice("channel", CHANNELS) or _missing("channel"),
        "ChuHoSo": a.text("name", required=True),
        "LoaiDoiTuong": str(a.integer("kind", 1, 4, required=True)),
        "NgayTiepNhan": received,
        "TrangThaiHoSo": str(r.integer("status", 1, 10, required=True)),
        "DonViXuLy": r.text("agency_name", required=True),
    }
    id_number = a.text("id_number")
    _put(
        hoso,
        MaLinhVuc=r.text("field_code"),
        TenLinhVuc=r.text("field_name"),
        SoGiayToChuHoSo=id_number,
        DinhDanhCHS=_identity(id_number),
        SoDienThoai=a.text("phone"),
        Email=a.text("email"),
        TrichYeuHoSo=r.text("summary", limit=_SUMMARY_MAX),
        NgayNopHoSo=r.time("submitted_at"),
        NgayHenTra=r.time("due_at"),
        NgayKetThucXuLy=r.time("finished_at"),
        NgayTra=r.time("returned_at"),
        NgayTuChoi=r.time("refused_at"),
        HinhThuc=r.choice("return_method", RETURN_METHODS),
        GhiChu=r.text("note"),
        DuocThanhToanTrucTuyen=_bool_text(r.flag("paid_online")),
        TaiLieuNop=r.items("documents", _document),
        DanhSachLePhi=r.items("fees", _fee),
        DanhSachHoSoBoSung=r.items("supplements", _supplement),
        DanhSachGiayToKetQua=r.items("results", _result),
    )
    return hoso


def _missing(key: str) -> str:
    raise PayloadError(f"thiếu '{key}'")


def _identity(id_number: str | None) -> list[dict[str, str]] | None:
    """DinhDanhCHS: "1" CCCD (12 digits), "2" CMND (9 digits); other numbers (tax codes) are not identities."""
    if id_number and id_number.isdigit() and len(id_number) in (9, 12):
        return [{"LoaiDinhDanh": "1" if len(id_number) == 12 else "2", "SoDinhDanh": id_number}]
    return None


def _document(item: Any, where: str) -> dict[str, str]:
    d = _Reader(item, where, frozenset({"id", "name", "url", "component_code", "deleted", "digitized"}))
    record = {"TepDinhKemId": d.text("id", required=True), "TenTepDinhKem": d.text("name", required=True)}
    _put(
        record,
        IsDeleted="True" if d.flag("deleted") else "False",
        MaThanhPhanHoSo=d.text("component_code"),
        DuongDanTaiTepTin=d.text("url"),
        DuocSoHoa=_bool_text(d.flag("digitized")),
    )
    return record  # type: ignore[return-value]


def _fee(item: Any, where: str) -> dict[str, str]:
    f = _Reader(item, where, frozenset({"code", "name", "amount", "kind", "method"}))
    record = {
        "TenPhiLePhi": f.text("name", required=True),
        "Gia": str(f.integer("amount", 0, required=True)),
        "LoaiPhiLePhi": f.choice("kind", FEE_KINDS, default="charge"),
    }
    _put(record, MaPhiLePhi=f.text("code"), HinhThucThu=f.choice("method", FEE_METHODS))
    return record  # type: ignore[return-value]


def _supplement(item: Any, where: str) -> dict[str, str]:
    keys = frozenset(
        {"id", "requested_by", "content", "requested_at", "old_due", "new_due", "supplied_at", "state"}
    )
    s = _Reader(item, where, keys)
    record = {
        "HoSoBoSungId": s.text("id") or str(int(where.rsplit("[", 1)[-1].rstrip("]")) + 1),
        "NguoiYeuCauBoSung": s.text("requested_by", required=True),
        "NoiDungBoSung": s.text("content", required=True),
        "NgayBoSung": s.time("requested_at", required=True),
    }
    _put(
        record,
        NgayHenTraTruoc=s.time("old_due"),
        NgayHenTraMoi=s.time("new_due"),
        NgayTiepNhanBoSung=s.time("supplied_at"),
        TrangThaiBoSung=s.choice("state", SUPPLEMENT_STATES),
    )
    return record  # type: ignore[return-value]


def _result(item: Any, where: str) -> dict[str, str]:
    r = _Reader(item, where, frozenset({"id", "name", "url", "component_code", "result_code"}))
    record = {"GiayToId": r.text("id", required=True), "TenGiayTo": r.text("name", required=True)}
    _put(
        record,
        DuongDanTepTinKetQua=r.text("url"),
        MaThanhPhanHoSo=r.text("component_code"),
        MaGiayToKetQua=r.text("result_code"),
    )
    return record  # type: ignore[return-value]


# -- TienDo -------------------------------------------------------------------------------

_PROGRESS_KEYS = frozenset(
    {"code", "actor", "title", "department", "at", "note", "status", "started_at", "due_at"}
)


def build_tiendo(payload: Mapping[str, Any]) -> dict[str, str]:
    """The ``TienDo`` record for ``CapNhatTienDoHoSoMC`` from one status-change event."""
    r = _Reader(payload, "payload", _PROGRESS_KEYS)
    record = {
        "MaHoSo": r.text("code", required=True),
        "ThoiDiemXuLy": r.time("at", required=True),
        "NoiDungXuLy": r.text("note", required=True),
        "TrangThai": str(r.integer("status", 1, 10, required=True)),
    }
    _put(
        record,
        NguoiXuLy=r.text("actor"),
        ChucDanh=r.text("title"),
        PhongBanXuLy=r.text("department"),
        NgayBatDau=r.time("started_at"),
        NgayKetThucTheoQuyDinh=r.time("due_at"),
    )
    return record  # type: ignore[return-value]


# -- back from the portal -----------------------------------------------------------------


def record_from_hoso(hoso: Mapping[str, Any]) -> dict[str, Any]:
    """A portal ``HoSo`` (as ``TraCuuHoSo`` returns it) in our vocabulary, for reconciliation.

    Lenient on purpose: it reads what the portal holds, which may have been written by
    another system; unreadable times become ``None`` and the raw record is kept.
    """
    channels = {v: k for k, v in CHANNELS.items()}

    def when(key: str) -> str | None:
        value = hoso.get(key)
        try:
            return parse_portal_time(str(value), key).isoformat() if value else None
        except PayloadError:
            return None

    def number(key: str) -> int | None:
        value = str(hoso.get(key, "")).strip()
        return int(value) if value.lstrip("-").isdigit() else None

    return {
        "code": hoso.get("MaHoSo"),
        "procedure_code": hoso.get("MaTTHC"),
        "procedure_name": hoso.get("TenTTHC"),
        "channel": channels.get(str(hoso.get("KenhThucHien", ""))),
        "applicant": {
            "name": hoso.get("ChuHoSo"),
            "kind": number("LoaiDoiTuong"),
            "id_number": hoso.get("SoGiayToChuHoSo"),
            "phone": hoso.get("SoDienThoai"),
            "email": hoso.get("Email"),
        },
        "status": number("TrangThaiHoSo"),
        "agency_name": hoso.get("DonViXuLy"),
        "received_at": when("NgayTiepNhan"),
        "due_at": when("NgayHenTra"),
        "finished_at": when("NgayKetThucXuLy"),
        "returned_at": when("NgayTra"),
        "raw": dict(hoso),
    }
