"""Fonts embedded in a PDF are cut down to the glyphs it uses, by HarfBuzz's subsetter when the system
has it (libharfbuzz-subset0: `make install` adds it when missing and it runs as root) or else by
fontTools, four times slower. Without the library the test of the fast path is skipped; with CI=true it
fails, like a missing service."""

from __future__ import annotations

import logging

import pypdfium2 as pdfium
import pytest
from PIL import ImageChops
from weasyprint.pdf import fonts as pdf_fonts

from engine.documents import font_subsetter, render_pdf, sample_context
from engine.documents import render as render_module
from tests.conftest import service_missing

KIND = "giay-tiep-nhan"


def first_page(pdf: bytes):
    return pdfium.PdfDocument(pdf)[0].render(scale=200 / 72).to_pil().convert("L")


@pytest.fixture
def harfbuzz_subset():
    if font_subsetter() != "harfbuzz":
        service_missing("libharfbuzz-subset (apt-get install libharfbuzz-subset0)",
                        FileNotFoundError("libharfbuzz-subset.so.0"))


@pytest.fixture
def without_harfbuzz_subset(monkeypatch):
    """WeasyPrint as on a system without libharfbuzz-subset, and a renderer that has not looked yet."""
    monkeypatch.setattr(pdf_fonts, "harfbuzz_subset", None)
    render_module._checked_subsetter.cache_clear()
    yield
    render_module._checked_subsetter.cache_clear()


def test_documents_are_subset_by_harfbuzz_not_fonttools(harfbuzz_subset, monkeypatch):
    def fonttools(*_args, **_kwargs):
        raise AssertionError("fontTools subsetting ran although libharfbuzz-subset is installed")

    monkeypatch.setattr(pdf_fonts.Font, "_fonttools_subset", fonttools)
    pdf = render_pdf(KIND, sample_context(KIND))
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) < 60_000  # subset: the DejaVu faces whole would weigh megabytes


def test_both_subsetters_draw_the_same_page(harfbuzz_subset, monkeypatch):
    context = sample_context(KIND)
    fast = first_page(render_pdf(KIND, context))
    monkeypatch.setattr(pdf_fonts, "harfbuzz_subset", None)
    fonttools, calls = pdf_fonts.Font._fonttools_subset, []

    def counted(*args, **kwargs):
        calls.append(1)
        return fonttools(*args, **kwargs)

    monkeypatch.setattr(pdf_fonts.Font, "_fonttools_subset", counted)
    slow = first_page(render_pdf(KIND, context))
    assert calls  # the slow path really ran
    assert fast.size == slow.size
    # the glyph outlines are the same; only anti-aliased edges may differ by a few grey levels
    assert ImageChops.difference(fast, slow).getextrema()[1] <= 32


def test_the_slow_subsetter_is_named_once_in_the_log(without_harfbuzz_subset, caplog):
    assert font_subsetter() == "fonttools"
    context = sample_context(KIND)
    with caplog.at_level(logging.WARNING, logger=render_module.log.name):
        render_pdf(KIND, context)
        render_pdf(KIND, context)
    warnings = [r.getMessage() for r in caplog.records if r.name == render_module.log.name]
    assert len(warnings) == 1
    assert "libharfbuzz-subset0" in warnings[0]
