"""Documents: CPU per generated PDF, motcua's renderer against WeasyPrint called the plain way.

    .venv/bin/python bench/documents.py                     # receipt and result, 30 rounds
    .venv/bin/python bench/documents.py --kinds all --rounds 20 --json /tmp/documents.json
    .venv/bin/python bench/documents.py --fonttools        # also without libharfbuzz-subset, for the A/B

The Celery workers spend most of their CPU here (bench/RESULTS.md, http_load): a receipt at reception, a
result at the end, each a WeasyPrint layout of an A4 page. Per round and kind, in alternating order so
that the machine's drift hits both alike, one process renders the same sample context (engine.documents
.sample_context) two ways and measures each in CPU time (time.process_time):

(a) floor: `HTML(string=render_html(kind, context)).write_pdf()`: the document's HTML as a template
    author would hand it to WeasyPrint (stylesheet inline, QR code made anew), with one font
    configuration kept for the process, as motcua keeps it (WeasyPrint's default of a new one per
    document leaks, see engine/documents/render.font_config).
(b) motcua: `render_pdf(kind, context)`: the shared stylesheet parsed once, the QR code cache emptied
    first (a worker rarely renders two documents of one dossier in a row).

(c) with --fonttools: (b) as on a system without libharfbuzz-subset, where WeasyPrint subsets the fonts
    with fontTools (engine/documents/README.md).

Printed: per kind the median and p90 CPU ms of each side, the ratio (b)/(a), documents per CPU-second,
and with --fonttools the ratio (c)/(b).
Nothing touches a database or the network.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from weasyprint import HTML  # noqa: E402
from weasyprint.pdf import fonts as pdf_fonts  # noqa: E402

from bench.common import git_revision, publish  # noqa: E402
from engine.documents import KINDS, NoNetworkFetcher, font_subsetter, render_html, render_pdf, sample_context  # noqa: E402
from engine.documents.qr import qr_png_data_uri  # noqa: E402
from engine.documents.render import font_config  # noqa: E402

DEFAULT_KINDS = ("giay-tiep-nhan", "ket-qua")


def floor(kind: str, context: dict[str, Any]) -> bytes:
    qr_png_data_uri.cache_clear()
    html = render_html(kind, context)
    return HTML(string=html, base_url=None, url_fetcher=NoNetworkFetcher()).write_pdf(font_config=font_config())


def motcua(kind: str, context: dict[str, Any]) -> bytes:
    qr_png_data_uri.cache_clear()
    return render_pdf(kind, context)


def fonttools(kind: str, context: dict[str, Any]) -> bytes:
    saved, pdf_fonts.harfbuzz_subset = pdf_fonts.harfbuzz_subset, None
    subset, calls = pdf_fonts.Font._fonttools_subset, []

    def counted(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        return subset(*args, **kwargs)

    pdf_fonts.Font._fonttools_subset = counted
    try:
        pdf = motcua(kind, context)
    finally:
        pdf_fonts.harfbuzz_subset, pdf_fonts.Font._fonttools_subset = saved, subset
    if not calls:
        raise RuntimeError("(c) did not reach fontTools: this WeasyPrint chooses its subsetter another way")
    return pdf


def cpu_ms(render: Any, kind: str, context: dict[str, Any]) -> float:
    start = time.process_time()
    render(kind, context)
    return (time.process_time() - start) * 1000


def run(kinds: tuple[str, ...], rounds: int, with_fonttools: bool = False) -> dict[str, Any]:
    contexts = {kind: sample_context(kind) for kind in kinds}
    sides = {"floor": floor, "motcua": motcua, **({"fonttools": fonttools} if with_fonttools else {})}
    order = list(sides)
    samples: dict[str, dict[str, list[float]]] = {kind: {side: [] for side in sides} for kind in kinds}
    for kind in kinds:  # untimed: fonts, templates, the parsed stylesheet
        for render in sides.values():
            render(kind, contexts[kind])
    for n in range(rounds):
        for kind in kinds:
            for side in order[n % len(order):] + order[:n % len(order)]:
                samples[kind][side].append(cpu_ms(sides[side], kind, contexts[kind]))
    per_kind = {}
    for kind, by_side in samples.items():
        figures = {side: {"median": statistics.median(values),
                          "p90": statistics.quantiles(values, n=10, method="inclusive")[8]}
                   for side, values in by_side.items()}
        figures["ratio"] = figures["motcua"]["median"] / figures["floor"]["median"]
        if with_fonttools:
            figures["fonttools_ratio"] = figures["fonttools"]["median"] / figures["motcua"]["median"]
        per_kind[kind] = figures
    return {"benchmark": "documents", "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "revision": git_revision(), "rounds": rounds, "kinds": per_kind, "subsetter": font_subsetter(),
            "machine": {"python": platform.python_version(), "weasyprint": version("weasyprint"),
                        "platform": platform.platform()}}


def render(result: dict[str, Any]) -> str:
    lines = [f"documents  {result['at']}  (motcua {result['revision']})",
             f"machine: {result['machine']['platform']}, Python {result['machine']['python']}, "
             f"WeasyPrint {result['machine']['weasyprint']}",
             f"font subsetting: {result['subsetter']}"
             + ("" if result["subsetter"] == "harfbuzz" else " (libharfbuzz-subset missing: (c) is (b) again)"),
             f"{result['rounds']} rounds per kind, sides alternating; CPU ms per PDF (process time)", ""]
    with_fonttools = any("fonttools" in figures for figures in result["kinds"].values())
    lines.append(f"{'kind':24s} {'(a) floor':>10s} {'p90':>7s} {'(b) motcua':>11s} {'p90':>7s} {'ratio':>7s} "
                 f"{'PDFs/CPU-s':>11s}" + (f" {'(c) fontTools':>14s} {'(c)/(b)':>8s}" if with_fonttools else ""))
    for kind, figures in result["kinds"].items():
        a, b = figures["floor"], figures["motcua"]
        line = (f"{kind:24s} {a['median']:10.1f} {a['p90']:7.1f} {b['median']:11.1f} {b['p90']:7.1f} "
                f"{figures['ratio']:6.2f}x {1000 / b['median']:11.1f}")
        if with_fonttools:
            line += f" {figures['fonttools']['median']:14.1f} {figures['fonttools_ratio']:7.2f}x"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS),
                        help="comma-separated document kinds, or 'all' (default: the receipt and the result)")
    parser.add_argument("--rounds", type=int, default=30, help="timed renders per kind and side")
    parser.add_argument("--fonttools", action="store_true",
                        help="also (c): motcua's renderer with fontTools subsetting (no libharfbuzz-subset)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    kinds = KINDS if args.kinds == "all" else tuple(kind.strip() for kind in args.kinds.split(",") if kind.strip())
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        parser.error(f"unknown document kinds: {', '.join(unknown)} (known: {', '.join(KINDS)})")
    if args.rounds < 2:
        parser.error("--rounds must be at least 2")
    result = run(kinds, args.rounds, args.fonttools)
    publish(render(result), result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
