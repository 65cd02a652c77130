"""Connectors: the only way motcua talks to systems outside itself.

A leaf package (it imports nothing else of the project). The engine reaches connectors only
from its outbox worker, through the default :data:`registry`::

    registry.get("email").call("send", payload, idempotency_key=key)

retrying on :class:`ConnectorUnavailable` and giving up on :class:`ConnectorRejected`.
Importing this package registers the built-in connectors.
"""

from .base import (
    KINDS,
    Connector,
    ConnectorError,
    ConnectorPending,
    ConnectorRejected,
    ConnectorUnavailable,
    HealthReport,
    Operation,
    UnknownOperation,
    operation,
)
from .exchange import VdxpConnector
from .identity import VneidConnector
from .notify import EmailConnector  # built-in connectors register themselves on import
from .portal import DvcqgConnector, DvcqgPaymentConnector
from .registry import ConnectorDisabled, ConnectorNotFound, ConnectorRegistry, register, registry
from .signing import LocalSigningConnector, RemoteSigningConnector

__all__ = [
    "KINDS",
    "Connector",
    "ConnectorDisabled",
    "ConnectorError",
    "ConnectorNotFound",
    "ConnectorPending",
    "ConnectorRegistry",
    "ConnectorRejected",
    "ConnectorUnavailable",
    "EmailConnector",
    "VdxpConnector",
    "VneidConnector",
    "DvcqgConnector",
    "DvcqgPaymentConnector",
    "LocalSigningConnector",
    "RemoteSigningConnector",
    "HealthReport",
    "Operation",
    "UnknownOperation",
    "operation",
    "register",
    "registry",
]
