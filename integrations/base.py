"""Connector base class, operation descriptor and the exceptions of the connector contract.

A *connector* is the only way the product talks to the outside world (mail relay, signing
service, national public-service portal, payment gateway...). The engine never calls one
directly from a workflow step: it writes an outbox row and an outbox worker later calls
``connector.call(operation, payload, idempotency_key=key)``. That worker only understands
two outcomes besides success, so every connector must translate its failures into one of:

* :class:`ConnectorUnavailable` -- transient (network down, timeout, "try again later");
  the worker retries with back-off and records an incident after the last attempt.
* :class:`ConnectorRejected` -- permanent (bad payload, permanent refusal, wrong
  configuration); retrying cannot help, so the worker stops at once.

Because the worker retries, the same call can reach the remote side more than once; the
``idempotency_key`` (stable across retries of one outbox row) is what lets a connector, or
the remote system, make a repeated call have exactly one effect.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

__all__ = [
    "KINDS",
    "Connector",
    "ConnectorError",
    "ConnectorRejected",
    "ConnectorUnavailable",
    "HealthReport",
    "Operation",
    "UnknownOperation",
    "operation",
]

log = logging.getLogger(__name__)

#: The families of connectors the product knows; the admin UI groups connectors by kind.
KINDS: frozenset[str] = frozenset({"notify", "signing", "portal", "exchange", "payment", "identity"})

_HANDLER_ATTR = "_connector_operation"

F = TypeVar("F", bound=Callable[..., Any])


class ConnectorError(Exception):
    """Base of every failure a connector reports to the outbox worker.

    ``message_vi`` is written for the province's administrators (it ends up in the incident
    list), ``detail`` carries the technical cause for logs, ``code`` the remote status code
    when there is one (e.g. the SMTP reply code).
    """

    def __init__(self, message_vi: str, *, detail: str = "", code: int | None = None) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi
        self.detail = detail
        self.code = code

    def __str__(self) -> str:
        return f"{self.message_vi} ({self.detail})" if self.detail else self.message_vi


class ConnectorUnavailable(ConnectorError):
    """Transient failure: the same call may succeed later, so the worker retries it."""


class ConnectorPending(ConnectorUnavailable):
    """Accepted and in progress elsewhere (a signer has not yet approved on their phone, a
    document the call needs is still being produced): ask again later.

    Not a failure: the worker polls again after ``retry_after`` seconds without spending the
    call's attempt budget, up to the outbox's pending limit (then it becomes an incident).
    """

    def __init__(self, message_vi: str, *, detail: str = "", retry_after: float = 60.0) -> None:
        super().__init__(message_vi, detail=detail)
        self.retry_after = retry_after


class ConnectorRejected(ConnectorError):
    """Permanent failure: the call as written can never succeed, so it is not retried."""


class UnknownOperation(ConnectorRejected, LookupError):
    """The operation (or ``connector/operation`` reference) does not exist.

    Permanent, because a wrong name in a procedure package does not fix itself; also a
    ``LookupError`` so callers looking things up can catch it the Pythonic way.
    """


@dataclass(frozen=True)
class Operation:
    """What a connector can be asked to do, as seen by the BPMN validator and the engine.

    ``waits_for_result=False`` means the workflow does not wait for the call: it is fired
    through the outbox and a failure never fails the dossier step (notifications). With
    ``True`` the step stays open until the result arrives (signature, portal sync...).
    """

    name: str
    waits_for_result: bool
    description: str


@dataclass(frozen=True)
class HealthReport:
    """Result of a real probe of a connector's configuration (shown on the admin page)."""

    ok: bool
    detail: str


def operation(name: str | None = None, *, waits_for_result: bool, description: str) -> Callable[[F], F]:
    """Mark a connector method as an operation.

    The method is called as ``method(payload, idempotency_key=key)`` and returns a JSON-able
    dict. Declaring operations on the methods themselves keeps the list the validator sees
    and the code that runs in one place: an operation cannot exist without its handler.
    """

    def decorate(func: F) -> F:
        op = Operation(name=name or func.__name__, waits_for_result=waits_for_result, description=description)
        _check_name(op.name, "operation")
        setattr(func, _HANDLER_ATTR, op)
        return func

    return decorate


_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


def _check_name(value: str, what: str) -> None:
    """Names end up in references like ``email/send`` inside BPMN files: keep them plain."""
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise ValueError(f"{what} name {value!r} must match [a-z][a-z0-9_]*")


class Connector:
    """Base class of all connectors.

    Subclasses set ``id``, ``kind``, ``title`` (Vietnamese, for the admin UI), optionally
    ``demo = True`` for connectors that only fake a remote system, decorate their handlers
    with :func:`operation`, and implement :meth:`check_config`. Configuration is validated
    in ``__init__`` (raise ``ValueError``) so a broken province config fails at start-up,
    not at the first citizen's dossier.
    """

    id: ClassVar[str]
    kind: ClassVar[str]
    title: ClassVar[str]
    demo: ClassVar[bool] = False
    operations: ClassVar[dict[str, Operation]] = {}
    _handlers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        operations: dict[str, Operation] = {}
        handlers: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                op = getattr(value, _HANDLER_ATTR, None)
                if isinstance(op, Operation):
                    operations[op.name] = op
                    handlers[op.name] = attr
        cls.operations = operations
        cls._handlers = handlers

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config: dict[str, Any] = dict(config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={getattr(self, 'id', '?')!r}>"

    def call(self, operation: str, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Run one operation; the single entry point the outbox worker uses.

        Guarantees to the worker that whatever goes wrong surfaces as a
        :class:`ConnectorError`: an ``OSError`` a handler forgot to translate counts as
        transient, any other unexpected exception as permanent (a bug does not heal by
        retrying, and an endless retry loop would hide it).
        """
        op = self.operations.get(operation)
        if op is None:
            known = ", ".join(sorted(self.operations)) or "-"
            raise UnknownOperation(
                f"Kết nối '{self.id}' không có thao tác '{operation}' (có: {known})",
                detail=f"unknown operation {operation!r}",
            )
        if not isinstance(payload, dict):
            raise ConnectorRejected(
                f"Dữ liệu gửi tới '{self.id}/{operation}' phải là một đối tượng (dict)",
                detail=f"payload is {type(payload).__name__}",
            )
        if not isinstance(idempotency_key, str) or not idempotency_key.strip():
            raise ConnectorRejected(
                f"Thiếu khóa chống lặp (idempotency key) khi gọi '{self.id}/{operation}'",
                detail="empty idempotency_key",
            )
        handler = getattr(self, self._handlers[operation])
        log.debug("connector call %s/%s key=%s", self.id, operation, idempotency_key)
        try:
            result = handler(payload, idempotency_key=idempotency_key)
        except ConnectorError:
            raise
        except OSError as exc:
            raise ConnectorUnavailable(
                f"Lỗi mạng khi gọi '{self.id}/{operation}', sẽ thử lại", detail=repr(exc)
            ) from exc
        except Exception as exc:
            log.exception("unexpected error in connector %s/%s", self.id, operation)
            raise ConnectorRejected(
                f"Lỗi không mong đợi trong kết nối '{self.id}/{operation}'", detail=repr(exc)
            ) from exc
        if not isinstance(result, dict):
            raise ConnectorRejected(
                f"Kết nối '{self.id}/{operation}' trả về kết quả không hợp lệ",
                detail=f"handler returned {type(result).__name__}",
            )
        return result

    def check_config(self) -> HealthReport:
        """Probe the remote side with the current configuration; must never raise."""
        raise NotImplementedError(f"{type(self).__name__} must implement check_config()")
