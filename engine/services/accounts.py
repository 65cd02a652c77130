"""People and credentials: password hashing (scrypt), bearer tokens (hashed at rest, revocable)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, select, update

from engine.context import EngineContext
from engine.db import transaction
from engine.errors import AuthenticationFailed, InvalidInput
from engine.models import ApiToken, User
from engine.reads import read_only, read_only_connection
from engine.services import login_throttle

ROLES = ("desk", "specialist", "leader", "citizen", "analyst", "admin")
DEMO_PASSWORD = "demo"
#: scrypt cost for new hashes: N=2**14, r=8 takes 16 MiB and 0.05-0.15 s a login on this machine
#: (RFC 7914's interactive figure). Stored hashes carry their own parameters, so raising these later
#: keeps old hashes verifying; each is re-hashed with the new ones at its owner's next login.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
#: refuse a stored hash whose parameters would need more memory than this (a corrupt or hostile row)
_SCRYPT_MAX_MEMORY = 256 * 1024 * 1024


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
    def of(cls, user: User | Row) -> Actor:
        """From a user, or a row of the same column names (the token holder's)."""
        return cls(user.id, user.username, user.full_name, user.role, user.agency_code, user.id_number,
                   user.phone, user.email)


SYSTEM = Actor(None, "system", "Hệ thống", "system")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # OpenSSL's default memory cap (32 MiB) would refuse N=2**15 and up; allow what the parameters need
    needed = 128 * r * (n + p + 2)
    if needed > _SCRYPT_MAX_MEMORY:
        raise ValueError("scrypt parameters beyond the memory cap")
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=needed + 1024 * 1024)


def hash_password(password: str, *, n: int = _SCRYPT["n"], r: int = _SCRYPT["r"], p: int = _SCRYPT["p"]) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, r, p)
    encode = base64.b64encode
    return f"scrypt${n}${r}${p}${encode(salt).decode()}${encode(digest).decode()}"


_DUMMY: list[str] = []


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time comparison; an account without a usable hash (unknown username, e-ID only)
    costs the same scrypt run, so the answer's timing does not tell which usernames exist."""
    try:
        _scheme, n, r, p, salt, digest = (stored or "").split("$")
        candidate = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        expected = base64.b64decode(digest)
    except (ValueError, TypeError):
        if not _DUMMY:
            _DUMMY.append(hash_password(secrets.token_urlsafe(16)))
        _scheme, n, r, p, salt, digest = _DUMMY[0].split("$")
        _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        return False
    return hmac.compare_digest(candidate, expected)


def needs_rehash(stored: str) -> bool:
    """Whether a (verified) hash was made with other parameters than today's."""
    parts = stored.split("$")
    return len(parts) != 6 or parts[0] != "scrypt" or parts[1:4] != [str(_SCRYPT[k]) for k in ("n", "r", "p")]


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
    """Check a password login (pages and the API's token endpoint alike), throttled per username
    and per client address (engine/services/login_throttle.py)."""
    login_throttle.refuse_if_locked(ctx, username)
    with ctx.sessions() as session:
        user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    verified = verify_password(password, user.password_hash if user is not None else None)
    if user is None or not verified:
        locked_until = login_throttle.record_failure(ctx, username)
        if locked_until is not None:
            raise login_throttle.LoginThrottled(locked_until, datetime.now(UTC))
        raise AuthenticationFailed("bad credentials")
    login_throttle.record_success(ctx, username)
    if not ctx.settings.embedded and password == DEMO_PASSWORD:
        raise AuthenticationFailed("default password refused in production",
                                   message_vi="Tài khoản đang dùng mật khẩu mặc định; hãy đặt mật khẩu mới.")
    if needs_rehash(user.password_hash):
        _rehash(ctx, user, password)
    return Actor.of(user)


def _rehash(ctx: EngineContext, user: User, password: str) -> None:
    """Store the just-verified password under today's parameters; only if the row still holds the
    hash we verified (a password changed meanwhile wins)."""
    with transaction(ctx.sessions) as session:
        session.execute(update(User).where(User.id == user.id, User.password_hash == user.password_hash)
                        .values(password_hash=hash_password(password)))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(ctx: EngineContext, actor: Actor) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with transaction(ctx.sessions) as session:
        session.add(ApiToken(user_id=actor.id, token_hash=_token_hash(token), created_at=now,
                             expires_at=now + timedelta(hours=ctx.settings.token_ttl_hours)))
    return token


#: Who holds a token, in one statement read on every API request: the columns an Actor needs and the
#: token's validity, without building ORM objects (a third of the lookup's CPU).
_TOKEN_HOLDER = (select(User.id, User.username, User.full_name, User.role, User.agency_code, User.id_number,
                        User.phone, User.email, User.active, ApiToken.revoked_at, ApiToken.expires_at)
                 .join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == bindparam("token_hash")))


def actor_from_token(ctx: EngineContext, token: str) -> Actor:
    """The token's holder. Read from the database on every request, not cached: a revoked token or a
    deactivated account is refused from the next request on, by every web process."""
    with read_only_connection(ctx.db) as connection:
        row = connection.execute(_TOKEN_HOLDER, {"token_hash": _token_hash(token)}).first()
    if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(UTC):
        raise AuthenticationFailed("invalid token", message_vi="Phiên đăng nhập không hợp lệ hoặc đã hết hạn.")
    if not row.active:
        raise AuthenticationFailed("inactive user")
    return Actor.of(row)


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
    """The logged-in page visitor, read on every page request (an account deactivated since is gone)."""
    with read_only(ctx.sessions) as session:
        user = session.get(User, user_id)
        return Actor.of(user) if user is not None and user.active else None
