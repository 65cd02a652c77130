"""Demo contexts for every built-in document (fictional people in the demo province) and the
renders of them shown in docs/documents/. Tests use the same contexts.

    .venv/bin/python -m engine.documents docs/documents
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

from engine.calendar import VN_TZ
from engine.documents.errors import UnknownDocumentKind
from engine.documents.render import KINDS, render_pdf

#: Resolution of the PNG previews: legible on screen, small enough to keep in the repository.
PREVIEW_DPI = 110


def _at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=VN_TZ)


def _common() -> dict[str, Any]:
    return {
        "public_url": "https://dichvucong.demo.gov.vn",
        "agency": {
            "name": "Ủy ban nhân dân phường Hòa Bình",
            "unit": "Bộ phận Một cửa",
            "code": "000.00.21.H99",
            "place": "Hòa Bình",
        },
        "dossier": {
            "code": "000.00.21.H99-251125-0007",
            "submitted_at": _at(25, 8, 40),
            "received_at": _at(25, 9, 15),
            "due_at": _at(28, 9, 15),
            "sets": 1,
            "return_place": "Bộ phận Một cửa, Ủy ban nhân dân phường Hòa Bình (Số 1 đường Trung Tâm)",
        },
        "procedure": {
            "code": "1.001612",
            "name": "Đăng ký thành lập hộ kinh doanh",
            "deadline": {"value": 3, "unit": "working_days"},
            "supplement_clock": "restart",
        },
        "applicant": {
            "name": "Nguyễn Thị Minh Anh",
            "id_number": "001190012345",
            "phone": "0912 000 111",
            "email": "minhanh.demo@example.vn",
            "address": "Số 12, ngõ 3, tổ dân phố Đồng Tâm, phường Hòa Bình, tỉnh Demo",
        },
        "official": {
            "name": "Nguyễn Thị Tiếp Nhận",
            "title": "Công chức Bộ phận Một cửa",
            "phone": "0203 3800 800",
        },
        "document": {"number": "0007", "symbol": "GTN-BPMC", "date": _at(25, 9, 15)},
    }


def _giay_tiep_nhan(ctx: dict[str, Any]) -> None:
    ctx["items"] = [
        {
            "name": "Giấy đề nghị đăng ký hộ kinh doanh (Mẫu số 01, Phụ lục II, Thông tư 68/2025/TT-BTC)",
            "form": "Bản chính",
            "copies": 1,
        },
        {
            "name": "Bản sao biên bản họp thành viên hộ gia đình về việc đăng ký hộ kinh doanh",
            "form": "Bản sao",
            "copies": 1,
        },
        {
            "name": "Bản sao văn bản ủy quyền cho thành viên làm chủ hộ kinh doanh",
            "form": "Bản sao",
            "copies": 1,
        },
    ]


def _phieu_yeu_cau_bo_sung(ctx: dict[str, Any]) -> None:
    ctx["document"].update(number="0012", symbol="PBS-BPMC", date=_at(26, 10, 30))
    ctx["official"] = {"name": "Trần Văn Chuyên", "title": "Chuyên viên thụ lý", "phone": "0203 3800 801"}
    ctx["items"] = [
        "Biên bản họp thành viên hộ gia đình có đủ chữ ký của các thành viên (thiếu chữ ký của ông Nguyễn Văn Bảo).",
        "Văn bản ủy quyền cho thành viên làm chủ hộ kinh doanh ghi rõ thời hạn ủy quyền.",
    ]
    ctx["reason"] = "Hồ sơ chưa đủ thành phần theo quy định tại Nghị định 168/2025/NĐ-CP."
    ctx["supplement"] = {
        "deadline": _at(10, 17, 0, month=12),
        "guidance": "Nộp bổ sung trực tuyến trên Cổng dịch vụ công của tỉnh hoặc trực tiếp tại Bộ phận Một cửa.",
    }


def _phieu_tu_choi(ctx: dict[str, Any]) -> None:
    ctx["document"].update(number="0003", symbol="PTC-BPMC")
    ctx["legal_basis"] = "Nghị định 168/2025/NĐ-CP về đăng ký doanh nghiệp"
    ctx["reasons"] = [
        "Tên hộ kinh doanh đề nghị đăng ký trùng với tên hộ kinh doanh đã đăng ký trên địa bàn tỉnh.",
        "Ngành, nghề đề nghị đăng ký thuộc ngành, nghề cấm đầu tư kinh doanh.",
    ]


def _phieu_xin_loi(ctx: dict[str, Any]) -> None:
    ctx["agency"].pop("unit")
    ctx["document"].update(number="15", symbol="PXL-UBND", date=_at(27, 14, 0))
    ctx["dossier"]["new_appointment_at"] = _at(3, 9, 0, month=12)
    ctx["reason"] = "Cần xác minh thông tin địa điểm kinh doanh với Công an phường Hòa Bình."
    ctx["official"] = {"name": "Lê Minh Lãnh", "title": "Chủ tịch", "authority": "TM. Ủy ban nhân dân"}
    ctx["recipients"] = ["Như trên", "Lưu: VT, BPMC"]


def _ket_qua(ctx: dict[str, Any]) -> None:
    ctx["agency"].pop("unit")
    ctx["document"].update(number="21H99-000123", symbol="GCN-HKD", date=_at(27, 16, 0))
    ctx["document"].update(
        title="Giấy chứng nhận đăng ký hộ kinh doanh",
        summary="Đăng ký lần đầu: ngày 27 tháng 11 năm 2025",
        lines=[
            "1. Tên hộ kinh doanh: HỘ KINH DOANH BÁNH CUỐN MINH ANH",
            "2. Mã số hộ kinh doanh: 8999000123",
            "3. Địa điểm kinh doanh: Số 12, ngõ 3, tổ dân phố Đồng Tâm, phường Hòa Bình, tỉnh Demo",
            "4. Ngành, nghề kinh doanh: Nhà hàng và các dịch vụ ăn uống phục vụ lưu động (5610)",
            "5. Vốn kinh doanh: 150.000.000 đồng (Một trăm năm mươi triệu đồng)",
            "6. Chủ hộ kinh doanh: Nguyễn Thị Minh Anh, sinh ngày 14/02/1990, quốc tịch Việt Nam",
        ],
        recipients=["Hộ kinh doanh Bánh cuốn Minh Anh", "Thuế cơ sở phường Hòa Bình", "Lưu: VT"],
    )
    ctx["official"] = {"name": "Lê Minh Lãnh", "title": "Chủ tịch", "authority": "TM. Ủy ban nhân dân"}


def _cong_van(ctx: dict[str, Any]) -> None:
    ctx["agency"] = {"name": "Phòng Hồ sơ nghiệp vụ", "parent": "Công an tỉnh Demo", "code": "000.00.26.H99",
                     "place": "Hòa Bình"}
    ctx["document"].update(number="412", symbol="PV06-LLTP", date=_at(26, 10, 0),
                           about="đề nghị cung cấp thông tin về án tích",
                           recipients=["Như trên", "Lưu: VT, PV06"])
    ctx["addressees"] = ["Tòa án nhân dân tỉnh Demo"]
    ctx["paragraphs"] = [
        "Công an tỉnh Demo (Phòng Hồ sơ nghiệp vụ) đang giải quyết yêu cầu cấp Phiếu lý lịch tư pháp của "
        "bà Nguyễn Thị Minh Anh, sinh ngày 14/02/1990.",
        "Để có căn cứ cấp Phiếu lý lịch tư pháp, đề nghị Tòa án nhân dân tỉnh Demo cung cấp thông tin về "
        "bản án, quyết định, tình trạng thi hành án và việc xóa án tích của người nêu trên trong thời hạn "
        "05 ngày làm việc kể từ ngày nhận được văn bản này.",
    ]
    ctx["official"] = {"name": "Trần Văn Bình", "title": "Trưởng phòng", "authority": "KT. Giám đốc"}


def _phieu_kiem_soat(ctx: dict[str, Any]) -> None:
    ctx["document"].update(number="0007", symbol="PKS-BPMC", date=_at(27, 16, 30))
    ctx["history"] = [
        {
            "step": "Tiếp nhận",
            "from": "Bộ phận Một cửa (Nguyễn Thị Tiếp Nhận)",
            "to": "Chuyên viên (Trần Văn Chuyên)",
            "at": _at(25, 9, 30),
            "result": "Đúng hạn",
        },
        {
            "step": "Thẩm định",
            "from": "Chuyên viên (Trần Văn Chuyên)",
            "to": "Lãnh đạo (Lê Minh Lãnh)",
            "at": _at(26, 15, 10),
            "result": "Trước hạn",
            "note": "Đã đối chiếu CSDL quốc gia về dân cư",
        },
        {
            "step": "Phê duyệt, ký",
            "from": "Lãnh đạo (Lê Minh Lãnh)",
            "to": "Bộ phận Một cửa",
            "at": _at(27, 16, 0),
            "result": "Đúng hạn",
        },
        {
            "step": "Trả kết quả",
            "from": "Bộ phận Một cửa",
            "to": "Nguyễn Thị Minh Anh",
            "at": _at(28, 8, 45),
            "result": "Trước hạn",
            "note": "Trả trực tiếp",
        },
    ]


_BUILDERS = {
    "giay-tiep-nhan": _giay_tiep_nhan,
    "phieu-yeu-cau-bo-sung": _phieu_yeu_cau_bo_sung,
    "phieu-tu-choi": _phieu_tu_choi,
    "phieu-xin-loi": _phieu_xin_loi,
    "ket-qua": _ket_qua,
    "phieu-kiem-soat": _phieu_kiem_soat,
    "cong-van": _cong_van,
}
assert set(_BUILDERS) == set(KINDS)


def sample_context(kind: str) -> dict[str, Any]:
    """A complete, fresh context for the built-in template `kind` (safe to mutate)."""
    try:
        build = _BUILDERS[kind]
    except KeyError:
        raise UnknownDocumentKind(f"no sample context for {kind!r}") from None
    ctx = _common()
    build(ctx)
    return ctx


def pdf_page_png(pdf: bytes, *, dpi: int = PREVIEW_DPI) -> bytes:
    """The first page of a PDF as a greyscale PNG."""
    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def render_samples(out_dir: Path) -> list[Path]:
    """Render every built-in kind from its sample context; write `<kind>.png` (first page) to out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS:
        target = out_dir / f"{kind}.png"
        target.write_bytes(pdf_page_png(render_pdf(kind, sample_context(kind))))
        written.append(target)
    return written
