"""A mend for native memory that WeasyPrint allocates per PDF and never frees.

`weasyprint.pdf.fonts.Font.__init__` (WeasyPrint 70) names each embedded font with
`ffi.string(pango.pango_font_description_to_string(description))`. Pango returns a newly allocated
string that the caller must release with `g_free`; WeasyPrint copies it and drops the pointer. About
0.8 KB is lost per rendered PDF (one string per embedded font): heaptrack found 487 KiB held at this call
over 600 PDFs, and every other allocation site 3.5 KiB together, while Python's own heap stayed flat
(bench/RESULTS.md, memory, 2026-12-03).

`free_font_description_strings()` gives that module a view of Pango whose
`pango_font_description_to_string` returns the string under `ffi.gc(..., g_free)`: it is freed as soon
as WeasyPrint has copied it. It is installed only where the leak is in the code: the source of
`Font.__init__` must hold the bare `ffi.string(pango.pango_font_description_to_string(...))`. A WeasyPrint
that frees the string itself (any other spelling) is left alone, so that the string is never freed twice.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
from typing import Any

import cffi
from weasyprint.pdf import fonts as pdf_fonts
from weasyprint.text.ffi import ffi
from weasyprint.text.ffi import pango as raw_pango

log = logging.getLogger(__name__)

#: The leaking expression as WeasyPrint 70 writes it (whitespace between the two calls may vary).
LEAKING_CALL = re.compile(r"ffi\.string\(\s*pango\.pango_font_description_to_string\(")

_INSTALLING = threading.Lock()
_GLIB_NAMES = ("libglib-2.0.so.0", "libglib-2.0.0.dylib", "libglib-2.0-0.dll", "glib-2.0")


def _glib() -> Any:
    own = cffi.FFI()
    own.cdef("void g_free (void *mem);")
    for name in _GLIB_NAMES:
        try:
            return own.dlopen(name)
        except OSError:
            continue
    raise OSError(f"GLib not found (tried {', '.join(_GLIB_NAMES)})")


class PangoFreeingDescriptionStrings:
    """Pango as WeasyPrint's ffi opened it, but with font description strings freed after use.
    Every other attribute is Pango's own, looked up once."""

    def __init__(self, pango: Any, g_free: Any) -> None:
        self._pango = pango
        self._g_free = g_free

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._pango, name)
        setattr(self, name, value)
        return value

    def pango_font_description_to_string(self, description: Any) -> Any:
        text = self._pango.pango_font_description_to_string(description)
        return ffi.gc(text, self._g_free) if text != ffi.NULL else text


def leaks_description_strings() -> bool:
    """Whether this WeasyPrint's Font.__init__ drops Pango's font description string unfreed."""
    try:
        source = inspect.getsource(pdf_fonts.Font.__init__)
    except (OSError, TypeError):
        return False
    return bool(LEAKING_CALL.search(source))


def free_font_description_strings() -> bool:
    """Install the mend in weasyprint.pdf.fonts, once; True when it is in place. Under a lock, and always
    around the library itself: a view wrapped in another view would free each string twice."""
    with _INSTALLING:
        if isinstance(pdf_fonts.pango, PangoFreeingDescriptionStrings):
            return True
        if not leaks_description_strings():
            log.info("WeasyPrint's Font.__init__ has no bare pango_font_description_to_string call: "
                     "nothing to mend (or its source is not readable)")
            return False
        try:
            glib = _glib()
        except OSError as exc:
            log.warning("WeasyPrint leaks about 0.8 KB per PDF and the mend needs GLib's g_free: %s", exc)
            return False
        pdf_fonts.pango = PangoFreeingDescriptionStrings(raw_pango, glib.g_free)
        return True
