"""Official forms as HTML and PDF: Jinja2 templates laid out per Nghị định 30/2020, WeasyPrint to PDF.

A procedure package may bring its own templates (its result document, usually): the directories it
passes are searched before the built-in ones. Rendering never touches the network.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound, Undefined, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from weasyprint import CSS, HTML, URLFetcher
from weasyprint.pdf import fonts as pdf_fonts
from weasyprint.text.fonts import FontConfiguration

from engine.calendar import VN_TZ
from engine.documents.errors import DocumentContextError, UnknownDocumentKind
from engine.documents.qr import qr_png_data_uri, tracking_url
from engine.documents.weasyprint_leaks import free_font_description_strings

log = logging.getLogger(__name__)

BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The forms shipped with the engine (one template each in templates/).
KINDS = (
    "giay-tiep-nhan",
    "phieu-yeu-cau-bo-sung",
    "phieu-tu-choi",
    "phieu-xin-loi",
    "ket-qua",
    "phieu-kiem-soat",
    "cong-van",
)
#: The stylesheet every document shares (base.html includes it).
STYLESHEET = "document.css"
_KIND = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_DEADLINE_UNITS = {
    "working_days": "ngày làm việc",
    "days": "ngày",
    "working_hours": "giờ làm việc",
    "hours": "giờ",
}


class NoNetworkFetcher(URLFetcher):
    """Resolves data: URIs only. Templates can come from procedure packages, so a stray
    http:// or file:// reference must neither leak a request nor read the server's disk."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        if not url.lower().startswith("data:"):
            raise ValueError(f"refused to fetch {url[:80]!r}: documents embed their resources as data: URIs")
        return super().fetch(url, headers)


# -- filters: Vietnamese dates per Nghị định 30/2020 --------------------------------------------


def _moment(value: Any) -> date | datetime:
    if isinstance(value, Undefined):
        str(value)  # a StrictUndefined raises here, naming the missing key
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        # Aware values (the database stores UTC) print in Vietnam time; naive ones are taken as local.
        return value.astimezone(VN_TZ) if value.tzinfo else value
    if isinstance(value, date):
        return value
    raise DocumentContextError(f"not a date: {value!r}")


def ngay(value: Any) -> str:
    """'ngày 05 tháng 3 năm 2025': days below 10 and months 1–2 take a leading zero (NĐ 30/2020)."""
    day = _moment(value)
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def gio(value: Any) -> str:
    """'09 giờ 15 phút, ngày 25 tháng 11 năm 2025'."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return ngay(moment)
    return f"{moment.hour:02d} giờ {moment.minute:02d} phút, {ngay(moment)}"


def ngay_so(value: Any) -> str:
    """'25/11/2025 09:15', for tables."""
    moment = _moment(value)
    if isinstance(moment, datetime):
        return moment.strftime("%d/%m/%Y %H:%M")
    return moment.strftime("%d/%m/%Y")


def mask_id(value: Any) -> str:
    """An identity number with all but its last 4 characters hidden (data minimisation)."""
    text = "" if value is None else str(value)
    return "*" * max(len(text) - 4, 0) + text[-4:]


def thoi_han(value: Any) -> str:
    """A deadline as procedure.json holds it ({value, unit}) or as ready-made text."""
    if isinstance(value, Mapping):
        if value.get("unit") == "same_day":
            return "trong ngày làm việc"
        unit = _DEADLINE_UNITS.get(value.get("unit"))
        if unit is None:
            raise DocumentContextError(f"unknown deadline unit {value.get('unit')!r}")
        number = value["value"]
        number = int(number) if float(number).is_integer() else number
        text = f"{number:02d}" if isinstance(number, int) else str(number).replace(".", ",")
        return f"{text} {unit}"
    return str(value)


def _fail(message: str) -> None:
    raise DocumentContextError(message)


@lru_cache(maxsize=32)
def _environment(search_path: tuple[str, ...]) -> ImmutableSandboxedEnvironment:
    # Sandboxed: package templates are written by procedure authors, not by engine developers.
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(list(search_path)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ngay=ngay, gio=gio, ngay_so=ngay_so, mask_id=mask_id, thoi_han=thoi_han)
    env.globals["fail"] = _fail
    return env


def _search_path(template_dirs: Iterable[Path]) -> tuple[str, ...]:
    return (*(str(Path(d).resolve()) for d in template_dirs), str(BUILTIN_TEMPLATES))


def render_html(kind: str, context: Mapping[str, Any], *, template_dirs: Iterable[Path] = ()) -> str:
    """The document `kind` as HTML. `context` is described in engine/documents/README.md; the
    renderer adds `tracking` {url, qr} from `public_url` and `dossier.code`."""
    return _render_html(kind, context, _search_path(template_dirs), inline_stylesheet=True)


def _render_html(kind: str, context: Mapping[str, Any], search_path: tuple[str, ...], *,
                 inline_stylesheet: bool) -> str:
    if not _KIND.fullmatch(kind):
        raise UnknownDocumentKind(f"invalid document kind {kind!r}")
    try:
        code = context["dossier"]["code"]
        public_url = context["public_url"]
    except (KeyError, TypeError) as exc:
        raise DocumentContextError(f"{kind}: context needs dossier.code and public_url ({exc})") from exc
    url = tracking_url(public_url, code)
    env = _environment(search_path)
    try:
        template = env.get_template(f"{kind}.html")
    except TemplateNotFound as exc:
        raise UnknownDocumentKind(f"no template for document kind {kind!r}") from exc
    try:
        return template.render({**context, "kind": kind, "inline_stylesheet": inline_stylesheet,
                                "tracking": {"url": url, "qr": qr_png_data_uri(url)}})
    except UndefinedError as exc:
        raise DocumentContextError(f"{kind}: {exc.message}") from exc


def font_subsetter() -> str:
    """How WeasyPrint cuts the embedded fonts down to the glyphs a document uses: "harfbuzz" when the
    system library libharfbuzz-subset (Debian: libharfbuzz-subset0) is there, else "fonttools".
    Both give the same pages (at most 13 grey levels apart on anti-aliased edges at 200 dpi), but
    fontTools decompiles each font's layout tables in Python for every PDF: about four times the CPU of
    the whole document (bench/RESULTS.md, documents)."""
    has_library = pdf_fonts.harfbuzz_subset is not None and pdf_fonts.harfbuzz.hb_version_atleast(4, 1, 0)
    return "harfbuzz" if has_library else "fonttools"


@lru_cache(maxsize=1)
def _checked_subsetter() -> str:
    """`font_subsetter()`, with a warning in the log the first time a process renders on the slow one."""
    subsetter = font_subsetter()
    if subsetter == "fonttools":
        log.warning("PDF fonts are subset by fontTools, about four times slower than HarfBuzz: install the "
                    "system library libharfbuzz-subset (Debian/Ubuntu: apt-get install libharfbuzz-subset0) "
                    "and restart the workers")
    return subsetter


@lru_cache(maxsize=1)
def _mended_leaks() -> bool:
    """WeasyPrint's per-PDF native leak mended before the first PDF (engine/documents/weasyprint_leaks)."""
    return free_font_description_strings()


def html_to_pdf(html: str, stylesheets: Iterable[CSS] = ()) -> bytes:
    """PDF bytes for an HTML string, fetching nothing but data: URIs; fonts come from fontconfig.
    `stylesheets` apply under the document's own (parsed already: see `_stylesheet`)."""
    _checked_subsetter()
    _mended_leaks()
    return HTML(string=html, base_url=None, url_fetcher=NoNetworkFetcher()).write_pdf(
        font_config=font_config(), stylesheets=list(stylesheets))


_PER_THREAD = threading.local()


def font_config() -> FontConfiguration:
    """This thread's WeasyPrint font configuration, made once. A new one per document (WeasyPrint's
    default) builds a fontconfig configuration that is never freed: a Celery worker grew by about
    220 KB per rendered PDF, 300 MiB over 10,000 task completions (bench/memory.py)."""
    config = getattr(_PER_THREAD, "config", None)
    if config is None:
        config = _PER_THREAD.config = FontConfiguration()
    return config


def _stylesheet(search_path: tuple[str, ...]) -> CSS:
    """The shared document stylesheet (templates/document.css, or a package's own), parsed once per
    thread and text: parsing it again for every PDF cost about a twentieth of the rendering."""
    env = _environment(search_path)
    source, _filename, _uptodate = env.loader.get_source(env, STYLESHEET)
    parsed = getattr(_PER_THREAD, "stylesheets", None)
    if parsed is None:
        parsed = _PER_THREAD.stylesheets = {}
    if source not in parsed:
        parsed[source] = CSS(string=source, font_config=font_config())
    return parsed[source]


def render_pdf(kind: str, context: Mapping[str, Any], *, template_dirs: Iterable[Path] = ()) -> bytes:
    """The document `kind` as PDF bytes (A4), ready for signing and the file store."""
    search_path = _search_path(template_dirs)
    return html_to_pdf(_render_html(kind, context, search_path, inline_stylesheet=False),
                       stylesheets=[_stylesheet(search_path)])
