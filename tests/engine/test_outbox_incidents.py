"""Outbox incidents an admin skips with a reason, and scripts that fail on a connector's result
(an incident at once instead of a row left running or a call repeated forever)."""

from __future__ import annotations

import pytest

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.incidents import retry_instance, skip_instance
from engine.models import OutboxMessage
from engine.outbox import deliver, drain, incidents, retry_incident, skip_incident
from engine.services.health import list_incidents
from tests.engine.incident_procedure import (
    SERVICE,
    calls,
    events,
    incident_context,
    instance_id_of,
    instance_row,
    submitted,
    workflow_data,
)
from tests.engine.services.test_health import incident_for


@pytest.fixture
def sctx(ctx):
    return incident_context(ctx)


def notice_incident(ctx, actors, smtp):
    """A dossier whose receipt e-mail the relay refused for good (550), and that incident."""
    dossier = incident_for(ctx, actors, smtp)
    [incident] = incidents(ctx)
    return dossier, incident


def row(ctx, message_id) -> OutboxMessage:
    with ctx.sessions() as session:
        return session.get(OutboxMessage, message_id)


def test_a_skip_needs_a_reason_of_at_most_500_characters_and_changes_nothing_without_one(ctx, actors, smtp):
    _dossier, incident = notice_incident(ctx, actors, smtp)
    for bad in ("", "   ", None, "x" * 501):
        with pytest.raises(InvalidInput) as refused:
            skip_incident(ctx, actors["quantri"], incident.id, bad)
        assert list(refused.value.errors) == ["reason"] and "lý do" in refused.value.errors["reason"][0].lower()
    with pytest.raises(Forbidden):
        skip_incident(ctx, actors["lanhdao"], incident.id, "không cần gửi")
    unchanged = row(ctx, incident.id)
    assert (unchanged.state, unchanged.result, unchanged.finished_at) == ("incident", None, None)


def test_a_skipped_notice_keeps_the_reason_and_is_never_sent(ctx, actors, smtp):
    dossier, incident = notice_incident(ctx, actors, smtp)
    skip_incident(ctx, actors["quantri"], incident.id, "  Địa chỉ e-mail sai, đã gọi điện báo công dân  ")
    skipped = row(ctx, incident.id)
    assert skipped.state == "skipped" and skipped.finished_at is not None
    assert skipped.result == {"skipped": True, "reason": "Địa chỉ e-mail sai, đã gọi điện báo công dân",
                              "by": actors["quantri"].id}
    [(kind, data, who)] = [e for e in events(ctx, dossier.code) if e[0] == "incident_skipped"]
    assert data == {"outbox": incident.id, "operation": "email/send",
                    "reason": "Địa chỉ e-mail sai, đã gọi điện báo công dân"}
    assert who == actors["quantri"].full_name
    assert deliver(ctx, incident.id) is None and smtp.messages == []
    assert incidents(ctx) == []
    with pytest.raises(NotFound):
        skip_incident(ctx, actors["quantri"], incident.id, "lần nữa")
    with pytest.raises(NotFound):
        retry_incident(ctx, actors["quantri"], incident.id)


def test_skipping_a_call_the_workflow_waits_for_resumes_it_with_a_skipped_result(sctx, actors):
    SERVICE.mode = "reject"
    dossier = submitted(sctx, actors)
    [call] = calls(sctx, dossier.code)
    assert call.state == "incident" and "từ chối" in call.last_error
    skip_incident(sctx, actors["quantri"], call.id, "Hệ thống tra cứu ngừng dịch vụ")
    data = workflow_data(sctx, dossier.code)
    # what the BPMN sees: its result variable says skipped, and the script after it reads that
    assert data["ket_qua"] == {"skipped": True, "reason": "Hệ thống tra cứu ngừng dịch vụ",
                               "by": actors["quantri"].id}
    assert data["muc"] == 0 and data["da_xac_minh"] is True
    instance = instance_row(sctx, instance_id_of(sctx, dossier.code))
    assert instance.next_timer_at is not None and instance.error is None  # waiting at the timer now
    assert [c.state for c in calls(sctx, dossier.code)] == ["skipped"] and len(SERVICE.keys) == 1


def held(ctx, code):
    return instance_row(ctx, instance_id_of(ctx, code)).held_inputs


def test_a_script_failing_on_a_result_keeps_the_result_held_with_an_incident_on_the_instance(sctx, actors):
    SERVICE.mode = "no_level"
    dossier = submitted(sctx, actors)
    [call] = calls(sctx, dossier.code)
    assert call.state == "done" and call.locked_until is None and call.attempts == 1  # the call itself succeeded
    assert drain(sctx) == [] and len(SERVICE.keys) == 1  # and is never made again
    row = instance_row(sctx, instance_id_of(sctx, dossier.code))
    assert row.error.startswith("doc_ket_qua: ") and "muc" in row.error
    assert [(h["service_task"], h["result"]) for h in row.held_inputs] == [(call.task_id, {})]
    [(kind, data, _who)] = [e for e in events(sctx, dossier.code) if e[0] == "incident"]
    assert (data["kind"], data["element"], data["attempts"]) == ("script", "doc_ket_qua", 1)
    assert row.next_timer_at is None and "ket_qua" not in workflow_data(sctx, dossier.code)  # still at the call
    assert [(i.kind, i.element) for i in list_incidents(sctx, actors["quantri"])] == [("instance", "doc_ket_qua")]


def test_retrying_applies_the_held_result_again_without_calling_again(sctx, actors):
    SERVICE.verifier_down = True  # the script after the call asks a helper that is down for now
    dossier = submitted(sctx, actors)
    instance_id = instance_id_of(sctx, dossier.code)
    assert instance_row(sctx, instance_id).error.startswith("xac_minh: ")
    SERVICE.verifier_down = False
    assert retry_instance(sctx, actors["quantri"], instance_id).resolved
    data = workflow_data(sctx, dossier.code)
    assert data["muc"] == 2 and data["da_xac_minh"] is True and len(SERVICE.keys) == 1
    assert held(sctx, dossier.code) is None and instance_row(sctx, instance_id).next_timer_at is not None


def test_skipping_passes_over_the_failing_script_with_the_real_result(sctx, actors):
    SERVICE.mode = "no_level"
    dossier = submitted(sctx, actors)
    instance_id = instance_id_of(sctx, dossier.code)
    assert skip_instance(sctx, actors["quantri"], instance_id, "Kết quả tra cứu thiếu mức, xử lý thủ công").resolved
    data = workflow_data(sctx, dossier.code)
    assert data["ket_qua"] == {} and "muc" not in data  # the connector's own answer; doc_ket_qua did not run
    assert instance_row(sctx, instance_id).next_timer_at is not None and held(sctx, dossier.code) is None
    assert [c.state for c in calls(sctx, dossier.code)] == ["done"] and len(SERVICE.keys) == 1


def test_a_skip_that_fails_further_on_is_not_applied_and_is_remembered_for_the_retry(sctx, actors):
    SERVICE.mode, SERVICE.verifier_down = "no_level", True
    dossier = submitted(sctx, actors)
    instance_id = instance_id_of(sctx, dossier.code)
    resolution = skip_instance(sctx, actors["quantri"], instance_id, "Kết quả thiếu mức")
    assert not resolution.resolved and resolution.error.startswith("xac_minh: ")
    assert len(held(sctx, dossier.code)) == 1 and not [e for e in events(sctx, dossier.code)
                                                        if e[0] == "incident_skipped"]
    SERVICE.verifier_down = False  # the verifier is back; the result still lacks its level
    assert retry_instance(sctx, actors["quantri"], instance_id).resolved
    data = workflow_data(sctx, dossier.code)
    assert "muc" not in data and data["da_xac_minh"] is True  # doc_ket_qua stayed passed over


def test_a_skipped_call_whose_result_a_script_then_fails_on_is_held_for_the_instance_incident(sctx, actors):
    SERVICE.mode, SERVICE.verifier_down = "reject", True
    dossier = submitted(sctx, actors)
    [call] = calls(sctx, dossier.code)
    skip_incident(sctx, actors["quantri"], call.id, "Hệ thống tra cứu ngừng dịch vụ")
    [skipped] = calls(sctx, dossier.code)
    assert skipped.state == "skipped" and skipped.result["skipped"] is True  # the skip stands
    row = instance_row(sctx, instance_id_of(sctx, dossier.code))
    assert row.error.startswith("xac_minh: ") and row.held_inputs[0]["result"]["skipped"] is True
    SERVICE.verifier_down = False
    assert retry_instance(sctx, actors["quantri"], row.id).resolved
    assert workflow_data(sctx, dossier.code)["muc"] == 0  # the script read the skipped result
