"""The ``vneid`` connector: registry entry, the ``introspect`` operation and its health probe."""

from __future__ import annotations

import pytest

import integrations
from integrations import ConnectorRegistry, ConnectorRejected, ConnectorUnavailable
from integrations.identity import VneidConnector

from .conftest import browse_login, client_config


def logged_in_access_token(connector: VneidConnector) -> str:
    callback = browse_login(connector.client, "congdan")
    identity = connector.client.complete_login(
        callback.params, state_expected=callback.state, nonce_expected=callback.nonce
    )
    return identity.tokens.access_token


def test_the_registry_lists_vneid_introspect_as_an_awaited_identity_operation():
    assert integrations.registry.classes()["vneid"] is VneidConnector
    assert VneidConnector.kind == "identity"
    assert VneidConnector.operations["introspect"].waits_for_result is True


def test_a_deployment_configures_vneid_like_any_other_connector(provider):
    registry = ConnectorRegistry()
    registry.register(VneidConnector)

    registry.configure({"vneid": client_config(provider)})

    assert registry.available() == ["vneid"]
    assert registry.health()["vneid"].ok is True
    with pytest.raises(ValueError, match="vneid"):
        registry.configure({"vneid": {**client_config(provider), "client_scret": "typo"}})


def test_introspect_reports_an_active_token_then_an_expired_one(provider):
    connector = VneidConnector(client_config(provider))
    token = logged_in_access_token(connector)

    active = connector.call("introspect", {"token": token}, idempotency_key="check-1")
    provider.advance_clock(provider.token_ttl + 1)
    expired = connector.call(
        "introspect", {"token": token, "token_type_hint": "access_token"}, idempotency_key="check-2"
    )

    assert active["active"] is True and active["client_id"] == connector.client.settings.client_id
    assert "username" not in active  # personal data stays out of workflow variables
    assert expired == {"active": False}


def test_a_repeated_introspection_has_the_same_answer_and_carries_the_idempotency_key(provider):
    connector = VneidConnector(client_config(provider))
    token = logged_in_access_token(connector)

    first = connector.call("introspect", {"token": token}, idempotency_key="outbox-7")
    second = connector.call("introspect", {"token": token}, idempotency_key="outbox-7")

    assert first == second
    calls = [r for r in provider.requests if r.path == "/oauth2/introspect"]
    assert [r.headers["Idempotency-Key"] for r in calls] == ["outbox-7", "outbox-7"]
    assert connector.call("introspect", {"token": token}, idempotency_key="hồ-sơ-7")["active"] is True


def test_a_500_from_the_provider_is_transient(provider):
    connector = VneidConnector(client_config(provider))
    connector.client.authorization_url("s", "n")  # discovery cached
    provider.fail_next(1, status=500)

    with pytest.raises(ConnectorUnavailable):
        connector.call("introspect", {"token": "bat-ky"}, idempotency_key="k")


def test_a_provider_slower_than_the_timeout_is_transient(provider):
    connector = VneidConnector(client_config(provider, timeout=0.3))
    connector.client.authorization_url("s", "n")
    provider.delay_next(1, seconds=1.0)

    with pytest.raises(ConnectorUnavailable):
        connector.call("introspect", {"token": "bat-ky"}, idempotency_key="k")


def test_a_provider_that_is_down_is_transient(provider, closed_port):
    connector = VneidConnector(client_config(provider, issuer=f"http://127.0.0.1:{closed_port}/oauth2/token"))

    with pytest.raises(ConnectorUnavailable) as caught:
        connector.call("introspect", {"token": "bat-ky"}, idempotency_key="k")

    assert "Không kết nối được" in caught.value.message_vi


def test_wrong_client_credentials_are_a_permanent_rejection(provider):
    connector = VneidConnector(client_config(provider, client_secret="sai"))

    with pytest.raises(ConnectorRejected) as caught:
        connector.call("introspect", {"token": "bat-ky"}, idempotency_key="k")

    assert "client_id/client_secret" in caught.value.message_vi


@pytest.mark.parametrize(
    "payload, words",
    [
        ({}, "thiếu 'token'"),
        ({"token": "  "}, "thiếu 'token'"),
        ({"token": "t", "token_type_hint": "id_token"}, "token_type_hint"),
        ({"token": "t", "user": "x"}, "không được hỗ trợ"),
    ],
)
def test_an_unusable_payload_is_rejected_without_contacting_the_provider(provider, payload, words):
    connector = VneidConnector(client_config(provider))

    with pytest.raises(ConnectorRejected) as caught:
        connector.call("introspect", payload, idempotency_key="k")

    assert words in caught.value.message_vi
    assert provider.requests == []


def test_check_config_is_ok_against_the_simulator_and_not_ok_with_a_wrong_secret(provider):
    assert VneidConnector(client_config(provider)).check_config().ok is True
    report = VneidConnector(client_config(provider, client_secret="sai")).check_config()
    assert report.ok is False and "client_secret" in report.detail


def test_check_config_is_not_ok_when_the_provider_is_down(provider, closed_port):
    config = client_config(provider, issuer=f"http://127.0.0.1:{closed_port}/oauth2/token")

    report = VneidConnector(config).check_config()

    assert report.ok is False
    assert "Không kết nối được" in report.detail
