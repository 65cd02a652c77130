"""The verdicts and the text report of `make chaos` (bench/chaos.py): what people saw in each phase and
whether every promise of issue #9 held."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.chaos_load import ACCEPTED

SUCCESS = {"submit": 201, "complete": 200}
#: phases in which a reset connection is expected (a gunicorn worker was killed mid-request)
KILLING = ("kills", "settle after kills")


def phase_figures(phases: list[dict[str, Any]], answers: list[tuple[float, str, int]]) -> list[dict[str, Any]]:
    """Per phase: its length, the answers by endpoint and status, submissions and completions that
    succeeded, and how long after the phase began the first of them came (a reconnect's delay)."""
    figures = []
    for phase in phases:
        inside = [(t, e, s) for t, e, s in answers if phase["start"] <= t < phase["end"]]
        ok = [t for t, e, s in inside if SUCCESS.get(e) == s]
        figures.append({"name": phase["name"], "seconds": round(phase["end"] - phase["start"], 1),
                        "statuses": dict(Counter(s for _t, _e, s in inside)),
                        "by_endpoint": dict(Counter(f"{e} {s}" for _t, e, s in inside)),
                        "submitted": sum(e == "submit" and s == 201 for _t, e, s in inside),
                        "completed": sum(e == "complete" and s == 200 for _t, e, s in inside),
                        "first_success_s": round(min(ok) - phase["start"], 2) if ok else None})
    return figures


def _phase(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in result["phases"] if p["name"] == name)


def verdicts(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each promise: ok, and the figures it was judged on."""
    out = {name: {"ok": not check["problems"], "problems": check["problems"]}
           for name, check in result["checks"].items()}
    statuses = Counter()
    for phase in result["phases"]:
        statuses.update({int(k): v for k, v in phase["statuses"].items()})
    resets = statuses.get(0, 0)
    resets_outside = sum(p["statuses"].get(0, 0) for p in result["phases"] if p["name"] not in KILLING)
    web_kills = result["kills"].get("gunicorn worker", 0)
    unexpected = {s: n for s, n in statuses.items() if s not in ACCEPTED and s != 0}
    out["statuses"] = {"ok": not unexpected and resets <= web_kills and not resets_outside,
                       "unexpected": unexpected, "resets": resets, "resets_outside_kills": resets_outside,
                       "gunicorn_kills": web_kills}
    out["503_body"] = {"ok": not result["unavailable"].get("malformed"), **result["unavailable"]}
    redis = _phase(result, "Redis down")
    catch_up = result["redis_catch_up"]
    out["redis_outage"] = {"ok": redis["submitted"] > 0 and redis["completed"] > 0
                           and set(redis["statuses"]) <= {200, 201, 409}
                           and catch_up["done"] == catch_up["rows"],
                           "submitted": redis["submitted"], "completed": redis["completed"],
                           "statuses": redis["statuses"], **catch_up}
    pg, after = _phase(result, "PostgreSQL down"), _phase(result, "after PostgreSQL")
    restarted = bool(result["args"]["restart_postgres"])
    out["postgres_outage"] = {"ok": set(pg["statuses"]) <= ACCEPTED and (restarted or pg["statuses"].get(503, 0) > 0)
                              and after["submitted"] + after["completed"] > 0,
                              "statuses": pg["statuses"], "after_submitted": after["submitted"],
                              "after_completed": after["completed"], "first_success_after_s": after["first_success_s"]}
    outbox = result["outbox"]
    if result["store_catch_up"] is not None:
        out["store_outage"] = store_verdict(result)
    out["downloads_intact"] = {"ok": not result["damaged_downloads"], "damaged": result["damaged_downloads"]}
    out["outbox_drained"] = {"ok": not (outbox.get("pending") or outbox.get("running") or outbox.get("incident")),
                             **outbox, "drain_s": result["drain_s"]}
    out["no_unhandled_errors"] = {"ok": result["unhandled_in_logs"] == 0, "logged": result["unhandled_in_logs"]}
    return out


def store_verdict(result: dict[str, Any]) -> dict[str, Any]:
    """The file store out of reach: submissions and completions go on (they need no file), downloads
    get a 503 (its body is judged with the others), then work again, and every document decided meanwhile
    is made once the store is back."""
    store, after = _phase(result, "file store down"), _phase(result, "after file store")
    catch_up = result["store_catch_up"]
    downloads_refused = store["by_endpoint"].get("download 503", 0)
    downloads_after = after["by_endpoint"].get("download 200", 0)
    return {"ok": set(store["statuses"]) <= ACCEPTED and store["submitted"] > 0 and store["completed"] > 0
            and downloads_refused > 0 and downloads_after > 0 and 0 < catch_up["done"] == catch_up["rows"],
            "submitted": store["submitted"], "completed": store["completed"], "downloads_refused": downloads_refused,
            "downloads_served_after": downloads_after, "statuses": store["statuses"],
            **{f"documents_{k}": v for k, v in catch_up.items()}}


def _counts(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(values.items(), key=lambda kv: str(kv[0]))) or "none"


def render(result: dict[str, Any]) -> str:
    m, a = result["machine"], result["args"]
    lines = [f"chaos  {m['date']}  (motcua {m['revision']})",
             f"machine: nproc {m['nproc']}, Python {m['python']}, PostgreSQL {m['postgresql']}, gunicorn "
             f"{m['gunicorn']}, Celery {m['celery']}",
             f"server:  {a['web_workers']} gunicorn sync workers, {a['celery_workers']} Celery workers (solo) + beat, "
             f"{a['clients']} clients (think {a['think']:g} s), mix {a['mix']}, SMTP reply delay {a['smtp_delay']:g} s, lease {a['lease']:g} s",
             f"kills:   {_counts(result['kills'])}",
             f"         supervisor restarts: {_counts(result['restarts'])}", *result["notes"], "",
             f"{'phase':<22}{'s':>7}{'201 sub':>9}{'200 done':>9}  answers by status"]
    for p in result["phases"]:
        lines.append(f"{p['name']:<22}{p['seconds']:>7}{p['submitted']:>9}{p['completed']:>9}  "
                     f"{_counts(p['statuses'])}")
    lines += ["", f"answers: {_counts(result['answers'])}",
              f"503s: {_counts(result['unavailable'])} (proper = JSON with the Vietnamese message and Retry-After)",
              f"unanswered or 503 (maybe committed): {_counts(result['ambiguous'])}; retried completions got "
              f"{_counts(result['retried'])}; retries still queued at the end {result['retries_left']}",
              f"outbox after {result['drain_s']} s of draining: {_counts(result['outbox'])}; rows decided while "
              f"Redis was down: {result['redis_catch_up']}",
              *([f"documents decided while the file store was down: {result['store_catch_up']}"]
                if result["store_catch_up"] is not None else []),
              *(f"  incident: {line}" for line in result["incidents"]), ""]
    for key, samples in sorted(result["samples"].items()):
        if not key.endswith((" 409", " 503", " 0")):
            lines += [f"  sample {key}: {s[:200]}" for s in samples]
    for name, check in result["checks"].items():
        figures = {k: v for k, v in check.items() if k != "problems"}
        lines.append(f"check {name}: {'passed' if not check['problems'] else 'FAILED'}  {_counts(figures)}")
        lines += [f"    {problem}" for problem in check["problems"][:10]]
    for name, verdict in result["verdicts"].items():
        if name not in result["checks"]:
            figures = {k: v for k, v in verdict.items() if k != "ok"}
            lines.append(f"check {name}: {'passed' if verdict['ok'] else 'FAILED'}  {_counts(figures)}")
    lines.append(f"chaos: {'ALL CHECKS PASSED' if result['ok'] else 'FAILED'}")
    return "\n".join(lines)
