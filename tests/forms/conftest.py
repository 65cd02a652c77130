"""Shared fixtures: the household-business registration form used across the form tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from forms import Form, load_form

DATA = Path(__file__).parent / "data"


def household_files() -> tuple[dict[str, Any], dict[str, Any]]:
    """Schema and UI schema in SpiffArena's file layout (``x-schema.json``/``x-uischema.json``)."""
    schema = json.loads((DATA / "dang-ky-ho-kinh-doanh-schema.json").read_text(encoding="utf-8"))
    ui_schema = json.loads((DATA / "dang-ky-ho-kinh-doanh-uischema.json").read_text(encoding="utf-8"))
    return schema, ui_schema


@pytest.fixture
def household() -> Form:
    return load_form(*household_files())


@pytest.fixture
def household_data() -> dict[str, Any]:
    """A complete, valid registration."""
    return {
        "ten_ho_kinh_doanh": "Hộ kinh doanh Minh Anh",
        "owner": {
            "ho_ten": "Nguyễn Thị Minh Anh",
            "gioi_tinh": "nu",
            "ngay_sinh": "1988-04-30",
            "so_dinh_danh": "001188012345",
            "dien_thoai": "0912 345 678",
            "email": "minhanh@example.vn",
        },
        "dia_chi": "Số 12 phố Hàng Bạc\nPhường Hoàn Kiếm, Hà Nội",
        "nganh_nghe": [
            {"ten": "Bán lẻ lương thực, thực phẩm", "ma_vsic": "4711"},
            {"ten": "Dịch vụ ăn uống", "ma_vsic": "5610"},
        ],
        "von_kinh_doanh": 150000000,
        "so_lao_dong": 3,
        "cam_ket": True,
    }
