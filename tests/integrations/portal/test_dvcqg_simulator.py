"""The portal simulator, driven with plain httpx (no connector in between)."""

from __future__ import annotations

import io
import socket
import threading
import time

import httpx
import pytest

from integrations.portal.dvcqg import DEFAULT_DSTCODE
from integrations.portal.dvcqg_simulator import PortalSimulator, serve
from integrations.portal.hoso import build_hoso, build_tiendo
from tests.integrations.portal.conftest import MADONVI, dossier, progress

HEADERS = {"dstcode": DEFAULT_DSTCODE}


class Raw:
    """A bare client of the adapter: login once, then call services with the session."""

    def __init__(self, sim: PortalSimulator) -> None:
        self.sim = sim
        self.http = httpx.Client(timeout=3, headers=HEADERS, verify=False)
        answer = self.http.post(
            f"{sim.adapter_url}/mapi/login", json={"username": "motcua", "password": "mat-khau"}
        )
        self.session = answer.json()["session"]

    def call(self, service: str, key: str | None = None, **fields) -> dict:
        headers = {"Idempotency-Key": key} if key else {}
        body = {"session": self.session, "madonvi": MADONVI, "service": service, **fields}
        response = self.http.post(f"{self.sim.adapter_url}/mapi/g", json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def sync(self, *records: dict, updating: str = "False", key: str | None = None) -> dict:
        return self.call("DongBoHoSoMC", key, isUpdating=updating, data=list(records))


@pytest.fixture
def raw(portal) -> Raw:
    return Raw(portal)


def test_login_gives_a_session_and_success_texts_are_vietnamese(portal, raw):
    assert raw.session
    answer = raw.sync(build_hoso(dossier()))

    assert answer == {"error_code": "0", "message": "Đồng bộ thành công"}
    assert "000.00.21.H12-261125-0007" in portal.dossiers


def test_error_codes_can_be_numbers():
    with PortalSimulator(error_code_as="number") as sim:
        raw = Raw(sim)
        assert raw.sync(build_hoso(dossier()))["error_code"] == 0
        assert raw.sync(build_hoso(dossier()))["error_code"] == 3


def test_wrong_credentials_get_no_session(portal):
    answer = httpx.post(f"{portal.adapter_url}/mapi/login", json={"username": "motcua", "password": "x"},
                        headers=HEADERS).json()  # fmt: skip

    assert answer["error_code"] == "1"
    assert "session" not in answer
    assert portal.logins == 0


def test_a_missing_dstcode_is_refused_by_the_gateway(portal):
    response = httpx.post(
        f"{portal.adapter_url}/mapi/login", json={"username": "motcua", "password": "mat-khau"}
    )

    assert response.status_code == 400
    assert "dstcode" in response.json()["message"]


def test_an_unknown_or_expired_session_is_answered_with_the_expiry_code(portal, raw):
    portal.expire_sessions()

    answer = raw.call("TraCuuHoSo", mahoso="x")

    assert answer["error_code"] == "-2"
    assert "hết hạn" in answer["message"]


def test_a_repeated_insert_says_the_dossier_already_exists(raw):
    raw.sync(build_hoso(dossier()))

    answer = raw.sync(build_hoso(dossier()))

    assert answer["error_code"] == "3"
    assert "đã tồn tại" in answer["message"]


def test_the_duplicate_code_can_be_minus_three():
    with PortalSimulator(duplicate_code=-3) as sim:
        raw = Raw(sim)
        raw.sync(build_hoso(dossier()))
        assert raw.sync(build_hoso(dossier()))["error_code"] == "-3"


def test_an_update_of_an_unknown_dossier_is_refused(portal, raw):
    answer = raw.sync(build_hoso(dossier()), updating="True")

    assert answer["error_code"] == "-1"
    assert "không tồn tại" in answer["message"]
    assert portal.dossiers == {}


def test_lookup_searches_the_stored_dossiers_under_either_field_name(raw):
    assert raw.call("TraCuuHoSo", mahoso="000.00.21.H12-261125-0007")["result"] == []
    raw.sync(build_hoso(dossier()))

    [found] = raw.call("TraCuuHoSo", MaHoSo="000.00.21.H12-261125-0007")["result"]
    assert found["ChuHoSo"] == "Nguyễn Văn Ánh"
    assert raw.call("TraCuuHoSo", mahoso="000.00.21.H12-261125-0007")["result"] == [found]


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"NgayTiepNhan": "2026-11-25"}, "14 chữ số"),
        ({"NgayHenTra": "20261399170000"}, "14 chữ số"),
        ({"TrangThaiHoSo": "11"}, "TrangThaiHoSo"),
        ({"TrangThaiHoSo": "0"}, "TrangThaiHoSo"),
        ({"TrangThaiHoSo": 2}, "chuỗi"),
        ({"MaTTHC": "TTHC-XA-09"}, "không có trong danh mục"),
        ({"KenhThucHien": "4"}, "KenhThucHien"),
        ({"ChuHoSo": ""}, "ChuHoSo"),
        ({"DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "123"}]}, "Định danh"),
        ({"TaiLieuNop": [{"TepDinhKemId": 77}]}, "chuỗi"),
        ({"TrichYeuHoSo": "x" * 1001}, "1000"),
    ],
)
def test_invalid_dossiers_are_refused_and_nothing_is_stored(portal, raw, change, reason):
    hoso = {**build_hoso(dossier()), **change}

    answer = raw.sync(hoso)

    assert answer["error_code"] == "-1"
    assert reason in answer["message"]
    assert portal.dossiers == {}


def test_a_batch_larger_than_the_limit_is_refused_whole(portal, raw):
    records = [build_hoso(dossier(code=f"000.00.21.H12-261125-{n:04d}")) for n in range(11)]

    answer = raw.sync(*records)

    assert answer["error_code"] == "-1"
    assert "tối đa 10" in answer["message"]
    assert portal.dossiers == {}
    assert raw.sync(*records[:10])["error_code"] == "0"
    assert len(portal.dossiers) == 10


def test_progress_is_kept_per_dossier_and_validated(portal, raw):
    raw.sync(build_hoso(dossier()))

    assert raw.call("CapNhatTienDoHoSoMC", data=[build_tiendo(progress())])["error_code"] == "0"
    bad = {**build_tiendo(progress()), "ThoiDiemXuLy": "25/11/2026"}
    assert raw.call("CapNhatTienDoHoSoMC", data=[bad])["error_code"] == "-1"
    unknown = build_tiendo(progress(code="000.00.21.H12-261125-9999"))
    assert "không tồn tại" in raw.call("CapNhatTienDoHoSoMC", data=[unknown])["message"]

    assert [p["NoiDungXuLy"] for p in portal.progress("000.00.21.H12-261125-0007")] == ["Tiếp nhận hồ sơ"]


def test_a_repeated_idempotency_key_gets_the_first_answer_and_no_second_effect(portal, raw):
    raw.sync(build_hoso(dossier()))
    item = build_tiendo(progress())

    first = raw.call("CapNhatTienDoHoSoMC", "k-1", data=[item])
    second = raw.call("CapNhatTienDoHoSoMC", "k-1", data=[item])
    raw.call("CapNhatTienDoHoSoMC", "k-2", data=[item])

    assert first == second
    assert len(portal.progress("000.00.21.H12-261125-0007")) == 2
    assert portal.replays == 1


def test_an_injected_failure_before_the_effect_stores_nothing(portal, raw):
    portal.fail_next(1, status=502)

    response = raw.http.post(f"{portal.adapter_url}/mapi/g", json={"session": raw.session, "madonvi": MADONVI,
                             "service": "DongBoHoSoMC", "isUpdating": "False", "data": [build_hoso(dossier())]})  # fmt: skip

    assert response.status_code == 502
    assert portal.dossiers == {}


def test_an_injected_failure_after_the_effect_stores_but_loses_the_answer(portal, raw):
    portal.fail_next(1, status=500, after_effect=True)

    response = raw.http.post(f"{portal.adapter_url}/mapi/g", json={"session": raw.session, "madonvi": MADONVI,
                             "service": "DongBoHoSoMC", "isUpdating": "False", "data": [build_hoso(dossier())]})  # fmt: skip

    assert response.status_code == 500
    assert "000.00.21.H12-261125-0007" in portal.dossiers


def test_an_unknown_service_is_refused(raw):
    answer = raw.call("XoaHoSo")

    assert answer["error_code"] == "-1"
    assert "không được hỗ trợ" in answer["message"]


def test_a_stopped_simulator_no_longer_accepts_connections():
    sim = PortalSimulator().start()
    port = sim.port
    sim.stop()

    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_serve_runs_until_asked_to_stop():
    stop, out = threading.Event(), io.StringIO()
    thread = threading.Thread(target=serve, kwargs={"port": 0, "stop_event": stop, "out": out})
    thread.start()
    deadline = time.monotonic() + 5
    while "adapter_url=" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)

    assert "adapter_url=http://127.0.0.1:" in out.getvalue()
    assert "đã dừng" in out.getvalue()
