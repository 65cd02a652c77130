"""The runner's reads that skip a walk of the task tree agree with the walk they replace."""

from __future__ import annotations

import pytest
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import WorkflowError
from engine.runtime.runner import Runner, _describe, _describe_vi
from engine.runtime.specs import build_specs
from engine.runtime.state import dump_state, load_state
from engine.scripting import RestrictedScriptEngine

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="ngoai"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="sub"/>
    <bpmn:userTask id="ngoai" name="Ngoài"/>
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="sub_start"/>
      <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="trong"/>
      <bpmn:userTask id="trong" name="Trong"/>
      <bpmn:sequenceFlow id="s2" sourceRef="trong" targetRef="sub_end"/>
      <bpmn:endEvent id="sub_end"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f4" sourceRef="ngoai" targetRef="join"/>
    <bpmn:sequenceFlow id="f5" sourceRef="sub" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="dat"/>
    <bpmn:scriptTask id="dat"><bpmn:script>da_dat = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f7" sourceRef="dat" targetRef="hong"/>
    <bpmn:scriptTask id="hong"><bpmn:script>x = 1 / lam_hong</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f8" sourceRef="hong" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def runner():
    specs = build_specs({"p.bpmn": BPMN}, "p")
    started, _report = Runner.start(specs, {"lam_hong": 0}, RestrictedScriptEngine())
    return Runner(load_state(dump_state(started.workflow), specs, RestrictedScriptEngine()))


def open_ids(runner: Runner) -> set[str]:
    return {str(task.id) for task in runner.workflow.get_tasks(state=TaskState.READY, manual=True)}


def test_initially_open_holds_the_tasks_waiting_in_subprocesses_too(runner):
    assert {task.task_spec.bpmn_id for task in runner.workflow.get_tasks(state=TaskState.READY, manual=True)} \
        == {"ngoai", "trong"}
    assert runner.initially_open == open_ids(runner)


def test_data_after_a_failed_run_is_read_from_the_workflow_as_it_is_now(runner):
    by_element = {task.task_spec.bpmn_id: str(task.id)
                  for task in runner.workflow.get_tasks(state=TaskState.READY, manual=True)}
    runner.complete_human_task(by_element["ngoai"], {"ngoai": "xong"})
    with pytest.raises(WorkflowError):
        runner.complete_human_task(by_element["trong"], {"trong": "xong"})
    # the run got past both user tasks and the first script before the second failed
    assert runner.data == Runner(runner.workflow).data
    assert runner.data["da_dat"] == 1 and runner.data["trong"] == "xong"


def test_a_failure_blamed_on_a_whole_process_is_described_not_raised_again(runner):
    # SpiffWorkflow names the process spec itself when a subprocess went missing under it
    failure = SpiffWorkflowException("Unable to find a task with id")
    failure.task_spec = runner.workflow.spec
    assert _describe(failure).endswith(" at p")
    assert _describe_vi(failure).startswith("Quy trình gặp lỗi tại bước «p»")
