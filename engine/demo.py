"""Embedded demo data: the demo province's agencies and one account per role (password `demo`).

Refused outside embedded mode: production never gets default passwords.
"""

from __future__ import annotations

from sqlalchemy import select

from engine.context import EngineContext
from engine.db import transaction
from engine.models import Agency, User
from engine.services.accounts import DEMO_PASSWORD, create_user

DEMO_AGENCIES = [
    ("000.00.00.H99", "UBND tỉnh Demo", None),
    ("000.00.21.H99", "UBND phường Hòa Bình (tỉnh Demo)", "000.00.00.H99"),
    ("000.00.22.H99", "Công an tỉnh Demo (Phòng Hồ sơ nghiệp vụ PV06)", "000.00.00.H99"),
    ("000.00.23.H99", "Tòa án nhân dân tỉnh Demo", None),
    ("000.00.24.H99", "Sở Xây dựng tỉnh Demo", "000.00.00.H99"),
    ("000.00.25.H99", "Công an phường Hòa Bình", "000.00.22.H99"),
    ("000.00.26.H99", "Bảo hiểm xã hội tỉnh Demo", None),
]

DEMO_USERS = [
    ("tiepnhan", "Nguyễn Thị Tiếp Nhận", "desk", "000.00.21.H99"),
    ("chuyenvien", "Trần Văn Chuyên", "specialist", "000.00.21.H99"),
    ("lanhdao", "Lê Minh Lãnh", "leader", "000.00.21.H99"),
    ("congdan", "Phạm Thị Công Dân", "citizen", None),
    ("phantich", "Hoàng Văn Phân Tích", "analyst", "000.00.21.H99"),
    ("quantri", "Đỗ Quản Trị", "admin", "000.00.21.H99"),
    # Other agencies, for inter-agency (liên thông) steps and the provincial police's own procedure.
    ("tiepnhan_ca", "Vũ Văn Tiếp Nhận", "desk", "000.00.22.H99"),
    ("chuyenvien_ca", "Ngô Thị Hồ Sơ", "specialist", "000.00.22.H99"),
    ("lanhdao_ca", "Trịnh Văn Chỉ Huy", "leader", "000.00.22.H99"),
    ("chuyenvien_ta", "Lý Thị Thẩm Phán", "specialist", "000.00.23.H99"),
    ("chuyenvien_xd", "Đặng Văn Xây Dựng", "specialist", "000.00.24.H99"),
    ("chuyenvien_cap", "Cao Văn Cư Trú", "specialist", "000.00.25.H99"),
    ("chuyenvien_bhxh", "Mai Thị Bảo Hiểm", "specialist", "000.00.26.H99"),
]


def ensure_agencies(ctx: EngineContext, agencies=DEMO_AGENCIES) -> None:
    with transaction(ctx.sessions) as session:
        for code, name, parent in agencies:
            if session.get(Agency, code) is None:
                session.add(Agency(code=code, name=name, parent_code=parent))
                session.flush()


def seed_demo(ctx: EngineContext) -> list[str]:
    """Create the demo agencies and accounts that do not exist yet; return the usernames created."""
    if not ctx.settings.embedded:
        raise RuntimeError("demo accounts are only seeded in embedded mode (MOTCUA_MODE=embedded)")
    ensure_agencies(ctx)
    created = []
    with ctx.sessions() as session:
        existing = set(session.scalars(select(User.username)))
    for username, name, role, agency in DEMO_USERS:
        if username in existing:
            continue
        extra = {"id_number": "001090000001", "phone": "0912345678", "email": "congdan@example.vn"} \
            if role == "citizen" else {"email": f"{username}@ubnd.demo.gov.vn"}
        create_user(ctx, username=username, password=DEMO_PASSWORD, full_name=name, role=role,
                    agency_code=agency, **extra)
        created.append(username)
    return created
