"""Procedure packages: located errors for every kind of mistake, and SpiffArena folders import."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.config import PROJECT_ROOT
from engine.errors import ProcedureInvalid
from engine.procedures.catalogue import load_folder
from engine.procedures.package import content_hash, read_package
from engine.scripting import RestrictedEvaluator
from integrations import registry

HKD = PROJECT_ROOT / "processes" / "dang-ky-ho-kinh-doanh"
SPIFFARENA = PROJECT_ROOT / "tests" / "fixtures" / "spiffarena" / "giay-xac-nhan-cu-tru"
BPMN = "dang-ky-ho-kinh-doanh.bpmn"


def validate(folder: Path) -> list[str]:
    try:
        load_folder(folder, operations=registry.operations(), check_script=RestrictedEvaluator().check)
    except ProcedureInvalid as exc:
        return exc.problems
    return []


@pytest.fixture
def copy(tmp_path) -> Path:
    target = tmp_path / "dang-ky-ho-kinh-doanh"
    shutil.copytree(HKD, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_household_business_package_is_valid():
    assert validate(HKD) == []


def test_malformed_xml_is_reported_with_file_and_line(copy):
    edit(copy / BPMN, "<bpmn:userTask id=\"tham_dinh\"", "<bpmn:userTask id=\"tham_dinh\" <<")
    [problem] = validate(copy)
    assert BPMN in problem and "line" in problem and "invalid XML" in problem


def test_entity_declarations_are_refused(copy):
    text = (copy / BPMN).read_text(encoding="utf-8")
    (copy / BPMN).write_text(text.replace("?>", '?><!DOCTYPE x [<!ENTITY a "aaaa">]>', 1), encoding="utf-8")
    [problem] = validate(copy)
    assert "DOCTYPE" in problem


def test_unknown_process_id_is_reported(copy):
    edit(copy / "procedure.json", '"process_id": "dang_ky_ho_kinh_doanh"', '"process_id": "khong_ton_tai"')
    [problem] = validate(copy)
    assert "khong_ton_tai" in problem and "dang_ky_ho_kinh_doanh" in problem


def test_missing_form_file_is_reported_at_its_task(copy):
    (copy / "forms" / "tham-dinh-schema.json").unlink()
    problems = validate(copy)
    assert any("tham_dinh" in p and "tham-dinh-schema.json" in p and "not found" in p for p in problems), problems


def test_unmapped_lane_is_reported_at_its_task(copy):
    meta = json.loads((copy / "procedure.json").read_text(encoding="utf-8"))
    del meta["lanes"]["Lãnh đạo"]
    (copy / "procedure.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    problems = validate(copy)
    assert any("phe_duyet" in p and "Lãnh đạo" in p and "not mapped" in p for p in problems), problems


def test_unknown_connector_operation_is_reported(copy):
    edit(copy / BPMN, 'id="email/send"', 'id="fax/send"')
    problems = validate(copy)
    assert any("thong_bao_ket_qua" in p and "fax/send" in p for p in problems), problems


def test_hostile_script_is_reported_before_it_ever_runs(copy):
    edit(copy / BPMN, 'bo_sung_tu = "tiep_nhan"', "bo_sung_tu = __import__('os').system('id')")
    problems = validate(copy)
    assert any("yeu_cau_bo_sung_tiep_nhan" in p for p in problems), problems


def test_invalid_json_schema_is_reported(copy):
    (copy / "forms" / "phe-duyet-schema.json").write_text('{"type": "object", "properties": {"x": {"type": 5}}}')
    problems = validate(copy)
    assert any("phe-duyet-schema.json" in p for p in problems), problems


def test_unknown_dossier_status_is_reported(copy):
    edit(copy / BPMN, 'value="returned"', 'value="da_xong"')
    problems = validate(copy)
    assert any("da_xong" in p for p in problems), problems


def test_content_hash_changes_with_content_and_only_with_content(copy):
    first = content_hash(read_package(copy))
    assert content_hash(read_package(copy)) == first
    edit(copy / BPMN, 'name="Thẩm định hồ sơ"', 'name="Thẩm định hồ sơ (sửa)"')
    assert content_hash(read_package(copy)) != first


def test_a_spiffarena_process_model_folder_imports_unchanged():
    assert validate(SPIFFARENA) == []
    package = read_package(SPIFFARENA)
    assert package["procedure"]["format"] == "spiffarena"
    assert package["procedure"]["process_id"]
    assert {"to-khai", "tiep-nhan", "xac-minh"} <= set(package["forms"])
