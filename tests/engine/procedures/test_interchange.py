"""Import from other modellers (Camunda 7 and 8, SpiffArena, BPMN MIWG-style models, our own folders) with
everything the engine will not run named and located; export schema-valid BPMN 2.0 and a zip that round-trips."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH

from engine.config import PROJECT_ROOT
from engine.errors import InvalidInput
from engine.procedures import archive, interchange
from engine.procedures.catalogue import procedure_folders
from engine.procedures.foreign import slugify
from engine.procedures.interchange import export_bpmn, export_zip, import_package, unsupported_elements
from engine.procedures.lint import ERROR, INFO, WARNING
from engine.procedures.package import FolderFiles, content_hash, package_from_files, read_package
from engine.runtime.runner import Runner
from engine.runtime.specs import build_specs
from engine.scripting import RestrictedScriptEngine

FIXTURES = Path(__file__).parent / "fixtures" / "interchange"
SPIFFARENA = FIXTURES / "spiffarena" / "xac-nhan-tinh-trang-hon-nhan"
CATALOGUE = procedure_folders(PROJECT_ROOT / "processes")
UNSUPPORTED, IGNORED = "khong-ho-tro", "bo-qua-mo-rong"
#: An independent check of exports: the OMG schema as SpiffWorkflow ships it, without any extension schema.
OMG_SCHEMA = etree.XMLSchema(etree.parse(XSD_PATH))


def load(name: str):
    return import_package(name, (FIXTURES / name).read_bytes())


def triples(findings) -> set[tuple[str, str, str | None]]:
    return {(f.rule, f.severity, f.element_id) for f in findings}


def about(findings, element_id: str):
    return [f for f in findings if f.element_id == element_id]


def line_of(text: str, element_id: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if f'id="{element_id}"' in line)


def zipped(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in files.items():
            target.writestr(name, content)
    return buffer.getvalue()


def folder_zip(folder: Path, prefix: str) -> bytes:
    return zipped({f"{prefix}{path.relative_to(folder).as_posix()}": path.read_bytes()
                   for path in sorted(folder.rglob("*")) if path.is_file()})


def refused(filename: str, data: bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        import_package(filename, data)
    [message] = caught.value.errors["file"]
    return message


def model(body: str, *, executable: str = "true", pid: str = "p", defs: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
            f'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="x">{defs}\n'
            f'<bpmn:process id="{pid}" name="Thử" isExecutable="{executable}">\n{body}\n</bpmn:process>\n'
            f'</bpmn:definitions>\n').encode()


def flow(source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="f_{source}_{target}" sourceRef="{source}" targetRef="{target}" />'


# -- Camunda Modeler -------------------------------------------------------------------------------

def test_a_camunda_7_model_is_kept_as_is_and_every_ignored_extension_and_unrunnable_step_is_named():
    name = "camunda7-cap-phep-quang-cao.bpmn"
    text = (FIXTURES / name).read_text(encoding="utf-8")
    package, findings = load(name)
    assert package["bpmn"] == {name: text}
    assert package["forms"] == {}
    assert package["procedure"] == {
        "name": "Cấp giấy phép thực hiện quảng cáo", "slug": "cap-giay-phep-thuc-hien-quang-cao",
        "process_id": "cap_phep_quang_cao", "bpmn": name,
        "lanes": {"Bộ phận một cửa": None, "Phòng Quản lý văn hóa": None, "Lãnh đạo Sở": None}}
    assert {
        (UNSUPPORTED, ERROR, "Activity_TraCuuDinhDanh"), (IGNORED, ERROR, "Activity_TraCuuDinhDanh"),
        (UNSUPPORTED, ERROR, "Activity_GuiKetQua"), (UNSUPPORTED, ERROR, "Activity_LayYKien"),
        (IGNORED, ERROR, "Activity_LayYKien"), (UNSUPPORTED, ERROR, "Event_QuaHanThamDinh"),
        (IGNORED, ERROR, "Activity_NhacChuyenVien"), (UNSUPPORTED, ERROR, "Activity_TinhLePhi"),
        (UNSUPPORTED, ERROR, "Activity_GhiNhatKy"), (UNSUPPORTED, ERROR, "Activity_CapSoGiayPhep"),
        (UNSUPPORTED, ERROR, "Flow_HopLe"), (UNSUPPORTED, ERROR, "Flow_DongY"), (UNSUPPORTED, ERROR, "Flow_KhongDongY"),
        (IGNORED, WARNING, "StartEvent_NopHoSo"), (IGNORED, WARNING, "Activity_TiepNhan"),
        (IGNORED, WARNING, "Activity_ThamDinh"), (IGNORED, WARNING, "Activity_PheDuyet"),
        (IGNORED, WARNING, "EndEvent_DaCapPhep"), (IGNORED, INFO, "cap_phep_quang_cao"),
        (IGNORED, INFO, "Definitions_0k3m2xa"),
    } <= triples(findings)
    messages = {f.message for f in findings}
    assert ("Tác vụ dịch vụ «Gửi kết quả cho công dân» (serviceTask): camunda:topic=\"gui-ket-qua\" của Camunda 7 "
            "(phần cài đặt của bước (mã chạy, loại công việc)) bị bỏ qua — bước này không làm gì ở đây; hãy chọn một "
            "thao tác kết nối (serviceTaskOperator) hoặc viết kịch bản Python") in messages
    assert any("camunda:formKey" in m and "Tiếp nhận hồ sơ" in m for m in messages)
    assert any("camunda:assignee" in m for m in messages) and any("camunda:taskListener" in m for m in messages)
    [juel] = about(findings, "Flow_HopLe")
    assert "JUEL" in juel.message and "${hopLe == true}" in juel.message
    [groovy] = about(findings, "Activity_GhiNhatKy")[:1]
    assert "groovy" in groovy.message
    # Every finding is located: the file, and a line at or after the element it names.
    for finding in findings:
        assert finding.file == name and finding.line
        if finding.element_id:
            assert finding.line >= line_of(text, finding.element_id)
    assert about(findings, "Flow_0a1") == [] and about(findings, "Gateway_HopLe") == []
    # Findings come errors first.
    order = [f.severity for f in findings]
    assert order == sorted(order, key=[ERROR, WARNING, INFO].index)


def test_a_camunda_8_zeebe_model_names_its_job_types_feel_expressions_and_forms():
    package, findings = load("camunda8-dang-ky-tam-tru.bpmn")
    assert package["procedure"]["process_id"] == "dang_ky_tam_tru"
    assert package["procedure"]["lanes"] == {"Công an xã": None, "Bộ phận một cửa": None}
    assert {
        (UNSUPPORTED, ERROR, "Activity_KiemTraCsdl"), (IGNORED, ERROR, "Activity_KiemTraCsdl"),
        (UNSUPPORTED, ERROR, "Flow_Khop"), (UNSUPPORTED, ERROR, "Event_NhacMoiNgay"),
        (UNSUPPORTED, ERROR, "Activity_ChoChuHo"), (UNSUPPORTED, ERROR, "Activity_TinhThoiHan"),
        (IGNORED, ERROR, "Activity_TinhThoiHan"), (UNSUPPORTED, ERROR, "Activity_CapNhatCsdl"),
        (IGNORED, ERROR, "Activity_CapNhatCsdl"), (UNSUPPORTED, ERROR, "Activity_ThongBaoThanhVien"),
        (IGNORED, ERROR, "Activity_ThongBaoThanhVien"), (IGNORED, WARNING, "dang_ky_tam_tru"),
        (IGNORED, WARNING, "Activity_XacMinh"), (IGNORED, INFO, "Activity_XacMinh"),
        (IGNORED, WARNING, "Message_ChuHoDongY"), (IGNORED, WARNING, "StartEvent_NopToKhai"),
    } <= triples(findings)
    [feel] = about(findings, "Flow_Khop")
    assert "FEEL" in feel.message
    [cycle] = about(findings, "Event_NhacMoiNgay")
    assert "timeCycle" in cycle.message and cycle.severity == ERROR
    assert any("zeebe:taskDefinition" in f.message for f in about(findings, "Activity_KiemTraCsdl"))
    assert any("zeebe:userTaskForm" in f.message for f in about(findings, "dang_ky_tam_tru"))
    assert any("chờ mãi" in f.message for f in about(findings, "Activity_ChoChuHo"))
    assert about(findings, "Activity_YeuCauBoSung") == [] and about(findings, "Gateway_ThongTinKhop") == []


# -- SpiffArena and our own folders ----------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["xac-nhan-tinh-trang-hon-nhan/", ""])
def test_a_spiffarena_process_model_zip_imports_its_forms_and_lists_lanes_awaiting_roles(prefix):
    package, findings = import_package("xac-nhan-tinh-trang-hon-nhan.zip", folder_zip(SPIFFARENA, prefix))
    procedure = package["procedure"]
    assert procedure["format"] == "spiffarena" and procedure["name"] == "Xác nhận tình trạng hôn nhân"
    assert procedure["slug"] == "xac-nhan-tinh-trang-hon-nhan"
    assert procedure["process_id"] == "xac_nhan_tinh_trang_hon_nhan"
    assert procedure["bpmn"] == "xac-nhan-tinh-trang-hon-nhan.bpmn"
    assert procedure["lanes"] == {"Bộ phận một cửa": None, "Công chức tư pháp – hộ tịch": None}
    assert sorted(package["forms"]) == ["to-khai", "xac-minh"]
    assert package["forms"]["xac-minh"]["ui_schema"] == {"tinh_trang": {"ui:widget": "radio"},
                                                         "ghi_chu": {"ui:widget": "textarea"}}
    text = (SPIFFARENA / "xac-nhan-tinh-trang-hon-nhan.bpmn").read_text(encoding="utf-8")
    assert package["bpmn"] == {"xac-nhan-tinh-trang-hon-nhan.bpmn": text}
    assert triples(findings) == {(UNSUPPORTED, ERROR, "tinh_le_phi"), ("bo-qua-tep", WARNING, None),
                                 ("bo-qua-tep", INFO, None)}
    assert {f.file for f in findings if f.rule == "bo-qua-tep"} == {f"{prefix}le-phi.dmn", f"{prefix}README.md"}


def test_our_procedure_folder_zipped_as_is_imports_equal_to_reading_the_folder():
    folder = PROJECT_ROOT / "processes" / "dang-ky-ket-hon"
    package, findings = import_package("dang-ky-ket-hon.zip", folder_zip(folder, "dang-ky-ket-hon/"))
    assert package == read_package(folder)
    assert [(f.rule, f.severity, f.file) for f in findings] == [
        ("bo-qua-tep", INFO, "dang-ky-ket-hon/example-submission.json")]


def test_a_package_is_read_the_same_from_memory_as_from_its_folder():
    for folder in CATALOGUE:
        files = FolderFiles(folder)
        assert package_from_files(folder.name, {name: files[name] for name in files}) == read_package(folder)


# -- BPMN MIWG-style reference models -------------------------------------------------------------

def test_a_miwg_a_1_0_style_model_only_lacks_the_executable_flag():
    package, findings = load("miwg-a-1-0.bpmn")
    assert package["procedure"]["process_id"] == "A_1_0_process" and package["procedure"]["lanes"] == {}
    [finding] = findings
    assert (finding.rule, finding.severity, finding.element_id, finding.line) == (UNSUPPORTED, ERROR, "A_1_0_process", 3)
    assert "isExecutable" in finding.message and "Tiếp nhận hồ sơ đơn giản" in finding.message


def test_every_gateway_kind_of_miwg_a_2_0_is_run_but_the_complex_one_and_splits_without_a_gateway():
    _package, findings = load("miwg-a-2-0.bpmn")
    assert triples(findings) == {(UNSUPPORTED, ERROR, "Gateway_PhucHop"), (UNSUPPORTED, ERROR, "Task_LoaiA"),
                                 (UNSUPPORTED, ERROR, "Task_GuiPhoiHop"), (UNSUPPORTED, ERROR, "Event_PhanHoi")}
    assert "Cổng phức hợp «Chờ đủ hai trên ba ý kiến» (complexGateway)" in about(findings, "Gateway_PhucHop")[0].message
    assert "2 luồng ra" in about(findings, "Task_LoaiA")[0].message


MIWG_A_3_0_REPORTED = {
    "Start_Message": ERROR, "Start_Signal": ERROR, "Start_Conditional": ERROR, "Start_Timer": WARNING,
    "Throw_Link": ERROR, "Catch_Link": ERROR, "Boundary_NhacLap": ERROR, "Boundary_RutHoSo": ERROR,
    "Boundary_DinhChi": ERROR, "Boundary_BuTru": ERROR, "Task_HoanTacXuLy": ERROR, "Throw_Compensation": ERROR,
    "End_Compensation": ERROR, "Catch_Multiple": WARNING, "End_Signal": ERROR, "Throw_Message": WARNING,
    "End_Message": WARNING, "EventSub_Loi_Start": ERROR, "EventSub_LeoThang_Start": ERROR,
    "EventSub_Huy_Start": ERROR, "EventSub_NhacHan_Start": ERROR, "EventSub_BuTru_Start": ERROR,
    "EventSub_DieuKien_Start": ERROR,
}


def test_each_event_kind_of_miwg_a_3_0_the_engine_does_not_run_is_reported_and_the_rest_are_not():
    _package, findings = load("miwg-a-3-0.bpmn")
    assert {f.element_id: f.severity for f in findings} == MIWG_A_3_0_REPORTED
    text = (FIXTURES / "miwg-a-3-0.bpmn").read_text(encoding="utf-8")
    assert all(f.line == line_of(text, f.element_id) for f in findings)
    # Supported here: timers, escalation, signals thrown in the process, conditions, terminate, error end,
    # and boundary timers, errors, escalations and conditions.
    for supported in ("Catch_Timer", "Throw_Escalation", "Throw_Signal", "Catch_Signal", "Catch_Conditional",
                      "End_Terminate", "End_Error", "Boundary_QuaHan", "Boundary_SaiLech", "Boundary_CapTren",
                      "Boundary_DieuKien", "EventSub_TinHieu_Start"):
        assert about(findings, supported) == []
    assert "liên kết (link)" in about(findings, "Throw_Link")[0].message
    assert "bù trừ" in about(findings, "End_Compensation")[0].message
    assert "không được phát" in about(findings, "End_Signal")[0].message


def test_miwg_a_4_0_pools_data_and_subprocess_kinds_report_what_will_not_run():
    package, findings = load("miwg-a-4-0.bpmn")
    assert package["procedure"]["process_id"] == "ubnd_xa"  # the first executable pool; the citizen's is not
    assert package["procedure"]["lanes"] == {"Bộ phận một cửa": None, "Công chức tư pháp – hộ tịch": None}
    assert triples(findings) == {
        (UNSUPPORTED, WARNING, "cong_dan"), (UNSUPPORTED, ERROR, "Task_NhanHoSo"),
        (UNSUPPORTED, ERROR, "AdHoc_BoSung"), (UNSUPPORTED, ERROR, "Call_LienThong"),
        (UNSUPPORTED, ERROR, "DataStoreReference_HoTich"), (UNSUPPORTED, ERROR, "DataObjectReference_HoSo"),
        (UNSUPPORTED, ERROR, "EventSub_NhacViec_Start"), (UNSUPPORTED, WARNING, "End_TraKetQua")}
    assert "sẽ không chạy" in about(findings, "cong_dan")[0].message
    # The transaction with its cancel events, the embedded subprocess, the call to a packaged process, the
    # unused data store, the annotation and the group run (or are only drawn) and are not reported.


def test_miwg_b_2_0_reports_shared_definitions_instantiating_gateways_refused_scripts_and_other_vendors():
    package, findings = load("miwg-b-2-0.bpmn")
    assert package["procedure"]["name"] == "Giải quyết khiếu nại lần đầu"
    assert triples(findings) == {
        (UNSUPPORTED, ERROR, "giai_quyet_khieu_nai"), (UNSUPPORTED, ERROR, "Gateway_BatDau"),
        (UNSUPPORTED, ERROR, "Catch_NhanDon"), (UNSUPPORTED, ERROR, "Task_KiemTraDuLieu"),
        (UNSUPPORTED, ERROR, "Catch_HetHanChung"), (IGNORED, WARNING, "giai_quyet_khieu_nai"),
        (UNSUPPORTED, WARNING, "Task_XacMinh"), (UNSUPPORTED, WARNING, "Task_DoiThoai"),
        (IGNORED, WARNING, "Task_RaQuyetDinh"), (UNSUPPORTED, WARNING, "nguoi_khieu_nai")}
    assert "import" in about(findings, "Task_KiemTraDuLieu")[0].message
    assert "signavio:priority" in about(findings, "Task_RaQuyetDinh")[0].message


def test_a_model_of_supported_elements_only_imports_clean_and_runs_to_its_end():
    package, findings = load("day-du-ho-tro.bpmn")
    assert triples(findings) == {(UNSUPPORTED, WARNING, "DataObjectReference_GiayTo")}
    specs = build_specs(package["bpmn"], package["procedure"]["process_id"])
    runner, report = Runner.start(specs, {"cap_ban_sao": True}, RestrictedScriptEngine())
    answers = {"Task_TiepNhan": {"DataObject_GiayTo": ["to_khai"]}, "Sub_DoiChieu": {"du_giay_to": True},
               "Task_XemLai": {"dat_yeu_cau": True, "can_ky_so": True}, "Tx_KySo": {"da_ky": True}}
    path = []
    while report.requests or report.open_tasks:
        if report.requests:
            request = report.requests[0]
            path.append(request.bpmn_id)
            report = runner.complete_service_task(request.task_id, {"ok": True})
        else:
            task = report.open_tasks[0]
            path.append(task.bpmn_id)
            report = runner.complete_human_task(task.id, answers.get(task.bpmn_id, {}))
    assert runner.workflow.completed
    assert path == ["Task_TiepNhan", "Manual_ThuPhi", "Service_DongBo", "Sub_DoiChieu", "Task_YKien", "Task_YKien",
                    "Task_YKien", "Task_XemLai", "Tx_KySo"]
    assert runner.data["so_ban_sao"] == "BS-8000"


# -- smaller rules ---------------------------------------------------------------------------------

def test_an_element_whose_id_is_one_of_the_engines_own_task_names_is_reported():
    body = ('<bpmn:startEvent id="Start" /><bpmn:task id="t" /><bpmn:endEvent id="End" />'
            + flow("Start", "t") + flow("t", "End"))
    _package, findings = import_package("m.bpmn", model(body))
    assert {(f.element_id, f.severity) for f in findings} >= {("Start", ERROR), ("End", ERROR)}
    assert "trùng tên nội bộ" in about(findings, "Start")[0].message


def test_a_message_thrown_and_caught_in_the_same_process_is_not_reported():
    body = ('<bpmn:startEvent id="s" /><bpmn:parallelGateway id="g" /><bpmn:parallelGateway id="j" />'
            '<bpmn:intermediateThrowEvent id="gui"><bpmn:messageEventDefinition messageRef="m" />'
            '</bpmn:intermediateThrowEvent><bpmn:intermediateCatchEvent id="nhan">'
            '<bpmn:messageEventDefinition messageRef="m" /></bpmn:intermediateCatchEvent><bpmn:endEvent id="e" />'
            + flow("s", "g") + flow("g", "gui") + flow("g", "nhan") + flow("gui", "j") + flow("nhan", "j")
            + flow("j", "e"))
    _package, findings = import_package("m.bpmn", model(body, defs='<bpmn:message id="m" name="M" />'))
    assert findings == []


def test_of_several_executable_processes_the_first_runs_and_each_other_one_is_reported_once():
    two = model('<bpmn:startEvent id="s" /><bpmn:task id="t" /><bpmn:complexGateway id="c" />' + flow("s", "t"))
    two = two.replace(b"</bpmn:definitions>", b'<bpmn:process id="q" isExecutable="true"><bpmn:startEvent id="s2" />'
                      b'<bpmn:complexGateway id="c2" /></bpmn:process></bpmn:definitions>')
    package, findings = import_package("hai.xml", two)
    assert package["procedure"]["process_id"] == "p" and list(package["bpmn"]) == ["hai.bpmn"]
    assert triples(findings) == {(UNSUPPORTED, ERROR, "c"), (UNSUPPORTED, WARNING, "q")}


def test_unsupported_elements_reports_an_unreadable_file_instead_of_raising():
    [finding] = unsupported_elements({"hong.bpmn": "<bpmn:definitions"})
    assert (finding.rule, finding.severity, finding.file) == ("mo-hinh", ERROR, "hong.bpmn")


@pytest.mark.parametrize(("text", "slug"), [
    ("Đăng ký kết hôn", "dang-ky-ket-hon"), ("Cấp Giấy phép XÂY DỰNG (mới)", "cap-giay-phep-xay-dung-moi"),
    ("Process_1ab2c", "process-1ab2c"), ("  ", "quy-trinh-nhap"), ("Chứng thực bản sao – Ủy ban", "chung-thuc-ban-sao-uy-ban"),
])
def test_slugs_are_ascii_lower_case_with_hyphens_and_vietnamese_diacritics_folded(text, slug):
    assert slugify(text) == slug


# -- hostile or unreadable input -------------------------------------------------------------------

def test_an_entity_expansion_bomb_is_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</bpmn:definitions>')
    assert "DOCTYPE/ENTITY" in refused("bom.bpmn", bomb)


def test_an_oversized_bpmn_file_is_refused():
    assert "lớn hơn 5 MiB" in refused("lon.bpmn", model("<!--" + "x" * (6 * 1024 * 1024) + "-->"))


def test_malformed_xml_is_refused_with_its_line():
    message = refused("hong.bpmn", b'<?xml version="1.0"?>\n<bpmn:definitions xmlns:bpmn="x">\n<a></b>\n')
    assert message.startswith("hong.bpmn, dòng 3: XML không hợp lệ")


def test_xml_that_is_not_bpmn_or_has_no_process_is_refused():
    assert "không phải tệp BPMN 2.0" in refused("x.xml", b"<html><body/></html>")
    dmn = (SPIFFARENA / "le-phi.dmn").read_bytes()
    assert "không phải tệp BPMN 2.0" in refused("le-phi.xml", dmn)
    empty = b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" />'
    assert "không có quy trình" in refused("rong.bpmn", empty)


def test_an_unknown_file_type_an_empty_file_and_a_non_utf8_file_are_refused():
    assert "định dạng không được hỗ trợ" in refused("anh.png", b"\x89PNG....")
    assert "tệp rỗng" in refused("rong.bpmn", b"")
    assert "UTF-8" in refused("latin.bpmn", model("").replace(b"Th\xe1\xbb\xad", b"Th\xfd"))


@pytest.mark.parametrize("name", ["../thoat.bpmn", "a/../../thoat.bpmn", "/tuyet-doi.bpmn", "C:\\windows.bpmn"])
def test_a_zip_member_that_would_leave_its_folder_is_refused(name):
    message = refused("goi.zip", zipped({"procedure.json": "{}", name: model("")}))
    assert "tuyệt đối" in message or "ra ngoài" in message


def test_a_symbolic_link_in_a_zip_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        link = zipfile.ZipInfo("a.bpmn")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        target.writestr(link, "/etc/passwd")
    assert "symlink" in refused("goi.zip", buffer.getvalue())


def test_an_encrypted_zip_member_is_refused():
    data = bytearray(zipped({"a.bpmn": model("")}))
    for header, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the "encrypted" bit of the flags
        start = data.index(header)
        struct.pack_into("<H", data, start + offset, struct.unpack_from("<H", data, start + offset)[0] | 0x1)
    assert "mã hóa" in refused("goi.zip", bytes(data))


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    assert "tỉ lệ nén" in refused("bom.zip", zipped({"a.bpmn": b"\0" * (2 * 1024 * 1024)}))
    assert "lớn hơn 5 MiB" in refused("bom.zip", zipped({"a.bpmn": b"\0" * (6 * 1024 * 1024)}))


def test_a_zip_over_the_member_count_or_total_size_is_refused(monkeypatch):
    monkeypatch.setattr(archive, "MAX_MEMBERS", 3)
    assert "nhiều hơn giới hạn 3" in refused("goi.zip", zipped({f"{i}.bpmn": model("") for i in range(4)}))
    monkeypatch.setattr(archive, "MAX_MEMBERS", 500)
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 1000)
    assert "vượt giới hạn" in refused("goi.zip", zipped({f"{i}.bpmn": model("") for i in range(4)}))


def test_a_zip_member_whose_header_lies_about_its_size_is_refused():
    data = bytearray(zipped({"a.bpmn": model("<bpmn:startEvent id='s' />")}))
    true_size = len(model("<bpmn:startEvent id='s' />"))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, true_size - 40)
    struct.pack_into("<I", data, central + 24, true_size - 40)
    assert "không đọc được mục «a.bpmn»" in refused("goi.zip", bytes(data))


def test_garbage_named_zip_invalid_json_oversized_json_and_two_models_in_one_zip_are_refused(monkeypatch):
    assert "không phải tệp nén zip" in refused("goi.zip", b"not a zip at all")
    message = refused("goi.zip", zipped({"procedure.json": '{\n  "name": "x",\n}', "a.bpmn": model("")}))
    assert message.startswith("procedure.json, dòng 3: JSON không hợp lệ")
    monkeypatch.setattr(interchange, "MAX_JSON_BYTES", 10)
    assert "lớn hơn 10 byte" in refused("goi.zip", zipped({"procedure.json": '{"name": "dài hơn mười byte"}',
                                                  "a.bpmn": model("")}))
    two = zipped({"mot/process_model.json": "{}", "mot/a.bpmn": model(""),
                  "hai/process_model.json": "{}", "hai/b.bpmn": model("")})
    assert "nhiều thủ tục" in refused("goi.zip", two)


def test_a_zip_of_bare_bpmn_files_imports_as_a_foreign_model():
    package, findings = import_package("mo-hinh.zip", zipped({"mo-hinh/chinh.bpmn": model(
        '<bpmn:startEvent id="s" /><bpmn:endEvent id="e" />' + flow("s", "e")), "ghi-chu.txt": "x"}))
    assert package["procedure"]["process_id"] == "p" and list(package["bpmn"]) == ["chinh.bpmn"]
    assert [(f.rule, f.file) for f in findings] == [("bo-qua-tep", "ghi-chu.txt")]


# -- export ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("folder", CATALOGUE, ids=lambda folder: folder.name)
def test_every_catalogue_procedure_exports_schema_valid_bpmn_and_a_zip_that_imports_back_equal(folder):
    package = read_package(folder)
    for name, text in package["bpmn"].items():
        exported = export_bpmn(text, filename=name)
        assert exported.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        assert OMG_SCHEMA.validate(etree.fromstring(exported)), OMG_SCHEMA.error_log
    again, findings = import_package(f"{folder.name}.zip", export_zip(package))
    assert again == package and content_hash(again) == content_hash(package)
    assert [f for f in findings if f.severity != INFO] == []


def test_the_zip_export_is_deterministic_and_laid_out_as_a_procedure_folder():
    package = read_package(PROJECT_ROOT / "processes" / "chung-thuc-ban-sao")
    data = export_zip(package)
    assert export_zip(package) == data
    with zipfile.ZipFile(io.BytesIO(data)) as exported:
        infos = exported.infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    names = [info.filename for info in infos]
    assert names[0] == "chung-thuc-ban-sao/procedure.json" and "chung-thuc-ban-sao/chung-thuc-ban-sao.bpmn" in names
    assert {n for n in names if "/forms/" in n} == {f"chung-thuc-ban-sao/forms/{form}{suffix}"
                                                    for form in package["forms"]
                                                    for suffix in ("-schema.json", "-uischema.json")}


def test_a_foreign_import_exports_and_reimports_to_the_same_package_and_findings():
    package, findings = load("camunda8-dang-ky-tam-tru.bpmn")
    again, findings_again = import_package("dang-ky-tam-tru.zip", export_zip(package))
    assert again == package and findings_again == findings


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.bpmn")))
def test_imported_models_with_vendor_extensions_export_schema_valid(name):
    exported = export_bpmn((FIXTURES / name).read_text(encoding="utf-8"), filename=name)
    assert OMG_SCHEMA.validate(etree.fromstring(exported)), OMG_SCHEMA.error_log


def test_a_bpmn_that_breaks_the_schema_is_refused_on_export_naming_the_line():
    text = model('<bpmn:task id="t">\n<bpmn:khong_co />\n</bpmn:task>').decode()
    with pytest.raises(InvalidInput) as caught:
        export_bpmn(text, filename="sai.bpmn")
    [problem] = caught.value.errors["bpmn"]
    assert problem.startswith(f"sai.bpmn, dòng {line_of(text, 't') + 1}: không đúng lược đồ BPMN 2.0")
    assert "bpmn:khong_co" in problem
    with pytest.raises(InvalidInput) as caught:
        export_bpmn("<bpmn:definitions", filename="hong.bpmn")
    assert "XML không hợp lệ" in caught.value.errors["bpmn"][0]


def test_export_rewrites_the_correlation_expression_bpmn_js_writes_into_the_schemas_message_path():
    defs = ('<bpmn:message id="m" name="M" /><bpmn:correlationProperty id="cp" name="ma_ho_so">'
            '<bpmn:correlationPropertyRetrievalExpression messageRef="m">'
            '<bpmn:formalExpression>ma_ho_so</bpmn:formalExpression>'
            '</bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>')
    text = model('<bpmn:startEvent id="s" />', defs=defs).decode()
    assert not OMG_SCHEMA.validate(etree.fromstring(text.encode()))
    exported = export_bpmn(text)
    assert b"<bpmn:messagePath>ma_ho_so</bpmn:messagePath>" in exported
    assert OMG_SCHEMA.validate(etree.fromstring(exported))


def test_the_zip_export_refuses_a_file_name_that_names_a_folder():
    package = read_package(PROJECT_ROOT / "processes" / "chung-thuc-ban-sao")
    package["bpmn"] = {"../ngoai.bpmn": next(iter(package["bpmn"].values()))}
    with pytest.raises(InvalidInput) as caught:
        export_zip(package)
    assert "../ngoai.bpmn" in caught.value.errors["package"][0]
