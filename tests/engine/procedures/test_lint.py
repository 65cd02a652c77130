"""One-stop-shop lint rules: each rule on a failing and a passing model; the shipped procedures lint clean."""

from __future__ import annotations

import pytest

from engine.config import PROJECT_ROOT
from engine.procedures.catalogue import procedure_folders
from engine.procedures.lint import ERROR, INFO, WARNING, lint_package
from engine.procedures.package import read_package
from tests.engine.procedures.models import event, flow, lanes, linear, package, user_task


def findings(pkg, rule_code: str, severity: str | None = None):
    return [f for f in lint_package(pkg) if f.rule == rule_code and (severity is None or f.severity == severity)]


def test_a_clean_linear_model_has_no_errors_or_warnings():
    assert [f for f in lint_package(linear()) if f.severity != INFO] == []


def test_a_user_task_in_an_unmapped_lane_is_an_error_at_the_task():
    pkg = linear(lanes={"Bộ phận một cửa": "desk", "Chuyên viên": "specialist"})
    [finding] = findings(pkg, "lan-vai-tro")
    assert finding.severity == ERROR and finding.element_id == "phe_duyet" and "Lãnh đạo" in finding.message
    assert finding.file == "thu_nghiem.bpmn" and finding.line


def test_a_user_task_in_no_lane_is_an_error():
    body = (event("startEvent", "s") + user_task("t", "Việc") + event("endEvent", "e", dossierStatus="returned")
            + flow("s", "t") + flow("t", "e"))
    [finding] = findings(package(body), "lan-vai-tro")
    assert finding.element_id == "t" and "không nằm trong lane" in finding.message


def test_an_end_without_an_outcome_status_is_an_error():
    [finding] = findings(linear(end_status="processing"), "ket-thuc")
    assert finding.severity == ERROR and finding.element_id == "ket_thuc"


def test_dead_ends_and_unreachable_elements_are_reported():
    body = (lanes({"Bộ phận một cửa": ["t", "mo_coi"]}) + event("startEvent", "s") + user_task("t", "Việc")
            + user_task("mo_coi", "Bước mồ côi") + flow("s", "t"))
    found = {(f.element_id, f.severity) for f in findings(package(body), "ket-thuc")}
    assert ("t", ERROR) in found  # dead end: no outgoing flow, not an end event
    assert ("mo_coi", WARNING) in found  # unreachable from the start


def test_an_unknown_dossier_status_is_an_error():
    [finding] = findings(linear(end_status="da_xong"), "trang-thai")
    assert "da_xong" in finding.message


def _gateway_model(label: str) -> dict:
    body = (lanes({"Bộ phận một cửa": ["t", "gw"]}) + event("startEvent", "s") + user_task("t", "Việc", "tiep-nhan")
            + '<bpmn:exclusiveGateway id="gw" name="Đạt?" />'
            + event("endEvent", "ok", dossierStatus="returned") + event("endEvent", "no", dossierStatus="refused")
            + flow("s", "t") + flow("t", "gw") + flow("gw", "ok", "Đạt", 'y_kien == "dat"')
            + flow("gw", "no", label, 'y_kien != "dat"'))
    return package(body)


def test_an_unlabelled_gateway_flow_is_a_warning():
    [finding] = findings(_gateway_model(""), "nhan-luong")
    assert finding.severity == WARNING and finding.element_id == "f_gw_no"
    assert findings(_gateway_model("Không đạt"), "nhan-luong") == []


def test_budgets_over_the_deadline_are_an_error_with_the_longest_path():
    budgets = {"tiep_nhan": {"value": 0.5, "unit": "working_days"}, "tham_dinh": {"value": 2, "unit": "working_days"},
               "phe_duyet": {"value": 4, "unit": "working_hours"}}
    [finding] = findings(linear(step_budgets=budgets), "ngan-sach", ERROR)
    assert finding.element_id == "ket_thuc" and "tiep_nhan" in finding.message and "phe_duyet" in finding.message
    budgets["phe_duyet"] = {"value": 0.5, "unit": "working_days"}
    assert findings(linear(step_budgets=budgets), "ngan-sach", ERROR) == []
    [info] = findings(linear(step_budgets=budgets), "ngan-sach", INFO)
    assert "22,5 giờ" in info.message  # 0.5 + 2 + 0.5 working days, exactly the deadline


def test_same_day_and_calendar_day_deadlines_are_counted_in_office_hours():
    budgets = {"tiep_nhan": {"value": 1, "unit": "working_hours"}, "tham_dinh": {"value": 7, "unit": "working_hours"}}
    assert findings(linear(step_budgets=budgets, deadline={"value": 0, "unit": "same_day"}), "ngan-sach", ERROR)
    budgets["tham_dinh"] = {"value": 6, "unit": "working_hours"}
    assert not findings(linear(step_budgets=budgets, deadline={"value": 0, "unit": "same_day"}), "ngan-sach", ERROR)
    assert not findings(linear(step_budgets=budgets, deadline={"value": 1, "unit": "days"}), "ngan-sach", ERROR)


def test_a_deadline_rule_switches_the_limit_and_an_unknown_rule_is_an_error():
    budgets = {"tham_dinh": {"value": 5, "unit": "working_days"}}
    tasks = (("tiep_nhan", "Tiếp nhận", "Bộ phận một cửa"), ("tham_dinh", "Xác minh", "Chuyên viên"))
    body_pkg = linear(tasks=tasks, step_budgets=budgets, deadline_rules={"xac_minh": {"value": 5, "unit": "working_days"}})
    assert findings(body_pkg, "ngan-sach", ERROR)  # 5 > 3 under the main deadline
    xml = body_pkg["bpmn"]["thu_nghiem.bpmn"].replace(
        'name="formJsonSchemaFilename" value="tham-dinh-schema.json" />',
        'name="formJsonSchemaFilename" value="tham-dinh-schema.json" /><spiffworkflow:property name="deadlineRule" '
        'value="xac_minh" />')
    body_pkg["bpmn"]["thu_nghiem.bpmn"] = xml
    assert not findings(body_pkg, "ngan-sach", ERROR)
    body_pkg["procedure"]["deadline_rules"] = {}
    assert any("xac_minh" in f.message and f.element_id == "tham_dinh" for f in findings(body_pkg, "ngan-sach", ERROR))


def test_impossible_paths_do_not_count_toward_the_budget():
    # Two gateways test the same condition: the long branch of the second is only reachable
    # when the first took its "yes" branch, which switches to the longer deadline.
    body = (lanes({"Chuyên viên": ["s", "g1", "rule", "g2", "dai", "ngan", "e"]}) + event("startEvent", "s")
            + '<bpmn:exclusiveGateway id="g1" /><bpmn:exclusiveGateway id="g2" /><bpmn:exclusiveGateway id="j" />'
            + event("intermediateThrowEvent", "rule", deadlineRule="dai")
            + user_task("dai", "Bước dài", "tham-dinh") + user_task("ngan", "Bước ngắn", "tham-dinh")
            + event("endEvent", "e", dossierStatus="returned")
            + flow("s", "g1") + flow("g1", "rule", "Có", "lien_thong") + flow("g1", "j", "Không", "not lien_thong")
            + flow("rule", "j") + flow("j", "g2") + flow("g2", "dai", "Có", "lien_thong")
            + flow("g2", "ngan", "Không", "not lien_thong") + flow("dai", "e") + flow("ngan", "e"))
    pkg = package(body, deadline_rules={"dai": {"value": 5, "unit": "working_days"}},
                  step_budgets={"dai": {"value": 4, "unit": "working_days"}, "ngan": {"value": 1, "unit": "working_days"}})
    assert findings(pkg, "ngan-sach", ERROR) == []


def _consultation(**budgets: dict) -> dict:
    """tham_dinh 1 → hoi (another agency's answer) 1,5 → du_thao 1,5 working days → result, in 3 working days."""
    tasks = (("tham_dinh", "Thẩm định", "Chuyên viên"), ("hoi", "Cho ý kiến", "Chuyên viên"),
             ("du_thao", "Dự thảo", "Chuyên viên"))
    days = {"tham_dinh": 1, "hoi": 1.5, "du_thao": 1.5}
    pkg = linear(tasks=tasks, step_budgets={k: {"value": v, "unit": "working_days", **budgets.get(k, {})}
                                            for k, v in days.items()})
    pkg["forms"].update({name: pkg["forms"]["tham-dinh"] for name in ("hoi", "du-thao")})
    return pkg


def test_a_budget_since_an_earlier_step_replaces_the_budgets_from_that_step_on():
    [error] = findings(_consultation(), "ngan-sach", ERROR)  # 1 + 1,5 + 1,5 > 3 working days
    assert "hoi 11,25 + du_thao 11,25" in error.message
    pkg = _consultation(du_thao={"since": "hoi"})  # the consultation's 1,5 days lie inside the drafting's
    assert [f for f in lint_package(pkg) if f.rule == "ngan-sach" and f.severity != INFO] == []
    [info] = findings(pkg, "ngan-sach", INFO)
    assert "[tham_dinh 7,5 + hoi→du_thao 11,25 giờ]" in info.message


def test_a_budget_since_an_unknown_a_later_or_an_unrecorded_element_is_reported_at_the_step():
    unknown, overflow = findings(_consultation(du_thao={"since": "hoi_y_kien"}), "ngan-sach", ERROR)
    assert unknown.element_id == "du_thao" and "'hoi_y_kien'" in unknown.message
    assert "không có phần tử" in unknown.message
    assert overflow.element_id == "ket_thuc"  # not honoured: the budgets add up as without `since`
    [later] = findings(_consultation(tham_dinh={"since": "du_thao"}), "ngan-sach", WARNING)
    assert later.element_id == "tham_dinh" and "«Dự thảo» không bao giờ đi trước" in later.message
    [unrecorded] = findings(_consultation(du_thao={"since": "bat_dau"}), "ngan-sach", WARNING)
    assert unrecorded.element_id == "du_thao" and "không phải tác vụ có người xử lý" in unrecorded.message
    [itself] = findings(_consultation(du_thao={"since": "du_thao"}), "ngan-sach", WARNING)
    assert "chính nó" in itself.message
    assert findings(_consultation(du_thao={"since": "bat_dau"}), "ngan-sach", ERROR)
    assert findings(_consultation(du_thao={"since": None}), "ngan-sach", WARNING) == []


def test_a_budget_since_a_step_before_a_supplement_restart_counts_only_from_the_restart():
    body = (lanes({"Chuyên viên": ["s", "tham_dinh", "gw", "yeu_cau", "bo_sung", "du_thao", "e"]})
            + event("startEvent", "s") + user_task("tham_dinh", "Thẩm định", "tham-dinh")
            + '<bpmn:exclusiveGateway id="gw" />' + event("intermediateThrowEvent", "yeu_cau", "Yêu cầu bổ sung",
                                                           dossierStatus="supplement_requested")
            + user_task("bo_sung", "Bổ sung", "tham-dinh") + user_task("du_thao", "Dự thảo", "tham-dinh")
            + event("endEvent", "e", dossierStatus="returned")
            + flow("s", "tham_dinh") + flow("tham_dinh", "gw") + flow("gw", "yeu_cau", "Bổ sung", 'y_kien == "bs"')
            + flow("gw", "du_thao", "Đủ", 'y_kien != "bs"') + flow("yeu_cau", "bo_sung") + flow("bo_sung", "du_thao")
            + flow("du_thao", "e"))
    budgets = {"tham_dinh": {"value": 2, "unit": "working_days"}, "bo_sung": {"value": 2, "unit": "working_days"},
               "du_thao": {"value": 2.5, "unit": "working_days", "since": "tham_dinh"}}
    # Without a supplement du_thao's 2,5 days include the appraisal; after one, tham_dinh is before the
    # restart: bo_sung 2 + du_thao 2,5 count, over 3 days.
    [error] = findings(package(body, step_budgets=budgets), "ngan-sach", ERROR)
    assert "[bo_sung 15 + du_thao 18,75 giờ]" in error.message


def test_an_unregistered_connector_operation_is_an_error():
    body = (lanes({"Bộ phận một cửa": ["gui"]}) + event("startEvent", "s")
            + '<bpmn:serviceTask id="gui" name="Gửi"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator '
              'id="fax/send" resultVariable="kq" /></bpmn:extensionElements></bpmn:serviceTask>'
            + event("endEvent", "e", dossierStatus="returned") + flow("s", "gui") + flow("gui", "e"))
    [finding] = findings(package(body), "ket-noi")
    assert finding.element_id == "gui" and "fax/send" in finding.message
    assert findings(package(body.replace("fax/send", "email/send")), "ket-noi") == []


def test_missing_forms_broken_forms_and_templates_are_errors():
    pkg = linear()
    del pkg["forms"]["tham-dinh"]
    pkg["forms"]["phe-duyet"]["schema"] = {"type": "object", "properties": {"x": {"type": 5}}}
    pkg["bpmn"]["thu_nghiem.bpmn"] = pkg["bpmn"]["thu_nghiem.bpmn"].replace(
        'value="returned" />', 'value="returned" /><spiffworkflow:property name="document" value="giay-khong-co" />')
    found = findings(pkg, "bieu-mau")
    assert any(f.element_id == "tham_dinh" for f in found)
    assert any(f.file == "forms/phe-duyet-schema.json" for f in found)
    assert any(f.element_id == "ket_thuc" and "giay-khong-co" in f.message for f in found)
    assert findings(linear(), "bieu-mau") == []


def test_scripts_refused_by_the_restricted_evaluator_are_errors():
    body = (lanes({"Bộ phận một cửa": ["k"]}) + event("startEvent", "s")
            + '<bpmn:scriptTask id="k" name="Tính"><bpmn:script>x = __import__("os")</bpmn:script></bpmn:scriptTask>'
            + event("endEvent", "e", dossierStatus="returned") + flow("s", "k") + flow("k", "e"))
    [finding] = findings(package(body), "kich-ban")
    assert finding.element_id == "k"
    assert findings(package(body.replace('__import__("os")', "1 + 1")), "kich-ban") == []


def test_malformed_bpmn_is_one_located_error():
    pkg = linear()
    pkg["bpmn"]["thu_nghiem.bpmn"] = pkg["bpmn"]["thu_nghiem.bpmn"].replace("<bpmn:userTask", "<bpmn:userTask <<", 1)
    [finding] = lint_package(pkg)
    assert finding.rule == "mo-hinh" and "thu_nghiem.bpmn" in finding.message


@pytest.mark.parametrize("folder", procedure_folders(PROJECT_ROOT / "processes"), ids=lambda p: p.name)
def test_the_shipped_procedures_lint_clean(folder):
    assert {(f.rule, f.element_id) for f in lint_package(read_package(folder)) if f.severity != INFO} == set()


def test_the_building_permits_consultation_window_lies_inside_the_drafting_days():
    [info] = findings(read_package(PROJECT_ROOT / "processes" / "cap-giay-phep-xay-dung"), "ngan-sach", INFO)
    assert "lay_y_kien→du_thao 15" in info.message and "52,5 giờ" in info.message  # 0,5 + 3 + 2 + 1 + 0,5
