"""Hostile uploads: disguised types, active content in PDFs, bombs and file names that try to escape.

Every refusal is read back through ``parse_form`` as the citizen's wizard and the supplement page do
(both go through ``read_upload``); the PDFs are built here byte by byte, so each trick is explicit.
"""

from __future__ import annotations

import io
import random
import time
import zlib

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from engine.documents import render_pdf, sample_context
from forms import load_form, parse_form, upload_errors
from forms.pdf_active import MAX_INFLATED, PdfActiveContent, active_content
from forms.uploads import clean_filename

FORM = {"type": "object", "properties": {"ban_chup": {"type": "string", "format": "data-url"}}}
UI = {"ban_chup": {"ui:options": {"accept": ".pdf,.png,.jpg"}}}
CATALOG = b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R %s>>\nendobj\n"
PAGES = b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
PAGE = b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] %s>>\nendobj\n"


def pdf(catalog: bytes = b"", page: bytes = b"", *objects: bytes) -> bytes:
    """A small PDF: catalog (extra entries), pages, one page (extra entries), then `objects`."""
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + CATALOG % catalog + PAGES + PAGE % page + b"".join(objects)
    return body + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"


def stream(number: int, dictionary: bytes, data: bytes) -> bytes:
    return (b"%d 0 obj\n<< %s /Length %d >>\nstream\n" % (number, dictionary, len(data))
            + data + b"\nendstream\nendobj\n")


def object_stream(number: int, objects: dict[int, bytes], *, filters: bytes = b"/Filter /FlateDecode",
                  encode=zlib.compress) -> bytes:
    """An object stream (PDF 1.5) holding `objects` compressed, as modern writers produce them."""
    offsets, bodies, at = [], [], 0
    for num, text in objects.items():
        offsets.append(b"%d %d" % (num, at))
        bodies.append(text)
        at += len(text) + 1
    header = b" ".join(offsets) + b"\n"
    data = header + b"\n".join(bodies)
    return stream(number, b"/Type /ObjStm /N %d /First %d %s" % (len(objects), len(header), filters), encode(data))


def upload(name: str, content: bytes, mimetype: str = "application/pdf") -> dict[str, list[str]]:
    files = MultiDict([("ban_chup", FileStorage(io.BytesIO(content), filename=name, content_type=mimetype))])
    parsed = parse_form(load_form(FORM, UI), MultiDict(), files=files)
    return upload_errors(parsed)


# -- wrong type disguised by its name ------------------------------------------------------------------

@pytest.mark.parametrize(("name", "content", "mimetype"), [
    ("hoso.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00PE\x00\x00", "application/pdf"),  # a Windows program
    ("hoso.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "application/pdf"),
    ("anh.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/png"),
    ("anh.jpg", b"#!/bin/sh\nrm -rf /\n", "image/jpeg"),
    ("hoso.pdf", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "application/pdf"),  # a zip (docx, xlsx...)
    ("hoso.pdf", b"  %PDF-1.7\n", "application/pdf"),  # the signature must open the file
])
def test_a_file_whose_bytes_are_not_pdf_png_or_jpeg_is_refused_whatever_its_name(name, content, mimetype):
    assert upload(name, content, mimetype) == {"ban_chup": [f"Tệp «{name}» không phải tệp PDF, PNG, JPEG hợp lệ"]}


def test_zip_based_office_files_are_never_accepted_so_no_zip_bomb_is_ever_inflated():
    bomb = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (20 * 1024 * 1024))
    started = time.monotonic()
    assert "không phải tệp PDF, PNG, JPEG" in upload("don.docx", bomb.getvalue())["ban_chup"][0]
    assert time.monotonic() - started < 0.5


# -- PDFs with active content ----------------------------------------------------------------------------

JS = b"4 0 obj\n<< /S /JavaScript /JS (app.alert\\(1\\)) >>\nendobj\n"
HOSTILE_PDFS = {  # name: (content, the PDF name the refusal gives)
    "open-action-javascript": (pdf(b"/OpenAction 4 0 R ", b"", JS), "JS"),
    "document-javascript": (pdf(b"/Names << /JavaScript 5 0 R >> ", b"",
                                b"5 0 obj\n<< /Names [(a) 6 0 R] >>\nendobj\n"), "JavaScript"),
    "hex-escaped-names": (pdf(b"/Names << /J#61va#53cript 5 0 R >> "), "JavaScript"),
    "launch": (pdf(b"", b"", b"4 0 obj\n<< /Type /Annot /A << /S /Launch /F (cmd.exe) >> >>\nendobj\n"), "Launch"),
    "page-additional-actions": (pdf(b"", b"/AA << /O 4 0 R >> ",
                                    b"4 0 obj\n<< /S /GoTo /D [3 0 R /Fit] >>\nendobj\n"), "AA"),
    "open-action-uri": (pdf(b"/OpenAction << /S /URI /URI (http://127.0.0.1:9/phish) >> "), "OpenAction"),
    "open-action-goto-chained": (pdf(b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next 6 0 R >> "), "OpenAction"),
    "open-action-to-a-missing-object": (pdf(b"/OpenAction 40 0 R "), "OpenAction"),
    "javascript-in-object-stream": (pdf(b"", b"", object_stream(7, {4: b"<< /S /JavaScript /JS (x) >>"})), "JS"),
    "hex-escape-in-object-stream": (pdf(b"", b"", object_stream(7, {4: b"<< /S /L#61unch /F (x.exe) >>"})), "Launch"),
    "uri-open-action-in-object-stream": (pdf(b"/OpenAction 4 0 R ", b"",
                                             object_stream(7, {4: b"<< /S /URI /URI (http://x) >>"})), "OpenAction"),
    "object-hidden-in-a-stream-body": (pdf(b"", b"", stream(9, b"", b"\x00\x01 8 0 obj << /S /Launch >> endobj \x02")),
                                       "Launch"),
    "stream-keyword-faked-in-a-string": (pdf(b"/Title (>>stream\n) ", b"", JS, b"(endstream)\n"), "JS"),
    "stream-keyword-faked-as-a-name": (pdf(b"/X /stream\n ", b"", JS, b"/endstream\n"), "JS"),
    "embedded-file": (pdf(b"", b"", stream(5, b"/Type /EmbeddedFile", b"MZ\x90\x00")), "EmbeddedFile"),
    "xfa-form": (pdf(b"/AcroForm << /XFA 6 0 R >> "), "XFA"),
    "submit-form": (pdf(b"", b"", b"4 0 obj\n<< /S /SubmitForm /F (http://127.0.0.1:9/) >>\nendobj\n"), "SubmitForm"),
}


@pytest.mark.parametrize("name", HOSTILE_PDFS)
def test_a_pdf_that_runs_code_or_acts_when_opened_is_refused_in_vietnamese(name):
    content, reason = HOSTILE_PDFS[name]
    [message] = upload(f"{name}.pdf", content)["ban_chup"]
    assert message.startswith(f"Tệp «{name}.pdf» chứa mã lệnh hoặc hành động tự động (/{reason})")
    assert "hãy in lại tài liệu ra PDF" in message


@pytest.mark.parametrize("content", [
    pdf(b"", b"", object_stream(7, {4: JS}, filters=b"/Filter /ASCIIHexDecode", encode=lambda d: d.hex().encode())),
    pdf(b"", b"", object_stream(7, {4: JS}, filters=b"/Filter 9 0 R")),
    pdf(b"", b"", object_stream(7, {4: JS}, filters=b"/Filter /FlateDecode /DecodeParms << /Predictor 12 >>")),
    pdf(b"", b"", object_stream(7, {4: JS}, encode=lambda d: b"\x13\x37 encrypted, not deflate")),
])
def test_an_object_stream_the_scanner_cannot_decode_is_refused_rather_than_trusted(content):
    [message] = upload("ma-hoa.pdf", content)["ban_chup"]
    assert message.startswith("Không kiểm tra được nội dung tệp «ma-hoa.pdf»")


def test_a_compression_bomb_in_an_object_stream_is_stopped_at_the_inflation_cap():
    bomb = pdf(b"", b"", object_stream(7, {4: b"<< >>" + b" " * (MAX_INFLATED + 1024)}))
    assert len(bomb) < 100 * 1024
    started = time.monotonic()
    with pytest.raises(PdfActiveContent) as caught:
        active_content(bomb)
    assert caught.value.reason == "unverifiable" and time.monotonic() - started < 2.0


# -- ordinary PDFs still pass ---------------------------------------------------------------------------

def test_ordinary_pdfs_pass_including_harmless_open_actions_and_look_alike_bytes():
    scanned = bytearray(random.Random(9).randbytes(200_000))
    scanned[5000:5010] = b" /JS /AA <"  # what an image's compressed bytes may contain by chance
    ordinary = [
        pdf(b"/OpenAction [3 0 R /XYZ null null 0] "),  # Word and LibreOffice: open at page 1
        pdf(b"/OpenAction 4 0 R ", b"", object_stream(7, {4: b"<< /S /GoTo /D [3 0 R /Fit] >>"})),  # pdfTeX
        pdf(b"", b"/Contents 4 0 R /Resources << /XObject << /Im0 5 0 R >> >> ",
            stream(4, b"/Filter /FlateDecode", zlib.compress(b"BT (Huong dan /JavaScript /JS) Tj ET")),
            stream(5, b"/Subtype /Image /Filter /DCTDecode", bytes(scanned))),
    ]
    for content in ordinary:
        assert upload("hoso.pdf", content) == {}


def test_the_documents_motcua_itself_generates_are_accepted_back_as_uploads():
    receipt = render_pdf("giay-tiep-nhan", sample_context("giay-tiep-nhan"))
    assert b"/ObjStm" in receipt or b"obj" in receipt
    assert upload("giay-tiep-nhan.pdf", receipt) == {}


# -- file names ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "clean"), [
    ("../../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\Windows\\System32\\hoso.pdf", "hoso.pdf"),
    ("hoso.pdf\x00.exe", "hoso.pdf.exe"),  # NUL never cuts the name short later
    ("bao-cao\u202efdp.exe", "bao-caofdp.exe"),  # right-to-left override: 'exe.pdf' on screen
    ("ho\u200bso\ufeff.pdf", "hoso.pdf"),  # invisible characters
    ("\x1b[31mđỏ.pdf", "[31mđỏ.pdf"),  # terminal escapes lose their ESC
    ("/", "tep"), ("\x00\x01", "tep"),
])
def test_file_names_lose_folders_control_and_invisible_characters(raw, clean):
    assert clean_filename(raw) == clean


def test_a_very_long_file_name_is_cut_to_255_characters_keeping_its_extension():
    name = clean_filename("Đ" * 10_000 + ".pdf")
    assert len(name) == 255 and name.endswith("Đ.pdf")


def test_a_hostile_file_name_never_reaches_the_file_system(tmp_path):
    from engine.documents.store import FileStore

    store = FileStore(tmp_path)
    digest, _size = store.put(pdf())
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [f"{digest[:2]}/{digest[2:4]}/{digest}"]
