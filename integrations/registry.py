"""The connector registry: which connectors exist, which are configured, and their health.

Two separate steps, on purpose:

* **registration** happens at import time (``@register`` on the class) and says which
  connectors the product *has*; the BPMN validator checks ``connector/operation``
  references against it, independently of any province's settings;
* **configuration** happens at start-up (:meth:`ConnectorRegistry.configure`) and says which
  connectors this deployment *uses*, with which settings. Nothing talks to the outside world
  unless it is configured and enabled, and demo connectors (fakes of remote systems) stay
  off unless explicitly allowed, so a demo can never leak into production silently.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, TypeVar

from .base import (
    KINDS,
    Connector,
    ConnectorRejected,
    ConnectorUnavailable,
    HealthReport,
    Operation,
    UnknownOperation,
    _check_name,
)

__all__ = [
    "ConnectorDisabled",
    "ConnectorNotFound",
    "ConnectorRegistry",
    "register",
    "registry",
]

log = logging.getLogger(__name__)

C = TypeVar("C", bound=type[Connector])


class ConnectorNotFound(ConnectorRejected, LookupError):
    """No connector with that id was ever registered (a typo; retrying cannot help)."""


class ConnectorDisabled(ConnectorUnavailable, LookupError):
    """The connector exists but this deployment has not configured or has disabled it.

    Transient from the outbox worker's point of view: an administrator can enable it, and
    the calls queued meanwhile then go through instead of being lost.
    """


class ConnectorRegistry:
    """Holds connector classes (registered) and their instances (configured)."""

    def __init__(self) -> None:
        self._classes: dict[str, type[Connector]] = {}
        self._instances: dict[str, Connector] = {}
        self._off: dict[str, str] = {}  # id -> Vietnamese reason it is not available
        self._lock = threading.Lock()

    # -- registration ------------------------------------------------------------------

    def register(self, cls: C) -> C:
        """Class decorator adding a connector; a second class with the same id is refused.

        Refusing duplicates (rather than letting the last import win) makes a plugin that
        accidentally shadows a built-in connector fail loudly at import time.
        """
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise TypeError(f"{cls!r} is not a Connector subclass")
        connector_id = getattr(cls, "id", None)
        _check_name(connector_id, "connector")  # type: ignore[arg-type]
        if getattr(cls, "kind", None) not in KINDS:
            raise ValueError(f"connector {connector_id!r}: kind must be one of {sorted(KINDS)}")
        if not getattr(cls, "title", ""):
            raise ValueError(f"connector {connector_id!r}: a (Vietnamese) title is required")
        with self._lock:
            existing = self._classes.get(connector_id)
            if existing is not None:
                raise ValueError(
                    f"connector id {connector_id!r} is already registered by "
                    f"{existing.__module__}.{existing.__qualname__}"
                )
            self._classes[connector_id] = cls
        return cls

    def classes(self) -> dict[str, type[Connector]]:
        """Registered connector classes by id (a copy)."""
        return dict(self._classes)

    # -- configuration -----------------------------------------------------------------

    def configure(self, configs: Mapping[str, Mapping[str, Any]], *, allow_demo: bool = False) -> None:
        """Instantiate the connectors of this deployment from their settings.

        ``configs`` maps connector id to its settings; ``{"enabled": False}`` keeps a
        connector listed but off. Connectors absent from ``configs`` are not available,
        nor are demo connectors unless ``allow_demo``. An unknown id or an invalid config
        raises ``ValueError`` naming the connector, so a wrong province configuration
        stops the start-up instead of failing on a citizen's dossier later. Calling it
        again replaces the previous configuration atomically.
        """
        unknown = sorted(set(configs) - set(self._classes))
        if unknown:
            raise ValueError(f"unknown connector id(s) in configuration: {', '.join(unknown)}")
        instances: dict[str, Connector] = {}
        off: dict[str, str] = {}
        for connector_id, cls in self._classes.items():
            if connector_id not in configs:
                off[connector_id] = f"Kết nối '{connector_id}' chưa được cấu hình"
                continue
            config = dict(configs[connector_id])
            enabled = config.pop("enabled", True)
            if not isinstance(enabled, bool):
                raise ValueError(f"connector {connector_id!r}: 'enabled' must be true or false")
            if not enabled:
                off[connector_id] = f"Kết nối '{connector_id}' đang bị tắt"
                continue
            if cls.demo and not allow_demo:
                off[connector_id] = f"Kết nối '{connector_id}' chỉ dùng để trình diễn và không được bật"
                continue
            try:
                instances[connector_id] = cls(config)
            except ValueError as exc:
                raise ValueError(f"connector {connector_id!r}: invalid configuration: {exc}") from exc
        with self._lock:
            self._instances, self._off = instances, off
        log.info("connectors available: %s", ", ".join(sorted(instances)) or "none")

    # -- lookup ------------------------------------------------------------------------

    def get(self, connector_id: str) -> Connector:
        """The configured connector instance; raises a ``LookupError`` saying why not.

        The errors are also :class:`~integrations.base.ConnectorError` subclasses, so the
        outbox worker handles them like any call failure: unknown id is permanent
        (:class:`ConnectorNotFound`), not configured/disabled is transient
        (:class:`ConnectorDisabled`).
        """
        instance = self._instances.get(connector_id)
        if instance is not None:
            return instance
        if connector_id not in self._classes:
            known = ", ".join(sorted(self._classes)) or "-"
            raise ConnectorNotFound(
                f"Không có kết nối '{connector_id}' (có: {known})",
                detail=f"unknown connector {connector_id!r}",
            )
        reason = self._off.get(connector_id, f"Kết nối '{connector_id}' chưa được cấu hình")
        raise ConnectorDisabled(reason, detail=f"connector {connector_id!r} is not available")

    def operation(self, ref: str) -> tuple[Connector, Operation]:
        """Resolve a ``connector/operation`` reference (as written in BPMN service tasks)."""
        connector_id, sep, op_name = ref.partition("/")
        if not sep or not connector_id or not op_name:
            raise UnknownOperation(
                f"Tham chiếu thao tác '{ref}' không đúng dạng 'kết_nối/thao_tác'",
                detail=f"malformed ref {ref!r}",
            )
        connector = self.get(connector_id)
        op = connector.operations.get(op_name)
        if op is None:
            raise UnknownOperation(
                f"Kết nối '{connector_id}' không có thao tác '{op_name}'", detail=f"unknown operation {ref!r}"
            )
        return connector, op

    def operations(self, *, available_only: bool = False) -> list[str]:
        """All ``connector/operation`` references, sorted, for the BPMN validator.

        By default every registered connector counts (a package is valid for the product
        whatever one province configured); ``available_only`` restricts to the connectors
        this deployment can actually call.
        """
        ids = self._instances if available_only else self._classes
        return sorted(f"{cid}/{op}" for cid in ids for op in self._classes[cid].operations)

    def available(self) -> list[str]:
        """Ids of the configured and enabled connectors."""
        return sorted(self._instances)

    def health(self) -> dict[str, HealthReport]:
        """Probe every available connector; a probe that raises is reported, not raised."""
        reports: dict[str, HealthReport] = {}
        for connector_id, instance in sorted(self._instances.items()):
            try:
                reports[connector_id] = instance.check_config()
            except Exception as exc:  # a health page must show every connector, whatever breaks
                log.exception("check_config of connector %s failed", connector_id)
                reports[connector_id] = HealthReport(ok=False, detail=f"Lỗi khi kiểm tra cấu hình: {exc!r}")
        return reports


#: The product-wide registry; built-in connectors register themselves on it.
registry = ConnectorRegistry()
#: ``@register`` class decorator for the default registry.
register = registry.register
