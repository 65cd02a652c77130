"""Generated documents: every built-in form renders to a real PDF whose text and QR code can be read
back; values are escaped; package templates win; nothing is fetched from the network."""

from __future__ import annotations

import http.server
import io
import threading
from datetime import UTC, date, datetime

import pypdfium2 as pdfium
import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from engine.documents import (
    KINDS,
    DocumentContextError,
    NoNetworkFetcher,
    UnknownDocumentKind,
    qr_matrix,
    qr_png_data_uri,
    render_html,
    render_pdf,
    render_samples,
    sample_context,
    tracking_url,
)
from engine.documents import samples as samples_module
from engine.documents.qr import BOX_SIZE
from engine.documents.render import mask_id, ngay, thoi_han

#: Each form's title as printed (upper case) and a sentence-case phrase of its body.
WORDING = {
    "giay-tiep-nhan": ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Thời gian trả kết quả giải quyết hồ sơ"),
    "phieu-yeu-cau-bo-sung": (
        "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
        "đề nghị Ông/Bà bổ sung, hoàn thiện hồ sơ",
    ),
    "phieu-tu-choi": ("Phiếu từ chối tiếp nhận giải quyết hồ sơ", "từ chối tiếp nhận, giải quyết hồ sơ"),
    "phieu-xin-loi": ("Phiếu xin lỗi và hẹn lại ngày trả kết quả", "trân trọng xin lỗi Ông/Bà"),
    "ket-qua": ("Giấy chứng nhận đăng ký hộ kinh doanh", "Vị trí chữ ký số"),
    "phieu-kiem-soat": ("Phiếu kiểm soát quá trình giải quyết hồ sơ", "Cơ quan phối hợp giải quyết hồ sơ"),
    "cong-van": ("Tòa án nhân dân tỉnh Demo", "V/v đề nghị cung cấp thông tin về án tích"),
}


def pdf_pages(pdf: bytes) -> list[pdfium.PdfPage]:
    return list(pdfium.PdfDocument(pdf))


def pdf_text(pdf: bytes) -> str:
    """All the text of a PDF, whitespace collapsed (lines wrap wherever the layout puts them)."""
    text = " ".join(page.get_textpage().get_text_bounded() for page in pdf_pages(pdf))
    return " ".join(text.split())


def qr_images(pdf: bytes):
    page = pdf_pages(pdf)[0]
    return [
        obj.get_bitmap(render=False).to_pil().convert("L")
        for obj in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE])
    ]


@pytest.fixture(scope="module")
def rendered():
    """Each kind rendered once for the whole module (WeasyPrint takes ~0.3 s a page)."""
    out = {}
    for kind in KINDS:
        context = sample_context(kind)
        html = render_html(kind, context)
        pdf = render_pdf(kind, context)
        out[kind] = {"context": context, "html": html, "pdf": pdf, "text": pdf_text(pdf)}
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_to_a_pdf_of_at_least_one_page(rendered, kind):
    pdf = rendered[kind]["pdf"]
    assert pdf.startswith(b"%PDF-")
    assert len(pdf_pages(pdf)) >= 1


@pytest.mark.parametrize("kind", KINDS)
def test_the_pdf_text_carries_the_dossier_code_and_vietnamese_with_its_diacritics(rendered, kind):
    text = rendered[kind]["text"]
    title, phrase = WORDING[kind]
    assert rendered[kind]["context"]["dossier"]["code"] in text
    assert (title if kind == "cong-van" else title.upper()) in text  # a công văn has no title line
    assert phrase in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text


@pytest.mark.parametrize("kind", KINDS)
def test_the_qr_code_in_the_pdf_encodes_the_public_tracking_url(rendered, kind):
    context = rendered[kind]["context"]
    expected = qr_matrix(f"{context['public_url']}/tra-cuu?code={context['dossier']['code']}")
    (image,) = qr_images(rendered[kind]["pdf"])
    size = len(expected)
    assert image.size == (size * BOX_SIZE, size * BOX_SIZE)
    centre = BOX_SIZE // 2
    modules = [
        [image.getpixel((x * BOX_SIZE + centre, y * BOX_SIZE + centre)) < 128 for x in range(size)]
        for y in range(size)
    ]
    assert modules == expected


@pytest.mark.parametrize("kind", KINDS)
def test_the_qr_code_is_drawn_without_smoothing(rendered, kind):
    """One pixel per module stays sharp only if the viewer does not interpolate it (image-rendering:
    pixelated in the templates)."""
    page = PdfFileReader(io.BytesIO(rendered[kind]["pdf"])).root["/Pages"]["/Kids"][0].get_object()
    images = [xobject.get_object() for xobject in page["/Resources"]["/XObject"].values()
              if xobject.get_object().get("/Subtype") == "/Image"]
    assert len(images) == 1
    assert "/Interpolate" in images[0] and not images[0]["/Interpolate"]


def test_the_tracking_url_is_printed_and_named_by_the_qr_image(rendered):
    context = rendered["giay-tiep-nhan"]["context"]
    url = "https://dichvucong.demo.gov.vn/tra-cuu?code=000.00.21.H99-251125-0007"
    assert tracking_url(context["public_url"] + "/", context["dossier"]["code"]) == url
    html = rendered["giay-tiep-nhan"]["html"]
    assert f'src="{qr_png_data_uri(url)}" alt="{url}" title="{url}"' in html
    assert url in rendered["giay-tiep-nhan"]["text"]


def test_the_receipt_lists_each_document_received_with_its_copies_and_the_appointment(rendered):
    text = rendered["giay-tiep-nhan"]["text"]
    for item in rendered["giay-tiep-nhan"]["context"]["items"]:
        assert " ".join(item["name"].split()) in text
    assert "Số lượng hồ sơ: 1 (bộ)" in text
    assert "09 giờ 15 phút, ngày 28 tháng 11 năm 2025" in text
    assert "NGƯỜI TIẾP NHẬN HỒ SƠ" in text and "Nguyễn Thị Tiếp Nhận" in text


def test_the_identity_number_is_printed_masked_to_its_last_four_digits(rendered):
    text = rendered["giay-tiep-nhan"]["text"]
    assert "********2345" in text
    assert "001190012345" not in text
    assert mask_id("079") == "079" and mask_id(None) == ""


def test_the_supplement_request_lists_the_missing_items_exactly_as_given(rendered):
    doc = rendered["phieu-yeu-cau-bo-sung"]
    for number, item in enumerate(doc["context"]["items"], start=1):
        assert f"{number}. {item}" in doc["text"]
    assert "Mẫu số 02" in doc["text"]
    assert doc["context"]["reason"] in doc["text"]
    assert "được tính lại từ đầu" in doc["text"]


def test_the_supplement_request_states_the_pause_rule_when_the_procedure_pauses():
    context = sample_context("phieu-yeu-cau-bo-sung")
    context["procedure"]["supplement_clock"] = "pause"
    html = render_html("phieu-yeu-cau-bo-sung", context)
    assert "không tính vào thời hạn giải quyết" in html
    assert "tính lại từ đầu" not in html


def test_an_unknown_supplement_clock_rule_is_refused_rather_than_printed_wrong():
    context = sample_context("phieu-yeu-cau-bo-sung")
    context["procedure"]["supplement_clock"] = "sometimes"
    with pytest.raises(DocumentContextError):
        render_html("phieu-yeu-cau-bo-sung", context)


def test_the_apology_shows_the_old_and_the_new_appointment_and_the_reason(rendered):
    doc = rendered["phieu-xin-loi"]
    assert "09 giờ 15 phút, ngày 28 tháng 11 năm 2025" in doc["text"]
    assert "09 giờ 00 phút, ngày 03 tháng 12 năm 2025" in doc["text"]
    assert doc["context"]["reason"] in doc["text"]


def test_the_refusal_lists_every_reason(rendered):
    doc = rendered["phieu-tu-choi"]
    for reason in doc["context"]["reasons"]:
        assert reason in doc["text"]


def test_the_control_sheet_has_one_row_per_handover(rendered):
    doc = rendered["phieu-kiem-soat"]
    assert doc["html"].count('<tr><td class="n">') == len(doc["context"]["history"])
    assert "25/11/2025 09:30" in doc["text"] and "Trước hạn" in doc["text"]


def test_the_result_names_its_number_symbol_signer_and_leaves_room_for_the_digital_signature(rendered):
    doc = rendered["ket-qua"]
    assert "Số: 21H99-000123/GCN-HKD" in doc["text"]
    assert (
        "TM. ỦY BAN NHÂN DÂN" in doc["text"] and "CHỦ TỊCH" in doc["text"] and "Lê Minh Lãnh" in doc["text"]
    )
    assert 'id="vi-tri-chu-ky-so"' in doc["html"]


def test_hostile_input_renders_as_text_never_as_markup_or_template_code():
    hostile = "<script>alert(1)</script> {{ 7*7 }} {% raw %}"
    context = sample_context("phieu-tu-choi")
    context["applicant"]["name"] = hostile
    context["reasons"] = [hostile, "<img src=x onerror=alert(1)>"]
    html = render_html("phieu-tu-choi", context)
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %}" in html
    text = pdf_text(render_pdf("phieu-tu-choi", context))
    assert hostile in text
    assert "49" not in text


def test_a_template_from_a_package_directory_wins_over_the_builtin_one(tmp_path):
    (tmp_path / "ket-qua.html").write_text(
        '{% extends "base.html" %}{% block body %}<h1>GIẤY PHÉP XÂY DỰNG</h1>'
        "<p>{{ applicant.name }}</p>{% endblock %}",
        encoding="utf-8",
    )
    context = sample_context("ket-qua")
    html = render_html("ket-qua", context, template_dirs=[tmp_path])
    assert "GIẤY PHÉP XÂY DỰNG" in html
    assert "Vị trí chữ ký số" not in html
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html  # the built-in base.html still frames it
    assert "Vị trí chữ ký số" in render_html("ket-qua", context)


def test_a_package_directory_without_the_kind_falls_back_to_the_builtin_template(tmp_path):
    html = render_html("giay-tiep-nhan", sample_context("giay-tiep-nhan"), template_dirs=[tmp_path])
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in html


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    _CountingHandler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _CountingHandler.hits
    server.shutdown()
    server.server_close()


def test_a_network_url_in_a_template_is_not_fetched(tmp_path, loopback_server):
    base, hits = loopback_server
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for the document")
    (tmp_path / "ket-qua.html").write_text(
        '{% extends "base.html" %}{% block style %}@import url("' + base + '/import.css");{% endblock %}'
        '{% block body %}<link rel="stylesheet" href="' + base + '/style.css">'
        '<img src="' + base + '/logo.png"><img src="' + secret.as_uri() + '">'
        "<p>Kết quả</p>{% endblock %}",
        encoding="utf-8",
    )
    pdf = render_pdf("ket-qua", sample_context("ket-qua"), template_dirs=[tmp_path])
    assert pdf.startswith(b"%PDF-")
    assert hits == []
    assert len(qr_images(pdf)) == 1  # only the data: URI QR code made it in


def test_the_fetcher_serves_data_uris_and_refuses_every_other_scheme():
    fetcher = NoNetworkFetcher()
    assert fetcher.fetch("data:text/plain;base64,eGluIGNow6Bv").read() == "xin chào".encode()
    for url in ("http://127.0.0.1:1/x", "https://example.vn/x", "file:///etc/passwd", "ftp://example.vn/x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


@pytest.mark.parametrize("kind", ["khong-co-mau", "../base", "giay-tiep-nhan.html", "Ket-Qua", ""])
def test_an_unknown_or_path_like_kind_is_refused(kind):
    with pytest.raises(UnknownDocumentKind):
        render_html(kind, sample_context("ket-qua"))


def test_a_missing_context_value_is_reported_as_a_document_context_error():
    context = sample_context("giay-tiep-nhan")
    del context["dossier"]["due_at"]
    with pytest.raises(DocumentContextError, match="due_at"):
        render_html("giay-tiep-nhan", context)
    with pytest.raises(DocumentContextError):
        render_html("giay-tiep-nhan", {"dossier": {}})


def test_dates_are_written_the_nghi_dinh_30_way_in_vietnam_time():
    assert ngay(date(2025, 3, 5)) == "ngày 05 tháng 3 năm 2025"
    assert ngay(date(2025, 2, 14)) == "ngày 14 tháng 02 năm 2025"
    assert ngay(date(2025, 12, 31)) == "ngày 31 tháng 12 năm 2025"
    # 18:30 UTC on 31/12 is already 1 January in Hà Nội.
    assert ngay(datetime(2025, 12, 31, 18, 30, tzinfo=UTC)) == "ngày 01 tháng 01 năm 2026"


def test_deadlines_read_from_procedure_json_print_in_vietnamese():
    assert thoi_han({"value": 3, "unit": "working_days"}) == "03 ngày làm việc"
    assert thoi_han({"value": 15, "unit": "days"}) == "15 ngày"
    assert thoi_han({"value": 0.5, "unit": "working_days"}) == "0,5 ngày làm việc"
    with pytest.raises(DocumentContextError):
        thoi_han({"value": 1, "unit": "fortnights"})


def test_sample_contexts_are_fresh_copies():
    first = sample_context("ket-qua")
    first["dossier"]["code"] = "changed"
    assert sample_context("ket-qua")["dossier"]["code"] != "changed"


def test_render_samples_writes_one_small_png_per_kind(rendered, tmp_path, monkeypatch):
    # Reuse the module's renders: this test is about the PNG previews, not WeasyPrint again.
    monkeypatch.setattr(samples_module, "render_pdf", lambda kind, context: rendered[kind]["pdf"])
    written = render_samples(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{kind}.png" for kind in KINDS)
    for path in written:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) < 250 * 1024


@pytest.fixture
def write_pdf_calls(monkeypatch):
    """The keyword arguments of every WeasyPrint write_pdf call, in order."""
    from weasyprint import HTML

    calls: list[dict] = []
    real = HTML.write_pdf

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(HTML, "write_pdf", spy)
    return calls


def test_every_pdf_of_a_thread_shares_one_font_configuration_and_other_threads_get_their_own(write_pdf_calls):
    """WeasyPrint's default builds a fontconfig configuration per document that is never freed: a
    Celery worker rendering receipts grew by ~220 KB a PDF (bench/memory.py, bench/RESULTS.md)."""
    from engine.documents import render as render_module

    render_module.html_to_pdf("<p>một</p>")
    render_module.html_to_pdf("<p>hai</p>")
    other = threading.Thread(target=render_module.html_to_pdf, args=("<p>ba</p>",))
    other.start()
    other.join()

    used = [call.get("font_config") for call in write_pdf_calls]
    assert used[0] is not None and used[0] is used[1]
    assert used[2] is not None and used[2] is not used[0]


def test_the_html_carries_the_shared_stylesheet_and_the_pdf_gets_it_parsed_once(write_pdf_calls):
    """render_html's HTML stands alone (the stylesheet inline); render_pdf leaves it out of the HTML and
    hands WeasyPrint the one parsed copy, which lays the page out the same (A4, the margins)."""
    from engine.documents import render as render_module

    context = sample_context("giay-tiep-nhan")
    assert "size: A4;" in render_html("giay-tiep-nhan", context)
    first, second = render_pdf("giay-tiep-nhan", context), render_pdf("ket-qua", sample_context("ket-qua"))
    seen = [call.get("stylesheets") for call in write_pdf_calls]
    assert len(seen) == 2 and len(seen[0]) == 1 and seen[0][0] is seen[1][0]
    for pdf in (first, second):
        page = pdf_pages(pdf)[0]
        assert (round(page.get_width() / 72 * 25.4), round(page.get_height() / 72 * 25.4)) == (210, 297)
        (image,) = page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE])
        left, _bottom, _right, _top = image.get_bounds()
        assert round(left / 72 * 25.4) == 30  # the left margin of Nghị định 30/2020, from the stylesheet
    assert render_module._stylesheet(render_module._search_path(())) is seen[0][0]


def test_a_package_may_bring_its_own_stylesheet(tmp_path):
    (tmp_path / "document.css").write_text("@page { size: A5; margin: 10mm } body { margin: 0 }", encoding="utf-8")
    context = sample_context("giay-tiep-nhan")
    assert "size: A5;" in render_html("giay-tiep-nhan", context, template_dirs=[tmp_path])
    page = pdf_pages(render_pdf("giay-tiep-nhan", context, template_dirs=[tmp_path]))[0]
    assert (round(page.get_width() / 72 * 25.4), round(page.get_height() / 72 * 25.4)) == (148, 210)
