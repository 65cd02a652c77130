"""A lean HTTP/1.1 client for the load generators: keep-alive connections on asyncio streams, one per
request in flight, and nothing else.

On a 2-vCPU machine the generator shares the CPUs with the server it measures, so what it spends per
request is taken from the server: aiohttp's client spent about 0.33 ms a request under http_load
(7 % of the machine at 450 requests/s), most of it building and parsing what a closed-loop client
against one loopback server never needs (cookie jars, redirects, URL objects, tracing hooks, the
response object's machinery). This client writes the request line and headers as bytes and reads the
status, the headers and a body of Content-Length bytes (or chunks), inflating a gzipped one, as a
browser or a phone's HTTP stack would. It asks for gzip as they do, so the server compresses what it
would compress for them.

Anything it cannot read (no status line, a body without a length, a connection the server closed)
raises, and the connection is dropped: the caller counts the request as failed. A response that says
`Connection: close` (gunicorn's sync workers) closes the connection after its body; the next request
opens a new one.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

#: what a response's head may not exceed (gunicorn's own limits are lower)
MAX_HEAD = 64 * 1024


class HttpError(Exception):
    """The response could not be read as HTTP/1.1."""


class LeanHttp:
    """Requests to one origin (`http://host:port`) over pooled keep-alive connections."""

    def __init__(self, origin: str, timeout: float = 60.0) -> None:
        parts = urlsplit(origin)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"an http:// origin, not {origin!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._host_header = f"Host: {self.host}:{self.port}\r\n".encode()

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                      json: Any = None, params: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(status, body) of one request; the body inflated if it came gzipped."""
        target = self.prefix + path + (f"?{urlencode(params)}" if params else "")
        body = orjson.dumps(json) if json is not None else b""
        head = [f"{method} {target} HTTP/1.1\r\n".encode(), self._host_header, b"Accept-Encoding: gzip\r\n"]
        head += [f"{name}: {value}\r\n".encode() for name, value in (headers or {}).items()]
        if json is not None or method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Type: application/json\r\n" if json is not None else b"")
            head.append(f"Content-Length: {len(body)}\r\n".encode())
        head.append(b"\r\n")
        connection = self._kept()
        try:
            if connection is None:
                connection = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
            status, body, keep = await asyncio.wait_for(
                self._exchange(connection, b"".join(head) + body, bodiless=method == "HEAD"), self.timeout)
        except BaseException:
            if connection is not None:
                connection[1].close()
            raise
        if keep:
            self._idle.append(connection)
        else:
            connection[1].close()
        return status, body

    def _kept(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """An idle connection the server has not closed meanwhile (gunicorn drops one idle past its
        keep-alive timeout), or None."""
        while self._idle:
            reader, writer = self._idle.pop()
            if not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def _exchange(self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                        request: bytes, *, bodiless: bool = False) -> tuple[int, bytes, bool]:
        reader, writer = connection
        writer.write(request)
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise HttpError("the server closed the connection before answering") from exc
        except asyncio.LimitOverrunError as exc:
            raise HttpError("a response head longer than the stream's limit") from exc
        if len(raw) > MAX_HEAD:
            raise HttpError("a response head longer than 64 KiB")
        lines = raw.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
            raise HttpError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
        fields: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
        status = int(rest[:3])
        if bodiless or status in (204, 304) or 100 <= status < 200:
            body = b""  # no body whatever the headers say (RFC 9112, 6.3)
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body = await _chunks(reader)
        elif "content-length" in fields:
            body = await reader.readexactly(int(fields["content-length"]))
        else:
            raise HttpError("a response with neither Content-Length nor chunks")
        if fields.get("content-encoding", "").lower() == "gzip":
            body = zlib.decompress(body, wbits=31)
        keep = fields.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        return status, body, keep

    async def aclose(self) -> None:
        for _reader, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        line = (await reader.readline()).split(b";")[0].strip()
        if not line:
            raise HttpError("a chunk without its size")
        size = int(line, 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailer fields, then the blank line
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError("a chunk longer than its size")
