"""The sample province the seeder fills: its agencies, officials' names and applicants.

Seeded dossiers live in a province of their own (code H98, "tỉnh Mẫu"), never in a real or demo
agency: nobody's inbox shows them, and a database holding anything outside it has real data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.services.accounts import Actor

PROVINCE = "H98"
SUFFIX = f".{PROVINCE}"


def agency_code(number: int) -> str:
    """`000.00.NN.H98`, as QCVN 102:2016 identifiers read."""
    return f"000.00.{number:02d}{SUFFIX}"


#: Provincial agencies, numbered like the demo province's (so lanes' agencies map one to one).
PROVINCIAL = [
    (0, "UBND tỉnh Mẫu (dữ liệu mẫu)", None),
    (22, "Công an tỉnh Mẫu — Phòng Hồ sơ nghiệp vụ (dữ liệu mẫu)", 0),
    (23, "Tòa án nhân dân tỉnh Mẫu (dữ liệu mẫu)", None),
    (24, "Sở Xây dựng tỉnh Mẫu (dữ liệu mẫu)", 0),
    (25, "Công an cấp xã tỉnh Mẫu (dữ liệu mẫu)", 22),
    (26, "Bảo hiểm xã hội tỉnh Mẫu (dữ liệu mẫu)", None),
]
COMMUNES = ["An Bình", "Hòa Bình", "Tân Phú", "Phú Lợi", "Thạnh Mỹ", "Long Hưng", "Bình Minh", "Đông Hòa",
            "Tây Sơn", "Nam Thành", "Bắc Hà", "Vĩnh Phúc", "Hưng Đạo", "Quang Trung", "Trần Phú", "Lê Lợi",
            "Hải Châu", "Cẩm Lệ", "Sơn Trà", "Ngũ Hành Sơn"]
#: Commune-level agencies start at 31; bigger wards receive more (weights fall with the index).
FIRST_COMMUNE = 31


def commune_agencies() -> list[tuple[str, str, str]]:
    return [(agency_code(FIRST_COMMUNE + i), f"UBND {'phường' if i < 12 else 'xã'} {name} (dữ liệu mẫu)",
             agency_code(0)) for i, name in enumerate(COMMUNES)]


def commune_weights() -> list[float]:
    """How dossiers spread over the communes: the big wards first."""
    return [1 / (1 + 0.12 * i) for i in range(len(COMMUNES))]


def busiest_share(templates: Sequence[Any]) -> float:
    """The largest share of all dossiers one agency receives (for the 4-digit daily code number)."""
    provincial: dict[int, float] = {}
    communal = 0.0
    for template in templates:
        if isinstance(template.handled_by, int):
            provincial[template.handled_by] = provincial.get(template.handled_by, 0.0) + template.weight
        else:
            communal += template.weight
    total = sum(t.weight for t in templates)
    weights = commune_weights()
    return max([*provincial.values(), communal * weights[0] / sum(weights)]) / total


def all_agencies() -> list[tuple[str, str, str | None]]:
    provincial = [(agency_code(n), name, agency_code(parent) if parent is not None else None)
                  for n, name, parent in PROVINCIAL]
    return provincial + commune_agencies()


def in_province(code: str) -> str:
    """The seed province's counterpart of an agency named in a procedure (lanes name the demo's)."""
    head, _, _province = code.rpartition(".")
    return f"{head}{SUFFIX}" if head else code


FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý"]
FAMILY_WEIGHTS = [38, 11, 9.5, 7, 5, 4, 4.5, 4, 3.5, 2, 2, 1.5, 1.3, 1.3, 1, 0.5]
MIDDLE = ["Văn", "Thị", "Minh", "Thanh", "Ngọc", "Hoàng", "Quốc", "Đức", "Thu", "Anh", "Hữu", "Xuân"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Duyên", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương", "Khánh",
         "Lan", "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngọc", "Phong", "Phúc", "Quân", "Quỳnh", "Sơn",
         "Tâm", "Thảo", "Thắng", "Trang", "Trung", "Tuấn", "Uyên", "Vân", "Việt", "Yến"]


def person_name(rng: random.Random) -> str:
    return f"{rng.choices(FAMILY, FAMILY_WEIGHTS)[0]} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


@dataclass(frozen=True)
class Applicant:
    name: str
    phone: str
    id_number: str
    email: str | None
    kind: int


def applicant(rng: random.Random) -> Applicant:
    name = person_name(rng)
    phone = "0" + rng.choice("3579") + "".join(rng.choices("0123456789", k=8))
    id_number = f"0{rng.randint(1, 96):02d}{rng.randint(0, 1)}{rng.randint(40, 99):02d}" + \
        "".join(rng.choices("0123456789", k=6))
    email = f"nguoidan{rng.randrange(10**7):07d}@example.vn" if rng.random() < 0.4 else None
    return Applicant(name, phone, id_number, email, 2 if rng.random() < 0.06 else 1)


class Staff:
    """Officials' names per agency and role (history names them; no accounts exist for them)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._people: dict[tuple[str, str], list[Actor]] = {}

    def pick(self, agency: str, role: str) -> Actor:
        people = self._people.get((agency, role))
        if people is None:
            people = self._people[(agency, role)] = [
                Actor(None, f"mau.{role}.{i}", person_name(self._rng), role, agency)
                for i in range({"desk": 3, "specialist": 3, "leader": 1}.get(role, 1))]
        return self._rng.choice(people)
