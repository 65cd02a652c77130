"""Moving running dossiers to a newer procedure version: plan, migrate, finish on the new model."""

from __future__ import annotations

import uuid

import pytest

from engine.db import transaction
from engine.errors import Forbidden
from engine.procedures.catalogue import publish
from engine.procedures.migration import migrate, plan_migration
from engine.services import get_dossier, submit_dossier
from tests.engine.procedures.models import linear
from tests.factories import APPLICANT, work


def _versions(pid: str) -> tuple[dict, dict]:
    v1 = linear(pid=pid)
    v2 = linear(pid=pid, tasks=(("tiep_nhan", "Tiếp nhận hồ sơ", "Bộ phận một cửa"),
                                ("tham_dinh", "Thẩm định hồ sơ (sửa)", "Chuyên viên")))
    v2["forms"]["tham-dinh"]["schema"]["properties"]["ghi_chu_them"] = {"type": "string", "title": "Ghi chú thêm"}
    return v1, v2


def _publish(ctx, package):
    with transaction(ctx.sessions) as session:
        return publish(session, package, published_by="test")


def test_movable_dossiers_move_to_the_new_version_and_the_rest_finish_on_theirs(ctx, actors):
    pid = f"di_tru_{uuid.uuid4().hex[:6]}"
    v1, v2 = _versions(pid)
    first = _publish(ctx, v1)
    slug = v1["procedure"]["slug"]

    def start():
        return submit_dossier(ctx, actors["congdan"], slug, dict(APPLICANT), {"noi_dung": "Đề nghị"}).code

    at_reception, at_appraisal, at_approval = start(), start(), start()
    work(ctx, actors["tiepnhan"], at_appraisal, {"y_kien": "dat"})
    work(ctx, actors["tiepnhan"], at_approval, {"y_kien": "dat"})
    work(ctx, actors["chuyenvien"], at_approval, {"y_kien": "dat"})
    second = _publish(ctx, v2)
    assert second.version == first.version + 1

    plan = plan_migration(ctx, slug, second.version)
    groups = {group.task_id: group for group in plan.groups}
    assert set(groups) == {"tiep_nhan", "tham_dinh", "phe_duyet"}
    assert {i.dossier_code for i in plan.movable} == {at_reception, at_appraisal}
    [blocked] = groups["phe_duyet"].items
    assert not blocked.movable and "phe_duyet" in blocked.reason

    with pytest.raises(Forbidden):
        migrate(ctx, actors["chuyenvien"], [i.id for i in plan.items])
    results = {r.dossier_code: r for r in migrate(ctx, actors["quantri"], [i.id for i in plan.items])}
    assert results[at_reception].migrated and results[at_appraisal].migrated
    assert not results[at_approval].migrated

    moved = get_dossier(ctx, actors["quantri"], at_appraisal)
    assert moved.procedure_version == second.version
    assert any(e["kind"] == "migrated" and e["data"]["from_version"] == first.version for e in moved.history)
    assert get_dossier(ctx, actors["quantri"], at_approval).procedure_version == first.version

    task, _view = work(ctx, actors["chuyenvien"], at_appraisal, {"y_kien": "dat", "ghi_chu_them": "mới"})
    assert task.title == "Thẩm định hồ sơ (sửa)"
    work(ctx, actors["tiepnhan"], at_reception, {"y_kien": "dat"})
    work(ctx, actors["chuyenvien"], at_reception, {"y_kien": "dat"})
    work(ctx, actors["lanhdao"], at_approval, {"y_kien": "dat"})  # v1 still has the approval step
    for code in (at_reception, at_appraisal, at_approval):
        final = get_dossier(ctx, actors["quantri"], code)
        assert final.status == "returned" and final.finished_at is not None
    assert plan_migration(ctx, slug, second.version).items == []


def test_a_new_required_field_without_default_blocks_the_move(ctx, actors):
    pid = f"di_tru_{uuid.uuid4().hex[:6]}"
    v1, v2 = _versions(pid)
    v2["forms"]["tiep-nhan"]["schema"]["properties"]["so_ban"] = {"type": "integer", "title": "Số bản"}
    v2["forms"]["tiep-nhan"]["schema"]["required"].append("so_ban")
    _publish(ctx, v1)
    slug = v1["procedure"]["slug"]
    code = submit_dossier(ctx, actors["congdan"], slug, dict(APPLICANT), {"noi_dung": "Đề nghị"}).code
    second = _publish(ctx, v2)
    [item] = plan_migration(ctx, slug, second.version).items
    assert not item.movable and "so_ban" in item.reason
    [result] = migrate(ctx, actors["quantri"], [item.id])
    assert not result.migrated
    assert get_dossier(ctx, actors["quantri"], code).procedure_version == second.version - 1
