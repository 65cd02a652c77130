"""The folder store's own rules: its layout on disk, atomic writes, no path traversal, a file altered on disk.
What every backend does alike is in test_object_store.py."""

from __future__ import annotations

import hashlib

import pytest

from engine.documents import FileStore, InvalidDigest, StoredFileCorrupt

PDF = b"%PDF-1.7 pretend this is a receipt"
DIGEST = hashlib.sha256(PDF).hexdigest()


@pytest.fixture
def store(tmp_path):
    return FileStore(tmp_path / "files")


def test_a_stored_file_comes_back_byte_for_byte(store):
    digest, size = store.put(PDF)
    assert (digest, size) == (DIGEST, len(PDF))
    assert store.open(digest) == PDF
    assert store.exists(digest)


def test_files_are_laid_out_by_the_first_two_byte_pairs_of_their_digest(store):
    digest, _ = store.put(PDF)
    assert store.path(digest) == store.root / digest[:2] / digest[2:4] / digest
    assert store.path(digest).read_bytes() == PDF


def test_storing_the_same_bytes_twice_keeps_one_file_and_leaves_no_temporary_files(store):
    first = store.put(PDF)
    mtime = store.path(DIGEST).stat().st_mtime_ns
    assert store.put(PDF) == first
    assert store.path(DIGEST).stat().st_mtime_ns == mtime
    assert [p for p in store.root.rglob("*") if p.is_file()] == [store.path(DIGEST)]


def test_an_upper_case_digest_names_the_same_file(store):
    store.put(PDF)
    assert store.open(DIGEST.upper()) == PDF


@pytest.mark.parametrize(
    "bad",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "ab/cd/" + "0" * 58,
        "0" * 63,
        "0" * 65,
        "g" * 64,
        DIGEST + "\n",
        "..%2f" * 13,
        "",
        None,
    ],
)
def test_anything_but_a_64_hex_digit_digest_is_refused(store, bad):
    for call in (store.path, store.open, store.exists):
        with pytest.raises(InvalidDigest):
            call(bad)


def test_a_file_altered_on_disk_is_reported_as_corrupt(store):
    digest, _ = store.put(PDF)
    store.path(digest).write_bytes(b"tampered")
    with pytest.raises(StoredFileCorrupt):
        store.open(digest)


def test_installing_onto_another_file_system_copies_then_renames(store, tmp_path):
    """A restore stages in the data dir; the store may be a mount of its own (os.replace cannot cross)."""
    import os
    from pathlib import Path

    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system here to stage on")
    staged = shm / f"motcua-staged-{DIGEST[:12]}-{os.getpid()}"
    staged.write_bytes(PDF)
    try:
        store.install([(DIGEST, staged)])
    finally:
        staged.unlink(missing_ok=True)
    assert store.open(DIGEST) == PDF
    assert [p for p in store.root.rglob("*") if p.is_file()] == [store.path(DIGEST)]


def test_a_folder_that_cannot_be_written_is_the_store_unavailable(tmp_path):
    """A full disk, a lost mount, a path through a file: a 503 "try again", not an unexplained 500."""
    from engine.documents.errors import StoreUnavailable

    (tmp_path / "mot-tep").write_text("not a folder")
    store = FileStore(tmp_path / "mot-tep" / "files")
    with pytest.raises(StoreUnavailable):
        store.put(PDF)
    with pytest.raises(StoreUnavailable):
        store.check()
