"""Accounts: hashed passwords, revocable tokens, and no default passwords in production."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from engine.errors import AuthenticationFailed, InvalidInput
from engine.models import ApiToken
from engine.services import actor_from_token, authenticate, create_user, issue_token, revoke_token
from engine.services.accounts import _token_hash, hash_password, needs_rehash, verify_password
from tests.factories import statements_sent


def test_password_hashes_are_salted_scrypt_and_verify():
    first, second = hash_password("mật khẩu"), hash_password("mật khẩu")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("mật khẩu", first) and not verify_password("mat khau", first)


def test_wrong_password_is_refused(ctx):
    with pytest.raises(AuthenticationFailed):
        authenticate(ctx, "tiepnhan", "sai")


def test_tokens_work_until_revoked(ctx, actors):
    token = issue_token(ctx, actors["chuyenvien"])
    assert actor_from_token(ctx, token).username == "chuyenvien"
    revoke_token(ctx, token)
    with pytest.raises(AuthenticationFailed):
        actor_from_token(ctx, token)


def test_an_expired_token_is_refused_and_the_holder_read_in_one_statement(ctx, actors):
    token = issue_token(ctx, actors["chuyenvien"])
    with statements_sent(ctx) as statements:
        holder = actor_from_token(ctx, token)
    assert holder == actors["chuyenvien"] and len(statements) == 1

    with ctx.sessions.begin() as session:
        session.execute(update(ApiToken).where(ApiToken.token_hash == _token_hash(token))
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    with pytest.raises(AuthenticationFailed) as refused:
        actor_from_token(ctx, token)
    assert "hết hạn" in refused.value.message_vi


def test_production_mode_refuses_default_passwords(ctx):
    production = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, mode="production",
                                                                          secret_key="s3cret-for-test"))
    with pytest.raises(AuthenticationFailed) as refused:
        authenticate(production, "tiepnhan", "demo")
    assert "mật khẩu mặc định" in refused.value.message_vi
    with pytest.raises(InvalidInput):
        create_user(production, username="moi", password="demo", full_name="Người mới", role="desk")


def test_production_mode_refuses_the_default_secret_key():
    from engine.config import Settings

    with pytest.raises(ValueError, match="MOTCUA_SECRET_KEY"):
        Settings.from_env({"MOTCUA_MODE": "production"})


def test_new_hashes_use_a_memory_hard_cost_of_at_least_2_to_the_14():
    _scheme, n, r, p, _salt, _digest = hash_password("mật khẩu").split("$")
    assert int(n) >= 2**14 and int(r) >= 8 and int(p) >= 1
    assert not needs_rehash(hash_password("mật khẩu"))


def test_an_unusable_stored_hash_never_verifies():
    for stored in (None, "", "!", "scrypt$x$8$1$AA==$AA==", "scrypt$1073741824$8$1$AA==$AA=="):
        assert verify_password("demo", stored) is False


def test_a_hash_with_older_parameters_still_verifies_and_is_rehashed_at_login(ctx):
    from sqlalchemy import select, update

    from engine.models import User

    old = hash_password("mat-khau-cu", n=2**12)
    assert verify_password("mat-khau-cu", old) and needs_rehash(old)
    create_user(ctx, username="nguoi-cu", password="tam-thoi", full_name="Người Dùng Cũ", role="citizen")
    with ctx.sessions.begin() as session:  # a row written before today's parameters
        session.execute(update(User).where(User.username == "nguoi-cu").values(password_hash=old))

    assert authenticate(ctx, "nguoi-cu", "mat-khau-cu").username == "nguoi-cu"

    with ctx.sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "nguoi-cu"))
    assert stored != old and not needs_rehash(stored) and verify_password("mat-khau-cu", stored)
    assert authenticate(ctx, "nguoi-cu", "mat-khau-cu").username == "nguoi-cu"
