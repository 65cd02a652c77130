"""The file store in a folder against the same store in an S3-compatible bucket: what a put (a new file,
and the same bytes again), an open and a delete cost, and how many HTTP requests each sends.

    .venv/bin/python bench/file_store.py                       # 200 files each of 20 KB, 200 KB and 2 MB
    .venv/bin/python bench/file_store.py --files 400 --json /tmp/file_store.json

The bucket is served on loopback by moto's server mode (tests/s3_server.py), a Python server: its
times are an upper bound of what a MinIO or Ceph gateway on the same LAN answers, and the request
counts (what the code sends) are the same on any server. The folder is on this machine's disk, with
the fsyncs a durable put makes. Both are timed in the same run, alternating blocks of 20 files.
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


def run_block(store, files: list[bytes], results: dict[str, list[float]]) -> None:
    digests = []
    for data in files:
        results["put new"].append(timed(lambda d=data: digests.append(store.put(d)[0])))
    for data in files:
        results["put again"].append(timed(lambda d=data: store.put(d)))
    for digest in digests:
        results["open"].append(timed(lambda g=digest: store.open(g)))
    for digest in digests:
        results["delete"].append(timed(lambda g=digest: store.delete(g)))


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
        report: dict[str, Any] = {"files": args.files, "server": "moto (loopback)", "sizes": {}}
        with tempfile.TemporaryDirectory(prefix="motcua-bench-files-") as work:
            folder = FileStore(Path(work) / "files")
            for size in SIZES:
                results: dict[str, dict[str, list[float]]] = {"folder": {}, "bucket": {}}
                for kind in results:
                    results[kind] = {op: [] for op in ("put new", "put again", "open", "delete")}
                requests: Counter[str] = Counter()
                for start in range(0, args.files, BLOCK):
                    files = [os.urandom(size) for _ in range(min(BLOCK, args.files - start))]
                    run_block(folder, files, results["folder"])
                    sent.clear()
                    run_block(bucket, files, results["bucket"])
                    requests.update(sent)
                per_file = {method: count / args.files for method, count in sorted(requests.items())}
                report["sizes"][size] = {kind: {op: figures(times) for op, times in ops.items()}
                                         for kind, ops in results.items()}
                report["sizes"][size]["bucket requests per file (put new, put again, open, delete)"] = per_file
                print(f"\n{size / 1000:,.0f} KB, {args.files} files")
                print(f"  {'operation':<10} {'folder p50':>11} {'p95':>8} {'bucket p50':>11} {'p95':>8} {'ratio':>7}")
                for op in ("put new", "put again", "open", "delete"):
                    f, b = report["sizes"][size]["folder"][op], report["sizes"][size]["bucket"][op]
                    print(f"  {op:<10} {f['p50']:>9.2f}ms {f['p95']:>6.2f}ms {b['p50']:>9.2f}ms {b['p95']:>6.2f}ms "
                          f"{b['p50'] / f['p50']:>6.1f}x")
                print("  bucket requests for one file's put, put again, open and delete: "
                      + ", ".join(f"{count:g} {method}" for method, count in per_file.items()))
    finally:
        stop_server(server)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
