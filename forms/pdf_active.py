"""Active content in an uploaded PDF: JavaScript, launch and automatic actions are refused.

An applicant's PDF is opened by officials in their browser or desktop reader, so a file that runs
code or acts on opening (``/JS``, ``/JavaScript``, ``/Launch``, ``/AA``, an ``/OpenAction`` that is
not a plain "open at this page" destination, XFA, embedded files...) is refused, not rewritten.

This is a scanner, not a full PDF parser, and deliberately conservative. It reads every byte outside
stream bodies (strings included), with ``#xx`` escapes in names decoded; it inflates object streams
(where PDF 1.5+ writers put compressed dictionaries), bounded in size; it also reads an object hidden
inside a stream body (an xref may point there). An object stream it cannot decode (another filter, a
predictor, encryption) is refused as unverifiable rather than let through.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

__all__ = ["DANGEROUS", "MAX_INFLATED", "PdfActiveContent", "active_content"]

#: Object streams hold dictionaries only; more than this once inflated is treated as a bomb.
MAX_INFLATED = 32 * 1024 * 1024
#: Names that only ever serve scripts, launching programs, automatic actions or hidden payloads.
DANGEROUS = frozenset({
    "JS", "JavaScript", "Launch", "AA", "SubmitForm", "ImportData", "RichMedia", "XFA", "GoToE",
    "EmbeddedFile", "EmbeddedFiles"})
_WS = rb"[\x00\t\n\f\r ]"
_NAME = re.compile(rb"/([^\x00\t\n\f\r ()<>\[\]{}/%]*)")
_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# A stream body follows its dictionary's ">>"; a string, a comment or a hex string is skipped whole.
_LEXEME = re.compile(rb"\(|%|(?<!<)<(?!<)|>>" + _WS + rb"*stream(?:\r\n|\n|\r)")
_OBJECT = re.compile(rb"(\d+)" + _WS + rb"+\d+" + _WS + rb"+obj(?![A-Za-z])")
_OPEN_ACTION = re.compile(rb"/OpenAction" + _WS + rb"*(?:(\d+)" + _WS + rb"+\d+" + _WS + rb"+R)?")
_DICT_WINDOW = 4096
_PEEK = 512


class PdfActiveContent(ValueError):
    """Why a PDF is refused: ``reason`` is the offending PDF name, or ``unverifiable``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def active_content(data: bytes) -> None:
    """Raise PdfActiveContent if the PDF may run code or act by itself when opened."""
    plain, streams = _split(data)
    texts = [plain]
    for dictionary, body in streams:
        if re.search(rb"/First(?![A-Za-z])", dictionary):  # an object stream: a reader decodes it by /First
            texts.append(_inflate(dictionary, body))
        texts += [_object_text(body, m.start()) for m in _OBJECT.finditer(body)]
    objects: dict[bytes, bytes] = {}
    for text in texts:
        found = sorted({name for name in _names(text) if name in DANGEROUS})
        if found:
            raise PdfActiveContent(found[0])
        objects.update(_objects(text))
    for text in texts:
        _check_open_actions(text, objects)


def _split(data: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The bytes outside stream bodies (names decoded), and each stream's dictionary (decoded) and body."""
    outside: list[bytes] = []
    streams: list[tuple[bytes, bytes]] = []
    pos = start = 0
    while (match := _LEXEME.search(data, pos)) is not None:
        token = match.group()
        if token == b"(":
            pos = _string_end(data, match.end())
        elif token in (b"%", b"<"):
            end = re.compile(rb"[\r\n]" if token == b"%" else rb">").search(data, match.end())
            pos = end.end() if end else len(data)
        else:
            end = data.find(b"endstream", match.end())
            end = len(data) if end < 0 else end
            outside.append(data[start:match.end()])
            streams.append((_dictionary(data, match.start()), data[match.end():end]))
            pos = start = end
    outside.append(data[start:])
    return _normalise(b" ".join(outside)), streams


def _string_end(data: bytes, pos: int) -> int:
    """Past the literal string that opened before ``pos`` (nesting, escapes); the end of data if unclosed."""
    depth, special = 1, re.compile(rb"[()\\]")
    while depth and (match := special.search(data, pos)) is not None:
        char = match.group()
        pos = match.end() + (1 if char == b"\\" else 0)
        depth += {b"(": 1, b")": -1}.get(char, 0)
    return pos if not depth else len(data)


def _dictionary(data: bytes, end: int) -> bytes:
    """The stream's dictionary: from its object header (``n g obj``) to ``end``, names decoded."""
    window = data[max(0, end - _DICT_WINDOW):end]
    headers = list(_OBJECT.finditer(window))
    return _normalise(window[headers[-1].end():] if headers else window)


def _object_text(body: bytes, start: int) -> bytes:
    end = body.find(b"endobj", start)
    return _normalise(body[start:end if end >= 0 else len(body)])


def _normalise(text: bytes) -> bytes:
    """Names with their ``#xx`` escapes decoded, so ``/J#61vaScript`` reads as ``/JavaScript``."""
    return _NAME.sub(lambda m: b"/" + _ESCAPE.sub(lambda e: bytes([int(e.group(1), 16)]), m.group(1)), text)


def _names(text: bytes) -> Iterator[str]:
    for match in _NAME.finditer(text):
        yield match.group(1).decode("latin-1")


def _inflate(dictionary: bytes, body: bytes) -> bytes:
    """The dictionaries an object stream holds (names decoded); refuse what cannot be decoded within bounds."""
    filters = re.search(rb"/Filter" + _WS + rb"*(\[[^\]]*\]|/[^\x00\t\n\f\r ()<>\[\]{}/%]+|[^/\[]*)", dictionary)
    if filters is None:
        return _normalise(body)
    names = [m.group(1) for m in _NAME.finditer(filters.group(1))]
    if names not in ([b"FlateDecode"], [b"Fl"]) or _predicted(dictionary):
        raise PdfActiveContent("unverifiable")
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(body, MAX_INFLATED + 1)
    except zlib.error as exc:
        raise PdfActiveContent("unverifiable") from exc
    if len(text) > MAX_INFLATED:
        raise PdfActiveContent("unverifiable")
    return _normalise(text)


def _predicted(dictionary: bytes) -> bool:
    """Whether the stream's decode parameters ask for a predictor (or cannot be read here)."""
    params = re.search(rb"/DecodeParms" + _WS + rb"*(<<.*?>>|\[.*?\]|\d+" + _WS + rb"+\d+" + _WS + rb"+R)",
                       dictionary, re.S)
    if params is None:
        return False
    predictor = re.search(rb"/Predictor" + _WS + rb"*(\d+)", params.group(1))
    return params.group(1).endswith(b"R") or (predictor is not None and int(predictor.group(1)) > 1)


def _objects(text: bytes) -> dict[bytes, bytes]:
    """Object number -> how its body starts, to resolve an ``/OpenAction n 0 R``."""
    found = {m.group(1): text[m.end():m.end() + _PEEK].lstrip() for m in _OBJECT.finditer(text)}
    header = re.match(_WS + rb"*((?:\d+" + _WS + rb"+\d+" + _WS + rb"*)+)", text)
    if header:  # an inflated object stream starts with pairs "number offset", offsets counted from /First
        numbers, first = header.group(1).split(), header.end()
        for number, offset in zip(numbers[::2], numbers[1::2], strict=False):
            found.setdefault(number, text[first + int(offset):first + int(offset) + _PEEK].lstrip())
    return found


def _check_open_actions(text: bytes, objects: dict[bytes, bytes]) -> None:
    """An ``/OpenAction`` may only go to a page: a destination array, or a ``/GoTo`` action (by reference too)."""
    for match in _OPEN_ACTION.finditer(text):
        value = text[match.end():match.end() + _PEEK].lstrip() if match.group(1) is None \
            else objects.get(match.group(1), b"")
        if not _goes_to_a_page(value):
            raise PdfActiveContent("OpenAction")


def _goes_to_a_page(value: bytes) -> bool:
    if value.startswith(b"["):
        return True
    action = value[:value.find(b">>")] if value.startswith(b"<<") else b""
    return re.search(rb"/S" + _WS + rb"*/GoTo(?![A-Za-z])", action) is not None and b"/Next" not in action
