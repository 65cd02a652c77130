"""bench/chaos_load.py's client against a scripted server on loopback: the API URLs it asks, the token a
download carries, the 503s it judges (the database's and the file store's), and the downloads it checks
against their listed digest."""

from __future__ import annotations

import asyncio
import hashlib
import random

import aiohttp
from aiohttp import web

from bench import chaos_load
from bench.chaos_load import ChaosLoad
from engine.documents.errors import StoreUnavailable
from web.errors import UNAVAILABLE

PDF = b"%PDF-1.7 the receipt"
CODE = "000.00.21.H99-261203-0001"
CITIZEN = {"token": "citizen-token", "name": "Phạm Thị Công Dân", "phone": "0912345678", "id_number": "001090000001",
           "email": "congdan@example.vn"}
STORE_DOWN = {"error": StoreUnavailable.__name__, "message": StoreUnavailable.message_vi}


def downloads() -> list[web.Response]:
    """The answers to the four downloads, in order."""
    return [web.json_response(STORE_DOWN, status=503, headers={"Retry-After": "5"}),
            web.json_response(STORE_DOWN, status=503),  # no Retry-After: malformed
            web.Response(body=PDF, content_type="application/pdf"),
            web.Response(body=PDF + b" but damaged", content_type="application/pdf")]


async def drive(seen: list[tuple[str, str, str | None]]) -> ChaosLoad:
    answers = downloads()

    async def record(request: web.Request) -> None:
        seen.append((request.method, request.path, request.headers.get("Authorization")))

    async def submit(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({"code": CODE}, status=201)

    async def listing(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response([{"id": 7, "kind": "bien-nhan", "sha256": hashlib.sha256(PDF).hexdigest()}])

    async def download(request: web.Request) -> web.Response:
        await record(request)
        return answers.pop(0)

    app = web.Application()
    app.add_routes([web.post("/api/v1/dossiers", submit),
                    web.get(f"/api/v1/dossiers/{CODE}/attachments", listing),
                    web.get(f"/api/v1/dossiers/{CODE}/attachments/7", download)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    plan = {"url": f"http://127.0.0.1:{port}", "tokens": {}, "citizens": [CITIZEN], "mix": {"submit": 1, "download": 1},
            "seed": 1, "warmup": 0, "form": {"ten_ho_kinh_doanh": "Phở Thu Hương"}, "stop_file": "/nonexistent",
            "think": 0, "unavailable_messages": {"ServiceUnavailable": UNAVAILABLE,
                                                 StoreUnavailable.__name__: StoreUnavailable.message_vi}}
    try:
        async with aiohttp.ClientSession() as session:
            load = ChaosLoad(plan, session)
            rng = random.Random(1)
            await load.submit(rng)
            for _ in range(4):
                await load.download(rng)
    finally:
        await runner.cleanup()
    return load


def test_downloads_are_judged_by_their_503_body_and_checked_against_their_digest(monkeypatch):
    monkeypatch.setattr(chaos_load, "PAUSE_AFTER_FAILURE", 0)
    seen: list[tuple[str, str, str | None]] = []
    load = asyncio.run(drive(seen))

    assert [(endpoint, status) for _at, endpoint, status in load.answers] == [
        ("submit", 201), ("documents", 200), ("download", 503), ("documents", 200), ("download", 503),
        ("documents", 200), ("download", 200), ("documents", 200), ("download", 200)]
    assert seen[0] == ("POST", "/api/v1/dossiers", f"Bearer {CITIZEN['token']}")
    assert {auth for *_request, auth in seen} == {f"Bearer {CITIZEN['token']}"}, "the submitter opens the documents"
    assert load.unavailable == {"proper": 1, "malformed": 1}
    assert load.ambiguous == {"download": 2}
    assert load.damaged_downloads == 1
