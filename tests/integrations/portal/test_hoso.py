"""The dossier snapshot -> HoSo / TienDo mapping and back (pure functions, no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.portal.hoso import (
    PayloadError,
    build_hoso,
    build_tiendo,
    parse_portal_time,
    portal_time,
    record_from_hoso,
)
from tests.integrations.portal.conftest import dossier, progress


def test_times_are_written_as_fourteen_digits_in_vietnam_time():
    assert portal_time("2026-11-25T01:30:00+00:00", "at") == "20261125083000"
    assert portal_time("2026-11-25T23:30:00Z", "at") == "20261126063000"
    assert portal_time(datetime(2026, 11, 25, 1, 30, tzinfo=UTC), "at") == "20261125083000"
    assert portal_time("20261125083000", "at") == "20261125083000"


@pytest.mark.parametrize("bad", ["2026-11-25T08:30:00", "25/11/2026", "20261345083000", 20261125083000])
def test_naive_or_malformed_times_are_refused_rather_than_guessed(bad):
    with pytest.raises(PayloadError):
        portal_time(bad, "received_at")


def test_a_portal_time_reads_back_as_the_same_instant():
    assert parse_portal_time("20261125083000") == datetime(2026, 11, 25, 1, 30, tzinfo=UTC)


def test_the_dossier_snapshot_becomes_a_hoso_of_strings():
    hoso = build_hoso(dossier())

    assert hoso["MaHoSo"] == "000.00.21.H12-261125-0007"
    assert hoso["MaTTHC"] == "1.001193.000.00.00.H12"
    assert hoso["TenTTHC"] == "Đăng ký khai sinh"
    assert hoso["KenhThucHien"] == "2"
    assert hoso["ChuHoSo"] == "Nguyễn Văn Ánh"
    assert hoso["LoaiDoiTuong"] == "1"
    assert hoso["DinhDanhCHS"] == [{"LoaiDinhDanh": "1", "SoDinhDanh": "001090000001"}]
    assert hoso["NgayTiepNhan"] == "20261125083000"
    assert hoso["NgayNopHoSo"] == "20261125081500"
    assert hoso["NgayHenTra"] == "20261127170000"
    assert hoso["TrangThaiHoSo"] == "2"
    assert hoso["DonViXuLy"] == "UBND xã Hòa Bình"
    assert hoso["TaiLieuNop"] == [
        {"TepDinhKemId": "77", "TenTepDinhKem": "Tờ khai.pdf", "IsDeleted": "False",
         "DuongDanTaiTepTin": "https://motcua.example/files/77"}
    ]  # fmt: skip
    assert hoso["DanhSachLePhi"] == [
        {"TenPhiLePhi": "Lệ phí đăng ký khai sinh", "Gia": "8000", "LoaiPhiLePhi": "2", "MaPhiLePhi": "LP01"}
    ]

    def strings_only(value):
        if isinstance(value, list):
            return all(strings_only(v) for v in value)
        if isinstance(value, dict):
            return all(strings_only(v) for v in value.values())
        return isinstance(value, str)

    assert strings_only(hoso)


def test_channels_map_to_kenh_thuc_hien():
    assert build_hoso(dossier(channel="desk"))["KenhThucHien"] == "1"
    assert build_hoso(dossier(channel="post"))["KenhThucHien"] == "3"


def test_a_nine_digit_id_is_a_cmnd_and_a_tax_code_is_no_identity():
    person = build_hoso(dossier(applicant={"name": "A", "kind": 1, "id_number": "012345678"}))
    business = build_hoso(dossier(applicant={"name": "Công ty B", "kind": 2, "id_number": "0101234567"}))

    assert person["DinhDanhCHS"] == [{"LoaiDinhDanh": "2", "SoDinhDanh": "012345678"}]
    assert "DinhDanhCHS" not in business
    assert business["SoGiayToChuHoSo"] == "0101234567"
    assert business["LoaiDoiTuong"] == "2"


def test_the_supplement_history_keeps_the_old_and_new_appointment_dates():
    hoso = build_hoso(
        dossier(
            status=5,
            supplements=[
                {
                    "requested_by": "Trần Thị Bích",
                    "content": "Bổ sung giấy chứng sinh",
                    "requested_at": "2026-11-26T02:00:00+00:00",
                    "old_due": "2026-11-27T10:00:00+00:00",
                    "new_due": "2026-12-01T10:00:00+00:00",
                    "state": "requested",
                }
            ],
        )
    )

    assert hoso["DanhSachHoSoBoSung"] == [
        {
            "HoSoBoSungId": "1",
            "NguoiYeuCauBoSung": "Trần Thị Bích",
            "NoiDungBoSung": "Bổ sung giấy chứng sinh",
            "NgayBoSung": "20261126090000",
            "NgayHenTraTruoc": "20261127170000",
            "NgayHenTraMoi": "20261201170000",
            "TrangThaiBoSung": "0",
        }
    ]


def test_results_become_danh_sach_giay_to_ket_qua():
    hoso = build_hoso(
        dossier(status=9, finished_at="2026-11-27T03:00:00+00:00",
                results=[{"id": "r1", "name": "Giấy khai sinh", "url": "https://motcua.example/r/1"}])
    )  # fmt: skip

    assert hoso["NgayKetThucXuLy"] == "20261127100000"
    assert hoso["DanhSachGiayToKetQua"] == [
        {
            "GiayToId": "r1",
            "TenGiayTo": "Giấy khai sinh",
            "DuongDanTepTinKetQua": "https://motcua.example/r/1",
        }
    ]


def test_an_online_dossier_not_yet_received_uses_its_submission_time():
    data = dossier(status=1)
    del data["received_at"], data["due_at"]

    hoso = build_hoso(data)

    assert hoso["NgayTiepNhan"] == "20261125081500"
    assert "NgayHenTra" not in hoso


def test_a_long_summary_is_cut_to_the_portal_limit():
    assert len(build_hoso(dossier(summary="x" * 1500))["TrichYeuHoSo"]) == 1000


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"code": ""}, "thiếu 'code'"),
        ({"channel": "fax"}, "'channel'"),
        ({"status": 11}, "'status'"),
        ({"status": 0}, "'status'"),
        ({"applicant": {"name": "A", "kind": 7}}, "'applicant.kind'"),
        ({"applicant": {"kind": 1}}, "applicant.name"),
        ({"applicant": {"name": "A", "kind": 1, "cccd": "1"}}, "không được hỗ trợ"),
        ({"due_at": "2026-11-27 17:00"}, "'due_at'"),
        ({"received_at": "2026-11-25T08:30:00"}, "múi giờ"),
        ({"fees": [{"name": "Phí", "amount": -1}]}, "fees[0].amount"),
        ({"documents": "77"}, "danh sách"),
        ({"priority": "high"}, "không được hỗ trợ"),
    ],
)
def test_an_unusable_snapshot_is_refused_with_a_vietnamese_reason(overrides, reason):
    with pytest.raises(PayloadError) as caught:
        build_hoso(dossier(**overrides))

    assert reason in str(caught.value)


def test_a_status_change_becomes_a_tiendo_record():
    assert build_tiendo(progress()) == {
        "MaHoSo": "000.00.21.H12-261125-0007",
        "NguoiXuLy": "Trần Thị Bích",
        "ChucDanh": "Công chức một cửa",
        "PhongBanXuLy": "Bộ phận một cửa",
        "ThoiDiemXuLy": "20261125083000",
        "NoiDungXuLy": "Tiếp nhận hồ sơ",
        "TrangThai": "2",
        "NgayBatDau": "20261125083000",
        "NgayKetThucTheoQuyDinh": "20261127170000",
    }


def test_a_tiendo_needs_a_time_a_note_and_a_status():
    for key in ("at", "note", "status", "code"):
        data = progress()
        del data[key]
        with pytest.raises(PayloadError):
            build_tiendo(data)


def test_a_portal_record_reads_back_into_our_vocabulary():
    record = record_from_hoso(build_hoso(dossier()))

    assert record["code"] == "000.00.21.H12-261125-0007"
    assert record["channel"] == "online"
    assert record["status"] == 2
    assert record["applicant"]["kind"] == 1
    assert record["received_at"] == "2026-11-25T08:30:00+07:00"
    assert record["finished_at"] is None
    assert record["raw"]["MaTTHC"] == "1.001193.000.00.00.H12"
