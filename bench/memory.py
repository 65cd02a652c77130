"""Memory: RSS of each gunicorn worker and each Celery worker across repeats of task completions over HTTP.

    .venv/bin/python bench/memory.py                          # 10,000 completions in 4 repeats
    .venv/bin/python bench/memory.py --completions 20000 --repeats 5 --json /tmp/memory.json

The installation is bench/serve.py's (production-mode gunicorn + Celery on a scratch PostgreSQL
database) and the load is bench/http_load.py's generator with its mix, stopped once a repeat has
--completions / --repeats acknowledged completions (in a fresh generator process; the work left over
is found again through the inboxes). After each repeat the outbox is drained, so that the Celery
workers have done that repeat's work too, and VmRSS and VmHWM are read from /proc/<pid>/status of the
gunicorn master, each gunicorn worker and each Celery worker.

Printed: the RSS of every process after each repeat, the peak (VmHWM) per process kind, and the growth
from repeat 2 to the last. Repeat 1 fills what a process caches for good (parsed procedure specs,
compiled forms, SQLAlchemy's statement cache, the connection pool, translations, imported modules);
after it a process that does not leak only moves by allocator noise. The verdict is "no leak" when every
process grew by less than --bound MiB (default 2: two of CPython's 1 MiB pymalloc arenas, the step in
which a steady process's RSS moves as its free blocks shift between arenas); the figures printed with
it say which leak per request (web) or per outbox call (Celery) the run could have seen.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.http_load import (  # noqa: E402
    common_arguments,
    describe,
    machine_info,
    plan_for,
    public_args,
    run_generator,
    server_options,
)
from bench.serve import Server, check, outbox_left, outbox_states, render_check, serve, wait_outbox  # noqa: E402

MIB = 1024 * 1024


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in KiB (empty once it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {k: int(v.split()[0]) for k, _, v in (line.partition(":") for line in lines) if k in ("VmRSS", "VmHWM")}


def processes(server: Server) -> list[tuple[str, int]]:
    return ([("gunicorn master", server.web_master_pid)]
            + [("gunicorn worker", pid) for pid in sorted(server.web_worker_pids())]
            + [("Celery worker", pid) for pid in server.celery_pids])


def sample(server: Server) -> dict[int, dict[str, Any]]:
    return {pid: {"kind": kind, **status_kb(pid)} for kind, pid in processes(server)}


def growth(samples: list[dict[int, dict[str, Any]]], first: int) -> dict[int, float]:
    """RSS growth per process (MiB) from sample `first` to the last; only processes present in both."""
    start, end = samples[first], samples[-1]
    return {pid: (end[pid]["VmRSS"] - start[pid]["VmRSS"]) / 1024 for pid in end
            if pid in start and "VmRSS" in end[pid] and "VmRSS" in start[pid]}


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    samples, repeats, bound = result["samples"], result["repeats"], result["args"]["bound"]
    first = min(2, len(repeats))  # samples[0] is before any load, samples[i] after repeat i
    grew = growth(samples, first)
    kinds = {pid: samples[-1][pid]["kind"] for pid in samples[-1]}
    later = repeats[first:]  # what the processes did between the two samples
    requests = sum(r["requests"] for r in later)
    calls = sum(r["outbox_done"] for r in later)
    web_workers = max(1, sum(k == "gunicorn worker" for k in kinds.values()))
    celery = max(1, sum(k == "Celery worker" for k in kinds.values()))
    worst = {kind: max((g for pid, g in grew.items() if kinds[pid] == kind), default=0.0) for kind in set(kinds.values())}
    peak = {kind: max(s.get("VmHWM", 0) for s in samples[-1].values() if s["kind"] == kind) / 1024
            for kind in set(kinds.values())}
    replaced = set(samples[first]) != set(samples[-1])
    return {"from_repeat": first, "growth_mib": {str(pid): g for pid, g in grew.items()}, "worst_mib": worst,
            "peak_mib": peak, "requests": requests, "outbox_calls": calls,
            "web_bytes_per_request": bound * MIB / max(1, requests / web_workers),
            "celery_bytes_per_call": bound * MIB / max(1, calls / celery),
            "processes_replaced": replaced,
            # a Celery worker sampled while it still had calls to make was caught mid-work
            "drained": all(r["outbox_left"] == 0 for r in repeats),
            "leak": replaced or any(g >= bound for g in grew.values())}


def render(result: dict[str, Any]) -> str:
    m, a, v, samples = result["machine"], result["args"], result["verdict"], result["samples"]
    n = len(result["repeats"])
    row = "{:<17}{:>8}" + "{:>9}" * (n + 1) + "{:>9}{:>10}"
    lines = [f"memory  {m['date']}  (motcua {m['revision']})", *result["describe"],
             f"load:    {sum(r['completions'] for r in result['repeats'])} task completions over HTTP in {n} "
             f"repeats, {a['clients']} clients, mix {a['mix']}; outbox drained after each repeat "
             f"(up to {a['drain']:g} s)", "",
             "RSS MiB (VmRSS) before the load and after each repeat; peak = VmHWM at the end",
             row.format("process", "pid", "start", *(f"r{i + 1}" for i in range(n)), "peak",
                        f"r{v['from_repeat']}->r{n}")]
    for pid, last in samples[-1].items():
        values = [f"{s[pid]['VmRSS'] / 1024:.1f}" if "VmRSS" in s.get(pid, {}) else "-" for s in samples]
        grew = v["growth_mib"].get(str(pid))
        lines.append(row.format(last["kind"], pid, *values, f"{last.get('VmHWM', 0) / 1024:.1f}",
                                f"{grew:+.2f}" if grew is not None else "-"))
    lines += ["", "repeat  completions  seconds  completions/s  requests  outbox calls done  drained in s  left"]
    lines += [f"{i + 1:>6}{r['completions']:>13}{r['seconds']:>9.1f}{r['completions_per_s']:>15.1f}"
              f"{r['requests']:>10}{r['outbox_done']:>19}{r['drain_seconds']:>14.1f}{r['outbox_left']:>6}"
              for i, r in enumerate(result["repeats"])]
    peak = ", ".join(f"{kind} {mib:.1f} MiB" for kind, mib in sorted(v["peak_mib"].items()))
    worst = ", ".join(f"{kind} {mib:+.2f} MiB" for kind, mib in sorted(v["worst_mib"].items()))
    lines += ["", f"peak RSS per process kind: {peak}",
              f"largest growth r{v['from_repeat']}->r{n} per kind: {worst}",
              f"bound {a['bound']:g} MiB per process: over r{v['from_repeat']}->r{n} ({v['requests']} requests, "
              f"{v['outbox_calls']} outbox calls) a leak of more than {v['web_bytes_per_request']:,.0f} B per request "
              f"in a web worker or {v['celery_bytes_per_call']:,.0f} B per call in a Celery worker would exceed it"]
    if v["processes_replaced"]:
        lines.append("a process was replaced during the run (gunicorn restarted a worker): growth not comparable")
    if not v["drained"]:
        lines.append(f"the outbox was not drained within --drain {a['drain']:g} s after every repeat: the Celery "
                     "workers were sampled mid-work, with more calls behind them each time; their growth is "
                     "not comparable (give --drain more time)")
    lines.append(f"verdict: {'POSSIBLE LEAK' if v['leak'] else 'no leak'}")
    if n < 3:
        lines.append("(fewer than 3 repeats: the growth includes warm-up and proves nothing)")
    return "\n".join(lines + render_check(result["consistency"]))


def run(args: argparse.Namespace) -> dict[str, Any]:
    per_repeat = -(-args.completions // args.repeats)
    with serve(**server_options(args)) as server:
        info = machine_info(server)
        samples, repeats, codes, completed = [sample(server)], [], [], []
        for i in range(args.repeats):
            load = run_generator(plan_for(server, clients=args.clients, mix=args.mix, warmup=0, duration=None,
                                          completions=per_repeat, seed=args.seed + i, client=args.client))
            codes += load["codes"]
            completed += load["completed"]
            if load["stalled"]:
                raise RuntimeError(f"repeat {i + 1} stalled: no completion for 60 s ({load['endpoints']})")
            drained_in = wait_outbox(server, args.drain)
            samples.append(sample(server))
            done = outbox_states(server).get("done", 0)
            repeats.append({"completions": len(load["completed"]), "seconds": load["seconds"],
                            "completions_per_s": load["completions_per_s"],
                            "requests": load["endpoints"]["all"]["requests"],
                            "outbox_done": done - sum(r["outbox_done"] for r in repeats),
                            "drain_seconds": drained_in, "outbox_left": outbox_left(server)})
            print(f"  repeat {i + 1}: {len(load['completed'])} completions in {load['seconds']:.1f} s",
                  file=sys.stderr, flush=True)
        consistency = check(server, codes, completed, args.drain)
        result = {"benchmark": "memory", "machine": info, "args": public_args(args),
                  "describe": describe(server, info, args.celery_workers), "samples": samples,
                  "repeats": repeats, "consistency": consistency}
    result["verdict"] = verdict(result)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_arguments(parser)
    parser.add_argument("--completions", type=int, default=10_000, help="task completions in all")
    parser.add_argument("--repeats", type=int, default=4, help="repeats the completions are split into")
    parser.add_argument("--bound", type=float, default=2.0, help="MiB a process may grow from repeat 2 on")
    # the Celery workers must have done each repeat's calls before they are sampled: on 2 vCPUs one worker
    # makes about 15 a second (PDFs mostly), and a repeat of 2,500 completions leaves about 2,500
    parser.set_defaults(drain=900.0)
    args = parser.parse_args(argv)
    args.clients = args.clients or 2 * args.web_workers
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on `kill` as on Ctrl-C
    result = run(args)
    print(render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n",
                                   encoding="utf-8")
    return 0 if result["consistency"]["ok"] and not result["verdict"]["leak"] else 1


if __name__ == "__main__":
    sys.exit(main())
