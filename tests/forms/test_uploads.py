"""File fields: limits shown in Vietnamese, uploads checked by their bytes, storage left to the caller."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from forms import (
    FormInvalid,
    Upload,
    load_form,
    parse_form,
    render_form,
    store_uploads,
    upload_errors,
    validate,
)
from forms.uploads import sniff

from .browser import element, submit

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
SCAN = {"type": "string", "format": "data-url", "title": "Bản chụp CCCD"}
FORM = {
    "type": "object",
    "required": ["ban_chup"],
    "properties": {"ho_ten": {"type": "string"}, "ban_chup": SCAN},
}
LIMITS = {"ban_chup": {"ui:options": {"accept": ["application/pdf", "image/png"], "maxSize": 1024}}}


def upload(name: str, content: bytes, mimetype: str = "application/octet-stream") -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name, content_type=mimetype)


def parse_files(
    files: list[tuple[str, Any]], ui: dict | None = None, text: list | None = None
) -> dict[str, Any]:
    return parse_form(
        load_form(FORM, LIMITS if ui is None else ui), MultiDict(text or []), files=MultiDict(files)
    )


@pytest.mark.parametrize(
    ("head", "kind"), [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")]
)
def test_pdf_png_and_jpeg_are_recognised_by_their_first_bytes(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


@pytest.mark.parametrize("head", [b"", b"GIF89a", b"PK\x03\x04", b"<html>", b" %PDF-", b"\x89PNG"])
def test_other_content_is_not_recognised(head: bytes) -> None:
    assert sniff(head) is None


def test_a_file_field_shows_its_limits_in_vietnamese_and_links_them_for_screen_readers() -> None:
    html = str(render_form(load_form(FORM, LIMITS)))
    control = element(html, id="f-ban_chup")
    assert control["type"] == "file" and control["accept"] == "application/pdf,image/png"
    assert control["data-max-size"] == "1024" and control["aria-describedby"] == "f-ban_chup-limits"
    assert 'id="f-ban_chup-limits">Chấp nhận tệp PDF, PNG, dung lượng tối đa 1 KB.</p>' in html
    assert "required" in control


def test_without_limits_a_file_field_takes_pdf_png_or_jpeg_up_to_ten_megabytes() -> None:
    html = str(render_form(load_form(FORM)))
    assert element(html, id="f-ban_chup")["accept"] == "application/pdf,image/png,image/jpeg"
    assert "Chấp nhận tệp PDF, PNG, JPEG, dung lượng tối đa 10 MB." in html


def test_extensions_and_image_wildcards_are_understood() -> None:
    ui = {"ban_chup": {"ui:options": {"accept": ".pdf, image/*", "maxSize": 1536 * 1024}}}
    html = str(render_form(load_form(FORM, ui)))
    assert element(html, id="f-ban_chup")["accept"] == ".pdf,image/*"
    assert "Chấp nhận tệp PDF, PNG, JPEG, dung lượng tối đa 1,5 MB." in html


def test_an_accepted_file_comes_back_as_an_upload_with_its_sniffed_type_and_bytes() -> None:
    parsed = parse_files([("ban_chup", upload("C:\\Users\\an\\cccd.pdf", PDF, "application/pdf"))])
    found = parsed["ban_chup"]
    assert isinstance(found, Upload) and found.ok
    assert (found.filename, found.content_type, found.size, found.content) == (
        "cccd.pdf",
        "application/pdf",
        len(PDF),
        PDF,
    )
    assert upload_errors(parsed) == {}


def test_a_pdf_that_is_really_a_png_is_refused_even_though_png_is_allowed() -> None:
    parsed = parse_files([("ban_chup", upload("cccd.pdf", PNG, "application/pdf"))])
    assert upload_errors(parsed) == {
        "ban_chup": ["Nội dung tệp «cccd.pdf» là PNG, không khớp với loại tệp khai báo"]
    }
    assert parsed["ban_chup"].content == b""


def test_the_browser_declared_type_counts_when_the_name_has_no_extension() -> None:
    parsed = parse_files([("ban_chup", upload("scan", PNG, "application/pdf"))])
    assert "không khớp" in upload_errors(parsed)["ban_chup"][0]
    assert parse_files([("ban_chup", upload("scan", PNG, "image/png"))])["ban_chup"].ok


def test_a_type_the_field_does_not_accept_is_refused_naming_both_types() -> None:
    parsed = parse_files([("ban_chup", upload("anh.jpg", JPEG, "image/jpeg"))])
    assert upload_errors(parsed) == {"ban_chup": ["Tệp «anh.jpg» là tệp JPEG, trong khi chỉ nhận PDF, PNG"]}


def test_content_that_is_none_of_the_known_types_is_refused() -> None:
    parsed = parse_files([("ban_chup", upload("hoso.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))])
    assert upload_errors(parsed) == {"ban_chup": ["Tệp «hoso.pdf» không phải tệp PDF, PNG hợp lệ"]}


def test_a_file_over_the_size_limit_is_refused_after_reading_one_byte_past_it() -> None:
    class Counting(io.BytesIO):
        asked: list[int] = []

        def read(self, size: int | None = -1) -> bytes:
            self.asked.append(size)
            return super().read(size)

    stream = Counting(PDF + b"0" * 5000)
    parsed = parse_files([("ban_chup", FileStorage(stream, filename="lon.pdf"))])
    assert upload_errors(parsed) == {"ban_chup": ["Tệp «lon.pdf» vượt quá dung lượng tối đa 1 KB"]}
    assert stream.asked == [1025]


def test_an_empty_file_is_refused() -> None:
    assert upload_errors(parse_files([("ban_chup", upload("rong.pdf", b""))])) == {
        "ban_chup": ["Tệp «rong.pdf» không có nội dung"]
    }


def test_no_file_chosen_keeps_the_file_stored_earlier() -> None:
    form = load_form(FORM, LIMITS)
    html = str(render_form(form, {"ban_chup": "tep/123"}))
    assert "Đã tải lên: tep/123." in html
    assert "required" not in element(html, id="f-ban_chup")  # the stored file answers it
    assert '<label for="f-ban_chup">Bản chụp CCCD<span class="required-marker"' in html
    empty_part = MultiDict([("ban_chup", FileStorage(io.BytesIO(b""), filename=""))])
    assert parse_form(form, submit(html), files=empty_part) == {"ban_chup": "tep/123"}


def test_a_new_file_replaces_the_stored_one() -> None:
    parsed = parse_files([("ban_chup", upload("moi.png", PNG))], text=[("ban_chup", "tep/123")])
    assert isinstance(parsed["ban_chup"], Upload)


def test_store_uploads_swaps_accepted_files_for_the_callers_references_and_drops_refused_ones() -> None:
    schema = {
        "type": "object",
        "properties": {
            "giay_to": {
                "type": "array",
                "items": {"type": "object", "properties": {"ten": {"type": "string"}, "tep": SCAN}},
            }
        },
    }
    form = load_form(schema)
    files = MultiDict([("giay_to.0.tep", upload("a.pdf", PDF)), ("giay_to.1.tep", upload("b.pdf", PNG))])
    parsed = parse_form(form, MultiDict([("giay_to.0.ten", "Giấy khai sinh")]), files=files)
    assert upload_errors(parsed) == {
        "giay_to.1.tep": ["Nội dung tệp «b.pdf» là PNG, không khớp với loại tệp khai báo"]
    }
    stored: list[Upload] = []

    def store(item: Upload) -> str:
        stored.append(item)
        return f"tep/{len(stored)}"

    assert store_uploads(parsed, store) == {"giay_to": [{"ten": "Giấy khai sinh", "tep": "tep/1"}, {}]}
    assert [item.filename for item in stored] == ["a.pdf"]


def test_a_missing_required_file_asks_the_applicant_to_upload_it() -> None:
    with pytest.raises(FormInvalid) as caught:
        validate(load_form(FORM, LIMITS), {})
    assert caught.value.errors == {"ban_chup": ["Vui lòng tải lên Bản chụp CCCD"]}


def test_a_form_with_a_file_field_says_it_needs_a_multipart_post() -> None:
    assert load_form(FORM).has_files
    nested = {
        "type": "object",
        "properties": {"tv": {"type": "array", "items": {"type": "object", "properties": {"t": SCAN}}}},
    }
    assert load_form(nested).has_files
    assert not load_form({"type": "object", "properties": {"t": {"type": "string"}}}).has_files


def test_a_hostile_file_name_is_shown_escaped_in_the_error() -> None:
    parsed = parse_files([("ban_chup", upload("<img src=x onerror=alert(1)>.pdf", PNG))])
    errors = upload_errors(parsed)
    html = str(render_form(load_form(FORM, LIMITS), parsed, errors))
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.pdf" in html


def test_a_file_name_loses_folders_and_control_characters() -> None:
    parsed = parse_files([("ban_chup", upload("../../etc/\u202egpj.pdf\x00", PDF))])
    assert parsed["ban_chup"].filename == "gpj.pdf"
