"""The version diff a reviewer sees at publish time."""

from __future__ import annotations

from engine.procedures.diff import diff_versions
from tests.engine.procedures.models import linear


def test_the_diff_lists_tasks_forms_lanes_budgets_and_deadline_with_a_summary():
    old = linear(step_budgets={"tham_dinh": {"value": 1, "unit": "working_days"}})
    new = linear(tasks=(("tiep_nhan", "Tiếp nhận hồ sơ", "Bộ phận một cửa"),
                        ("tham_dinh", "Thẩm định (mới)", "Chuyên viên"), ("ky", "Ký", "Lãnh đạo")),
                 step_budgets={"tham_dinh": {"value": 2, "unit": "working_days"}},
                 deadline={"value": 5, "unit": "working_days"},
                 lanes={"Bộ phận một cửa": "desk", "Chuyên viên": "specialist", "Lãnh đạo": "leader"})
    new["forms"]["tham-dinh"]["schema"]["properties"]["ghi_chu"] = {"type": "string"}
    new["forms"]["tham-dinh"]["schema"]["properties"]["y_kien"] = {"type": "boolean"}
    new["forms"]["ky"] = new["forms"].pop("phe-duyet")
    diff = diff_versions(old, new)
    assert diff.tasks_added == {"ky": "Ký"} and diff.tasks_removed == {"phe_duyet": "Phê duyệt"}
    assert diff.tasks_renamed == {"tham_dinh": ("Thẩm định hồ sơ", "Thẩm định (mới)")}
    [tham_dinh] = [f for f in diff.forms if f.form == "tham-dinh"]
    assert tham_dinh.fields_added == ["ghi_chu"] and tham_dinh.type_changed == {"y_kien": ("string", "boolean")}
    assert {(f.form, f.status) for f in diff.forms} >= {("ky", "added"), ("phe-duyet", "removed")}
    assert diff.lanes == {"Công dân": ("applicant", None)}
    assert diff.budgets["tham_dinh"][1] == {"value": 2, "unit": "working_days"}
    assert diff.deadline == ({"value": 3, "unit": "working_days"}, {"value": 5, "unit": "working_days"})
    for text in ("thêm bước «Ký» (ky)", "bỏ bước «Phê duyệt»", "Thẩm định (mới)", "ghi_chu", "thời hạn giải quyết"):
        assert text in diff.summary, diff.summary


def test_identical_versions_have_an_empty_diff():
    diff = diff_versions(linear(), linear())
    assert diff.empty and "Không có thay đổi" in diff.summary


def test_a_changed_script_is_listed():
    old = linear()
    new = linear()
    old["bpmn"]["thu_nghiem.bpmn"] = old["bpmn"]["thu_nghiem.bpmn"].replace(
        "</bpmn:process>", '<bpmn:scriptTask id="k"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask></bpmn:process>')
    new["bpmn"]["thu_nghiem.bpmn"] = old["bpmn"]["thu_nghiem.bpmn"].replace("a = 1", "a = 2")
    assert diff_versions(old, new).scripts == ["k"]
