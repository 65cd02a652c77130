"""The chaos run's load: bench/http_load.py's closed-loop clients, made to live through faults.

What changes against the benchmark's `Load`:
* every answer is kept as (wall-clock time, endpoint, status), so the report can say what people
  saw during each phase (kills, Redis down, PostgreSQL down);
* a 503 must carry the Vietnamese message of what is unreachable (the database, or the file store
  for a download) and a Retry-After header; each one that does not is counted as malformed;
* a claim or completion that got no answer (the web worker was killed: the connection is reset) or a
  503 is tried again later with the same official's token, as a person would press the button again:
  if the first attempt was in fact committed, the retry must get 409, never a second completion;
* after a failed request the client waits a little (a person does not hammer a broken page), and
  between actions it thinks for plan["think"] seconds;
* the load runs until the harness creates the stop file.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import orjson

from bench.http_load import FORMS, Load, answer

#: statuses the run accepts from the server (0 = no answer: the worker serving it was killed)
ACCEPTED = {200, 201, 409, 503}
AMBIGUOUS = {0, 503}
PAUSE_AFTER_FAILURE = 0.5


class ChaosLoad(Load):
    """`Load` recording every answer and retrying ambiguous completions."""

    def __init__(self, plan: dict[str, Any], session: Any) -> None:
        super().__init__(plan, session)  # session: an aiohttp.ClientSession, which takes whole URLs
        self.url = plan["url"] + "/api/v1"
        self.answers: list[tuple[float, str, int]] = []
        self.unavailable = Counter()  # "proper" / "malformed" 503 answers
        self.samples_by_status: dict[str, list[str]] = {}
        self.ambiguous = Counter()  # endpoint -> requests answered 0 or 503 (maybe committed, maybe not)
        self.retried = Counter()  # "acknowledged" / "409" / "other": what the retries of completions got

    def stopping(self) -> bool:
        return os.getppid() != self.parent or os.path.exists(self.plan["stop_file"])

    async def call(self, endpoint: str, method: str, path: str, token: str | None, expect: int,
                   raw: bool = False, **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        retry_after = None
        try:
            async with self.session.request(method, self.url + path, headers=headers, **kw) as response:
                status, body = response.status, await response.read()
                retry_after = response.headers.get("Retry-After")
        except Exception as exc:  # noqa: BLE001 - a reset connection (killed worker) is an answer too
            status, body = 0, repr(exc).encode()
        self.answers.append((time.time(), endpoint, status))
        if status == 503:
            self.unavailable["proper" if self._proper_503(body, retry_after) else "malformed"] += 1
        if status in AMBIGUOUS:
            self.ambiguous[endpoint] += 1
        if status != expect:
            samples = self.samples_by_status.setdefault(f"{endpoint} {status}", [])
            if len(samples) < 2:
                samples.append(body[:300].decode(errors="replace"))
            if status not in (409,):
                await asyncio.sleep(PAUSE_AFTER_FAILURE)
        return status, answer(status, expect, body, raw)

    def _proper_503(self, body: bytes, retry_after: str | None) -> bool:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return False
        return (retry_after is not None and isinstance(data, dict)
                and self.plan["unavailable_messages"].get(data.get("error")) == data.get("message"))

    async def client(self, n: int) -> None:
        """The benchmark's client with a pause between actions: the drill needs a load the outbox
        workers can keep up with while half of them are being killed, not the most the web can take."""
        rng = random.Random(self.plan["seed"] * 1000 + n)
        while not self.stopping():
            await getattr(self, rng.choices(self.names, self.weights)[0])(rng)
            await asyncio.sleep(self.plan["think"])

    async def complete(self, rng: random.Random) -> None:
        role = max(self.queues, key=lambda r: len(self.queues[r]))
        if not self.queues[role]:
            return await self.inbox(rng)
        item = self.queues[role].popleft()
        task_id, bpmn_id = item[0], item[1]
        retry = len(item) > 2
        token = item[2] if retry else rng.choice(self.tokens[role])
        status, _ = await self.call("claim", "POST", f"/tasks/{task_id}/claim", token, 200)
        if status == 200:
            status, _ = await self.call("complete", "POST", f"/tasks/{task_id}/complete", token, 200,
                                        json={"data": FORMS[bpmn_id]})
        if status in AMBIGUOUS:
            self.queues[role].append((task_id, bpmn_id, token))  # press the button again later
            return
        if retry:
            self.retried["acknowledged" if status == 200 else str(status)] += 1
        if status == 200:
            self.completed.append(task_id)


async def _generate(plan: dict[str, Any]) -> dict[str, Any]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=plan["clients"])
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        load = ChaosLoad(plan, session)
        await asyncio.gather(*(load.client(n) for n in range(plan["clients"])))
    return {"answers": load.answers, "codes": load.code_list, "completed": load.completed,
            "unavailable": dict(load.unavailable), "ambiguous": dict(load.ambiguous),
            "retried": dict(load.retried), "samples": load.samples_by_status,
            "damaged_downloads": load.damaged_downloads,
            "unknown_tasks": dict(load.unknown_tasks),
            "retries_left": sum(len(item) > 2 for q in load.queues.values() for item in q)}


def generate(plan: dict[str, Any]) -> dict[str, Any]:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness stops us with the stop file
    return asyncio.run(_generate(plan))


def start(plan: dict[str, Any]) -> tuple[ProcessPoolExecutor, Future]:
    """The generator in a fresh process; the caller creates plan["stop_file"] to end it."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    return pool, pool.submit(generate, plan)
