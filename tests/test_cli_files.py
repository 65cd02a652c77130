"""`motcua files check`: the files the records point at are in the store (folder or bucket), and with
--full intact; the way to confirm a folder copied into a bucket is complete."""

from __future__ import annotations

from click.testing import CliRunner

from engine.config import Settings
from engine.context import build_context
from engine.documents.store import FileStore
from motcua_cli import main
from tests.test_cli_backup import use


def seeded(tmp_path, monkeypatch) -> FileStore:
    use(monkeypatch, tmp_path)
    assert CliRunner().invoke(main, ["seed", "--dossiers", "12", "--days", "20", "--seed", "7"]).exit_code == 0
    store = build_context(Settings.from_env()).files
    assert isinstance(store, FileStore) and len(list(store.stored())) >= 1
    return store


def test_a_complete_store_passes_and_a_missing_or_altered_file_fails(tmp_path, monkeypatch):
    store = seeded(tmp_path, monkeypatch)
    runner = CliRunner()

    fine = runner.invoke(main, ["files", "check", "--full"])
    assert fine.exit_code == 0, fine.output
    assert "thiếu 0" in fine.output and "hỏng 0" in fine.output

    altered, _size = next(iter(store.stored()))
    store.path(altered).write_bytes(b"tampered")
    assert runner.invoke(main, ["files", "check"]).exit_code == 0  # present: only --full reads the bytes
    damaged = runner.invoke(main, ["files", "check", "--full"])
    assert damaged.exit_code == 1 and f"HỎNG {altered}" in damaged.output

    store.path(altered).unlink()
    missing = runner.invoke(main, ["files", "check"])
    assert missing.exit_code == 1 and f"THIẾU {altered}" in missing.output and "thiếu 1" in missing.output


def test_a_folder_copied_into_a_bucket_is_checked_there(tmp_path, monkeypatch, s3_server):
    folder = seeded(tmp_path, monkeypatch)
    bucket = s3_server.new_bucket()
    monkeypatch.setenv("MOTCUA_FILE_STORE", f"s3://{bucket}/tinh-demo")
    monkeypatch.setenv("MOTCUA_S3_ENDPOINT_URL", s3_server.endpoint)
    runner = CliRunner()

    empty = runner.invoke(main, ["files", "check"])
    referenced = len(list(folder.stored()))
    assert empty.exit_code == 1 and f"thiếu {referenced:,}" in empty.output

    objects = build_context(Settings.from_env()).files
    for digest, _size in folder.stored():  # what `aws s3 sync` or `mc mirror` of data/files does
        path = folder.path(digest)
        objects.client.upload_file(str(path), bucket, "tinh-demo/" + str(path.relative_to(folder.root)))

    copied = runner.invoke(main, ["files", "check", "--full"])
    assert copied.exit_code == 0, copied.output
    assert f"s3://{bucket}/tinh-demo/" in copied.output and "thiếu 0" in copied.output and "hỏng 0" in copied.output
