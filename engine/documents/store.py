"""The content-addressed file store: each file lives once, under its sha256, at `ab/cd/<sha256>`.

Attachment rows (engine/models.py) point here by digest; identical uploads share one file. Two
backends keep the same layout and answer the same calls:

* `FileStore`: a folder (`MOTCUA_DATA_DIR/files`), one server or a shared network file system;
* `engine.documents.object_store.ObjectStore`: an S3-compatible bucket, for web and worker nodes on
  several machines (MOTCUA_FILE_STORE=s3://bucket/prefix).

Because the layout is the same, a folder copied into a bucket under the prefix is a valid object store.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Protocol

from engine.documents.errors import InvalidDigest, StoredFileCorrupt, StoredFileNotFound, StoreUnavailable

DIGEST = re.compile(r"[0-9a-fA-F]{64}")
#: bytes read at a time when a file is streamed or hashed
CHUNK = 1 << 20


def checked_digest(sha256: object) -> str:
    """The digest in lower case; anything but 64 hex digits is refused, so a digest taken from a
    request can never name a path (or key) outside the store."""
    if not isinstance(sha256, str) or not DIGEST.fullmatch(sha256):
        raise InvalidDigest(f"not a sha256 hex digest: {str(sha256)[:80]!r}")
    return sha256.lower()


def relative_name(sha256: object) -> str:
    """`ab/cd/<digest>`: where a file lives inside the store, whatever the backend."""
    digest = checked_digest(sha256)
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


def verified(sha256: str, data: bytes) -> bytes:
    if hashlib.sha256(data).hexdigest() != sha256.lower():
        raise StoredFileCorrupt(f"stored file {sha256.lower()} does not match its digest")
    return data


class Store(Protocol):
    """What the rest of motcua asks of a file store."""

    def put(self, data: bytes) -> tuple[str, int]: ...

    def open(self, sha256: str) -> bytes: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> bool: ...

    def stored(self) -> Iterator[tuple[str, int]]: ...

    def reader(self, sha256: str) -> AbstractContextManager[IO[bytes]]: ...

    def install(self, staged: Iterable[tuple[str, Path]]) -> None: ...

    def check(self) -> None: ...

    def describe(self) -> str: ...


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened this way on Windows.
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_into(target: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write through `write` to a temporary file beside `target`, make it durable, rename it into place:
    a reader never sees a partial file, and concurrent writers of the same content cannot clash."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            write(tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _copy_into(source: Path, target: Path) -> None:
    with source.open("rb") as data:
        _write_into(target, lambda out: shutil.copyfileobj(data, out, CHUNK))


def stored_sha256(store: Store, sha256: str) -> str | None:
    """The SHA-256 of the bytes the store holds under `sha256`, hashed as they stream in (a file of any
    size, from a folder or a bucket); None if it holds none."""
    hashed = hashlib.sha256()
    try:
        with store.reader(sha256) as body:
            for chunk in iter(lambda: body.read(CHUNK), b""):
                hashed.update(chunk)
    except StoredFileNotFound:
        return None
    return hashed.hexdigest()


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the file with this digest lives (or would)."""
        return self.root / relative_name(sha256)

    def put(self, data: bytes) -> tuple[str, int]:
        """Store `data`; return (sha256, size). Idempotent: storing the same bytes again is a no-op.
        The bytes go to a temporary file in the target directory, then are renamed into place."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest, len(data)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_into(target, lambda out: out.write(data))
            _fsync_dir(target.parent)
        except OSError as exc:  # a full disk, a read-only or lost mount: nothing was kept, try again later
            raise StoreUnavailable(f"the file store's folder {self.root} cannot be written: {exc}") from exc
        return digest, len(data)

    def open(self, sha256: str) -> bytes:
        """The stored bytes, checked against their digest."""
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoredFileNotFound(f"no stored file {sha256.lower()}") from None
        return verified(sha256, data)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        """Remove the file; False if there was none."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def stored(self) -> Iterator[tuple[str, int]]:
        """(sha256, size) of every file the store holds, in digest order; temporary files of a write in
        progress and anything else not named as the store names its own files are passed over."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("??/??/*")):
            name = path.name.lower()
            if not DIGEST.fullmatch(name) or path.is_symlink() or not path.is_file() or path != self.path(name):
                continue
            yield name, path.stat().st_size

    @contextmanager
    def reader(self, sha256: str) -> Iterator[IO[bytes]]:
        """The file opened for reading as a stream, unchecked: the caller hashes what it reads."""
        try:
            source = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise StoredFileNotFound(f"no stored file {sha256.lower()}") from None
        with source:
            yield source

    def install(self, staged: Iterable[tuple[str, Path]]) -> None:
        """Move each (sha256, staged file), already checked against its digest and on the same file system,
        into place, then make the renames durable; an intact copy already there is kept, a damaged one
        replaced."""
        directories: set[Path] = set()
        for sha256, source in staged:
            target = self.path(sha256)
            if stored_sha256(self, sha256) == sha256.lower():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                _copy_into(source, target)  # the store is a file system of its own (a mount)
            directories.add(target.parent)
        for directory in sorted(directories):
            _fsync_dir(directory)

    def nearest_folder(self) -> Path:
        """The folder, or the nearest path above it that exists (a put makes the rest)."""
        return next(p for p in (self.root, *self.root.parents) if p.exists())

    def check(self) -> None:
        """The folder, or the nearest folder above it that exists, can be written; StoreUnavailable if not."""
        existing = self.nearest_folder()
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"the file store's folder {self.root} cannot be written",
                                   message_vi=f"Không ghi được vào thư mục kho tệp {self.root}")

    def describe(self) -> str:
        return str(self.root)
