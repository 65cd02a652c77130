"""Fast on a slow phone connection (issue #5): what the home page, the wizard and the inbox cost over the
wire (HTML, CSS, scripts, images, headers included, gzip as served, nothing cached), against a budget;
the home page on an emulated slow 3G link; and the next page of a visit, whose static files the browser
keeps. The figures are printed (`pytest -s` shows them)."""

from __future__ import annotations

import pytest

from tests.factories import HKD, submit
from tests.web.browser.test_accessibility import log_in

#: Bytes per page over the wire, everything it loads counted.
BUDGET = 100 * 1024
#: Slow 3G as Chrome's DevTools define it, near enough: 400 kbit/s each way, 400 ms round trip.
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 // 8, "uploadThroughput": 400_000 // 8}
DOM_READY_WITHIN_MS = 3_000
TEXT = ("text/html", "text/css", "text/javascript", "application/javascript")


class Wire:
    """What the browser received for one page load, read from the DevTools protocol's Network events."""

    def __init__(self, page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.responses: dict[str, dict] = {}
        self.bytes: dict[str, int] = {}
        self.cdp.on("Network.responseReceived", lambda e: self.responses.__setitem__(e["requestId"], e["response"]))
        self.cdp.on("Network.loadingFinished",
                    lambda e: self.bytes.__setitem__(e["requestId"], int(e["encodedDataLength"])))

    def clear(self) -> None:
        self.responses.clear()
        self.bytes.clear()

    def rows(self) -> list[tuple[str, str, str, int]]:
        """(url path, MIME type, content encoding, bytes received), one per response."""
        rows = []
        for request_id, response in self.responses.items():
            if response["url"].startswith("data:"):
                continue  # inside a file already counted
            headers = {k.lower(): v for k, v in response["headers"].items()}
            path = "/" + response["url"].split("/", 3)[-1]
            rows.append((path[:70], response["mimeType"], headers.get("content-encoding", "-"),
                         self.bytes.get(request_id, 0)))
        return rows


def load(page, wire: Wire, path: str) -> list[tuple[str, str, str, int]]:
    page.wait_for_load_state("networkidle")  # nothing left over from the page before
    wire.clear()
    page.goto(path, wait_until="networkidle")
    return wire.rows()


def report(name: str, rows: list[tuple[str, str, str, int]]) -> int:
    total = sum(row[3] for row in rows)
    print(f"\n{name}: {total / 1024:.1f} KB over the wire in {len(rows)} responses (budget {BUDGET // 1024} KB)")
    for path, mime, encoding, size in rows:
        print(f"  {size:>7} B  {encoding:<5} {mime:<24} {path}")
    return total


@pytest.mark.parametrize("name, user, path", [
    ("home", None, "/"),
    ("wizard", "congdan", f"/nop-ho-so/{HKD}"),
    ("inbox", "tiepnhan", "/cong-viec"),
])
def test_a_main_page_weighs_at_most_100_kb_over_the_wire_with_text_gzipped(
    name, user, path, ctx, actors, page, console_errors
):
    for _ in range(5):  # an inbox with work in it
        submit(ctx, actors["congdan"])
    if user:
        log_in(page, user)
    wire = Wire(page)

    rows = load(page, wire, path)
    total = report(name, rows)

    assert (path, "text/html", "gzip") in [row[:3] for row in rows]
    plain = [(p, size) for p, mime, encoding, size in rows if mime in TEXT and encoding != "gzip" and size > 1024]
    assert not plain, f"text sent uncompressed: {plain}"
    assert total <= BUDGET, f"{name} weighs {total} bytes, over the {BUDGET} budget"
    assert console_errors == []


def test_the_home_page_is_ready_within_3_seconds_on_slow_3g(page):
    wire = Wire(page)
    wire.cdp.send("Network.emulateNetworkConditions", SLOW_3G)

    rows = load(page, wire, "/")
    timing = page.evaluate("""() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return {dom: nav.domContentLoadedEventEnd, load: nav.loadEventEnd};
    }""")
    total = report("home on slow 3G", rows)
    print(f"  DOMContentLoaded {timing['dom']:.0f} ms, load {timing['load']:.0f} ms "
          f"({SLOW_3G['downloadThroughput'] * 8 // 1000} kbit/s, {SLOW_3G['latency']} ms RTT, {total} B)")

    assert page.evaluate("typeof window.htmx") == "object", "the deferred scripts ran"
    assert timing["dom"] < DOM_READY_WITHIN_MS, f"DOMContentLoaded after {timing['dom']:.0f} ms on slow 3G"


def test_a_returning_visitor_fetches_no_static_file_again_on_the_next_page(page):
    """Versioned static URLs (web/static_files.py) are cached for a year: the second page of a visit
    costs its HTML only, not one revalidation round trip per CSS, script and icon (400 ms each on slow 3G)."""
    wire = Wire(page)
    wire.cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    served_from_cache: set[str] = set()
    wire.cdp.on("Network.requestServedFromCache", lambda e: served_from_cache.add(e["requestId"]))

    first = load(page, wire, "/")
    assert [row for row in first if row[0].startswith("/static/")], "the first page loads the static files"
    wire.cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    wire.clear()
    page.goto("/tra-cuu", wait_until="networkidle")

    static = {rid: r for rid, r in wire.responses.items() if "/static/" in r["url"]}
    asked = [r["url"] for rid, r in static.items() if not (rid in served_from_cache or r.get("fromDiskCache"))]
    dom = page.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    print(f"\nsecond page on slow 3G: {len(static) - len(asked)}/{len(static)} static files from the browser's "
          f"cache, DOMContentLoaded {dom:.0f} ms")
    assert static, "the page names its static files"
    assert asked == [], f"asked the server again for {asked}"
