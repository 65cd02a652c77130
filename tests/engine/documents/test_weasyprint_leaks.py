"""WeasyPrint 70 drops the string Pango returns for each embedded font's description without freeing
it (about 0.8 KB per PDF, outside Python's heap): engine/documents/weasyprint_leaks mends it, and only
where the installed WeasyPrint has the leaking call."""

from __future__ import annotations

import ctypes
import gc
import threading
from io import BytesIO

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from weasyprint.pdf import fonts as pdf_fonts
from weasyprint.text.ffi import pango as raw_pango

from engine.documents import render_pdf, sample_context
from engine.documents import weasyprint_leaks as leaks
from engine.documents.qr import qr_png_data_uri
from engine.documents.render import _mended_leaks

KIND = "giay-tiep-nhan"


@pytest.fixture
def plain_pango(monkeypatch):
    """weasyprint.pdf.fonts with Pango as WeasyPrint opened it. The renderer installs its mend first
    (whichever test renders first), so that it does not install it again during the test; the mend's
    view is put back afterwards."""
    assert _mended_leaks()
    monkeypatch.setattr(pdf_fonts, "pango", raw_pango)
    return raw_pango


def font_names(pdf: bytes) -> set[str]:
    """The /BaseFont of each font on the first page: a hash of Pango's description string, then its name."""
    page = PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Kids"][0].get_object()
    return {str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}


def test_the_installed_weasyprint_is_recognised_as_leaking():
    # If this fails after an upgrade, WeasyPrint frees the string itself: the mend stands aside
    # (see test_a_weasyprint_that_frees_the_string_is_left_alone) and weasyprint_leaks can go.
    assert leaks.leaks_description_strings()


def test_the_renderer_installs_the_mend():
    render_pdf(KIND, sample_context(KIND))
    assert _mended_leaks()
    assert isinstance(pdf_fonts.pango, leaks.PangoFreeingDescriptionStrings)
    assert leaks.free_font_description_strings()  # a second call keeps the one view
    assert pdf_fonts.pango._pango is raw_pango


def test_each_description_string_is_freed_once_right_after_weasyprint_has_read_it(plain_pango, monkeypatch):
    context = sample_context(KIND)
    unmended = font_names(render_pdf(KIND, context))
    real_g_free, events = leaks._glib().g_free, []

    class CountingPango:
        def __getattr__(self, name):
            return getattr(plain_pango, name)

        def pango_font_description_to_string(self, description):
            text = plain_pango.pango_font_description_to_string(description)
            events.append(("made", address(text)))
            return text

    def g_free(pointer):
        events.append(("freed", address(pointer)))
        real_g_free(pointer)

    monkeypatch.setattr(pdf_fonts, "pango", leaks.PangoFreeingDescriptionStrings(CountingPango(), g_free))
    mended = font_names(render_pdf(KIND, context))
    assert len(mended) >= 2  # one string per font face and size on the page
    assert len(events) >= 2 * len(mended)
    # each string is freed before the next is made (malloc may then hand out the same address again)
    assert events == [event for _, made in events[::2] for event in (("made", made), ("freed", made))]
    assert mended == unmended  # the names built from the strings are the same: read before freed


def address(pointer) -> int:
    return int(leaks.ffi.cast("uintptr_t", pointer))


def test_pango_s_other_functions_pass_through(plain_pango):
    view = leaks.PangoFreeingDescriptionStrings(plain_pango, lambda pointer: None)
    assert view.pango_font_description_new is plain_pango.pango_font_description_new
    description = view.pango_font_description_new()
    try:
        assert view.pango_font_description_to_string(description) is not leaks.ffi.NULL
    finally:
        plain_pango.pango_font_description_free(description)


def test_installing_from_many_threads_at_once_wraps_the_library_once(plain_pango):
    barrier, results = threading.Barrier(8), []

    def install():
        barrier.wait()
        results.append(leaks.free_font_description_strings())

    threads = [threading.Thread(target=install) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8
    assert isinstance(pdf_fonts.pango, leaks.PangoFreeingDescriptionStrings)
    assert pdf_fonts.pango._pango is raw_pango  # one view, around the library itself


@pytest.mark.parametrize("source, leaking", [
    ("description_string = ffi.string(\n    pango.pango_font_description_to_string(description))", True),
    ("description_string = ffi.string(pango.pango_font_description_to_string(description))", True),
    ("description_string = ffi.string(ffi.gc(\n    pango.pango_font_description_to_string(description), gfree))",
     False),
    ("pointer = pango.pango_font_description_to_string(description)\n"
     "description_string = ffi.string(pointer)\nglib.g_free(pointer)", False),
])
def test_the_leaking_call_is_told_from_a_freeing_one(source, leaking):
    assert bool(leaks.LEAKING_CALL.search(source)) is leaking


def test_a_weasyprint_that_frees_the_string_is_left_alone(plain_pango, monkeypatch):
    monkeypatch.setattr(leaks.inspect, "getsource", lambda _function: "ffi.string(freed_description(d))")
    assert not leaks.free_font_description_strings()
    assert pdf_fonts.pango is plain_pango


def test_an_unreadable_source_is_left_alone(plain_pango, monkeypatch):
    def unreadable(_function):
        raise OSError("could not get source code")

    monkeypatch.setattr(leaks.inspect, "getsource", unreadable)
    assert not leaks.free_font_description_strings()
    assert pdf_fonts.pango is plain_pango


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _malloc_in_use():
    try:
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
    except (OSError, AttributeError):
        pytest.skip("glibc's mallinfo2 is needed to count native memory in use")
    mallinfo2.restype = _MallInfo2

    def in_use() -> int:
        gc.collect()
        return mallinfo2().uordblks

    return in_use


def _bytes_per_pdf(in_use, context, documents: int) -> float:
    before = in_use()
    for _ in range(documents):
        qr_png_data_uri.cache_clear()
        render_pdf(KIND, context)
    return (in_use() - before) / documents


def _native_growth_per_pdf() -> float:
    """malloc's bytes in use per PDF after five PDFs of warm-up: the least of three rounds of 15."""
    in_use, context = _malloc_in_use(), sample_context(KIND)
    for _ in range(5):
        render_pdf(KIND, context)
    return min(_bytes_per_pdf(in_use, context, 15) for _ in range(3))


def test_rendering_pdfs_does_not_grow_native_memory():
    """About 1,100-1,450 bytes per PDF with the leak, 60-360 without it (allocator noise) on the
    2026-12-03 machine."""
    _mended_leaks()
    growth = _native_growth_per_pdf()
    assert growth < 600, f"native memory grows {growth:.0f} bytes per PDF"


def test_the_growth_test_sees_the_leak_when_unmended(plain_pango):
    """The same measure with WeasyPrint's own Pango calls: the leak shows, so the test above can fail."""
    growth = _native_growth_per_pdf()
    assert growth > 600, f"native memory grows only {growth:.0f} bytes per PDF without the mend"
