"""What a report is about: a period of Vietnam calendar days, optionally one agency and one procedure.

Periods are inclusive local days because that is how provinces report ("tháng 3/2026" is 1/3 to
31/3 in Vietnam time, whatever the UTC clock said).
"""

from __future__ import annotations

import calendar as _months
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import InvalidInput

#: The longest period one report may cover (a dashboard is not an archive export).
MAX_DAYS = 366 * 5


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    agency_code: str | None = None
    procedure_id: int | None = None

    def __post_init__(self) -> None:
        errors: dict[str, list[str]] = {}
        if not isinstance(self.date_from, date) or not isinstance(self.date_to, date):
            errors["date_from"] = ["Thời gian báo cáo phải là ngày hợp lệ (YYYY-MM-DD)."]
        elif self.date_from > self.date_to:
            errors["date_to"] = ["Ngày kết thúc phải sau hoặc trùng ngày bắt đầu."]
        elif (self.date_to - self.date_from).days >= MAX_DAYS:
            errors["date_to"] = ["Kỳ báo cáo dài tối đa 5 năm."]
        if self.procedure_id is not None and (not isinstance(self.procedure_id, int) or self.procedure_id < 1):
            errors["procedure_id"] = ["Thủ tục không hợp lệ."]
        if errors:
            raise InvalidInput(errors, "invalid report filters")

    @classmethod
    def month(cls, year: int, month: int, **kwargs: Any) -> Filters:
        """A calendar month (tháng)."""
        if not 1 <= month <= 12:
            raise InvalidInput({"month": ["Tháng phải từ 1 đến 12."]}, "invalid month")
        return cls(date(year, month, 1), date(year, month, _months.monthrange(year, month)[1]), **kwargs)

    @classmethod
    def year(cls, year: int, **kwargs: Any) -> Filters:
        return cls(date(year, 1, 1), date(year, 12, 31), **kwargs)

    @classmethod
    def parse(cls, values: dict[str, Any]) -> Filters:
        """From text values (a query string): `tu_ngay`, `den_ngay` (YYYY-MM-DD), `co_quan`, `thu_tuc`."""
        errors: dict[str, list[str]] = {}
        days = {}
        for key in ("tu_ngay", "den_ngay"):
            try:
                days[key] = date.fromisoformat(str(values.get(key) or ""))
            except ValueError:
                errors[key] = ["Ngày không hợp lệ, cần dạng YYYY-MM-DD."]
        procedure = values.get("thu_tuc") or None
        if procedure is not None:
            try:
                procedure = int(procedure)
            except (TypeError, ValueError):
                errors["thu_tuc"] = ["Thủ tục không hợp lệ."]
        if errors:
            raise InvalidInput(errors, "invalid report filters")
        return cls(days["tu_ngay"], days["den_ngay"], values.get("co_quan") or None, procedure)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1
