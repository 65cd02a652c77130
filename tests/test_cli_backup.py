"""`motcua backup` and `motcua restore` from the command line: sample dossiers and a stored file move to
a fresh SQLite database and data dir; a second restore is refused unless --force."""

from __future__ import annotations

import sqlite3
import tarfile

from click.testing import CliRunner

from engine.config import Settings
from engine.context import build_context
from engine.services.uploads import store_file
from motcua_cli import main

PDF = b"%PDF-1.4\n% ban sao giay to\n%%EOF\n"


def use(monkeypatch, folder) -> None:
    monkeypatch.setenv("MOTCUA_DATABASE_URL", f"sqlite:///{folder / 'motcua.db'}")
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(folder / "data"))


def dossiers(folder) -> int:
    return sqlite3.connect(folder / "motcua.db").execute("select count(*) from dossier").fetchone()[0]


def test_backup_then_restore_into_a_fresh_system_and_a_second_restore_needs_force(tmp_path, monkeypatch):
    runner = CliRunner()
    use(monkeypatch, tmp_path / "cu")
    assert runner.invoke(main, ["seed", "--dossiers", "12", "--days", "20", "--seed", "5"]).exit_code == 0
    stored = store_file(build_context(Settings.from_env()), PDF, "ban-sao.pdf", "application/pdf")
    archive = tmp_path / "sao-luu" / "motcua.tar.gz"

    made = runner.invoke(main, ["backup", str(archive)])

    assert made.exit_code == 0, made.output
    assert "Đã sao lưu 12 hồ sơ" in made.output and archive.exists()
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == "manifest.json"
    assert not [p for p in archive.parent.iterdir() if p != archive]  # no temporary file left behind

    use(monkeypatch, tmp_path / "moi")
    restored = runner.invoke(main, ["restore", str(archive)])

    assert restored.exit_code == 0, restored.output
    assert "12 hồ sơ" in restored.output and "nguyên vẹn" in restored.output
    assert dossiers(tmp_path / "moi") == 12
    new_store = build_context(Settings.from_env()).files
    assert new_store.open(stored.sha256) == PDF

    again = runner.invoke(main, ["restore", str(archive)])
    assert again.exit_code == 1 and "đã có 12 hồ sơ" in again.output and "--force" in again.output

    forced = runner.invoke(main, ["restore", "--force", str(archive)])
    assert forced.exit_code == 0, forced.output
    assert dossiers(tmp_path / "moi") == 12
    verified = runner.invoke(main, ["audit", "verify"])
    assert verified.exit_code == 0 and "Đã kiểm tra 12 hồ sơ" in verified.output


def test_restore_of_a_file_that_is_not_a_backup_says_so(tmp_path, monkeypatch):
    use(monkeypatch, tmp_path)
    bogus = tmp_path / "khong-phai.tar.gz"
    with tarfile.open(bogus, "w:gz") as tar:
        tar.add(__file__, arcname="readme.txt")

    result = CliRunner().invoke(main, ["restore", str(bogus)])

    assert result.exit_code == 1 and "không phải bản sao lưu motcua" in result.output
