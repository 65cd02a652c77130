"""The archive's layout and the rules for reading one that may have been tampered with.

Layout (a gzip-compressed tar): `manifest.json` first, so a restore refuses a wrong archive before
reading the rest; then `db/<table>.jsonl` per table; then `files/ab/cd/<sha256>`, the file store's
own layout. A restore never takes a path from the archive: it accepts only the member names it
expects from the manifest's validated table names and digests, as regular files, and writes them
under names it builds itself.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
from pathlib import Path
from typing import IO, Any

import orjson

from engine.documents.errors import StoredFileNotFound
from engine.documents.store import CHUNK, Store, relative_name
from engine.errors import MotcuaError, Unavailable

MANIFEST = "manifest.json"
FORMAT = "motcua-backup"
FORMAT_VERSION = 1
#: a manifest bigger than this is not ours (a million files make about 100 MB)
MAX_MANIFEST = 512 << 20
DIGEST = re.compile(r"[0-9a-f]{64}")


class BackupFailed(MotcuaError):
    message_vi = "Không sao lưu được."


class RestoreRefused(MotcuaError):
    """The archive or the target is not fit for a restore; nothing was changed."""

    message_vi = "Không phục hồi được từ bản sao lưu này."


def refused(message: str, message_vi: str) -> RestoreRefused:
    return RestoreRefused(message, message_vi=message_vi)


def table_member(table: str) -> str:
    return f"db/{table}.jsonl"


def file_member(sha256: str) -> str:
    return f"files/{relative_name(sha256)}"


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(mtime), 0o600
    tar.addfile(info, io.BytesIO(data))


class HashingReader(io.RawIOBase):
    """Hands a file to tarfile while hashing what is read, so the archived bytes are the checked ones."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha256, self.size = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def add_file(tar: tarfile.TarFile, name: str, path: Path, sha256: str, size: int, mtime: float) -> None:
    """Add `path` as `name`; fail if its bytes are no longer the ones the manifest lists."""
    with path.open("rb") as raw:
        if not add_stream(tar, name, raw, sha256, size, mtime):
            raise BackupFailed(f"{path} changed while being archived",
                               message_vi=f"Tệp {path.name} bị thay đổi trong khi sao lưu; hãy chạy lại.")


def add_stored(tar: tarfile.TarFile, store: Store, sha256: str, size: int, mtime: float) -> None:
    """Add the store's file `sha256` as its member, read once as a stream (from a folder or a bucket);
    fail if it is gone or its bytes are not the ones its name and the manifest promise."""
    try:
        with store.reader(sha256) as raw:
            intact = add_stream(tar, file_member(sha256), raw, sha256, size, mtime)
    except (StoredFileNotFound, Unavailable, OSError) as exc:
        raise BackupFailed(f"stored file {sha256} could not be read: {exc}",
                           message_vi=f"Không đọc được tệp {sha256} trong kho tệp (vừa bị xóa hoặc kho tệp "
                           "không truy cập được); hãy chạy lại.") from exc
    if not intact:
        raise BackupFailed(f"stored file {sha256} does not match its digest",
                           message_vi=f"Tệp {sha256} trong kho tệp đã bị hỏng (không khớp sha256); "
                           "không thể sao lưu một bản đúng.")


def add_stream(tar: tarfile.TarFile, name: str, raw: IO[bytes], sha256: str, size: int, mtime: float) -> bool:
    """Add `size` bytes of `raw` as `name`; whether they were exactly the bytes of `sha256`."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    reader = HashingReader(raw)
    try:
        tar.addfile(info, reader)
    except OSError as exc:
        if "unexpected end of data" not in str(exc):
            raise
        raw.read()  # shorter than listed: a stream cut off raises here (a bucket's body checks its length)
        return False
    return reader.size == size and reader.sha256.hexdigest() == sha256 and not raw.read(1)


def check_member_name(member: tarfile.TarInfo) -> None:
    """Refuse links, devices, directories, absolute paths and `..` before anything is written."""
    name = member.name
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise refused(f"unsafe member path {name!r}",
                      f"Bản sao lưu có đường dẫn không an toàn: {name!r}. Đã từ chối phục hồi.")
    if not member.isreg():
        raise refused(f"member {name!r} is not a regular file",
                      f"Bản sao lưu có mục không phải tệp thường (liên kết, thư mục...): {name!r}. "
                      "Đã từ chối phục hồi.")


def read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    member = tar.next()
    if member is None or member.name != MANIFEST or not member.isreg() or member.size > MAX_MANIFEST:
        raise refused("the archive does not start with a manifest",
                      "Tệp này không phải bản sao lưu motcua (thiếu manifest.json ở đầu).")
    stream = tar.extractfile(member)
    assert stream is not None
    try:
        manifest = orjson.loads(stream.read())
    except orjson.JSONDecodeError as exc:
        raise refused(f"unreadable manifest: {exc}", "manifest.json trong bản sao lưu bị hỏng.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise refused("not a motcua backup manifest", "Tệp này không phải bản sao lưu motcua.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise refused(f"format version {manifest.get('format_version')!r}",
                      f"Bản sao lưu có định dạng phiên bản {manifest.get('format_version')!r}; "
                      f"phiên bản này của motcua chỉ đọc được định dạng {FORMAT_VERSION}.")
    return manifest


def copy_checked(source: IO[bytes], target: Path, sha256: str, size: int, name: str) -> None:
    """Write a member to `target` (a path we built), refusing it unless its bytes match the manifest."""
    digest, written = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("xb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > size:
                break
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if written != size or digest.hexdigest() != sha256:
        raise refused(f"checksum mismatch for {name}",
                      f"Tệp {name} trong bản sao lưu không khớp mã kiểm tra (sha256) trong manifest: "
                      "bản sao lưu bị hỏng hoặc bị sửa. Đã từ chối phục hồi.")
