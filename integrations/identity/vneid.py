"""The national-account login as a registered connector (id ``vneid``, kind ``identity``).

The login itself does not go through the connector machinery: the authorization-code flow
is a conversation with the citizen's browser, so the web app calls :class:`OidcClient`
synchronously inside the callback request (see :mod:`.oidc` for why). Registering it as a
connector still matters: the province configures it in the same place as every other
external system, a wrong setting stops the start-up, and the admin health page probes it
(discovery, signing keys, client credentials) with :meth:`VneidConnector.check_config`.
The one operation, ``introspect``, lets a procedure or an administrator ask the provider
whether a token is still active; the web app reaches the login client as
``registry.get("vneid").client``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import Connector, ConnectorRejected, ConnectorUnavailable, HealthReport, operation
from ..registry import register
from .claims import IdentityError, IdentityUnavailable
from .oidc import OidcClient

__all__ = ["VneidConnector"]

#: Introspection fields passed on; ``username`` and the like stay out of workflow data.
_RESULT_KEYS = ("active", "client_id", "exp", "iat", "sub", "scope", "token_type")


@register
class VneidConnector(Connector):
    """OIDC relying party at the national SSO; config as :func:`~.config.parse_settings`."""

    id = "vneid"
    kind = "identity"
    title = "Đăng nhập bằng tài khoản định danh điện tử (DVCQG / VNeID)"

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        self.client = OidcClient(config)

    @operation(
        waits_for_result=True,
        description="Kiểm tra token đăng nhập còn hiệu lực (payload: token, token_type_hint tùy chọn)",
    )
    def introspect(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """``{"active": bool, "client_id", "exp", ...}`` as the provider reports it (RFC 7662)."""
        unknown = sorted(set(payload) - {"token", "token_type_hint"})
        if unknown:
            raise _bad_payload(f"trường không được hỗ trợ: {', '.join(unknown)}")
        token, hint = payload.get("token"), payload.get("token_type_hint")
        if not isinstance(token, str) or not token.strip():
            raise _bad_payload("thiếu 'token'")
        if hint not in (None, "access_token", "refresh_token"):
            raise _bad_payload("'token_type_hint' phải là access_token hoặc refresh_token")
        try:
            answer = self.client.introspect(token, token_type_hint=hint, idempotency_key=idempotency_key)
        except IdentityUnavailable as exc:
            raise ConnectorUnavailable(exc.message_vi, detail=exc.detail) from exc
        except IdentityError as exc:
            raise ConnectorRejected(exc.message_vi, detail=f"{exc.reason}: {exc.detail}") from exc
        return {key: answer[key] for key in _RESULT_KEYS if key in answer}

    def check_config(self) -> HealthReport:
        """Discovery, signing keys and client credentials, probed for real (see ``OidcClient``)."""
        return self.client.check_config()


def _bad_payload(reason_vi: str) -> ConnectorRejected:
    return ConnectorRejected(f"Dữ liệu kiểm tra token không hợp lệ: {reason_vi}", detail=reason_vi)
