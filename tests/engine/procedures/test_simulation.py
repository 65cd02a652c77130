"""Test runs of procedure packages in memory: every catalogue procedure from submission to an end
with sample answers, approval and refusal/supplement/withdrawal paths, simulated connector calls and
timers, located Vietnamese errors for bad answers and failing scripts, and nothing written anywhere."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

import forms
from engine.calendar import VN_TZ
from engine.config import PROJECT_ROOT
from engine.models import (
    Attachment,
    CodeCounter,
    Dossier,
    Event,
    OutboxMessage,
    Payment,
    Task,
    WorkflowInstance,
)
from engine.procedures.package import read_package
from engine.procedures.simulation import (
    MAX_ANSWERS,
    MAX_STEPS_AT_ONCE,
    SimulationRun,
    sample_start_data,
    simulate,
)
from tests.conftest import with_payment

SLUGS = sorted(path.name for path in (PROJECT_ROOT / "processes").iterdir() if path.is_dir())
#: The sample answers take every choice's first option: the ordinary path, to the result handed over.
APPROVED_ENDS = {"cap-giay-phep-xay-dung": "da_tra_ket_qua", "cap-phieu-ly-lich-tu-phap": "da_tra_ket_qua",
                 "chung-thuc-ban-sao": "da_tra_ket_qua", "dang-ky-ho-kinh-doanh": "da_tra_ket_qua",
                 "dang-ky-ket-hon": "da_tra_ket_qua", "dang-ky-khai-sinh": "da_tra_ket_qua"}
BIRTH_APPROVED_PATH = [
    "nop_ho_so", "xac_dinh_thoi_han", "tiep_nhan", "gw_tiep_nhan", "da_tiep_nhan", "gw_qua_han", "thu_le_phi",
    "gw_qua_han_gop", "gw_lien_thong_han", "gw_han_gop", "kiem_tra", "gw_kiem_tra", "ky_giay_khai_sinh", "gw_ky",
    "gw_lien_thong", "gw_truoc_thong_bao", "thong_bao_ket_qua", "tra_ket_qua", "da_tra_ket_qua"]


def package(slug: str) -> dict[str, Any]:
    return read_package(PROJECT_ROOT / "processes" / slug)


def drive(ctx, pkg: dict[str, Any], start: dict[str, Any], choices: dict[str, list[dict]] | None = None,
          limit: int = 40) -> tuple[SimulationRun, list[dict[str, Any]]]:
    """Answer every waiting point with its sample (a user task's data overridden by the next of its
    `choices`, the last one repeating) until the run ends; fail on any error or stall."""
    queues = {key: list(value) for key, value in (choices or {}).items()}
    answers: list[dict[str, Any]] = []
    for _ in range(limit):
        run = simulate(ctx, pkg, start, answers)
        assert run.error is None, run.error
        assert run.answered == len(answers)
        if run.ended:
            return run, answers
        assert run.waiting, "the run stopped without waiting for anything"
        point = run.waiting[0]
        if point.kind == "user":
            queue = queues.get(point.element_id) or [{}]
            override = queue.pop(0) if len(queue) > 1 else queue[0]
            answers.append({"task": point.element_id, "data": {**point.sample, **override}})
        elif point.kind == "service":
            answers.append({"service": point.element_id, "result": point.sample})
        else:
            answers.append({"timer": point.element_id})
    pytest.fail(f"no end after {limit} answers")


def ids(run: SimulationRun) -> list[str]:
    return [step.element_id for step in run.path]


def step(run: SimulationRun, element_id: str):
    return next(s for s in run.path if s.element_id == element_id)


def is_subsequence(items: list[str], sequence: list[str]) -> bool:
    rest = iter(sequence)
    return all(item in rest for item in items)


#: Scenarios touch the database only to read the calendar: they run on SQLite only; the test that
#: nothing is written runs on both backends.
ON_SQLITE = pytest.mark.parametrize("backend_context", ["sqlite"], indirect=True)


# ------------------------------------------------------------------ every procedure, to an end


@ON_SQLITE
@pytest.mark.parametrize("slug", SLUGS)
def test_each_catalogue_procedure_runs_from_submission_to_its_result_with_sample_answers(ctx, slug):
    pkg = package(slug)
    run, answers = drive(ctx, pkg, sample_start_data(pkg))
    assert run.ended and run.status == "returned" and run.waiting == []
    assert run.path[0].kind == "startEvent" and run.path[0].note.startswith("trạng thái hồ sơ: Mới đăng ký")
    assert run.path[-1].element_id == APPROVED_ENDS[slug] and run.path[-1].kind == "endEvent"
    assert is_subsequence([a["task"] for a in answers if "task" in a], ids(run))
    assert len(ids(run)) == len(set(ids(run)))  # no loop on the ordinary path: each element once
    assert run.milestones and run.answered == len(answers) and run.data["dossier"]["code"] == "MO-PHONG"
    for gateway in (s for s in run.path if s.kind == "exclusiveGateway" and "rẽ nhánh" in s.note):
        assert ids(run).index(gateway.element_id) < len(run.path) - 1


@ON_SQLITE
def test_the_path_lists_each_element_in_order_with_its_title_kind_lane_and_what_happened(ctx):
    pkg = package("dang-ky-khai-sinh")
    run, _ = drive(ctx, pkg, sample_start_data(pkg))  # born 1990: a late registration, with a fee
    assert ids(run) == BIRTH_APPROVED_PATH
    reception = step(run, "tiep_nhan")
    assert (reception.title, reception.kind, reception.lane) == ("Tiếp nhận và kiểm tra hồ sơ", "userTask",
                                                                 "Bộ phận một cửa")
    assert "đã điền biểu mẫu «tiep-nhan»" in reception.note
    assert step(run, "gw_tiep_nhan").note == "rẽ nhánh «Tiếp nhận»"
    assert "trạng thái hồ sơ: Được tiếp nhận" in step(run, "da_tiep_nhan").note
    assert step(run, "xac_dinh_thoi_han").kind == "scriptTask"
    assert "gửi qua kết nối email/send (mô phỏng" in step(run, "thong_bao_ket_qua").note
    assert run.milestones[0] == "Đã nộp hồ sơ" and run.milestones[-1] == "Đã trả kết quả"
    assert run.data["thoi_han_dang_ky"]["qua_han"] is True


@ON_SQLITE
def test_waiting_user_tasks_carry_their_lane_role_form_and_a_valid_prefilled_sample(ctx):
    pkg = package("dang-ky-khai-sinh")
    run = simulate(ctx, pkg, sample_start_data(pkg), [])
    assert run.error is None and not run.ended
    [waiting] = run.waiting
    assert (waiting.element_id, waiting.kind, waiting.lane, waiting.role, waiting.form, waiting.operation) == (
        "tiep_nhan", "user", "Bộ phận một cửa", "desk", "tiep-nhan", None)
    form = pkg["forms"]["tiep-nhan"]
    forms.validate(forms.load_form(form["schema"], form["ui_schema"]), waiting.sample)
    # read-only fields show what the dossier holds, as the task page does
    assert waiting.sample["dang_ky_qua_han"] is True and waiting.sample["so_ngay_tu_ngay_sinh"] > 60
    assert ids(run) == ["nop_ho_so", "xac_dinh_thoi_han", "tiep_nhan"] and run.status == "submitted"


# ------------------------------------------------------------------ other paths


@ON_SQLITE
def test_a_refusal_at_reception_ends_refused(ctx):
    pkg = package("dang-ky-khai-sinh")
    run, _ = drive(ctx, pkg, sample_start_data(pkg), {"tiep_nhan": [{"ket_qua_tiep_nhan": "tu_choi"}]})
    assert ids(run) == ["nop_ho_so", "xac_dinh_thoi_han", "tiep_nhan", "gw_tiep_nhan", "ly_do_khong_tiep_nhan",
                        "khong_tiep_nhan"]
    assert run.status == "refused" and run.milestones[-1] == "Hồ sơ không được tiếp nhận"
    assert step(run, "gw_tiep_nhan").note == "rẽ nhánh «Từ chối tiếp nhận»"


@ON_SQLITE
def test_a_supplement_loops_back_to_reception_then_the_dossier_is_approved(ctx):
    pkg = package("dang-ky-ho-kinh-doanh")
    run, answers = drive(ctx, pkg, sample_start_data(pkg),
                         {"tiep_nhan": [{"ket_qua_tiep_nhan": "bo_sung"}, {"ket_qua_tiep_nhan": "tiep_nhan"}]})
    assert run.status == "returned"
    assert [a["task"] for a in answers][:3] == ["tiep_nhan", "bo_sung_ho_so", "tiep_nhan"]
    assert ids(run).count("tiep_nhan") == 2
    assert "trạng thái hồ sơ: Yêu cầu bổ sung giấy tờ" in step(run, "bo_sung_ho_so").note
    assert is_subsequence(["tiep_nhan", "bo_sung_ho_so", "tiep_nhan", "da_tiep_nhan", "da_tra_ket_qua"], ids(run))


@ON_SQLITE
def test_an_applicant_asked_for_a_supplement_may_withdraw(ctx):
    pkg = package("dang-ky-ket-hon")
    run, _ = drive(ctx, pkg, sample_start_data(pkg),
                   {"tiep_nhan": [{"ket_qua_tiep_nhan": "bo_sung"}], "bo_sung_ho_so": [{"rut_ho_so": True}]})
    assert run.status == "withdrawn" and run.path[-1].kind == "endEvent"
    assert is_subsequence(["tiep_nhan", "bo_sung_ho_so", "gw_bo_sung"], ids(run))


@ON_SQLITE
def test_a_connector_call_that_waits_is_answered_by_the_analyst_without_any_network(ctx, payment_platform):
    online = with_payment(ctx, payment_platform)
    pkg = package("cap-giay-phep-xay-dung")
    start = sample_start_data(pkg)
    run = simulate(online, pkg, start, [])
    [call] = run.waiting
    assert (call.element_id, call.kind, call.operation) == ("khoi_tao_thanh_toan", "service",
                                                            "dvcqg_payment/init_payment")
    assert call.sample["amount"] > 0 and "chờ kết quả" in step(run, "khoi_tao_thanh_toan").note
    edited = {**call.sample, "reference": "GD-THU-NGHIEM"}
    run = simulate(online, pkg, start, [{"service": "khoi_tao_thanh_toan", "result": edited}])
    assert run.error is None and run.data["thanh_toan"]["reference"] == "GD-THU-NGHIEM"
    assert [w.element_id for w in run.waiting] == ["thanh_toan_le_phi"] and run.status == "payment_requested"
    finished, _ = drive(online, pkg, start)
    assert finished.status == "returned" and "khoi_tao_thanh_toan" in ids(finished)
    assert payment_platform.requests == []


@ON_SQLITE
def test_a_waiting_timer_fires_when_the_analyst_says_so_and_closes_its_task(ctx):
    pkg = package("dang-ky-khai-sinh")
    start = sample_start_data(pkg)
    today = datetime.now(UTC).astimezone(VN_TZ).date()
    start.update(lien_thong_thuong_tru_bhyt=True, tre={**start["tre"], "ngay_sinh": (today - timedelta(days=10))
                                                        .isoformat()})
    signed = [{"task": "tiep_nhan", "data": {"ket_qua_tiep_nhan": "tiep_nhan"}},
              {"task": "kiem_tra", "data": sample_for(pkg, "kiem-tra")},
              {"task": "ky_giay_khai_sinh", "data": {"quyet_dinh": "dong_y"}}]
    run = simulate(ctx, pkg, start, signed)
    assert run.error is None
    waiting = {(w.element_id, w.kind) for w in run.waiting}
    assert waiting == {("dang_ky_thuong_tru", "user"), ("cap_the_bhyt", "user"), ("het_han_thuong_tru", "timer"),
                       ("het_han_bhyt", "timer")}
    police = next(w for w in run.waiting if w.element_id == "dang_ky_thuong_tru")
    assert police.role == "specialist" and police.lane == "Công an phường"
    timer = next(w for w in run.waiting if w.element_id == "het_han_thuong_tru")
    assert datetime.fromisoformat(timer.sample["due_at"]) > datetime.now(UTC)

    answers = [*signed, {"task": "cap_the_bhyt", "data": sample_for(pkg, "cap-the-bhyt")},
               {"timer": "het_han_thuong_tru"}]
    run = simulate(ctx, pkg, start, answers)
    assert run.error is None and [w.element_id for w in run.waiting] == ["tra_ket_qua"]
    assert is_subsequence(["cap_the_bhyt", "het_han_thuong_tru", "qua_han_thuong_tru", "gop_lien_thong"], ids(run))
    assert step(run, "het_han_thuong_tru").kind == "boundaryEvent"
    assert "hẹn giờ đến hạn" in step(run, "het_han_thuong_tru").note
    assert run.data["ket_qua_thuong_tru"] == "qua_han"
    assert "tách song song: «Đăng ký thường trú cho trẻ», «Cấp thẻ BHYT cho trẻ dưới 6 tuổi»" in step(
        run, "chia_lien_thong").note


def sample_for(pkg: dict[str, Any], form: str) -> dict[str, Any]:
    from engine.procedures.sample_data import sample_data

    return sample_data(pkg["forms"][form]["schema"])


# ------------------------------------------------------------------ nothing written, nothing sent

COUNTED = (Dossier, WorkflowInstance, Task, Event, OutboxMessage, CodeCounter, Payment, Attachment)


def row_counts(ctx) -> dict[str, int]:
    with ctx.sessions() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) for model in COUNTED}


def test_a_whole_test_run_writes_no_row_and_sends_nothing(ctx, smtp, payment_platform):
    online = with_payment(ctx, payment_platform)
    before = row_counts(ctx)
    for slug in ("cap-giay-phep-xay-dung", "dang-ky-khai-sinh"):
        pkg = package(slug)
        run, _ = drive(online, pkg, sample_start_data(pkg))
        assert run.ended
    assert row_counts(ctx) == before
    assert smtp.messages == [] and payment_platform.requests == []


# ------------------------------------------------------------------ errors, located, in Vietnamese


@ON_SQLITE
def test_an_answer_for_an_unknown_element_stops_the_run_with_the_path_kept(ctx):
    pkg = package("dang-ky-khai-sinh")
    run = simulate(ctx, pkg, sample_start_data(pkg), [{"task": "khong_co", "data": {}}])
    assert run.error == "Câu trả lời thứ 1: quy trình không có phần tử «khong_co»."
    assert ids(run) == ["nop_ho_so", "xac_dinh_thoi_han", "tiep_nhan"] and run.answered == 0
    assert [w.element_id for w in run.waiting] == ["tiep_nhan"]


@ON_SQLITE
def test_an_answer_for_a_step_that_is_not_waiting_names_that_step(ctx):
    pkg = package("dang-ky-khai-sinh")
    answers = [{"task": "tiep_nhan", "data": {"ket_qua_tiep_nhan": "tiep_nhan"}}, {"task": "tiep_nhan", "data": {}}]
    run = simulate(ctx, pkg, sample_start_data(pkg), answers)
    assert run.error == ("Câu trả lời thứ 2: bước «Tiếp nhận và kiểm tra hồ sơ» (tiep_nhan) hiện không chờ người "
                         "xử lý.")
    assert run.answered == 1 and "thu_le_phi" in ids(run)
    for answer, expected in (({"service": "tiep_nhan"}, "chờ kết quả của kết nối"),
                             ({"timer": "tiep_nhan"}, "là hẹn giờ đang chờ"),
                             ({"tiep_nhan": 1}, "phải là một đối tượng có đúng một trong các khóa"),
                             ("tiep_nhan", "phải là một đối tượng có đúng một trong các khóa")):
        assert expected in simulate(ctx, pkg, sample_start_data(pkg), [answer]).error


@ON_SQLITE
def test_form_data_that_the_task_form_refuses_is_reported_with_the_task_and_field(ctx):
    pkg = package("dang-ky-khai-sinh")
    run = simulate(ctx, pkg, sample_start_data(pkg),
                   [{"task": "tiep_nhan", "data": {"ket_qua_tiep_nhan": "bo_sung"}}])
    assert run.error.startswith("Câu trả lời thứ 1: dữ liệu của bước «Tiếp nhận và kiểm tra hồ sơ» (tiep_nhan) "
                                "(biểu mẫu «tiep-nhan») không hợp lệ: giay_to_thieu: Vui lòng nhập")
    assert run.answered == 0 and [w.element_id for w in run.waiting] == ["tiep_nhan"]
    run = simulate(ctx, pkg, sample_start_data(pkg), [{"task": "tiep_nhan", "data": ["không phải"]}])
    assert "phải là một đối tượng JSON" in run.error


@ON_SQLITE
def test_bad_start_data_is_reported_before_anything_runs(ctx):
    pkg = package("dang-ky-khai-sinh")
    start = sample_start_data(pkg)
    run = simulate(ctx, pkg, {**start, "tre": "không phải nhóm"}, [])
    assert run.error.startswith("Tờ khai nộp hồ sơ (biểu mẫu «to-khai») không hợp lệ: tre:") and run.path == []
    run = simulate(ctx, pkg, {**start, "applicant": {"name": "An", "phone": "123"}}, [])
    assert run.error == "Thông tin người nộp hồ sơ không hợp lệ: applicant.phone: Số điện thoại không hợp lệ."
    assert "tối đa 500" in simulate(ctx, pkg, start, [{"timer": "x"}] * (MAX_ANSWERS + 1)).error


@ON_SQLITE
def test_a_failing_script_stops_the_run_at_its_element_with_a_vietnamese_error(ctx):
    pkg = package("dang-ky-khai-sinh")
    broken = copy.deepcopy(pkg)
    [(name, xml)] = broken["bpmn"].items()
    broken["bpmn"][name] = xml.replace("dang_ky_qua_han = so_ngay_tu_ngay_sinh &gt; 60",
                                       "dang_ky_qua_han = so_ngay_tu_ngay_sinh / 0 &gt; 60")
    run = simulate(ctx, broken, sample_start_data(pkg), [])
    assert run.error.startswith("Quy trình gặp lỗi tại bước «Xác định thời hạn đăng ký và điều kiện liên thông»")
    assert "ZeroDivisionError" in run.error and run.error.endswith("(phần tử xac_dinh_thoi_han)")
    assert ids(run) == ["nop_ho_so", "xac_dinh_thoi_han"] and "lỗi" in run.path[-1].note
    assert run.waiting == [] and not run.ended and run.status == "submitted"


LOOP_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="vong_lap" isExecutable="true">
    <bpmn:startEvent id="bat_dau"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="dem" name="Đếm">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>SCRIPT</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="lap_lai" name="Lặp lại?" default="f3">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="xong"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="bat_dau" targetRef="dem" />
    <bpmn:sequenceFlow id="f2" sourceRef="dem" targetRef="lap_lai" />
    <bpmn:sequenceFlow id="f3" sourceRef="lap_lai" targetRef="dem" />
    <bpmn:sequenceFlow id="f4" sourceRef="lap_lai" targetRef="xong">
      <bpmn:conditionExpression>False</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>"""


def tiny_package(script: str) -> dict[str, Any]:
    return {"procedure": {"name": "Vòng lặp", "slug": "vong-lap", "process_id": "vong_lap", "lanes": {}},
            "bpmn": {"vong-lap.bpmn": LOOP_BPMN.replace("SCRIPT", script)}, "forms": {}}


@ON_SQLITE
def test_a_loop_of_automatic_steps_is_stopped_after_a_bounded_number_of_steps(ctx):
    began = time.monotonic()
    run = simulate(ctx, tiny_package("n = 1"), {}, [])
    assert run.error.startswith(f"Quy trình đã chạy liền {MAX_STEPS_AT_ONCE} bước tự động mà chưa dừng chờ ai")
    assert "vòng lặp" in run.error and not run.ended and run.waiting == []
    assert ids(run)[:5] == ["bat_dau", "dem", "lap_lai", "dem", "lap_lai"]
    assert MAX_STEPS_AT_ONCE - 5 <= len(run.path) <= MAX_STEPS_AT_ONCE + 1 and time.monotonic() - began < 10


@ON_SQLITE
def test_a_hostile_script_is_refused_by_the_restricted_evaluator_at_its_element(ctx):
    run = simulate(ctx, tiny_package("x = ().__class__.__mro__"), {}, [])
    assert run.error.startswith("Quy trình gặp lỗi tại bước «Đếm»") and run.error.endswith("(phần tử dem)")
    assert ids(run) == ["bat_dau", "dem"]


@ON_SQLITE
def test_a_diagram_that_cannot_be_read_is_reported_without_running(ctx):
    pkg = tiny_package("n = 1")
    pkg["bpmn"]["vong-lap.bpmn"] = "<bpmn:definitions"
    run = simulate(ctx, pkg, {}, [])
    assert run.error.startswith("Không đọc được sơ đồ BPMN: vong-lap.bpmn, dòng 1: XML không hợp lệ") and run.path == []
    pkg["procedure"]["process_id"] = "khac"
    pkg["bpmn"]["vong-lap.bpmn"] = LOOP_BPMN
    assert simulate(ctx, pkg, {}, []).error.startswith("Sơ đồ BPMN không chạy được:")
