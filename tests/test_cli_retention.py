"""`motcua retention` from the command line, on sample dossiers spread over ten years (SQLite)."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from motcua_cli import main

#: dossiers finished more than a year ago with personal data still on the row: the command's own boundary
#: (engine.retention.years_before(now, 1)), so a dossier seeded a year and a few hours ago counts on both sides
DUE = ("select count(*) from dossier where finished_at is not null and finished_at < datetime('now', '-1 year') "
       "and applicant_name != '[đã xoá]'")


@pytest.fixture
def database(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MOTCUA_RETENTION_YEARS", "1")
    return tmp_path / "cli.db"


def test_retention_dry_run_counts_then_erases_in_batches_and_a_rerun_finds_nothing(database):
    runner = CliRunner()
    seeded = runner.invoke(main, ["seed", "--dossiers", "60", "--days", "3650", "--seed", "9"])
    assert seeded.exit_code == 0, seeded.output
    db = sqlite3.connect(database)
    due = db.execute(DUE).fetchone()[0]
    assert due > 10
    names_before = db.execute("select count(*) from dossier where applicant_name != '[đã xoá]'").fetchone()[0]

    dry = runner.invoke(main, ["retention", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Chạy thử: {due} hồ sơ đã quá thời hạn lưu trữ" in dry.output
    assert db.execute(DUE).fetchone()[0] == due

    erased = runner.invoke(main, ["retention", "--batch", "7"])
    assert erased.exit_code == 0, erased.output
    assert f"Đã xoá dữ liệu cá nhân của {due} hồ sơ" in erased.output
    assert db.execute(DUE).fetchone()[0] == 0
    left = db.execute("select count(*) from dossier where applicant_name != '[đã xoá]'").fetchone()[0]
    assert left == names_before - due > 0  # the recent ones keep their data
    assert db.execute("select count(*) from dossier where applicant_name = '[đã xoá]' and "
                      "(applicant_phone is not null or applicant_id_number is not null)").fetchone()[0] == 0

    again = runner.invoke(main, ["retention"])
    assert "Đã xoá dữ liệu cá nhân của 0 hồ sơ" in again.output
    verified = runner.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0 and "nguyên vẹn" in verified.output, verified.output


def test_retention_before_a_day_limits_the_erasure(database):
    runner = CliRunner()
    assert runner.invoke(main, ["seed", "--dossiers", "30", "--days", "3650", "--seed", "5"]).exit_code == 0
    db = sqlite3.connect(database)
    # 1/1/2018 starts at 17:00 UTC the day before (Vietnam time, UTC+7); SQLite stores UTC text
    old = db.execute("select count(*) from dossier where finished_at < '2017-12-31 17:00:00'").fetchone()[0]
    assert old > 0

    result = runner.invoke(main, ["retention", "--before", "2018-01-01"])

    assert result.exit_code == 0, result.output
    assert f"Đã xoá dữ liệu cá nhân của {old} hồ sơ" in result.output
    assert db.execute("select count(*) from dossier where applicant_name = '[đã xoá]' and finished_at >= "
                      "'2017-12-31 17:00:00'").fetchone()[0] == 0
