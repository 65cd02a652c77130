"""The BPMN sandbox: hostile code is refused, runaway code is stopped, ordinary procedure code works."""

from __future__ import annotations

import json
import pickle
import time
import timeit
from datetime import date, datetime

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine import scripting
from engine.scripting import RestrictedEvaluator, RestrictedScriptEngine, ScriptRefused


@pytest.fixture
def ev() -> RestrictedEvaluator:
    return RestrictedEvaluator()


@pytest.fixture
def ho_so() -> dict:
    return {"ho_so": {"ten": "  Nguyễn Văn An ", "so_trang": 12, "giay_to": ["cccd", "so_ho_khau"]},
            "a": 3, "b": "x"}


def refused(run, *args):
    with pytest.raises(ScriptRefused) as info:
        run(*args)
    assert info.value.message_vi and str(info.value)
    return info.value


# --- escapes -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "__import__('os')",
    "().__class__.__mro__",
    "().__class__.__bases__[0].__subclasses__()",
    "(lambda: 1).__globals__",
    "(x for x in []).gi_frame",
    "(x for x in []).gi_frame.f_globals",
    "ho_so.f_globals",
    "ho_so.tb_frame",
    "__builtins__",
])
def test_underscore_and_frame_walks_are_refused_at_compile_time(ev, source):
    assert ev.check(source, "eval")
    err = refused(ev.evaluate, source, {"ho_so": {}})
    assert err.line == 1 and err.source == source


def test_attribute_walk_to_subclasses_is_refused(ev):
    err = refused(ev.execute, "x = ()\nklasses = x.__class__.__base__.__subclasses__()", {})
    assert "_" in err.message_vi and err.line == 2


@pytest.mark.parametrize("script", ["import os", "from os import path", "import os as _os"])
def test_import_statements_are_refused(ev, script):
    assert any("import" in problem for problem in ev.check(script))
    err = refused(ev.execute, script, {})
    assert "import" in err.message_vi


@pytest.mark.parametrize("source", [
    "open('/etc/passwd').read()", "eval('1')", "exec('x = 1')", "compile('1', 'f', 'eval')", "globals()",
    "vars()", "locals()", "object.__subclasses__()", "dir()"])
def test_dangerous_builtins_are_refused(ev, source):
    assert ev.check(source, "eval")
    refused(ev.evaluate, source, {})


@pytest.mark.parametrize("source", [
    "getattr(1, '__class__')",
    "getattr(ho_so, '_' + '_class__')",
    "getattr(getattr, '__self__', None)",
    "getattr('{0.__class__}', 'format')('x')",
    "getattr(1, 'to_bytes')(10**9, 'big')",
    "type(1)",
    "type(ho_so).__subclasses__",
])
def test_getattr_and_type_walks_are_refused_at_run_time(ev, ho_so, source):
    refused(ev.evaluate, source, ho_so)


def test_str_format_is_refused_because_it_can_read_attributes(ev):
    refused(ev.evaluate, "'{0.__class__.__mro__}'.format(1)", {})


def test_exception_tracebacks_are_unreachable(ev):
    assert ev.check("try:\n    1/0\nexcept Exception as e:\n    t = e.__traceback__")
    refused(ev.execute, "try:\n    1/0\nexcept Exception as e:\n    t = getattr(e, '__traceback__')", {})


def test_class_definitions_are_refused(ev):
    err = refused(ev.execute, "class A:\n    pass", {})
    assert "class" in err.message_vi


def test_worker_stopping_exceptions_are_not_available(ev):
    for name in ("SystemExit", "KeyboardInterrupt", "BaseException", "GeneratorExit"):
        with pytest.raises(NameError):
            ev.execute(f"raise {name}", {})


def test_bound_helpers_do_not_hand_the_evaluator_to_the_script(ev):
    assert ev.evaluate("getattr(''.join, 'args', None)", {}) is None
    assert ev.evaluate("getattr(''.join, 'func', None)", {}) is None
    refused(ev.evaluate, "getattr(sum, '__self__')", {})


def test_task_data_cannot_replace_the_guards(ev):
    hostile = {"_getattr_": getattr, "_getiter_": iter, "_tick_": lambda: True, "ds": [1, 2]}
    refused(ev.evaluate, "getattr(ds, '__class__')", hostile)
    refused(ev.evaluate, "ds.__class__", hostile)
    assert ev.evaluate("[x for x in ds]", hostile) == [1, 2]


# --- runaway code --------------------------------------------------------------------------------------

@pytest.mark.parametrize("script", [
    "while True:\n    pass",
    "def forever():\n    while True:\n        yield 1\nfor i in forever():\n    pass",
    "n = 0\nwhile n >= 0:\n    n = (n + 1) % 7",
    "x = [1 for a in range(10**6) for b in range(10**6)]",
    "x = sum(a * b for a in range(10**6) for b in range(10**6))",
])
def test_infinite_loops_are_stopped_within_the_time_limit(script):
    ev = RestrictedEvaluator(time_limit=0.3, max_iterations=10**12)
    started = time.monotonic()
    err = refused(ev.execute, script, {})
    assert time.monotonic() - started < 2.5
    assert "thời gian" in err.message_vi and "time limit" in str(err)


def test_iter_with_a_sentinel_is_refused_because_c_code_could_loop_on_it_forever(ev):
    started = time.monotonic()
    refused(ev.execute, "for i in iter(int, 1):\n    pass", {})
    refused(ev.evaluate, "list(iter(int, 1))", {})
    assert time.monotonic() - started < 1.0


def test_iteration_limit_stops_loops_before_the_deadline():
    ev = RestrictedEvaluator(time_limit=30, max_iterations=1000)
    err = refused(ev.execute, "for i in range(5000):\n    pass", {})
    assert "1000" in err.message_vi
    ev.execute("for i in range(900):\n    pass", {})


def test_exponential_recursion_without_loops_is_stopped():
    ev = RestrictedEvaluator(time_limit=0.3)
    script = "def f(n):\n    try:\n        f(n + 1)\n        f(n + 1)\n    except RecursionError:\n        pass\nf(0)"
    started = time.monotonic()
    refused(ev.execute, script, {})
    assert time.monotonic() - started < 2.5


def test_catching_the_stop_does_not_let_the_script_carry_on():
    ev = RestrictedEvaluator(time_limit=0.2, max_iterations=10**12)
    context: dict = {}
    script = "try:\n    while True:\n        pass\nexcept Exception:\n    pass\nketqua = 'xong'"
    err = refused(ev.execute, script, context)
    assert err.line == 2 and context == {}


# --- enormous outputs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "'a' * 10**9", "[0] * 10**9", "10 * 'a' * 10**8", "10**10**10", "pow(10, 10**9)", "2 << 10**9",
    "''.join(['a' * 999999] * 10)", "str.join('', ['ab'] * 999999)", "'-'.join(str(i) for i in range(10**5)) * 100",
    "'x'.ljust(10**9)", "'x'.zfill(10**9)", "('a' * 999999).replace('a', 'aa')", "f'{1:>1000000000}'",
    "'%1000000000d' % 1", "'%*d' % (10**9, 1)", "range(10**12)", "sum([[0] * 1000] * 1000, [])",
])
def test_enormous_outputs_are_refused_before_they_are_built(ev, source):
    started = time.monotonic()
    err = refused(ev.evaluate, source, {})
    assert time.monotonic() - started < 2.0
    assert "lớn" in err.message_vi or "sum()" in err.message_vi or "'*'" in err.message_vi


@pytest.mark.parametrize("growth", ["s = s + s", "s += s", "l.extend(l)", "l += l", "l[:0] = l", "l = l * 2"])
def test_repeated_doubling_in_a_loop_is_refused(ev, growth):
    script = f"s = 'a' * 1000\nl = [0] * 1000\nwhile True:\n    {growth}"
    err = refused(ev.execute, script, {})
    assert err.line == 4 or "slice" in str(err)


def test_aliased_nested_results_are_refused_before_reaching_task_data(ev):
    context: dict = {}
    refused(ev.execute, "x = [0] * 1000\ny = [x] * 1000\nz = [y] * 1000", context)
    assert context == {}


def test_modest_sizes_still_work(ev):
    assert ev.evaluate("'-' * 20", {}) == "-" * 20
    assert ev.evaluate("[0] * 3 + [1]", {}) == [0, 0, 0, 1]
    assert ev.evaluate("2 ** 100 + (1 << 70)", {}) == 2**100 + (1 << 70)
    assert ev.evaluate("'%05d|%-4s|%.2f' % (42, 'ab', 3.14159)", {}) == "00042|ab  |3.14"
    assert ev.evaluate("f'{1234567:,}|{3.5:>6.1f}|{\"a\":*^5}'", {}) == "1,234,567|   3.5|**a**"
    assert ev.evaluate("', '.join(['a', 'b']).center(10, '*')", {}) == "***a, b***"


# --- ordinary code -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "expected"), [
    ("a > 1 and b == 'x'", True),
    ("not (a < 1 or b != 'x')", True),
    ("(a + 2) * 3 - a / 3 // 1 % 2", 14.0),
    ("'cccd' in ho_so['giay_to'] and 'visa' not in ho_so['giay_to']", True),
    ("ho_so['ten'].strip().upper()", "NGUYỄN VĂN AN"),
    ("ho_so.get('khong_co', 'mac_dinh')", "mac_dinh"),
    ("f\"{ho_so['so_trang']} trang, {a!r}\"", "12 trang, 3"),
    ("{k: len(v) for k, v in {'x': 'ab', 'y': 'c'}.items()}", {"x": 2, "y": 1}),
    ("[g.upper() for g in ho_so['giay_to'] if g.startswith('c')]", ["CCCD"]),
    ("len(ho_so['giay_to']) + sum([1, 2]) + min(4, 5) + max([1, 9])", 18),
    ("sorted(['b', 'a'], reverse=True)", ["b", "a"]),
    ("round(2.675, 1)", 2.7),
    ("any(x > 2 for x in [1, 3]) and all(x > 0 for x in range(1, 4))", True),
    ("list(enumerate(zip('ab', [1, 2])))", [(0, ("a", 1)), (1, ("b", 2))]),
    ("isinstance(a, int) and isinstance(b, (str, float)) and not isinstance(a, (list, dict, float, bool))", True),
    ("a if a > 2 else b", 3),
    ("date(2024, 2, 28) + timedelta(days=1)", date(2024, 2, 29)),
    ("(datetime(2024, 1, 2, 8) - datetime(2024, 1, 1)).days", 1),
    ("getattr(datetime, 'datetime', None)", None),  # the class, not the module
    ("ho_so['giay_to'][-1][:3]", "so_"),
    ("{'a': 1} | {'b': 2}", {"a": 1, "b": 2}),
    ("abs(-2) + int('3') + float('1.5') + divmod(7, 2)[0] + ord('a') - ord(chr(97))", 9.5),
])
def test_ordinary_expressions_work(ev, ho_so, expression, expected):
    assert ev.evaluate(expression, ho_so) == expected


def test_datetime_helpers_work_on_the_current_date(ev):
    assert ev.evaluate("date.today() <= datetime.now().date() + timedelta(days=1)", {}) is True
    assert isinstance(ev.evaluate("datetime.now()", {}), datetime)


def test_script_assignments_land_in_task_data_but_helpers_do_not(ev, ho_so):
    script = """
tong = 0
for i in range(5):
    tong += i
phi = {}
phi['co_ban'] = 10000
phi['co_ban'] += 5000
ho_so['giay_to'].append('to_khai')
ma, (nam, so) = 'HS', (2024, 7)
def nhan_doi(x):
    return x * 2
gap_doi = nhan_doi(tong)
tieu_de = f'{ma}-{nam}-{so:04d}'
print('debug output is discarded')
tam = lambda x: x
gen = (x for x in [1])
"""
    ev.execute(script, ho_so)
    assert ho_so["tong"] == 10 and ho_so["gap_doi"] == 20
    assert ho_so["phi"] == {"co_ban": 15000}
    assert ho_so["ho_so"]["giay_to"][-1] == "to_khai"
    assert (ho_so["ma"], ho_so["nam"], ho_so["so"], ho_so["tieu_de"]) == ("HS", 2024, 7, "HS-2024-0007")
    assert not {"nhan_doi", "tam", "gen", "__builtins__", "_print", "_getattr_", "len", "i"} & set(ho_so) - {"i"}
    assert all(not key.startswith("_") for key in ho_so)


def test_script_del_removes_the_key_from_task_data(ev):
    context = {"tam": 1, "giu": 2}
    ev.execute("del tam", context)
    assert context == {"giu": 2}


def test_a_failing_script_stores_no_top_level_assignment(ev):
    context = {"x": 1}
    with pytest.raises(ZeroDivisionError):
        ev.execute("x = 2\ny = 1 / 0", context)
    assert context == {"x": 1}


def test_evaluate_does_not_add_or_rebind_keys_in_the_context(ev):
    context = {"a": 1}
    assert ev.evaluate("(b := a + 1) * 2", context) == 4
    assert context == {"a": 1}


def test_external_context_is_visible_but_task_data_wins(ev):
    assert ev.evaluate("a + c", {"a": 1}, external_context={"a": 100, "c": 2}) == 3
    context = {"a": 1}
    ev.execute("d = c * 2", context, external_context={"c": 2})
    assert context == {"a": 1, "d": 4}


def test_custom_functions_are_offered_and_do_not_leak(ev):
    tinh = RestrictedEvaluator(functions={"phi_le_phi": lambda so_trang: so_trang * 2000})
    context = {"so_trang": 3}
    tinh.execute("phi = phi_le_phi(so_trang)", context)
    assert context == {"so_trang": 3, "phi": 6000}
    with pytest.raises(ValueError):
        RestrictedEvaluator(functions={"_an": len})


def test_task_data_may_shadow_builtin_names(ev):
    assert ev.evaluate("type + len", {"type": "a", "len": "b"}) == "ab"


def test_check_reports_problems_with_line_numbers_and_nothing_for_good_code(ev):
    assert ev.check("x = 1\ny = x.__class__") and ev.check("x = 1\ny = x.__class__")[0].startswith("Line 2")
    assert ev.check("x = (", "exec")
    assert ev.check("a > 1 and b == 'x'", "eval") == []
    assert ev.check("for i in range(3):\n    x = i\n") == []


def test_a_refusal_explains_itself_in_vietnamese_and_english(ev):
    err = refused(ev.execute, "x = 1\ny = 'a' * 10**9", {})
    assert err.line == 2 and err.source == "x = 1\ny = 'a' * 10**9"
    assert "Kết quả quá lớn" in err.message_vi and "too large" in str(err)
    err = refused(ev.evaluate, "a >", {})
    assert "cú pháp" in err.message_vi


def test_a_refusal_survives_pickling_with_its_vietnamese_message(ev):
    err = refused(ev.execute, "x = 1\ny = [0] * 10**9", {})
    copy = pickle.loads(pickle.dumps(err))
    assert (str(copy), copy.message_vi, copy.source, copy.line) == (str(err), err.message_vi, err.source, 2)


def test_compiled_code_is_cached_by_source_text(ev):
    expression = "a * 7 > 1  # cache probe"
    ev.evaluate(expression, {"a": 1})
    hits = scripting._compile.cache_info().hits
    RestrictedEvaluator().evaluate(expression, {"a": 2})
    assert scripting._compile.cache_info().hits == hits + 1


def test_an_ordinary_gateway_condition_costs_only_microseconds(ev, ho_so):
    ev.evaluate("a > 1 and b == 'x'", ho_so)
    per_call = min(timeit.repeat(lambda: ev.evaluate("a > 1 and b == 'x'", ho_so), number=2000, repeat=5)) / 2000
    assert per_call < 20e-6, f"{per_call * 1e6:.1f} µs per evaluation"


# --- inside SpiffWorkflow ------------------------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://motcua.example/bpmn">
  <bpmn:process id="cap_phep" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tinh_phi"/>
    <bpmn:scriptTask id="tinh_phi" name="Tính phí">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="tinh_phi" targetRef="xet"/>
    <bpmn:exclusiveGateway id="xet" default="f_thap">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f_cao</bpmn:outgoing><bpmn:outgoing>f_thap</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_cao" sourceRef="xet" targetRef="goi_dich_vu">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_thap" sourceRef="xet" targetRef="thap"/>
    <bpmn:serviceTask id="goi_dich_vu" name="Gọi dịch vụ">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="thong_bao" resultVariable="ket_qua">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="nguoi_nhan" type="str" value="{param}"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
        <spiffworkflow:preScript>{prescript}</spiffworkflow:preScript>
        <spiffworkflow:postScript>{postscript}</spiffworkflow:postScript>
      </bpmn:extensionElements>
      <bpmn:incoming>f_cao</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="goi_dich_vu" targetRef="end_cao"/>
    <bpmn:endEvent id="end_cao"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:scriptTask id="thap" name="Phí thấp">
      <bpmn:incoming>f_thap</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>duong = 'thap'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="thap" targetRef="end_thap"/>
    <bpmn:endEvent id="end_thap"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
ORDINARY = {
    "script": "don_gia = 1000\nphi = ho_so['so_trang'] * don_gia\nho_so['ten'] = ho_so['ten'].strip()",
    "condition": "phi &gt; 5000 and ho_so.get('khan', False)",
    "prescript": "kinh_gui = 'Kính gửi '",
    "param": "kinh_gui + ho_so['ten'].upper()",
    "postscript": "da_gui = ket_qua['nguoi_nhan'].startswith(kinh_gui)",
}


class EchoServiceEngine(RestrictedScriptEngine):
    """Stands in for the real service dispatcher: echoes the evaluated parameters."""

    def call_service(self, task, **kwargs):
        return json.dumps({name: p["value"] for name, p in kwargs["operation_params"].items()})


def run_procedure(data: dict, time_limit: float = 1.0, **parts: str) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(BPMN.format(**{**ORDINARY, **parts}).encode(), filename="cap_phep.bpmn")
    engine = EchoServiceEngine(RestrictedEvaluator(time_limit=time_limit))
    workflow = BpmnWorkflow(parser.get_spec("cap_phep"), script_engine=engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    workflow.do_engine_steps()
    return workflow


def final_data(workflow: BpmnWorkflow) -> dict:
    assert workflow.is_completed()
    return workflow.last_task.data


@pytest.mark.parametrize(("khan", "expected"), [(True, "cao"), (False, "thap")])
def test_a_procedure_runs_its_scripts_gateway_and_service_parameters_in_the_sandbox(khan, expected):
    workflow = run_procedure({"ho_so": {"ten": "  Trần Thị Bình ", "so_trang": 7, "khan": khan}})
    data = final_data(workflow)
    assert data["phi"] == 7000 and data["ho_so"]["ten"] == "Trần Thị Bình"
    if expected == "cao":
        assert data["ket_qua"] == {"nguoi_nhan": "Kính gửi TRẦN THỊ BÌNH"} and data["da_gui"] is True
    else:
        assert data["duong"] == "thap" and "ket_qua" not in data
    assert not {"__builtins__", "_getattr_", "len"} & set(data)


@pytest.mark.parametrize(("part", "code", "task_name"), [
    ("script", "ten = ho_so.__class__.__mro__", "tinh_phi"),
    ("script", "while True:\n    pass", "tinh_phi"),
    ("script", "import os", "tinh_phi"),
    ("prescript", "x = 'a' * 10**9", "goi_dich_vu"),
    ("postscript", "for i in iter(int, 1):\n    pass", "goi_dich_vu"),
    ("condition", "getattr(phi, '__class__') is None", "xet"),
    ("param", "().__class__", "goi_dich_vu"),
])
def test_hostile_code_in_a_procedure_raises_a_workflow_task_exception_caused_by_a_refusal(part, code, task_name):
    data = {"ho_so": {"ten": "An", "so_trang": 9, "khan": True}}
    started = time.monotonic()
    with pytest.raises(WorkflowTaskException) as info:
        run_procedure(data, time_limit=0.3, **{part: code.replace(">", "&gt;")})
    assert time.monotonic() - started < 2.0
    wte = info.value
    assert isinstance(wte.__cause__, ScriptRefused)
    assert wte.message_vi == wte.__cause__.message_vi
    assert wte.task.task_spec.bpmn_id == task_name
