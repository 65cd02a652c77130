"""The file store in a folder against the same store in an S3-compatible bucket: what a put (a new file,
and the same bytes again), an open and a delete cost, and how many HTTP requests each sends.

    .venv/bin/python bench/file_store.py                       # 200 files each of 20 KB, 200 KB and 2 MB
    .venv/bin/python bench/file_store.py --files 400 --json /tmp/file_store.json

The bucket is served on loopback by moto's server mode (tests/s3_server.py), a Python server: its
times are an upper bound of what a MinIO or Ceph gateway on the same LAN answers, and the request
counts (what the code sends) are the same on any server; "server p50" is the part of the bucket's
time spent between sending each request and receiving its answer. The folder is on this machine's
disk, with the fsyncs a durable put makes. Both are timed in the same run, alternating blocks of 20
files.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import Settings  # noqa: E402
from engine.documents.store import FileStore  # noqa: E402
from engine.documents.stores import store_for  # noqa: E402
from tests.s3_server import CREDENTIALS, start_server, stop_server  # noqa: E402

SIZES = (20_000, 200_000, 2_000_000)
BLOCK = 20


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def figures(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"p50": statistics.median(ordered), "p95": ordered[int(0.95 * (len(ordered) - 1))], "max": ordered[-1]}


class ServerClock:
    """Time from each request sent to its answer received (botocore's before-send and needs-retry events):
    the server's part of an operation, the rest being the client's."""

    def __init__(self, client) -> None:
        self.total, self._sent = 0.0, 0.0
        client.meta.events.register("before-send.s3", self._send)
        client.meta.events.register("needs-retry.s3", self._answered)

    def _send(self, **_) -> None:
        self._sent = time.perf_counter()

    def _answered(self, **_) -> None:
        self.total += (time.perf_counter() - self._sent) * 1000

    def timed(self, call) -> float:
        before = self.total
        call()
        return self.total - before


def run_block(store, files: list[bytes], results: dict[str, list[float]], server: ServerClock | None = None,
              served: dict[str, list[float]] | None = None) -> None:
    def measure(op: str, call) -> None:
        if server is None:
            results[op].append(timed(call))
            return
        started, spent = time.perf_counter(), server.timed(call)
        results[op].append((time.perf_counter() - started) * 1000)
        served[op].append(spent)

    digests: list[str] = []
    for data in files:
        measure("put new", lambda d=data: digests.append(store.put(d)[0]))
    for data in files:
        measure("put again", lambda d=data: store.put(d))
    for digest in digests:
        measure("open", lambda g=digest: store.open(g))
    for digest in digests:
        measure("delete", lambda g=digest: store.delete(g))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=200, help="files of each size (default 200)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    os.environ.update(CREDENTIALS)
    server = start_server()
    try:
        bucket = store_for(Settings(file_store=f"s3://{server.new_bucket()}/bench", s3_endpoint_url=server.endpoint))
        sent: Counter[str] = Counter()
        bucket.client.meta.events.register("before-send.s3",
                                           lambda request, **_: sent.update([request.method]))
        clock = ServerClock(bucket.client)
        report: dict[str, Any] = {"files": args.files, "server": "moto (loopback)", "sizes": {}}
        with tempfile.TemporaryDirectory(prefix="motcua-bench-files-") as work:
            folder = FileStore(Path(work) / "files")
            for size in SIZES:
                results: dict[str, dict[str, list[float]]] = {"folder": {}, "bucket": {}}
                for kind in results:
                    results[kind] = {op: [] for op in ("put new", "put again", "open", "delete")}
                requests: Counter[str] = Counter()
                served: dict[str, list[float]] = {op: [] for op in results["bucket"]}
                for start in range(0, args.files, BLOCK):
                    files = [os.urandom(size) for _ in range(min(BLOCK, args.files - start))]
                    run_block(folder, files, results["folder"])
                    sent.clear()
                    run_block(bucket, files, results["bucket"], clock, served)
                    requests.update(sent)
                per_file = {method: count / args.files for method, count in sorted(requests.items())}
                report["sizes"][size] = {kind: {op: figures(times) for op, times in ops.items()}
                                         for kind, ops in results.items()}
                report["sizes"][size]["bucket requests per file (put new, put again, open, delete)"] = per_file
                report["sizes"][size]["bucket server ms"] = {op: figures(times) for op, times in served.items()}
                print(f"\n{size / 1000:,.0f} KB, {args.files} files")
                print(f"  {'operation':<10} {'folder p50':>11} {'p95':>8} {'bucket p50':>11} {'p95':>8} {'ratio':>7} "
                      f"{'server p50':>11}")
                for op in ("put new", "put again", "open", "delete"):
                    f, b = report["sizes"][size]["folder"][op], report["sizes"][size]["bucket"][op]
                    answered = report["sizes"][size]["bucket server ms"][op]["p50"]
                    print(f"  {op:<10} {f['p50']:>9.2f}ms {f['p95']:>6.2f}ms {b['p50']:>9.2f}ms {b['p95']:>6.2f}ms "
                          f"{b['p50'] / f['p50']:>6.1f}x {answered:>9.2f}ms")
                print("  bucket requests for one file's put, put again, open and delete: "
                      + ", ".join(f"{count:g} {method}" for method, count in per_file.items()))
    finally:
        stop_server(server)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
