"""Numbers read from the environment (engine/config.py): one reader for every numeric variable."""

from __future__ import annotations

import pytest

from engine.config import Settings

NUMBERS = {  # variable -> (setting, kind): one of each family, sessions and connectors included
    "MOTCUA_OUTBOX_MAX_ATTEMPTS": ("outbox_max_attempts", int),
    "MOTCUA_OUTBOX_LEASE_SECONDS": ("outbox_lease_seconds", float),
    "MOTCUA_WORKER_MAX_MEMORY_MIB": ("worker_max_memory_mib", int),
    "MOTCUA_SCRIPT_TIME_LIMIT": ("script_time_limit", float),
    "MOTCUA_PROXY_HOPS": ("proxy_hops", int),
    "MOTCUA_SESSION_IDLE_MINUTES": ("session_idle_minutes", int),
    "MOTCUA_LOGIN_LOCKOUT_MINUTES": ("login_lockout_minutes", float),
    "MOTCUA_RETENTION_YEARS": ("retention_years", int),
    "MOTCUA_REPORTS_REPLICA_WAIT": ("reports_replica_wait", float),
}


@pytest.mark.parametrize("variable", sorted(NUMBERS))
def test_a_number_is_read_with_its_kind(variable):
    setting, kind = NUMBERS[variable]
    value = getattr(Settings.from_env({variable: "7"}), setting)
    assert value == 7 and type(value) is kind


@pytest.mark.parametrize("variable", sorted(NUMBERS))
def test_an_empty_variable_means_the_default(variable):
    setting, _kind = NUMBERS[variable]
    assert getattr(Settings.from_env({variable: ""}), setting) == getattr(Settings(), setting)


@pytest.mark.parametrize("variable", sorted(NUMBERS))
def test_a_value_that_is_not_a_number_is_refused_naming_the_variable(variable):
    with pytest.raises(ValueError, match=f"^{variable} must be a number, got 'mười'$"):
        Settings.from_env({variable: "mười"})


def test_a_simulator_port_is_read_the_same_way():
    assert Settings.from_env({"MOTCUA_SMTP_PORT": "2626"}).simulator_ports["email"] == 2626
    with pytest.raises(ValueError, match="^MOTCUA_SMTP_PORT must be a number"):
        Settings.from_env({"MOTCUA_SMTP_PORT": "25a"})


PRIMARY = "postgresql+psycopg://motcua@db1/motcua"
STANDBY = "postgresql+psycopg://motcua@db2/motcua"


def test_reports_read_the_primary_unless_a_standby_is_named():
    assert Settings.from_env({"MOTCUA_DATABASE_URL": PRIMARY}).reports_database_url is None
    assert Settings.from_env({"MOTCUA_DATABASE_URL": PRIMARY, "MOTCUA_REPORTS_DATABASE_URL": ""}).reports_database_url is None
    named = Settings.from_env({"MOTCUA_DATABASE_URL": PRIMARY, "MOTCUA_REPORTS_DATABASE_URL": STANDBY})
    assert named.reports_database_url == STANDBY


@pytest.mark.parametrize(("primary", "standby"), [("sqlite:///var/motcua.db", STANDBY), (PRIMARY, "sqlite:///r.db")])
def test_a_reports_standby_is_postgresql_behind_a_postgresql_primary(primary, standby):
    with pytest.raises(ValueError, match="^MOTCUA_REPORTS_DATABASE_URL names a PostgreSQL standby"):
        Settings.from_env({"MOTCUA_DATABASE_URL": primary, "MOTCUA_REPORTS_DATABASE_URL": standby})


@pytest.mark.parametrize("wait", ["-1", "nan", "inf"])
def test_the_wait_for_a_standby_is_a_finite_number_of_seconds(wait):
    with pytest.raises(ValueError, match="^MOTCUA_REPORTS_REPLICA_WAIT must be 0 or more seconds"):
        Settings.from_env({"MOTCUA_REPORTS_REPLICA_WAIT": wait})
