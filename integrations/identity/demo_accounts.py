"""Demo national accounts and the provider's login page, for the simulator.

The claim names and value shapes follow CONNECTORS.md §2 (``LoaiTaiKhoan`` 1 citizen,
2 business, 3 organisation; ``NgayThangNamSinh`` year first; VNeID adds ``IAL``). Every
number here is made up: identification numbers use the 000/001 test ranges and phone
numbers are not assigned to anyone we know of.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ACCOUNT_LABELS", "DEMO_ACCOUNTS", "LOGIN_PAGE", "MESSAGE_PAGE"]

#: ``LoaiTaiKhoan`` -> label on the login page.
ACCOUNT_LABELS = {"1": "Công dân", "2": "Doanh nghiệp", "3": "Tổ chức"}

DEMO_ACCOUNTS: dict[str, dict[str, Any]] = {
    "congdan": {
        "sub": "3f2c9a54-7b1e-4d0a-9c55-1a2b3c4d5e01",
        "LoaiTaiKhoan": "1",
        "SoDinhDanh": "001190000001",
        "HoVaTen": "Nguyễn Thị Ánh Tuyết",
        "GioiTinh": "Nữ",
        "NgayThangNamSinh": "19900115",
        "ThuDienTu": "anhtuyet.nguyen@example.vn",
        "SoDienThoai": "0912345678",
        "DiaChi": "Số 12 ngõ 34 phố Đội Cấn, phường Ngọc Hà, thành phố Hà Nội",
        "TechID": "CD000000000001",
        "loAs": ["LoA1", "LoA2"],
        "IAL": "2",
    },
    "congdan2": {
        "sub": "3f2c9a54-7b1e-4d0a-9c55-1a2b3c4d5e02",
        "LoaiTaiKhoan": "1",
        "SoDinhDanh": "036085000002",
        "HoVaTen": "Trần Văn Đức",
        "GioiTinh": "Nam",
        "NgayThangNamSinh": "1985-07-30",
        "ThuDienTu": "tranvanduc@example.vn",
        "SoDienThoai": "0987654321",
        "DiaChi": "Thôn Đông, xã Hưng Đạo, tỉnh Hưng Yên",
        "TechID": "CD000000000002",
        "loAs": ["LoA1"],
    },
    "doanhnghiep": {
        "sub": "3f2c9a54-7b1e-4d0a-9c55-1a2b3c4d5e03",
        "LoaiTaiKhoan": "2",
        "MaSoDoanhNghiep": "0100000003",
        "MaSoThue": "0100000003",
        "TenDoanhNghiep": "Công ty TNHH Thương mại và Dịch vụ Đức Thịnh",
        "HoVaTen": "Lê Thị Hương",
        "SoDinhDanh": "001180000003",
        "ThuDienTu": "lienhe@ducthinh.example.vn",
        "SoDienThoai": "02438000003",
        "DiaChi": "Tầng 5, số 8 phố Láng Hạ, phường Giảng Võ, thành phố Hà Nội",
        "TechID": "DN000000000003",
        "loAs": ["LoA2"],
    },
    "tochuc": {
        "sub": "3f2c9a54-7b1e-4d0a-9c55-1a2b3c4d5e04",
        "LoaiTaiKhoan": "3",
        "TenDoanhNghiep": "Hợp tác xã Nông nghiệp Hòa Bình",
        "MaSoThue": "0800000004",
        "HoVaTen": "Phạm Quốc Việt",
        "SoDinhDanh": "030075000004",
        "ThuDienTu": "htx.hoabinh@example.vn",
        "SoDienThoai": "02203000004",
        "DiaChi": "Xã Hòa Bình, tỉnh Hải Dương",
        "TechID": "TC000000000004",
        "loAs": ["LoA1"],
    },
}

_STYLE = """<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
header{border-bottom:3px solid #c8102e;margin-bottom:1rem}.note{color:#555;font-size:.9rem}
button{display:block;width:100%;text-align:left;padding:.7rem;margin:.4rem 0;border:1px solid #ccc;
background:#fafafa;cursor:pointer;border-radius:4px}button:hover{background:#fff3f3}
.error{color:#c8102e}
</style>"""

#: Jinja template (autoescaped by Flask): ``accounts`` is a list of (username, label, detail).
LOGIN_PAGE = (
    """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Đăng nhập tài khoản định danh (mô phỏng)</title>"""
    + _STYLE
    + """</head><body><header><h1>Đăng nhập bằng tài khoản định danh điện tử</h1>
<p class="note">Hệ thống xác thực <strong>mô phỏng</strong> dùng để thử nghiệm, không phải hệ thống thật.</p></header>
{% if error %}<p class="error">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}">
{% for key, value in params %}<input type="hidden" name="{{ key }}" value="{{ value }}">{% endfor %}
<p>Chọn tài khoản thử nghiệm để đăng nhập vào <strong>{{ client_id }}</strong>:</p>
{% for username, label, detail in accounts %}
<button type="submit" name="username" value="{{ username }}"><strong>{{ label }}</strong><br>
<span class="note">{{ detail }} — tài khoản «{{ username }}»</span></button>
{% endfor %}
<button type="submit" name="action" value="cancel">Hủy đăng nhập</button>
</form></body></html>"""
)

#: Jinja template for errors and the logout confirmation: ``title``, ``message``.
MESSAGE_PAGE = (
    """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{{ title }}</title>"""
    + _STYLE
    + """</head><body><header><h1>{{ title }}</h1></header><p>{{ message }}</p></body></html>"""
)
