"""The connector registry and the connector base contract (no network involved)."""

from __future__ import annotations

from typing import Any

import pytest

import integrations
from integrations import (
    Connector,
    ConnectorDisabled,
    ConnectorError,
    ConnectorNotFound,
    ConnectorRegistry,
    ConnectorRejected,
    ConnectorUnavailable,
    EmailConnector,
    HealthReport,
    Operation,
    UnknownOperation,
    operation,
)


class Echo(Connector):
    id = "echo"
    kind = "exchange"
    title = "Phản hồi thử"

    @operation(waits_for_result=True, description="Trả lại dữ liệu nhận được")
    def echo(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        if payload.get("explode") == "os":
            raise ConnectionResetError("peer reset")
        if payload.get("explode") == "bug":
            raise KeyError("oops")
        return {"payload": payload, "key": idempotency_key, "config": self.config}

    def check_config(self) -> HealthReport:
        if self.config.get("broken"):
            raise RuntimeError("probe crashed")
        return HealthReport(ok=True, detail="ổn")


class DemoPay(Connector):
    id = "demo_pay"
    kind = "payment"
    title = "Thanh toán (trình diễn)"
    demo = True

    @operation("charge", waits_for_result=True, description="Thu phí giả lập")
    def do_charge(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        return {"paid": True}

    def check_config(self) -> HealthReport:
        return HealthReport(ok=True, detail="giả lập")


@pytest.fixture
def reg() -> ConnectorRegistry:
    registry = ConnectorRegistry()
    registry.register(Echo)
    registry.register(DemoPay)
    return registry


def test_register_returns_the_class_so_it_works_as_a_decorator():
    registry = ConnectorRegistry()

    assert registry.register(Echo) is Echo
    assert registry.classes() == {"echo": Echo}


def test_the_registry_refuses_a_second_connector_with_the_same_id(reg):
    class OtherEcho(Echo):
        pass

    with pytest.raises(ValueError, match="already registered"):
        reg.register(OtherEcho)


@pytest.mark.parametrize("attrs", [{"id": "Bad-Id"}, {"id": "a/b"}, {"kind": "fax"}, {"title": ""}])
def test_the_registry_refuses_connectors_with_invalid_metadata(attrs):
    cls = type("Broken", (Echo,), attrs)

    with pytest.raises(ValueError):
        ConnectorRegistry().register(cls)


def test_the_registry_refuses_classes_that_are_not_connectors():
    with pytest.raises(TypeError):
        ConnectorRegistry().register(dict)


def test_operations_are_collected_from_decorated_methods_including_inherited_ones():
    class LoudEcho(Echo):
        id = "loud_echo"

    assert LoudEcho.operations == {"echo": Operation("echo", True, "Trả lại dữ liệu nhận được")}
    assert DemoPay.operations["charge"].name == "charge"


def test_a_configured_connector_is_called_with_its_config_and_idempotency_key(reg):
    reg.configure({"echo": {"greeting": "xin chào"}})

    result = reg.get("echo").call("echo", {"a": 1}, idempotency_key="k-1")

    assert result == {"payload": {"a": 1}, "key": "k-1", "config": {"greeting": "xin chào"}}


def test_an_unknown_operation_is_rejected_permanently(reg):
    reg.configure({"echo": {}})

    with pytest.raises(UnknownOperation) as caught:
        reg.get("echo").call("shout", {}, idempotency_key="k")

    assert isinstance(caught.value, ConnectorRejected)
    assert "shout" in caught.value.message_vi
    with pytest.raises(UnknownOperation):
        reg.operation("echo/shout")
    with pytest.raises(LookupError):
        reg.operation("no-slash")


def test_a_disabled_connector_is_unavailable_with_a_clear_reason(reg):
    reg.configure({"echo": {"enabled": False}})

    with pytest.raises(ConnectorDisabled) as caught:
        reg.get("echo")

    assert isinstance(caught.value, LookupError)
    assert isinstance(caught.value, ConnectorUnavailable)  # the outbox retries until re-enabled
    assert "tắt" in caught.value.message_vi
    assert reg.available() == []


def test_a_connector_missing_from_the_configuration_is_unavailable(reg):
    reg.configure({})

    with pytest.raises(ConnectorDisabled, match="chưa được cấu hình"):
        reg.get("echo")


def test_an_unknown_connector_id_is_a_permanent_lookup_error(reg):
    reg.configure({"echo": {}})

    with pytest.raises(ConnectorNotFound) as caught:
        reg.get("fax")

    assert isinstance(caught.value, LookupError) and isinstance(caught.value, ConnectorRejected)


def test_configure_refuses_unknown_connector_ids(reg):
    with pytest.raises(ValueError, match="ehco"):
        reg.configure({"ehco": {}})


def test_configure_names_the_connector_whose_settings_are_invalid():
    registry = ConnectorRegistry()
    registry.register(EmailConnector)

    with pytest.raises(ValueError, match="'email'.*host"):
        registry.configure({"email": {"sender": "motcua@ubnd.demo.gov.vn"}})


def test_demo_connectors_are_available_only_when_allowed(reg):
    reg.configure({"echo": {}, "demo_pay": {}})
    with pytest.raises(ConnectorDisabled, match="trình diễn"):
        reg.get("demo_pay")

    reg.configure({"echo": {}, "demo_pay": {}}, allow_demo=True)
    assert reg.get("demo_pay").call("charge", {}, idempotency_key="k") == {"paid": True}


def test_operation_resolves_a_reference_to_the_connector_and_its_descriptor(reg):
    reg.configure({"echo": {}})

    connector, op = reg.operation("echo/echo")

    assert connector is reg.get("echo")
    assert op.waits_for_result is True


def test_operations_lists_every_registered_reference_for_the_validator(reg):
    reg.configure({"echo": {}})

    assert reg.operations() == ["demo_pay/charge", "echo/echo"]
    assert reg.operations(available_only=True) == ["echo/echo"]


def test_the_default_registry_lists_email_send_which_does_not_block_the_workflow():
    assert "email/send" in integrations.registry.operations()
    assert integrations.registry.classes()["email"] is EmailConnector
    assert EmailConnector.operations["send"].waits_for_result is False


def test_health_reports_every_available_connector_even_when_a_probe_crashes(reg):
    reg.configure({"echo": {"broken": True}, "demo_pay": {}}, allow_demo=True)

    health = reg.health()

    assert health["demo_pay"] == HealthReport(ok=True, detail="giả lập")
    assert health["echo"].ok is False and "probe crashed" in health["echo"].detail


@pytest.mark.parametrize(
    "payload, key",
    [([1, 2], "k"), ({}, ""), ({}, "   ")],
)
def test_a_call_without_a_dict_payload_or_idempotency_key_is_rejected(reg, payload, key):
    reg.configure({"echo": {}})

    with pytest.raises(ConnectorRejected):
        reg.get("echo").call("echo", payload, idempotency_key=key)


def test_an_untranslated_network_error_in_a_connector_counts_as_transient(reg):
    reg.configure({"echo": {}})

    with pytest.raises(ConnectorUnavailable):
        reg.get("echo").call("echo", {"explode": "os"}, idempotency_key="k")


def test_an_unexpected_bug_in_a_connector_is_permanent_and_keeps_its_cause(reg):
    reg.configure({"echo": {}})

    with pytest.raises(ConnectorRejected) as caught:
        reg.get("echo").call("echo", {"explode": "bug"}, idempotency_key="k")

    assert isinstance(caught.value.__cause__, KeyError)


def test_connector_errors_carry_vietnamese_text_for_administrators():
    error = ConnectorUnavailable("Máy chủ thư không trả lời", detail="timed out", code=None)

    assert error.message_vi == "Máy chủ thư không trả lời"
    assert str(error) == "Máy chủ thư không trả lời (timed out)"
    assert isinstance(error, ConnectorError)
