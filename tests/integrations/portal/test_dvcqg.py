"""The DVCQG sync connector in real HTTP conversations with the portal simulator on loopback."""

from __future__ import annotations

import time

import pytest

import integrations.portal  # noqa: F401  (registers the portal connectors)
from integrations import ConnectorRejected, ConnectorUnavailable, registry
from integrations.portal.dvcqg import DEFAULT_DSTCODE, DvcqgConnector
from integrations.portal.dvcqg_simulator import PortalSimulator
from tests.integrations.portal.conftest import MADONVI, dossier, progress

CODE = "000.00.21.H12-261125-0007"


def test_a_new_dossier_is_looked_up_then_created(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url)

    result = connector.call("sync_dossier", dossier(), idempotency_key="sync-1")

    assert result == {"code": CODE, "action": "created", "message": "Đồng bộ thành công"}
    assert portal.dossiers[CODE]["TrangThaiHoSo"] == "2"
    assert portal.dossiers[CODE]["ChuHoSo"] == "Nguyễn Văn Ánh"
    services = [
        r.body["service"] for r in portal.requests if isinstance(r.body, dict) and "service" in r.body
    ]
    assert services == ["TraCuuHoSo", "DongBoHoSoMC"]
    [push] = portal.calls("DongBoHoSoMC")
    assert push["isUpdating"] == "False"
    assert push["madonvi"] == MADONVI
    assert push["session"]
    sent = portal.requests[-1]
    assert sent.headers["Dstcode"] == DEFAULT_DSTCODE
    assert sent.headers["Idempotency-Key"] == "sync-1"


def test_a_known_dossier_is_sent_as_an_update(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url)
    connector.call("sync_dossier", dossier(), idempotency_key="sync-1")

    result = connector.call("sync_dossier", dossier(status=4), idempotency_key="sync-2")

    assert result["action"] == "updated"
    assert portal.dossiers[CODE]["TrangThaiHoSo"] == "4"
    assert [c["isUpdating"] for c in portal.calls("DongBoHoSoMC")] == ["False", "True"]
    assert portal.logins == 1  # the session is reused


@pytest.mark.parametrize("duplicate_code", [3, -3])
@pytest.mark.parametrize("error_code_as", ["string", "number"])
def test_a_duplicate_dossier_answer_is_resent_as_an_update(make_dvcqg, duplicate_code, error_code_as):
    # The portal's search lags behind its writes: the lookup misses a dossier that exists.
    with PortalSimulator(lookup_lag=60, duplicate_code=duplicate_code, error_code_as=error_code_as) as sim:
        connector = make_dvcqg(sim.adapter_url)
        connector.call("sync_dossier", dossier(), idempotency_key="sync-1")

        result = connector.call("sync_dossier", dossier(status=4), idempotency_key="sync-2")

        assert result["action"] == "updated"
        assert sim.dossiers[CODE]["TrangThaiHoSo"] == "4"
        assert [c["isUpdating"] for c in sim.calls("DongBoHoSoMC")] == ["False", "False", "True"]


def test_progress_is_kept_in_the_order_it_was_sent(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url)
    connector.call("sync_dossier", dossier(), idempotency_key="sync-1")

    for n, (status, note) in enumerate([(2, "Tiếp nhận hồ sơ"), (4, "Chuyển xử lý"), (9, "Đã xử lý xong")]):
        result = connector.call("sync_progress", progress(status=status, note=note), idempotency_key=f"p-{n}")
        assert result == {"code": CODE, "status": status, "message": "Cập nhật tiến độ thành công"}

    assert [(p["TrangThai"], p["NoiDungXuLy"]) for p in portal.progress(CODE)] == [
        ("2", "Tiếp nhận hồ sơ"),
        ("4", "Chuyển xử lý"),
        ("9", "Đã xử lý xong"),
    ]
    assert portal.progress(CODE)[0]["ThoiDiemXuLy"] == "20261125083000"


def test_a_progress_push_retried_after_a_500_is_recorded_once(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url)
    connector.call("sync_dossier", dossier(), idempotency_key="sync-1")
    portal.fail_next(1, status=500, after_effect=True)  # stored, but the answer is lost

    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("sync_progress", progress(), idempotency_key="progress-1")
    assert caught.value.code == 500
    assert "sẽ thử lại" in caught.value.message_vi

    connector.call("sync_progress", progress(), idempotency_key="progress-1")

    assert len(portal.progress(CODE)) == 1
    assert portal.replays == 1


def test_a_500_before_the_portal_acts_records_nothing_and_the_retry_records_once(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url)
    connector.call("sync_dossier", dossier(), idempotency_key="sync-1")
    portal.fail_next(1, status=503)

    with pytest.raises(ConnectorUnavailable):
        connector.call("sync_progress", progress(), idempotency_key="progress-1")
    assert portal.progress(CODE) == []

    connector.call("sync_progress", progress(), idempotency_key="progress-1")
    assert len(portal.progress(CODE)) == 1


def test_a_429_is_transient(portal, make_dvcqg):
    portal.fail_next(1, status=429)

    with pytest.raises(ConnectorUnavailable) as caught:
        make_dvcqg(portal.adapter_url).call("sync_dossier", dossier(), idempotency_key="k")

    assert caught.value.code == 429


def test_different_progress_keys_are_different_events(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url)
    connector.call("sync_dossier", dossier(), idempotency_key="sync-1")

    connector.call("sync_progress", progress(), idempotency_key="a")
    connector.call("sync_progress", progress(), idempotency_key="b")

    assert len(portal.progress(CODE)) == 2


def test_an_expired_session_is_renewed_transparently(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url)
    connector.call("sync_dossier", dossier(), idempotency_key="sync-1")
    portal.expire_sessions()

    result = connector.call("sync_progress", progress(), idempotency_key="progress-1")

    assert result["status"] == 2
    assert portal.logins == 2
    assert len(portal.calls("CapNhatTienDoHoSoMC")) == 2  # refused once for the stale session, then sent
    assert len(portal.progress(CODE)) == 1


def test_a_session_past_its_lifetime_is_renewed_with_a_numeric_error_code(make_dvcqg):
    with PortalSimulator(session_ttl=0.2, error_code_as="number") as sim:
        connector = make_dvcqg(sim.adapter_url)
        connector.call("sync_dossier", dossier(), idempotency_key="sync-1")
        time.sleep(0.3)

        assert connector.call("lookup_dossier", {"code": CODE}, idempotency_key="l")["found"] is True
        assert sim.logins == 2


def test_progress_for_a_dossier_the_portal_does_not_know_yet_is_retried_later(portal, make_dvcqg):
    with pytest.raises(ConnectorUnavailable) as caught:
        make_dvcqg(portal.adapter_url).call("sync_progress", progress(), idempotency_key="p")

    assert "chưa có hồ sơ" in caught.value.message_vi


def test_a_reply_slower_than_the_timeout_is_transient_and_the_retry_is_not_duplicated(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url, timeout=0.3)
    connector.call("sync_dossier", dossier(), idempotency_key="sync-1")
    portal.delay_next(1, seconds=1.0)

    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("sync_progress", progress(), idempotency_key="progress-1")
    assert time.monotonic() - started < 0.9
    assert "không trả lời kịp" in caught.value.message_vi

    connector.call("sync_progress", progress(), idempotency_key="progress-1")
    assert len(portal.progress(CODE)) == 1


def test_a_portal_that_is_down_is_transient(closed_port, make_dvcqg):
    connector = make_dvcqg(f"http://127.0.0.1:{closed_port}/XrdAdapter/RestService/forward")

    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("sync_dossier", dossier(), idempotency_key="k")

    assert "Không kết nối được" in caught.value.message_vi


def test_an_unknown_procedure_code_is_a_permanent_rejection(portal, make_dvcqg):
    with pytest.raises(ConnectorRejected) as caught:
        make_dvcqg(portal.adapter_url).call(
            "sync_dossier", dossier(procedure_code="TTHC-XA-09"), idempotency_key="k"
        )

    assert "không có trong danh mục" in caught.value.message_vi
    assert caught.value.code == -1
    assert portal.dossiers == {}


def test_a_procedure_in_the_configured_catalogue_is_accepted(make_dvcqg):
    with PortalSimulator(procedures={"TTHC-XA-09"}, procedure_pattern=None) as sim:
        connector = make_dvcqg(sim.adapter_url)
        connector.call("sync_dossier", dossier(procedure_code="TTHC-XA-09"), idempotency_key="a")
        with pytest.raises(ConnectorRejected):
            connector.call("sync_dossier", dossier(code="X-1"), idempotency_key="b")


def test_an_unusable_payload_is_rejected_without_contacting_the_portal(closed_port, make_dvcqg):
    connector = make_dvcqg(f"http://127.0.0.1:{closed_port}")

    with pytest.raises(ConnectorRejected) as caught:
        connector.call("sync_dossier", dossier(status=11), idempotency_key="k")
    assert "không hợp lệ" in caught.value.message_vi and "status" in caught.value.message_vi

    with pytest.raises(ConnectorRejected):
        connector.call("sync_progress", progress(at="hôm qua"), idempotency_key="k")
    with pytest.raises(ConnectorRejected):
        connector.call("lookup_dossier", {"code": ""}, idempotency_key="k")


def test_wrong_credentials_are_a_permanent_rejection(portal, make_dvcqg):
    with pytest.raises(ConnectorRejected) as caught:
        make_dvcqg(portal.adapter_url, password="sai").call("sync_dossier", dossier(), idempotency_key="k")

    assert "từ chối đăng nhập" in caught.value.message_vi
    assert "không đúng" in caught.value.message_vi


def test_a_wrong_dstcode_is_a_permanent_rejection(portal, make_dvcqg):
    with pytest.raises(ConnectorRejected) as caught:
        make_dvcqg(portal.adapter_url, dstcode="VN:GOV:khac").call(
            "sync_dossier", dossier(), idempotency_key="k"
        )

    assert caught.value.code == 400


def test_a_wrong_agency_code_is_a_permanent_rejection(portal, make_dvcqg):
    with pytest.raises(ConnectorRejected) as caught:
        make_dvcqg(portal.adapter_url, madonvi="000.00.99.H99").call(
            "sync_dossier", dossier(), idempotency_key="k"
        )

    assert "madonvi" in caught.value.message_vi


def test_lookup_returns_our_record_or_not_found(portal, make_dvcqg):
    connector = make_dvcqg(portal.adapter_url)
    assert connector.call("lookup_dossier", {"code": CODE}, idempotency_key="l1") == {
        "found": False,
        "dossier": None,
    }

    connector.call("sync_dossier", dossier(), idempotency_key="sync-1")
    result = connector.call("lookup_dossier", {"code": CODE}, idempotency_key="l2")

    assert result["found"] is True
    assert result["dossier"]["code"] == CODE
    assert result["dossier"]["status"] == 2
    assert result["dossier"]["received_at"] == "2026-11-25T08:30:00+07:00"


def test_check_config_is_ok_against_the_simulator(portal, make_dvcqg):
    report = make_dvcqg(portal.adapter_url).check_config()

    assert report.ok is True
    assert MADONVI in report.detail


def test_check_config_is_not_ok_against_a_closed_port(closed_port, make_dvcqg):
    report = make_dvcqg(f"http://127.0.0.1:{closed_port}").check_config()

    assert report.ok is False
    assert "Không kết nối được" in report.detail


def test_check_config_reports_a_wrong_password(portal, make_dvcqg):
    report = make_dvcqg(portal.adapter_url, password="sai").check_config()

    assert report.ok is False
    assert "đăng nhập" in report.detail


@pytest.mark.parametrize(
    "bad",
    [
        {"adapter_url": "ftp://x"},
        {"adapter_url": None},
        {"username": ""},
        {"madonvi": 12},
        {"timeout": 0},
        {"auth_endpoint": "mapi/login"},
        {"session_expired_codes": "-2"},
        {"verify_tls": "no"},
        {"adapter": "typo"},
    ],
)
def test_an_invalid_configuration_is_refused_when_the_connector_is_built(bad):
    config = {"adapter_url": "https://lgsp.example/XrdAdapter/RestService/forward", "username": "u",
              "password": "p", "madonvi": MADONVI, **bad}  # fmt: skip

    with pytest.raises(ValueError):
        DvcqgConnector(config)


def test_the_connector_is_registered_with_its_operations():
    cls = registry.classes()["dvcqg"]

    assert cls is DvcqgConnector and cls.kind == "portal"
    assert {name: op.waits_for_result for name, op in cls.operations.items()} == {
        "sync_dossier": False,
        "sync_progress": False,
        "lookup_dossier": True,
    }
