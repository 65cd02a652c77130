"""People and credentials: password hashing (scrypt), bearer tokens (hashed at rest, revocable)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import AuthenticationFailed, InvalidInput
from engine.models import ApiToken, User

ROLES = ("desk", "specialist", "leader", "citizen", "analyst", "admin")
DEMO_PASSWORD = "demo"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Actor:
    """Who is acting, as services see it (never a DB row)."""

    id: int | None
    username: str
    full_name: str
    role: str
    agency_code: str | None = None
    id_number: str | None = None
    phone: str | None = None
    email: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in ("desk", "specialist", "leader", "admin")

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.username, user.full_name, user.role, user.agency_code, user.id_number,
                   user.phone, user.email)


SYSTEM = Actor(None, "system", "Hệ thống", "system")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    encode = base64.b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _scheme, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                   dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def _refuse_default_password(ctx: EngineContext, password: str) -> None:
    if not ctx.settings.embedded and password == DEMO_PASSWORD:
        raise InvalidInput({"password": ["Chế độ vận hành thật không chấp nhận mật khẩu mặc định."]})


def create_user(ctx: EngineContext, *, username: str, password: str, full_name: str, role: str,
                agency_code: str | None = None, email: str | None = None, phone: str | None = None,
                id_number: str | None = None) -> Actor:
    if role not in ROLES:
        raise InvalidInput({"role": [f"Vai trò không hợp lệ: {role}"]})
    _refuse_default_password(ctx, password)
    with transaction(ctx.sessions) as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise InvalidInput({"username": ["Tên đăng nhập đã tồn tại."]})
        user = User(username=username, password_hash=hash_password(password), full_name=full_name, role=role,
                    agency_code=agency_code, email=email, phone=phone, id_number=id_number, active=True,
                    created_at=datetime.now(UTC))
        session.add(user)
        session.flush()
        return Actor.of(user)


def authenticate(ctx: EngineContext, username: str, password: str) -> Actor:
    with ctx.sessions() as session:
        user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None or not verify_password(password, user.password_hash):
        raise AuthenticationFailed("bad credentials")
    if not ctx.settings.embedded and password == DEMO_PASSWORD:
        raise AuthenticationFailed("default password refused in production",
                                   message_vi="Tài khoản đang dùng mật khẩu mặc định; hãy đặt mật khẩu mới.")
    return Actor.of(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(ctx: EngineContext, actor: Actor) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        session.add(ApiToken(user_id=actor.id, token_hash=_token_hash(token), created_at=now,
                             expires_at=now + timedelta(hours=ctx.settings.token_ttl_hours)))
    return token


def actor_from_token(ctx: EngineContext, token: str) -> Actor:
    with ctx.sessions() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
        if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC):
            raise AuthenticationFailed("invalid token", message_vi="Phiên đăng nhập không hợp lệ hoặc đã hết hạn.")
        if not row.user.active:
            raise AuthenticationFailed("inactive user")
        return Actor.of(row.user)


def revoke_token(ctx: EngineContext, token: str) -> None:
    with transaction(ctx.sessions) as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == _token_hash(token))
                        .values(revoked_at=datetime.now(UTC)))


def citizen_from_identity(ctx: EngineContext, identity: Any) -> Actor:
    """The citizen account behind a national e-ID login, created on first login (no password: the
    account is reached only through the identity provider). Matched by the provider's subject."""
    username = f"vneid:{identity.subject}"[:64]
    with transaction(ctx.sessions) as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, password_hash="!", full_name=identity.full_name or "Công dân",
                        role="citizen", email=identity.email, phone=identity.phone, id_number=identity.id_number,
                        active=True, created_at=datetime.now(UTC))
            session.add(user)
        else:  # the provider is the source of truth for these
            user.full_name = identity.full_name or user.full_name
            user.email, user.phone = identity.email or user.email, identity.phone or user.phone
            user.id_number = identity.id_number or user.id_number
        session.flush()
        if not user.active:
            raise AuthenticationFailed("inactive user", message_vi="Tài khoản đã bị khóa.")
        return Actor.of(user)


def actor_by_id(ctx: EngineContext, user_id: int) -> Actor | None:
    with ctx.sessions() as session:
        user = session.get(User, user_id)
        return Actor.of(user) if user is not None and user.active else None
