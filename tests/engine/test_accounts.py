"""Accounts: hashed passwords, revocable tokens, and no default passwords in production."""

from __future__ import annotations

import dataclasses

import pytest

from engine.errors import AuthenticationFailed, InvalidInput
from engine.services import actor_from_token, authenticate, create_user, issue_token, revoke_token
from engine.services.accounts import hash_password, verify_password


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
