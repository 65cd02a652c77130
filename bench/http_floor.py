"""The HTTP floor: what gunicorn and the load generator cost per request when the application does
nothing, under http_load's kind of load.

    .venv/bin/python bench/http_floor.py                       # 3 sync workers, 6 clients (http_load's on 2 CPUs)
    .venv/bin/python bench/http_floor.py --client aiohttp      # the generator on aiohttp's client
    .venv/bin/python bench/http_floor.py --worker-class gthread --threads 4 --clients 12

bench/web_cpu.py measures what each API request costs the application, in process (Flask's test
client: no sockets); bench/http_load.py measures the whole under load. Between the two sits the HTTP
server: gunicorn reading the request off the socket, parsing it, building the WSGI environ, writing the
response; and, on the same machine, the load generator's own CPU for each request. This benchmark
serves two applications with the same gunicorn settings as http_load, one after the other:

* plain: a bare WSGI function answering a small JSON document (gunicorn's own cost);
* flask: a Flask app with one JSON view (what Flask's request handling adds, without motcua's hooks);

and drives each with --clients closed-loop clients (a process of their own, with http_load's client)
POSTing about 1 KB of JSON, a task completion's size, for --duration seconds after --warmup. Printed
per application: requests/s, and CPU milliseconds per request of the gunicorn processes (master and
workers, /proc) and of the generator. gunicorn's figure is what every request of http_load costs the
machine before the application runs; http_load's own generator does more per request than this one
(it decodes every inbox page and keeps the work queues).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent

#: a completion's body: about 1 KB of JSON with Vietnamese text
BODY = {"data": {"ket_qua_tham_dinh": "dat", "y_kien": "Hồ sơ đầy đủ, hợp lệ; đề nghị lãnh đạo phê duyệt. " * 14}}
APPS = {"plain": "bench.http_floor:plain_app", "flask": "bench.http_floor:flask_app()"}


def plain_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A bare WSGI application: reads the body, answers a small JSON document."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    environ["wsgi.input"].read(length)
    body = b'{"id":"task","state":"done"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def flask_app() -> Any:
    """A Flask application with one view that parses the JSON body and answers with jsonify."""
    from flask import Flask, jsonify, request

    app = Flask("http_floor")

    @app.post("/x/<task_id>")
    def complete(task_id: str):
        payload = request.get_json()
        return jsonify({"id": task_id, "state": "done", "fields": len(payload["data"])})

    return app


# -- the generator (its own process) ------------------------------------------------------------------


async def _load(url: str, clients: int, t0: float, t1: float, client_kind: str) -> dict[str, float]:
    """Closed-loop clients until `t1`; counted: the requests answered between `t0` and `t1` (both on
    time.monotonic(), the clock the harness samples gunicorn's CPU by), and the CPU spent between them."""
    from bench.http_load import http_client

    counted = errors = 0
    cpu: dict[str, float] = {}

    async def client(n: int, session: Any) -> None:
        nonlocal counted, errors
        while time.monotonic() < t1:
            try:
                status, _body = await session.request("POST", f"/x/{n}", json=BODY)
            except Exception:  # noqa: BLE001 - a reset or refused connection is a failed request
                status = 0
            if t0 <= time.monotonic() < t1:  # answered in the window: a request, or an error
                if status == 200:
                    counted += 1
                else:
                    errors += 1

    async def marks() -> None:
        for name, at in (("t0", t0), ("t1", t1)):
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            cpu[name] = time.process_time()

    async with http_client({"url": url, "clients": clients, "client": client_kind}) as session:
        await asyncio.gather(marks(), *(client(n, session) for n in range(clients)))
    return {"requests": counted, "errors": errors, "generator_cpu_s": cpu["t1"] - cpu["t0"]}


def generate(url: str, clients: int, t0: float, t1: float, client_kind: str) -> dict[str, float]:
    return asyncio.run(_load(url, clients, t0, t1, client_kind))


# -- the harness --------------------------------------------------------------------------------------


# (the gunicorn workers import this module for its applications: the harness's imports stay in its functions)


def gunicorn_cpu(master: int) -> float:
    """CPU seconds of gunicorn's master and workers."""
    from bench.http_load import cpu_snapshot

    return cpu_snapshot({"gunicorn": [master]})["gunicorn"]


def measure(app: str, args: argparse.Namespace) -> dict[str, float]:
    from bench.serve import free_port, stop_group

    port = free_port()
    # --threads only for gthread: gunicorn quietly turns sync workers given threads into gthread ones
    threads = ["--threads", str(args.threads)] if args.worker_class == "gthread" else []
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT), "--bind", f"127.0.0.1:{port}",
               "--workers", str(args.web_workers), "--worker-class", args.worker_class, *threads,
               "--log-level", "warning", "--backlog", "2048", APPS[app]]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_ready(server, args.web_workers, log)
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
                pool.submit(os.getpid).result()  # the generator's process is up before anything is timed
                t0 = time.monotonic() + 1 + args.warmup  # a second for the generator to start its clients
                t1 = t0 + args.duration
                future = pool.submit(generate, f"http://127.0.0.1:{port}", args.clients, t0, t1, args.client)
                time.sleep(max(0.0, t0 - time.monotonic()))
                before = gunicorn_cpu(server.pid)
                time.sleep(max(0.0, t1 - time.monotonic()))
                web_cpu_s = gunicorn_cpu(server.pid) - before
                load = future.result()
        finally:
            stop_group(server)
    requests = max(1, load["requests"])
    return {"requests": load["requests"], "errors": load["errors"], "per_s": load["requests"] / args.duration,
            "gunicorn_ms": 1000 * web_cpu_s / requests, "generator_ms": 1000 * load["generator_cpu_s"] / requests}


def _wait_ready(server: subprocess.Popen, workers: int, log: Any, timeout: float = 60.0) -> None:
    from bench.serve import children

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        if len(children(server.pid)) >= workers:
            time.sleep(0.5)  # the workers import the app after forking
            return
        time.sleep(0.1)
    log.seek(0)
    raise SystemExit(f"gunicorn did not start:\n{log.read().decode(errors='replace')[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--clients", type=int, default=6, help="closed-loop clients")
    parser.add_argument("--client", choices=("lean", "aiohttp"), default="lean",
                        help="the generator's HTTP client, as http_load's --client")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per application")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    args = parser.parse_args()
    rows = {app: measure(app, args) for app in APPS}
    threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    size = len(orjson.dumps(BODY))  # what the clients send (bench/lean_http.py, http_load.AiohttpClient)
    print(f"http_floor  {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine: nproc {len(os.sched_getaffinity(0))}, Python {sys.version.split()[0]}; gunicorn "
          f"{args.web_workers} {args.worker_class} workers{threads}; {args.clients} clients ({args.client} HTTP "
          f"client) POSTing "
          f"{size} B of JSON, warm-up {args.warmup:g} s, measured {args.duration:g} s each")
    print()
    print(f"{'application':<14}{'requests':>10}{'errors':>8}{'req/s':>10}{'gunicorn ms/req':>18}"
          f"{'generator ms/req':>18}")
    for app, row in rows.items():
        print(f"{app:<14}{row['requests']:>10}{row['errors']:>8}{row['per_s']:>10.0f}{row['gunicorn_ms']:>18.3f}"
              f"{row['generator_ms']:>18.3f}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
