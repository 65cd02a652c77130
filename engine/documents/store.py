"""A content-addressed file store: each file lives once, under its sha256, in `root/ab/cd/<sha256>`.

Attachment rows (engine/models.py) point here by digest; identical uploads share one file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from engine.documents.errors import InvalidDigest, StoredFileCorrupt, StoredFileNotFound

_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened this way on Windows.
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the file with this digest lives (or would). Anything but 64 hex digits is refused,
        so a digest taken from a request can never name a path outside the store."""
        if not isinstance(sha256, str) or not _DIGEST.fullmatch(sha256):
            raise InvalidDigest(f"not a sha256 hex digest: {str(sha256)[:80]!r}")
        digest = sha256.lower()
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> tuple[str, int]:
        """Store `data`; return (sha256, size). Idempotent: storing the same bytes again is a no-op.

        The bytes go to a temporary file in the target directory, then are renamed into place, so a
        reader never sees a partial file and concurrent writers of the same content cannot clash."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest, len(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return digest, len(data)

    def open(self, sha256: str) -> bytes:
        """The stored bytes, checked against their digest."""
        path = self.path(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoredFileNotFound(f"no stored file {sha256.lower()}") from None
        if hashlib.sha256(data).hexdigest() != sha256.lower():
            raise StoredFileCorrupt(f"stored file {sha256.lower()} does not match its digest")
        return data

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()
