"""The `motcua` command line: validation messages a person can act on, exit codes CI can trust."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from engine.config import PROJECT_ROOT
from motcua_cli import main

HKD = PROJECT_ROOT / "processes" / "dang-ky-ho-kinh-doanh"


def test_validate_accepts_the_shipped_catalogue_and_the_spiffarena_fixture():
    result = CliRunner().invoke(main, ["procedures", "validate", str(PROJECT_ROOT / "processes"),
                                       str(PROJECT_ROOT / "tests/fixtures/spiffarena/giay-xac-nhan-cu-tru")])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output and "dang-ky-ho-kinh-doanh" in result.output


def test_validate_reports_each_problem_with_its_location_and_fails(tmp_path):
    broken = tmp_path / "hkd"
    shutil.copytree(HKD, broken)
    (broken / "forms" / "phe-duyet-schema.json").unlink()
    bpmn = broken / "dang-ky-ho-kinh-doanh.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('name="Lãnh đạo"', 'name="Ban giám đốc"'),
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["procedures", "validate", str(broken)])
    assert result.exit_code == 1
    assert "phe_duyet" in result.output and "phe-duyet-schema.json" in result.output
    assert "Ban giám đốc" in result.output and "not mapped" in result.output


def test_db_upgrade_migrates_an_empty_sqlite_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_DATABASE_URL", f"sqlite:///{tmp_path / 'm.db'}")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    import sqlite3

    tables = {r[0] for r in sqlite3.connect(tmp_path / "m.db").execute("select name from sqlite_master")}
    assert {"dossier", "workflow_instance", "task", "event", "outbox", "procedure_version"} <= tables


def test_calendar_exceptions_are_managed_from_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["calendar", "set", "2026-12-31", "off", "Nghỉ bù"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["calendar", "list", "--year", "2026"])
    assert "2026-12-31" in listed.output and "Nghỉ bù" in listed.output
    assert runner.invoke(main, ["calendar", "remove", "2026-12-31"]).exit_code == 0
    assert "2026-12-31" not in runner.invoke(main, ["calendar", "list"]).output
