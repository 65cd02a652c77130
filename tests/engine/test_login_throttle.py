"""Login throttling: five failures lock a username for a while (known or not, with one message),
an address guessing at many usernames is locked too, success resets, and the lock is in the database
so every process sees it."""

from __future__ import annotations

import dataclasses
import logging
import time

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from engine.context import build_context
from engine.db import MIGRATIONS_DIR, make_engine, upgrade
from engine.errors import AuthenticationFailed
from engine.models import Base
from engine.origin import origin_scope
from engine.services import authenticate
from engine.services.login_throttle import LoginThrottled


def with_settings(ctx, **settings):
    return dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, **settings))


def fail(ctx, username: str, times: int, password: str = "sai") -> list[AuthenticationFailed]:
    refusals = []
    for _ in range(times):
        with pytest.raises(AuthenticationFailed) as refused:
            authenticate(ctx, username, password)
        refusals.append(refused.value)
    return refusals


def test_the_fifth_failure_locks_the_account_even_against_the_right_password(ctx):
    refusals = fail(ctx, "tiepnhan", 5)

    assert [type(r) for r in refusals] == [AuthenticationFailed] * 4 + [LoginThrottled]
    assert refusals[-1].message_vi == "Đăng nhập không thành công quá nhiều lần. Vui lòng thử lại sau 15 phút."
    with pytest.raises(LoginThrottled):
        authenticate(ctx, "tiepnhan", "demo")
    assert authenticate(ctx, "chuyenvien", "demo").username == "chuyenvien", "other accounts are untouched"


def test_an_unknown_username_is_locked_the_same_way_with_the_same_words(ctx):
    known, unknown = fail(ctx, "tiepnhan", 6), fail(ctx, "khong-ai-ca", 6)

    assert [(type(r), r.message_vi) for r in known] == [(type(r), r.message_vi) for r in unknown]


def test_a_successful_login_resets_the_count(ctx):
    fail(ctx, "tiepnhan", 4)
    authenticate(ctx, "tiepnhan", "demo")

    refusals = fail(ctx, "tiepnhan", 4)

    assert not any(isinstance(r, LoginThrottled) for r in refusals)
    assert authenticate(ctx, "tiepnhan", "demo").username == "tiepnhan"


def test_the_lock_ends_after_the_lockout_and_counting_starts_again(ctx):
    short = with_settings(ctx, login_max_failures=2, login_lockout_minutes=1 / 60)  # one second
    fail(short, "tiepnhan", 2)
    with pytest.raises(LoginThrottled):
        authenticate(short, "tiepnhan", "demo")

    time.sleep(1.1)

    assert authenticate(short, "tiepnhan", "demo").username == "tiepnhan"


def test_another_process_sees_the_lock(ctx):
    """Two contexts with their own connection pools on one database, as two gunicorn workers have."""
    other = build_context(ctx.settings)
    try:
        fail(ctx, "tiepnhan", 3)
        fail(other, "tiepnhan", 2)  # the fifth failure overall, counted by the other process

        with pytest.raises(LoginThrottled):
            authenticate(ctx, "tiepnhan", "demo")
    finally:
        other.db.dispose()


def test_one_address_guessing_at_many_usernames_is_locked(ctx):
    strict = with_settings(ctx, login_ip_max_failures=3)
    with origin_scope("ip:203.0.113.9"):
        for username in ("tiepnhan", "chuyenvien"):
            fail(strict, username, 1)
        assert isinstance(fail(strict, "lanhdao", 1)[0], LoginThrottled)
        with pytest.raises(LoginThrottled):
            authenticate(strict, "congdan", "demo")
    with origin_scope("ip:203.0.113.10"):
        assert authenticate(strict, "congdan", "demo").username == "congdan", "other addresses still log in"


def test_a_lockout_is_logged_without_the_password(ctx, caplog):
    with caplog.at_level(logging.WARNING, logger="motcua.security"), origin_scope("ip:198.51.100.4"):
        fail(ctx, "tiepnhan\nforged line", 5, password="mat-khau-bi-mat")

    lines = [r.getMessage() for r in caplog.records if r.name == "motcua.security"]
    assert len(lines) == 1 and "login locked" in lines[0] and "user:tiepnhan\\nforged line" in lines[0]
    assert "\n" not in lines[0] and "mat-khau-bi-mat" not in caplog.text


def test_the_migrated_table_matches_the_model_on_both_databases(backend_context):
    with backend_context.db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in differences if "login_throttle" in repr(d)] == []


def test_0009_goes_down_and_up_again(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    upgrade(engine)
    assert "login_throttle" in inspect(engine).get_table_names()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    assert "login_throttle" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "login_throttle" in inspect(engine).get_table_names()
    engine.dispose()
