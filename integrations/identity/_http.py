"""HTTP plumbing of the identity client: one place that classifies what the provider answers.

Network trouble, timeouts, 5xx and 429 become :class:`IdentityUnavailable` ("try again
later"); OAuth error answers become :class:`IdentityError` with a reason code and a
Vietnamese message (``invalid_grant`` for the citizen, ``invalid_client`` for the admin).
"""

from __future__ import annotations

from typing import Any

import httpx

from ..tls import system_context
from .claims import IdentityError, IdentityUnavailable

__all__ = ["PROVIDER", "error_code", "json_object", "refusal", "send"]

#: How the provider is named in messages.
PROVIDER = "Hệ thống xác thực tài khoản định danh"


def send(
    method: str, url: str, what_vi: str, *, timeout: float, verify_tls: bool = True, **kwargs: Any
) -> httpx.Response:
    """One HTTP exchange; network trouble, 5xx and 429 become :class:`IdentityUnavailable`."""
    seconds = timeout
    try:
        with httpx.Client(timeout=seconds, verify=system_context() if verify_tls else False) as client:
            response = client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise IdentityUnavailable(
            f"{PROVIDER} không trả lời trong {seconds:g} giây khi {what_vi}, vui lòng thử lại sau",
            reason="unavailable",
            detail=f"{url}: {exc!r}",
        ) from exc
    except httpx.TransportError as exc:
        raise IdentityUnavailable(
            f"Không kết nối được {PROVIDER} khi {what_vi}, vui lòng thử lại sau",
            reason="unavailable",
            detail=f"{url}: {exc!r}",
        ) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise IdentityUnavailable(
            f"{PROVIDER} đang gặp sự cố (HTTP {response.status_code}) khi {what_vi}, vui lòng thử lại sau",
            reason="unavailable",
            detail=f"{url}: {response.text[:300]}",
        )
    return response


def json_object(response: httpx.Response, what_vi: str) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise IdentityError(
            f"{PROVIDER} trả về {what_vi} không đúng định dạng JSON",
            reason="invalid_response",
            detail=response.text[:300],
        )
    return value


def error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


def refusal(response: httpx.Response, what_vi: str) -> IdentityError:
    """A 4xx from the provider, in the words a citizen or an administrator can act on."""
    error = error_code(response)
    detail = f"HTTP {response.status_code}: {response.text[:300]}"
    if error == "invalid_grant":
        return IdentityError(
            "Mã đăng nhập không hợp lệ, đã được sử dụng hoặc đã hết hạn; vui lòng đăng nhập lại",
            reason="invalid_grant",
            detail=detail,
        )
    if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
        return IdentityError(
            f"{PROVIDER} không chấp nhận ứng dụng (client_id/client_secret) khi {what_vi}; "
            "báo quản trị viên kiểm tra cấu hình",
            reason="invalid_client",
            detail=detail,
        )
    return IdentityError(
        f"{PROVIDER} từ chối yêu cầu (HTTP {response.status_code}) khi {what_vi}",
        reason="provider_error",
        detail=detail,
    )
