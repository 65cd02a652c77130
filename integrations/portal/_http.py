"""HTTP plumbing shared by the portal connectors and their simulators.

Client side: one place that turns what ``httpx`` can go through (refused connections,
timeouts, 5xx, 429) into the outbox contract, so both national-portal connectors classify
failures the same way. Server side: :class:`HttpSimulator`, the shared loopback harness
(:mod:`integrations.simulation`) with the portal's failure answers.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from flask import Flask, Response, jsonify

from ..base import ConnectorRejected, ConnectorUnavailable
from ..simulation import FaultInjectingServer, ReceivedRequest
from ..tls import system_context

__all__ = [
    "HttpSimulator",
    "ReceivedRequest",
    "check_timeout",
    "check_url",
    "new_client",
    "json_body",
    "post",
    "reject_client_error",
]

_URL_RE = re.compile(r"https?://[^\s/]+(/\S*)?")


def check_url(config: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    """A setting that must be an absolute http(s) URL; ``ValueError`` otherwise (configure time)."""
    value = config.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _URL_RE.fullmatch(value):
        raise ValueError(f"'{key}' must be an http(s) URL, got {value!r}")
    return value


def check_timeout(config: dict[str, Any], default: float = 10) -> float:
    value = config.get("timeout", default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"'timeout' must be a positive number of seconds, got {value!r}")
    return float(value)


def new_client(timeout: float, *, verify_tls: bool = True) -> httpx.Client:
    """An ``httpx`` client for one operation (connections reused within it, not across calls)."""
    return httpx.Client(timeout=timeout, verify=system_context() if verify_tls else False)


def post(
    client: httpx.Client,
    url: str,
    *,
    where_vi: str,
    what_vi: str,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST and classify transport failures; the caller handles 2xx and 4xx answers.

    Connection errors, timeouts, 5xx and 429 are transient: the remote side may come back,
    and the idempotency key sent with the request makes the retry safe.
    """
    try:
        response = client.post(url, json=json, headers=headers)
    except httpx.TimeoutException as exc:
        raise ConnectorUnavailable(
            f"{where_vi} không trả lời kịp khi {what_vi}, sẽ thử lại", detail=f"{url}: {exc!r}"
        ) from exc
    except httpx.TransportError as exc:
        raise ConnectorUnavailable(
            f"Không kết nối được {where_vi} khi {what_vi}, sẽ thử lại", detail=f"{url}: {exc!r}"
        ) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ConnectorUnavailable(
            f"{where_vi} tạm thời lỗi (HTTP {response.status_code}) khi {what_vi}, sẽ thử lại",
            detail=f"{url}: {response.text[:300]}",
            code=response.status_code,
        )
    return response


def reject_client_error(response: httpx.Response, *, where_vi: str, what_vi: str) -> None:
    """Any other non-2xx answer is permanent: the request as written will never be accepted."""
    if 200 <= response.status_code < 300:
        return
    raise ConnectorRejected(
        f"{where_vi} từ chối yêu cầu (HTTP {response.status_code}) khi {what_vi}: {_short(response)}",
        detail=f"{response.request.url}: {response.text[:300]}",
        code=response.status_code,
    )


def json_body(response: httpx.Response, *, where_vi: str, what_vi: str) -> Any:
    """The decoded JSON answer; a non-JSON 2xx (a proxy's error page) is treated as transient."""
    try:
        return response.json()
    except ValueError as exc:
        raise ConnectorUnavailable(
            f"{where_vi} trả lời không phải JSON khi {what_vi}, sẽ thử lại",
            detail=response.text[:300],
            code=response.status_code,
        ) from exc


def _short(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        for key in ("message", "MoTaLoi", "error"):
            if body.get(key):
                return str(body[key])[:200]
    return response.text[:200]


class HttpSimulator(FaultInjectingServer):
    """Base of the portal simulators: the shared harness plus the portal's failure answers.

    Subclasses add their routes in :meth:`_add_routes`. A *failure* can be injected either
    before the request is handled (nothing happened on the remote side) or, with
    ``after_effect=True``, after it (the work was done but the answer got lost) -- the
    second case is the one that proves a retry with the same idempotency key has one effect.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._add_routes(self.app)

    def _add_routes(self, app: Flask) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _failure_response(self, status: int) -> Response:
        response = jsonify({"error_code": "-1", "message": f"Lỗi hệ thống (mô phỏng, HTTP {status})"})
        response.status_code = status
        if status == 429:
            response.headers["Retry-After"] = "1"
        return response
