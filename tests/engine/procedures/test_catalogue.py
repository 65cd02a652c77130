"""Published versions are immutable and content-hashed; a dossier runs on the version it started on."""

from __future__ import annotations

import shutil

from engine.bootstrap import load_catalogue
from engine.config import PROJECT_ROOT
from engine.services import get_dossier, get_procedure
from tests.factories import submit, work


def test_an_unchanged_catalogue_publishes_no_new_version(ctx):
    results = load_catalogue(ctx)
    assert results and not any(r.created for r in results)


def test_a_changed_package_becomes_a_new_version_and_running_dossiers_keep_theirs(ctx, actors, tmp_path):
    old = submit(ctx, actors["congdan"])
    before = get_procedure(ctx, "dang-ky-ho-kinh-doanh").version
    root = tmp_path / "processes"
    shutil.copytree(PROJECT_ROOT / "processes" / "dang-ky-ho-kinh-doanh", root / "dang-ky-ho-kinh-doanh")
    bpmn = root / "dang-ky-ho-kinh-doanh" / "dang-ky-ho-kinh-doanh.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace('name="Thẩm định hồ sơ"', 'name="Thẩm định (mới)"'),
                    encoding="utf-8")
    [result] = load_catalogue(ctx, root)
    assert result.created and result.version == before + 1
    new = submit(ctx, actors["congdan"])
    assert get_dossier(ctx, actors["congdan"], new.code).procedure_version == before + 1
    assert get_dossier(ctx, actors["congdan"], old.code).procedure_version == before
    work(ctx, actors["tiepnhan"], old.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    work(ctx, actors["tiepnhan"], new.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    from engine.services import list_inbox

    titles = {t.dossier_code: t.title for t in list_inbox(ctx, actors["chuyenvien"])}
    assert titles == {old.code: "Thẩm định hồ sơ", new.code: "Thẩm định (mới)"}
    # Publishing the original folder again makes its (existing) version current again.
    [restored] = [r for r in load_catalogue(ctx, PROJECT_ROOT / "processes") if r.slug == "dang-ky-ho-kinh-doanh"]
    assert not restored.created and restored.version == before
    assert get_procedure(ctx, "dang-ky-ho-kinh-doanh").version == before


def test_a_spiffarena_process_model_runs_a_dossier_to_its_end(ctx, actors):
    from engine.services import submit_dossier

    [result] = load_catalogue(ctx, PROJECT_ROOT / "tests" / "fixtures" / "spiffarena")
    assert result.slug == "giay-xac-nhan-cu-tru"
    dossier = submit_dossier(ctx, actors["congdan"], "giay-xac-nhan-cu-tru",
                             {"name": "Phạm Thị Công Dân", "phone": "0912345678"},
                             {"ho_ten": "Phạm Thị Công Dân", "so_dinh_danh": "001090000001",
                              "noi_cu_tru": "Phường Hòa Bình, tỉnh Demo", "noi_dung_de_nghi": "Xác nhận cư trú"})
    work(ctx, actors["tiepnhan"], dossier.code, {"da_doi_chieu_danh_tinh": True})
    work(ctx, actors["chuyenvien"], dossier.code, {"ket_qua_xac_minh": "co_thong_tin",
                                                   "noi_dung_xac_nhan": "Thường trú tại phường Hòa Bình"})
    final = get_dossier(ctx, actors["congdan"], dossier.code)
    assert final.status == "returned" and final.finished_at is not None
