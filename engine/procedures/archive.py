"""Read an uploaded zip defensively and write ours reproducibly.

An uploaded archive is hostile until proved otherwise: bounded in members, in each member's size,
in total size and in compression ratio (zip bombs), names without absolute paths, `..`, drive
letters or backslashes (path traversal), no symbolic links, no encryption. Nothing is extracted to
disk: members are read into memory, each read bounded by its declared size (a lying header ends
in a CRC error, which is refused too).
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from engine.errors import InvalidInput

MAX_ARCHIVE_BYTES = 20 * 1024 * 1024
MAX_MEMBERS = 500
MAX_MEMBER_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 40 * 1024 * 1024
#: Text compresses well, but not a thousandfold: past this ratio a member is treated as a bomb.
MAX_RATIO = 100
_RATIO_FLOOR = 64 * 1024  # tiny members may compress oddly; their size alone makes them harmless
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
#: Files an archiver or a desktop adds that are never part of a model.
_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class Member:
    name: str  # a safe relative POSIX path
    data: bytes


def refuse(message: str) -> InvalidInput:
    return InvalidInput({"file": [message]}, message)


def read_archive(data: bytes, filename: str) -> list[Member]:
    """The archive's regular files, bounded and checked; InvalidInput({"file": [...]}) when hostile or unreadable."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise refuse(f"{filename}: tệp nén lớn hơn {MAX_ARCHIVE_BYTES // (1024 * 1024)} MiB.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise refuse(f"{filename}: không phải tệp nén zip hợp lệ ({exc}).") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise refuse(f"{filename}: tệp nén có {len(infos)} mục, nhiều hơn giới hạn {MAX_MEMBERS}.")
        wanted = [info for info in infos if _check_member(info, filename)]
        total = sum(info.file_size for info in wanted)
        if total > MAX_TOTAL_BYTES:
            raise refuse(f"{filename}: dung lượng sau giải nén ({total // (1024 * 1024)} MiB) vượt giới hạn "
                         f"{MAX_TOTAL_BYTES // (1024 * 1024)} MiB.")
        return [Member(info.filename, _read_member(archive, info, filename)) for info in wanted]


def _check_member(info: zipfile.ZipInfo, filename: str) -> bool:
    """True for a regular file to read, False for a folder or archiver junk; refuse anything unsafe."""
    name = info.filename
    where = f"{filename}: mục «{name[:200]}»"
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        raise refuse(f"{where} có đường dẫn tuyệt đối hoặc không hợp lệ.")
    if any(part == ".." for part in PurePosixPath(name).parts):
        raise refuse(f"{where} trỏ ra ngoài thư mục (..).")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise refuse(f"{where} là liên kết tượng trưng (symlink).")
    if info.flag_bits & 0x1:
        raise refuse(f"{where} được mã hóa; hãy nén lại không đặt mật khẩu.")
    if info.is_dir() or _is_junk(name):
        return False
    if info.file_size > MAX_MEMBER_BYTES:
        raise refuse(f"{where} lớn hơn {MAX_MEMBER_BYTES // (1024 * 1024)} MiB sau giải nén.")
    if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise refuse(f"{where} có tỉ lệ nén bất thường (nghi là bom nén).")
    return True


def _is_junk(name: str) -> bool:
    basename = PurePosixPath(name).name
    return name.startswith("__MACOSX/") or basename in _JUNK_NAMES or basename.startswith("._")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, filename: str) -> bytes:
    try:
        with archive.open(info) as handle:
            content = handle.read(info.file_size + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as exc:
        raise refuse(f"{filename}: không đọc được mục «{info.filename}» ({exc}).") from exc
    if len(content) != info.file_size:
        raise refuse(f"{filename}: mục «{info.filename}» có kích thước khác với khai báo.")
    return content


def write_archive(files: Iterable[tuple[str, bytes]]) -> bytes:
    """A zip of `files` in the given order with fixed timestamps and modes: same input, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode below is read as one
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, content)
    return buffer.getvalue()
