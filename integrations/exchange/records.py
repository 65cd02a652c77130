"""What the simulated document axis keeps: mailbox items, document records, and its refusal.

Shared by :mod:`.simulator` (the axis) and :mod:`.peer_desk` (the agencies it plays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["AxisRefused", "DocumentRecord", "MailItem"]


@dataclass
class MailItem:
    """One package waiting in (or acknowledged from) an agency's mailbox."""

    doc_id: str
    sender: str
    receiver: str
    messagetype: str
    data: bytes
    created_time: datetime
    state: str = "pending"  # pending | processing | done | fail
    error_desc: str = ""


@dataclass
class DocumentRecord:
    """A document sent through the axis and what its receivers reported about it."""

    document_id: str
    sender: str
    receivers: list[str]
    doc_id: str
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (from OrganId, StatusCode)
    recall: str = ""  # "" | requested | accepted | refused


class AxisRefused(Exception):
    """The axis refused a package or call: ``{"status": "FAIL", "ErrorDesc": str(exc)}`` over HTTP."""
