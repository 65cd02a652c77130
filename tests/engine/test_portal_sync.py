"""Every status change reaches the national portal simulator, in order, and reconciliation
re-sends what the portal lacks."""

from __future__ import annotations

import pytest

from engine.portal_sync import reconcile
from integrations.portal.dvcqg_simulator import PortalSimulator
from tests.conftest import with_connectors
from tests.factories import drain_all, submit, work


@pytest.fixture
def portal():
    with PortalSimulator(username="motcua", password="mat-khau", madonvi="000.00.21.H99",
                         procedures=("1.001612",)) as simulator:
        yield simulator


@pytest.fixture
def portal_ctx(ctx, portal):
    return with_connectors(ctx, dvcqg={"adapter_url": portal.adapter_url, "username": "motcua",
                                       "password": "mat-khau", "madonvi": "000.00.21.H99", "timeout": 5})


def test_each_status_change_is_pushed_to_the_portal_in_order(portal_ctx, actors, portal):
    dossier = submit(portal_ctx, actors["congdan"])
    work(portal_ctx, actors["tiepnhan"], dossier.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(portal_ctx, actors["chuyenvien"], dossier.code,
         {"ket_qua_tham_dinh": "bo_sung", "y_kien": "Thiếu", "giay_to_thieu": ["Biên bản họp"]})
    drain_all(portal_ctx)
    statuses = [entry["TrangThai"] for entry in portal.progress(dossier.code)]
    assert statuses == ["1", "2", "4", "5"]
    record = portal.dossiers[dossier.code]
    assert record["TrangThaiHoSo"] == "5" and record["MaTTHC"] == "1.001612"
    assert len(record["NgayHenTra"]) == 14 and record["KenhThucHien"] == "2"


def test_a_progress_push_retried_after_a_server_error_is_recorded_once(portal_ctx, actors, portal):
    dossier = submit(portal_ctx, actors["congdan"])
    portal.fail_next(1, status=500, after_effect=True)
    drain_all(portal_ctx)
    import time

    time.sleep(0.3)  # past the test settings' back-off cap
    drain_all(portal_ctx)
    assert [entry["TrangThai"] for entry in portal.progress(dossier.code)] == ["1"]


def test_reconciliation_resends_dossiers_the_portal_does_not_have(portal_ctx, actors, portal):
    dossier = submit(portal_ctx, actors["congdan"])
    drain_all(portal_ctx)
    portal.clear()
    counts = reconcile(portal_ctx)
    assert counts["missing"] == 1 and counts["checked"] == 1
    drain_all(portal_ctx)
    assert dossier.code in portal.dossiers
