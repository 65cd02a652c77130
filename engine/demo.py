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
    ("000.00.22.H99", "Công an tỉnh Demo", "000.00.00.H99"),
]

DEMO_USERS = [
    ("tiepnhan", "Nguyễn Thị Tiếp Nhận", "desk", "000.00.21.H99"),
    ("chuyenvien", "Trần Văn Chuyên", "specialist", "000.00.21.H99"),
    ("lanhdao", "Lê Minh Lãnh", "leader", "000.00.21.H99"),
    ("congdan", "Phạm Thị Công Dân", "citizen", None),
    ("phantich", "Hoàng Văn Phân Tích", "analyst", "000.00.21.H99"),
    ("quantri", "Đỗ Quản Trị", "admin", "000.00.21.H99"),
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
