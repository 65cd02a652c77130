"""Dossier statuses: our local names, their Vietnamese labels and the national portal's numbers.

The BPMN declares the local name on elements (property `dossierStatus`); the portal sync maps it
through `PORTAL_STATUS` (Cổng DVCQG TrangThaiHoSo 1–10).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    key: str
    portal_code: int
    label_vi: str
    final: bool = False


STATUSES: dict[str, Status] = {
    s.key: s
    for s in (
        Status("submitted", 1, "Mới đăng ký"),
        Status("received", 2, "Được tiếp nhận"),
        Status("refused", 3, "Không được tiếp nhận", final=True),
        Status("processing", 4, "Đang xử lý"),
        Status("supplement_requested", 5, "Yêu cầu bổ sung giấy tờ"),
        Status("payment_requested", 6, "Yêu cầu thực hiện nghĩa vụ tài chính"),
        Status("withdrawn", 7, "Công dân yêu cầu rút hồ sơ", final=True),
        Status("stopped", 8, "Dừng xử lý", final=True),
        Status("result_ready", 9, "Đã xử lý xong"),
        Status("returned", 10, "Đã trả kết quả", final=True),
    )
}

PORTAL_STATUS: dict[str, int] = {key: s.portal_code for key, s in STATUSES.items()}


def label(key: str) -> str:
    status = STATUSES.get(key)
    return status.label_vi if status else key
