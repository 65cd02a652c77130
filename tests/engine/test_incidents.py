"""Script errors on a timer's path: an incident on the instance (the sweep goes on and does not
loop on it), retried or skipped by an admin with a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.incidents import retry_instance, skip_instance
from engine.services import list_inbox
from engine.timers import due_instances, fire_due_timers
from tests.engine.incident_procedure import (
    SERVICE,
    after,
    at_timer,
    calls,
    events,
    incident_context,
    instance_id_of,
    instance_row,
    submitted,
    workflow_data,
)


@pytest.fixture
def sctx(ctx):
    return incident_context(ctx)


def stopped(sctx, actors):
    """A dossier whose timer fired into a failing script (so_lieu down for it)."""
    dossier, instance_id, due = at_timer(sctx, actors)
    fire_due_timers(sctx, now=after(due))
    return dossier, instance_id, due


def opened(ctx, actors, code):
    return [t.bpmn_id for t in list_inbox(ctx, actors["tiepnhan"], limit=200) if t.dossier_code == code]


def test_a_failing_script_on_a_timer_path_is_recorded_and_the_sweep_goes_on(sctx, actors):
    broken, broken_id, due = at_timer(sctx, actors)
    fine, fine_id, _ = at_timer(sctx, actors, failing=False)
    moved = fire_due_timers(sctx, now=after(due) + timedelta(minutes=5))
    assert moved == [fine.code]  # the other instance fired in the same sweep
    row = instance_row(sctx, broken_id)
    assert row.error.startswith("tinh_phi: ") and "máy chủ số liệu không trả lời" in row.error
    assert row.error_at is not None and row.next_timer_at is not None  # still waiting at its timer
    [(kind, data, _who)] = [e for e in events(sctx, broken.code) if e[0] == "incident"]
    assert (data["kind"], data["element"], data["operation"], data["attempts"]) == ("script", "tinh_phi", "Tính phí", 1)
    assert opened(sctx, actors, fine.code) == ["xu_ly"] and opened(sctx, actors, broken.code) == []


def test_an_instance_in_incident_is_not_fired_again_by_the_sweep(sctx, actors):
    dossier, instance_id, due = stopped(sctx, actors)
    later = after(due) + timedelta(hours=1)
    assert instance_id not in due_instances(sctx, later)
    assert fire_due_timers(sctx, now=later) == []
    assert [e[0] for e in events(sctx, dossier.code)].count("incident") == 1


def test_a_retry_fires_the_timer_again_and_the_dossier_moves_on(sctx, actors):
    dossier, instance_id, _due = stopped(sctx, actors)
    SERVICE.down_for.clear()  # the lookup is back
    assert retry_instance(sctx, actors["quantri"], instance_id).resolved
    row = instance_row(sctx, instance_id)
    assert (row.error, row.error_at, row.next_timer_at) == (None, None, None)
    assert opened(sctx, actors, dossier.code) == ["xu_ly"]
    data = workflow_data(sctx, dossier.code)
    assert (data["phi"], data["so"]) == (3000, 3002)
    assert [e[0] for e in events(sctx, dossier.code)][-1] == "incident_retried"


def test_a_retry_that_fails_again_keeps_the_incident_and_counts_the_attempt(sctx, actors):
    dossier, instance_id, _due = stopped(sctx, actors)
    resolution = retry_instance(sctx, actors["quantri"], instance_id)
    assert not resolution.resolved and resolution.error.startswith("tinh_phi: ")
    assert instance_row(sctx, instance_id).error == resolution.error
    attempts = [e[1]["attempts"] for e in events(sctx, dossier.code) if e[0] == "incident"]
    assert attempts == [1, 2] and opened(sctx, actors, dossier.code) == []


def test_skips_pass_over_the_failing_scripts_one_after_the_other(sctx, actors):
    dossier, instance_id, _due = stopped(sctx, actors)
    first = skip_instance(sctx, actors["quantri"], instance_id, "Máy chủ số liệu hỏng, phí thu tại quầy")
    # tinh_phi passed over, so `phi` is missing and ghi_so fails next: nothing applied, the incident moves
    assert not first.resolved and first.error.startswith("ghi_so: ") and "phi" in first.error
    assert opened(sctx, actors, dossier.code) == []
    last = [e[1] for e in events(sctx, dossier.code) if e[0] == "incident"][-1]
    assert (last["element"], last["passing_over"]) == ("ghi_so", ["tinh_phi"])
    second = skip_instance(sctx, actors["quantri"], instance_id, "Ghi sổ thủ công")
    assert second.resolved
    assert opened(sctx, actors, dossier.code) == ["xu_ly"]
    data = workflow_data(sctx, dossier.code)
    assert "phi" not in data and "so" not in data  # neither script ran
    [(kind, skipped, who)] = [e for e in events(sctx, dossier.code) if e[0] == "incident_skipped"]
    assert skipped == {"reason": "Ghi sổ thủ công", "instance": instance_id, "element": "ghi_so",
                       "passing_over": ["ghi_so", "tinh_phi"]}
    assert who == actors["quantri"].full_name
    assert instance_row(sctx, instance_id).error is None


def test_a_skip_without_a_reason_or_by_a_non_admin_changes_nothing(sctx, actors):
    dossier, instance_id, _due = stopped(sctx, actors)
    before = instance_row(sctx, instance_id)
    for bad in ("", "  ", "x" * 501):
        with pytest.raises(InvalidInput):
            skip_instance(sctx, actors["quantri"], instance_id, bad)
    with pytest.raises(Forbidden):
        skip_instance(sctx, actors["lanhdao"], instance_id, "lý do")
    with pytest.raises(Forbidden):
        retry_instance(sctx, actors["tiepnhan"], instance_id)
    after_refusals = instance_row(sctx, instance_id)
    assert (after_refusals.error, after_refusals.version) == (before.error, before.version)
    assert [e[0] for e in events(sctx, dossier.code)].count("incident") == 1


def test_an_instance_without_an_incident_cannot_be_retried_or_skipped(sctx, actors):
    _dossier, instance_id, _due = at_timer(sctx, actors, failing=False)
    with pytest.raises(NotFound):
        retry_instance(sctx, actors["quantri"], instance_id)
    with pytest.raises(NotFound):
        skip_instance(sctx, actors["quantri"], 987654, "lý do")


def test_the_operations_diagram_marks_where_each_kind_of_incident_stopped_the_dossier(sctx, actors):
    from engine.services.operations import instance_detail

    dossier, _instance_id, _due = stopped(sctx, actors)  # the script on the timer path failed
    marks = instance_detail(sctx, actors["quantri"], dossier.code).marks
    assert marks["tinh_phi"] == "studio-error" and marks["cho"] == "studio-current"

    SERVICE.mode = "reject"  # a call the workflow waits for became an incident
    waiting = submitted(sctx, actors)
    marks = instance_detail(sctx, actors["quantri"], waiting.code).marks
    assert marks["tra_cuu"] == "studio-error" and "tinh_phi" not in marks


def test_a_result_that_lands_after_a_suspension_is_held_and_a_script_failing_on_it_becomes_an_incident(sctx, actors):
    from datetime import UTC, datetime

    from engine import outbox
    from engine.services import operations, submit_dossier
    from engine.services.health import list_incidents
    from tests.factories import APPLICANT

    SERVICE.mode = "no_level"  # the result the script after the call cannot read
    dossier = submit_dossier(sctx, actors["congdan"], "su-co-kich-ban", dict(APPLICANT), {})
    [call] = calls(sctx, dossier.code)
    message = outbox._claim(sctx, call.id, datetime.now(UTC))  # the call is out when the admin suspends
    operations.suspend(sctx, actors["quantri"], dossier.code, "Kiểm tra")
    assert outbox._succeeded(sctx, message, {}).state == "done"  # the connector's answer is kept...
    instance_id = instance_id_of(sctx, dossier.code)
    [held] = instance_row(sctx, instance_id).held_inputs
    assert held["service_task"] == call.task_id and held["result"] == {}
    assert "ket_qua" not in workflow_data(sctx, dossier.code)  # ...and the workflow did not move

    operations.resume(sctx, actors["quantri"], dossier.code)  # the script fails on it: the resume stands
    row = instance_row(sctx, instance_id)
    assert row.suspended_at is None and row.error.startswith("doc_ket_qua: ") and len(row.held_inputs) == 1
    assert [(i.kind, i.element) for i in list_incidents(sctx, actors["quantri"])] == [("instance", "doc_ket_qua")]

    skip_instance(sctx, actors["quantri"], instance_id, "Bỏ qua mức phí, tính tay")
    row = instance_row(sctx, instance_id)
    assert row.error is None and row.held_inputs is None and row.next_timer_at is not None  # at the timer now
    assert workflow_data(sctx, dossier.code)["ket_qua"] == {}


def test_a_later_timer_the_workflow_reached_since_the_incident_still_fires(sctx, actors):
    from sqlalchemy import update

    from engine.models import WorkflowInstance

    dossier, instance_id, due = stopped(sctx, actors)
    failed_at = instance_row(sctx, instance_id).error_at
    assert instance_id not in due_instances(sctx, failed_at + timedelta(days=1))  # its own timer waits for an admin
    later = failed_at + timedelta(hours=2)  # as if a person had moved the dossier on to a later timer
    with sctx.db.begin() as conn:
        conn.execute(update(WorkflowInstance).where(WorkflowInstance.id == instance_id).values(next_timer_at=later))
    assert instance_id not in due_instances(sctx, later - timedelta(minutes=1))
    assert instance_id in due_instances(sctx, later + timedelta(minutes=1))
