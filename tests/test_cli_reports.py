"""`motcua seed` and `motcua audit verify` from the command line, on a fresh SQLite database."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from motcua_cli import main


@pytest.fixture
def database(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTCUA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "cli.db"


def test_seed_writes_sample_dossiers_and_audit_verify_finds_their_chains_intact(database):
    runner = CliRunner()
    seeded = runner.invoke(main, ["seed", "--dossiers", "40", "--days", "30", "--seed", "3"])
    assert seeded.exit_code == 0, seeded.output
    assert "Đã tạo 40 hồ sơ mẫu" in seeded.output
    rows = sqlite3.connect(database).execute("select count(*) from dossier where agency_code like '%.H98'").fetchone()
    assert rows == (40,)
    verified = runner.invoke(main, ["audit", "verify", "--batch", "7"])
    assert verified.exit_code == 0, verified.output
    assert "Đã kiểm tra 40 hồ sơ" in verified.output and "nguyên vẹn" in verified.output


def test_audit_verify_reports_the_first_broken_link_and_fails(database):
    runner = CliRunner()
    assert runner.invoke(main, ["seed", "--dossiers", "5", "--days", "10", "--seed", "4"]).exit_code == 0
    db = sqlite3.connect(database)
    code, dossier_id = db.execute("select code, id from dossier order by id limit 1").fetchone()
    with db:
        db.execute("update event set status = 'returned' where dossier_id = ? and seq = 2", (dossier_id,))
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert f"HỎNG {code}: sự kiện số 2 (nội dung bị sửa)" in result.output
    assert "1 hồ sơ có chuỗi băm hỏng" in result.output


def test_seed_refuses_a_database_with_real_dossiers(database):
    from sqlalchemy import select

    from engine.config import Settings
    from engine.context import build_context
    from engine.models import User
    from engine.services import Actor
    from tests.factories import submit

    runner = CliRunner()
    for command in (["db", "upgrade"], ["procedures", "load"], ["seed-demo"]):
        assert runner.invoke(main, command).exit_code == 0
    ctx = build_context(Settings.from_env())
    with ctx.sessions() as session:
        citizen = Actor.of(session.scalar(select(User).where(User.username == "congdan")))
    submit(ctx, citizen)
    result = runner.invoke(main, ["seed", "--dossiers", "5"])
    assert result.exit_code == 1
    assert "hồ sơ thật" in result.output
    assert sqlite3.connect(database).execute("select count(*) from dossier").fetchone() == (1,)
    ctx.db.dispose()
