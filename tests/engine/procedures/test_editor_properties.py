"""Lane roles and step budgets travel to the diagram editor as BPMN properties and come back into procedure.json."""

from __future__ import annotations

import pytest
from lxml import etree

from engine.procedures.editor_properties import (
    EditorPropertyError,
    main_bpmn_file,
    merge_into_meta,
    parse_budget,
    read_editor_properties,
    with_editor_properties,
)
from engine.procedures.graph import BPMN_NS, SPIFF_NS, read_graph
from engine.runtime.specs import build_specs
from tests.engine.procedures.models import linear

FILE = "thu_nghiem.bpmn"


def _editor_xml(pkg=None, budgets=None):
    pkg = pkg or linear()
    meta = pkg["procedure"]
    return with_editor_properties(pkg["bpmn"][FILE], FILE, meta["lanes"],
                                  budgets if budgets is not None else meta["step_budgets"])


def _own_properties(xml: str, element_id: str) -> dict[str, str]:
    root = etree.fromstring(xml.encode())
    element = root.find(f".//*[@id='{element_id}']")
    return {p.get("name"): p.get("value") for p in
            element.findall(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")}


def test_each_lane_gets_its_role_and_each_budgeted_step_its_budget_as_properties():
    xml = _editor_xml(budgets={"tham_dinh": {"value": 1.5, "unit": "working_days"},
                               "phe_duyet": {"value": 2.0, "unit": "working_hours"}})
    assert _own_properties(xml, "lane_0") == {"role": "desk"}
    assert _own_properties(xml, "lane_1") == {"role": "specialist"}
    assert _own_properties(xml, "tham_dinh") == {"formJsonSchemaFilename": "tham-dinh-schema.json",
                                                 "stepBudget": "1.5 working_days"}
    assert _own_properties(xml, "phe_duyet")["stepBudget"] == "2 working_hours"
    assert "stepBudget" not in _own_properties(xml, "tiep_nhan")


def test_a_lane_worked_by_another_agency_carries_the_agency_too():
    pkg = linear(lanes={"Bộ phận một cửa": "desk", "Chuyên viên": {"role": "specialist", "agency": "000.00.24.H99"},
                        "Lãnh đạo": "leader"})
    xml = _editor_xml(pkg)
    assert _own_properties(xml, "lane_1") == {"role": "specialist", "agency": "000.00.24.H99"}
    assert read_editor_properties(xml, FILE).lanes["Chuyên viên"] == {"role": "specialist", "agency": "000.00.24.H99"}


def test_reading_the_editor_xml_back_gives_the_lanes_and_budgets_and_a_file_without_them():
    budgets = {"tiep_nhan": {"value": 0.5, "unit": "working_days"}, "tham_dinh": {"value": 1, "unit": "same_day"}}
    pkg = linear()
    read = read_editor_properties(_editor_xml(pkg, budgets), FILE)
    assert read.lanes == {"Bộ phận một cửa": "desk", "Chuyên viên": "specialist", "Lãnh đạo": "leader"}
    assert read.step_budgets == budgets
    assert "stepBudget" not in read.xml and 'name="role"' not in read.xml
    assert _own_properties(read.xml, "tham_dinh") == {"formJsonSchemaFilename": "tham-dinh-schema.json"}
    assert read.process_ids == ["thu_nghiem"]
    assert {"tiep_nhan", "lane_0", "f_tiep_nhan_tham_dinh"} <= read.element_ids
    build_specs({FILE: read.xml}, "thu_nghiem")  # the engine still runs what is stored


def test_a_file_without_the_spiffworkflow_namespace_gets_it_declared_once_at_the_top():
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/'
           '20100524/MODEL" xmlns:xsd="http://www.w3.org/2001/XMLSchema" id="d" targetNamespace="x">'
           '<bpmn:itemDefinition id="i" structureRef="xsd:string"/>'
           '<bpmn:process id="p" isExecutable="true"><bpmn:laneSet id="ls"><bpmn:lane id="l" name="Một cửa">'
           '<bpmn:documentation>Ghi chú</bpmn:documentation><bpmn:flowNodeRef>t</bpmn:flowNodeRef></bpmn:lane>'
           '</bpmn:laneSet><bpmn:userTask id="t" name="Tiếp nhận"/></bpmn:process></bpmn:definitions>')
    out = with_editor_properties(xml, "x.bpmn", {"Một cửa": "desk"}, {"t": {"value": 4, "unit": "working_hours"}})
    assert out.count(f'xmlns:spiffworkflow="{SPIFF_NS}"') == 1 and "ns0" not in out
    assert 'xmlns:xsd="http://www.w3.org/2001/XMLSchema"' in out  # used only inside an attribute value: kept
    lane = etree.fromstring(out.encode()).find(f".//{{{BPMN_NS}}}lane")
    assert [etree.QName(child).localname for child in lane] == ["documentation", "extensionElements", "flowNodeRef"]
    assert read_editor_properties(out, "x.bpmn").step_budgets == {"t": {"value": 4, "unit": "working_hours"}}


def test_a_budget_counted_from_an_earlier_step_survives_the_round_trip_through_the_editor():
    budgets = {"tham_dinh": {"value": 1, "unit": "working_days"},
               "phe_duyet": {"value": 1.5, "unit": "working_days", "since": "tham_dinh"}}
    xml = _editor_xml(budgets=budgets)
    assert _own_properties(xml, "phe_duyet")["stepBudget"] == "1.5 working_days since tham_dinh"
    read = read_editor_properties(xml, FILE)
    assert read.step_budgets == budgets and "since" not in read.xml
    meta = merge_into_meta(linear()["procedure"], read, {})
    assert meta["step_budgets"]["phe_duyet"] == {"value": 1.5, "unit": "working_days", "since": "tham_dinh"}


def test_writing_twice_updates_the_property_instead_of_adding_another():
    once = _editor_xml(budgets={"tham_dinh": {"value": 1, "unit": "working_days"}})
    twice = with_editor_properties(once, FILE, {"Chuyên viên": "leader"}, {"tham_dinh": {"value": 2, "unit": "days"}})
    assert _own_properties(twice, "lane_1") == {"role": "leader"}
    assert _own_properties(twice, "tham_dinh")["stepBudget"] == "2 days"
    assert twice.count('name="stepBudget"') == 1


@pytest.mark.parametrize(("text", "amount"), [
    ("0.5 working_days", {"value": 0.5, "unit": "working_days"}),
    ("0,5 working_days", {"value": 0.5, "unit": "working_days"}),
    (" 3   days ", {"value": 3, "unit": "days"}),
    ("same_day", {"value": 1, "unit": "same_day"}),
    ("2 working_days since lay_y_kien", {"value": 2, "unit": "working_days", "since": "lay_y_kien"}),
    (" 0,5  working_hours  since  Activity_1x.y-2 ", {"value": 0.5, "unit": "working_hours", "since": "Activity_1x.y-2"}),
    ("same_day since tiep_nhan", {"value": 1, "unit": "same_day", "since": "tiep_nhan"}),
])
def test_a_budget_reads_a_number_with_a_decimal_point_or_comma_and_a_calendar_unit(text, amount):
    assert parse_budget(text) == amount


@pytest.mark.parametrize("text", ["", "2", "hai working_days", "-1 working_days", "2 weeks", "1e309 days",
                                  "2 working_days since", "2 working_days since a b", "2 working_days tu lay_y_kien"])
def test_a_budget_without_a_number_and_a_known_unit_is_refused_in_vietnamese(text):
    with pytest.raises(ValueError, match="không hợp lệ"):
        parse_budget(text)


def test_an_unknown_role_and_an_unreadable_budget_are_refused_with_file_line_and_element():
    xml = _editor_xml().replace('value="specialist"', 'value="tester"')
    xml = xml.replace('<bpmn:userTask id="tham_dinh" name="Thẩm định hồ sơ"><bpmn:extensionElements>'
                      '<spiffworkflow:properties>',
                      '<bpmn:userTask id="tham_dinh" name="Thẩm định hồ sơ"><bpmn:extensionElements>'
                      '<spiffworkflow:properties><spiffworkflow:property name="stepBudget" value="mai"/>')
    with pytest.raises(EditorPropertyError) as caught:
        read_editor_properties(xml, FILE)
    role, budget = caught.value.problems
    assert role.startswith(f"{FILE}, dòng ") and "lane_1" in role and "'tester'" in role
    assert ", tham_dinh: thời gian bước «mai» không hợp lệ" in budget


@pytest.mark.parametrize(("xml", "expected"), [
    ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><d>&a;</d>', "DOCTYPE/ENTITY"),
    ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">\n<bpmn:process>',
     "dòng 2: XML không hợp lệ"),
    ("<html><body/></html>", "bpmn:definitions"),
    ("x" * (5 * 1024 * 1024 + 1), "lớn hơn 5 MiB"),
])
def test_malformed_hostile_or_foreign_xml_is_refused_with_a_located_vietnamese_message(xml, expected):
    with pytest.raises(EditorPropertyError) as caught:
        read_editor_properties(xml, "so-do.bpmn")
    [problem] = caught.value.problems
    assert problem.startswith("so-do.bpmn") and expected in problem


def test_from_the_editor_a_lane_or_step_without_the_property_loses_its_role_or_budget():
    pkg = linear(step_budgets={"tham_dinh": {"value": 1, "unit": "working_days"}})
    xml = _editor_xml(pkg).replace('<spiffworkflow:property name="role" value="leader"/>', "")
    xml = xml.replace('<spiffworkflow:property name="stepBudget" value="1 working_days"/>', "")
    meta = merge_into_meta(pkg["procedure"], read_editor_properties(xml, FILE), {}, previous=pkg["bpmn"])
    assert meta["lanes"] == {"Bộ phận một cửa": "desk", "Chuyên viên": "specialist", "Công dân": "applicant"}
    assert meta["step_budgets"] == {}


def test_entries_of_deleted_lanes_and_steps_go_and_entries_never_drawn_stay():
    before = linear(tasks=(("tiep_nhan", "Tiếp nhận", "Bộ phận một cửa"), ("kiem_tra", "Kiểm tra", "Kiểm tra"),
                           ("phe_duyet", "Phê duyệt", "Lãnh đạo")),
                    lanes={"Bộ phận một cửa": "desk", "Kiểm tra": "specialist", "Lãnh đạo": "leader",
                           "Chưa vẽ": "applicant"},
                    step_budgets={"kiem_tra": {"value": 1, "unit": "days"}, "chua_ve": {"value": 1, "unit": "days"}})
    after = linear(tasks=(("tiep_nhan", "Tiếp nhận", "Bộ phận một cửa"), ("phe_duyet", "Phê duyệt", "Lãnh đạo")))
    for authoritative in (True, False):
        read = read_editor_properties(_editor_xml(after), FILE)
        meta = merge_into_meta(before["procedure"], read, {}, previous=before["bpmn"], authoritative=authoritative)
        assert meta["lanes"] == {"Bộ phận một cửa": "desk", "Lãnh đạo": "leader", "Chưa vẽ": "applicant"}
        assert meta["step_budgets"] == {"chua_ve": {"value": 1, "unit": "days"}}


def test_from_an_import_a_file_without_the_properties_keeps_procedure_json():
    pkg = linear(step_budgets={"tham_dinh": {"value": 1, "unit": "working_days"}})
    read = read_editor_properties(pkg["bpmn"][FILE], FILE)
    assert read.xml == pkg["bpmn"][FILE]  # nothing taken out: the text is kept as it came
    meta = merge_into_meta(pkg["procedure"], read, {}, authoritative=False)
    assert meta["lanes"] == pkg["procedure"]["lanes"]
    assert meta["step_budgets"] == {"tham_dinh": {"value": 1, "unit": "working_days"}}


def test_entries_for_lanes_and_steps_of_the_other_bpmn_files_are_kept():
    pkg = linear(step_budgets={"con_buoc": {"value": 1, "unit": "days"}})
    other = linear(pid="quy_trinh_con", tasks=(("con_buoc", "Bước con", "Công dân"),))["bpmn"]["quy_trinh_con.bpmn"]
    previous = {FILE: pkg["bpmn"][FILE].replace("</bpmn:process>", '<bpmn:task id="con_buoc"/></bpmn:process>')}
    meta = merge_into_meta(pkg["procedure"], read_editor_properties(_editor_xml(pkg), FILE), {"con.bpmn": other},
                           previous=previous)
    assert meta["lanes"]["Công dân"] == "applicant"
    assert meta["step_budgets"] == {"con_buoc": {"value": 1, "unit": "days"}}


def test_a_process_renamed_in_the_editor_becomes_the_procedures_process_id():
    pkg = linear()
    xml = _editor_xml(pkg).replace('process id="thu_nghiem"', 'process id="quy_trinh_moi"')
    meta = merge_into_meta(pkg["procedure"], read_editor_properties(xml, FILE), {})
    assert meta["process_id"] == "quy_trinh_moi"
    assert read_graph({FILE: xml}, meta["process_id"]).nodes


def test_the_main_file_is_procedure_json_bpmn_else_the_one_defining_the_process():
    pkg = linear()
    pkg["bpmn"]["a-khac.bpmn"] = pkg["bpmn"][FILE].replace('process id="thu_nghiem"', 'process id="khac"')
    assert main_bpmn_file(pkg) == FILE
    del pkg["procedure"]["bpmn"]
    assert main_bpmn_file(pkg) == FILE
