"""bench/lean_http.py against a scripted server on loopback: what it sends, keep-alive, gzip, chunks,
`Connection: close`, and a response it cannot read."""

from __future__ import annotations

import asyncio
import gzip

import orjson
import pytest

from bench.lean_http import HttpError, LeanHttp

HANG_UP = b"<hang up>"


async def serving(answers: list[bytes], seen: list[bytes], connections: list[int]):
    """A server that reads each request (head and Content-Length body) and sends the next answer."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        while answers:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            seen.append(head + await reader.readexactly(length))
            answer = answers.pop(0)
            hang_up = answer.endswith(HANG_UP)  # close without saying so, as a keep-alive timeout does
            writer.write(answer.removesuffix(HANG_UP))
            await writer.drain()
            if hang_up or b"Connection: close" in answer or not answer.startswith(b"HTTP/"):
                break
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def pause(client, seconds: float = 0.05):
    await asyncio.sleep(seconds)  # lets the event loop see what the server did meanwhile
    return None


def run(answers: list[bytes], calls) -> tuple[list, list[bytes], int]:
    seen: list[bytes] = []
    connections: list[int] = []

    async def main():
        server = await serving(answers, seen, connections)
        port = server.sockets[0].getsockname()[1]
        client = LeanHttp(f"http://127.0.0.1:{port}")
        try:
            return [await call(client) for call in calls]
        finally:
            await client.aclose()
            server.close()
            await server.wait_closed()

    return asyncio.run(main()), seen, len(connections)


def answer(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    head = "".join(f"{line}\r\n" for line in (f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *extra))
    return head.encode() + b"\r\n" + body


def test_it_sends_json_with_its_length_and_reuses_the_connection():
    results, seen, connections = run(
        [answer(b'{"ok":1}', status="201 CREATED"), answer(b"[]")],
        [lambda c: c.request("POST", "/api/v1/dossiers", headers={"Authorization": "Bearer t"},
                             json={"name": "Nguyễn Văn A"}),
         lambda c: c.request("GET", "/api/v1/track/X-1", params={"secret": "0912 345"})])

    assert results == [(201, b'{"ok":1}'), (200, b"[]")]
    assert connections == 1  # keep-alive: the second request went over the first connection
    post, get = seen
    body = orjson.dumps({"name": "Nguyễn Văn A"})
    assert post.startswith(b"POST /api/v1/dossiers HTTP/1.1\r\n") and post.endswith(b"\r\n\r\n" + body)
    assert b"Authorization: Bearer t\r\n" in post and f"Content-Length: {len(body)}\r\n".encode() in post
    assert b"Accept-Encoding: gzip\r\n" in post
    assert get.startswith(b"GET /api/v1/track/X-1?secret=0912+345 HTTP/1.1\r\n")


def test_a_gzipped_body_is_inflated_and_a_chunked_one_joined():
    page = orjson.dumps([{"id": n, "title": "Thẩm định"} for n in range(200)])
    zipped = gzip.compress(page)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"

    results, _seen, _connections = run([answer(zipped, "Content-Encoding: gzip"), chunked],
                                       [lambda c: c.request("GET", "/a"), lambda c: c.request("GET", "/b")])

    assert results == [(200, page), (200, b"hello world")]


def test_connection_close_opens_a_new_connection_for_the_next_request():
    results, _seen, connections = run([answer(b"a", "Connection: close"), answer(b"b")],
                                      [lambda c: c.request("GET", "/"), lambda c: c.request("GET", "/")])

    assert results == [(200, b"a"), (200, b"b")] and connections == 2


def test_an_answer_that_is_not_http_raises_and_the_connection_is_dropped():
    with pytest.raises(HttpError, match="status line"):
        run([b"SSH-2.0-OpenSSH\r\n\r\n"], [lambda c: c.request("GET", "/")])
    with pytest.raises(HttpError, match="closed the connection"):
        run([b""], [lambda c: c.request("GET", "/")])


def test_a_204_has_no_body_and_a_chunked_answer_is_read_past_its_trailers():
    trailed = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Digest: 1\r\n\r\n"
    results, _seen, connections = run(
        [b"HTTP/1.1 204 NO CONTENT\r\n\r\n", trailed, answer(b"next")],
        [lambda c: c.request("DELETE", "/x"), lambda c: c.request("GET", "/y"), lambda c: c.request("GET", "/z")])

    assert results == [(204, b""), (200, b"ok"), (200, b"next")] and connections == 1


def test_an_idle_connection_the_server_dropped_is_not_reused():
    results, _seen, connections = run([answer(b"a") + HANG_UP, answer(b"b")],
                                      [lambda c: c.request("GET", "/"), pause, lambda c: c.request("GET", "/")])

    assert results == [(200, b"a"), None, (200, b"b")] and connections == 2
