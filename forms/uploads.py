"""File fields: their limits, and checking uploaded files against them.

A file field is ``{"type": "string", "format": "data-url"}`` or any string with
``"ui:widget": "file"``. Its limits come from ``ui:options``: ``accept`` (MIME types or
extensions, only PDF, PNG and JPEG) and ``maxSize`` (bytes). The browser's ``accept`` hint
and the file name are claims, so the type is decided by the file's first bytes; a PDF that
runs scripts or acts when opened is refused (:mod:`forms.pdf_active`). Storing a
file is the caller's job: :func:`store_uploads` swaps each checked :class:`Upload` for the
reference the caller returns, and that reference is what the form data keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .pdf_active import PdfActiveContent, active_content
from .schema_tools import Schema, ui_get

__all__ = [
    "DEFAULT_MAX_SIZE",
    "FileLimits",
    "Upload",
    "file_limits",
    "read_upload",
    "sniff",
    "store_uploads",
    "upload_errors",
]

#: Used when a file field does not give ``maxSize``: a scanned multi-page PDF fits.
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
_SIGNATURES = (
    ("application/pdf", b"%PDF-"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
)
_NAMES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}
_EXTENSIONS = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_WILDCARDS = {"image/*": ("image/png", "image/jpeg")}
_MAX_NAME = 255


@dataclass(frozen=True)
class FileLimits:
    """What a file field accepts: MIME types (in the author's order) and a size ceiling in bytes."""

    types: tuple[str, ...]
    max_size: int
    accept_attr: str

    @property
    def type_names(self) -> str:
        """``PDF, PNG`` — the accepted types as an applicant knows them."""
        return ", ".join(_NAMES[kind] for kind in self.types)

    @property
    def text(self) -> str:
        """The limits in a sentence shown under the field."""
        return f"Chấp nhận tệp {self.type_names}, dung lượng tối đa {size_text(self.max_size)}."


def file_limits(ui: Schema) -> FileLimits:
    """The limits a file field's UI schema sets; ``ValueError`` names a limit that cannot be enforced."""
    accept = ui_get(ui, "accept")
    tokens = _accept_tokens(accept)
    types: list[str] = []
    for token in tokens:
        found = _accepted_types(token.lower())
        if not found:
            raise ValueError(
                f"ui:options.accept {token!r} cannot be checked; use application/pdf, image/png, "
                "image/jpeg (or .pdf, .png, .jpg)"
            )
        types.extend(kind for kind in found if kind not in types)
    max_size = ui_get(ui, "maxSize", DEFAULT_MAX_SIZE)
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
        raise ValueError(f"ui:options.maxSize must be a positive number of bytes, got {max_size!r}")
    chosen = tuple(types) or tuple(_NAMES)
    attr = ",".join(tokens) if tokens else ",".join(chosen)
    return FileLimits(chosen, max_size, attr)


def _accepted_types(token: str) -> tuple[str, ...]:
    if token in _WILDCARDS:
        return _WILDCARDS[token]
    if token in _EXTENSIONS:
        return (_EXTENSIONS[token],)
    return (token,) if token in _NAMES else ()


def _accept_tokens(accept: Any) -> list[str]:
    if accept is None:
        return []
    if isinstance(accept, str):
        return [token.strip() for token in accept.split(",") if token.strip()]
    if isinstance(accept, list) and all(isinstance(token, str) for token in accept):
        return [token.strip() for token in accept if token.strip()]
    raise ValueError(f"ui:options.accept must be a string or a list of strings, got {accept!r}")


def size_text(size: int) -> str:
    """``5 MB``, ``1,5 MB``, ``300 KB`` — sizes the way the limits are written."""
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            amount = round(size / factor, 1)
            return f"{amount:g} {unit}".replace(".", ",")
    return f"{size} byte"


def sniff(head: bytes) -> str | None:
    """The MIME type a file's first bytes prove (PDF, PNG or JPEG), else None."""
    for kind, signature in _SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


@dataclass(frozen=True)
class Upload:
    """A file posted for a file field, read and checked but not yet stored.

    ``content_type`` is the sniffed type, never the browser's claim. ``errors`` holds the
    Vietnamese reasons it was refused; a refused upload has no content.
    """

    filename: str
    content_type: str | None
    size: int
    content: bytes = field(repr=False)
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def read_upload(storage: Any, limits: FileLimits) -> Upload | None:
    """Read a posted file (werkzeug ``FileStorage`` or anything with ``filename`` and ``read``).

    Returns None when nothing was chosen (browsers post an empty part with no name). Reads at
    most one byte past the limit, so an oversized upload costs no more memory than an allowed one.
    """
    raw_name = getattr(storage, "filename", None)
    if not isinstance(raw_name, str) or not raw_name.strip():
        return None
    name = clean_filename(raw_name)
    stream = getattr(storage, "stream", storage)
    content = stream.read(limits.max_size + 1)
    if not isinstance(content, bytes):
        return Upload(name, None, 0, b"", ("Không đọc được tệp tải lên",))
    size = len(content)
    kind = sniff(content[:16])
    errors = _problems(name, size, kind, getattr(storage, "mimetype", None), limits)
    if not errors and kind == "application/pdf":
        errors = _active_content_problems(name, content)
    return Upload(name, kind, size, b"" if errors else content, tuple(errors))


def _problems(name: str, size: int, kind: str | None, claimed: Any, limits: FileLimits) -> list[str]:
    if size == 0:
        return [f"Tệp «{name}» không có nội dung"]
    if size > limits.max_size:
        return [f"Tệp «{name}» vượt quá dung lượng tối đa {size_text(limits.max_size)}"]
    if kind is None:
        return [f"Tệp «{name}» không phải tệp {limits.type_names} hợp lệ"]
    if kind not in limits.types:
        return [f"Tệp «{name}» là tệp {_NAMES[kind]}, trong khi chỉ nhận {limits.type_names}"]
    declared = {_EXTENSIONS.get(_extension(name))} | {claimed if claimed in _NAMES else None}
    declared.discard(None)
    if declared and declared != {kind}:
        return [f"Nội dung tệp «{name}» là {_NAMES[kind]}, không khớp với loại tệp khai báo"]
    return []


def _active_content_problems(name: str, content: bytes) -> list[str]:
    """A PDF that runs scripts or acts when opened is refused: officials open uploads in their reader."""
    try:
        active_content(content)
    except PdfActiveContent as exc:
        if exc.reason == "unverifiable":
            return [f"Không kiểm tra được nội dung tệp «{name}» (PDF bị mã hóa hoặc nén theo cách không hỗ trợ); "
                    "hãy in lại tài liệu ra PDF rồi tải lên"]
        return [f"Tệp «{name}» chứa mã lệnh hoặc hành động tự động (/{exc.reason}) nên không được nhận; "
                "hãy in lại tài liệu ra PDF rồi tải lên"]
    return []


def _extension(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def clean_filename(raw: str) -> str:
    """The base name without folders or control characters, bounded in length, for display."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(char for char in base if char.isprintable()).strip()
    return printable[-_MAX_NAME:] or "tep"


def upload_errors(data: Any) -> dict[str, list[str]]:
    """Messages for refused uploads in parsed data, keyed by field path like :class:`FormInvalid`."""
    found: dict[str, list[str]] = {}
    for path, upload in _walk(data, ()):
        if upload.errors:
            found[".".join(str(part) for part in path)] = list(upload.errors)
    return found


def store_uploads(data: Mapping[str, Any], store: Callable[[Upload], str]) -> dict[str, Any]:
    """A copy of ``data`` with each accepted :class:`Upload` replaced by ``store(upload)``.

    ``store`` saves the bytes wherever the caller keeps attachments and returns the reference
    the form data should hold. Refused uploads are dropped, as if nothing had been chosen.
    """

    def swap(value: Any) -> Any:
        if isinstance(value, Upload):
            return store(value) if value.ok else _DROP
        if isinstance(value, Mapping):
            return {key: item for key, item in ((k, swap(v)) for k, v in value.items()) if item is not _DROP}
        if isinstance(value, list):
            return [item for item in (swap(v) for v in value) if item is not _DROP]
        return value

    return swap(dict(data))


_DROP: Any = object()


def _walk(value: Any, path: tuple[Any, ...]) -> Any:
    if isinstance(value, Upload):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))
